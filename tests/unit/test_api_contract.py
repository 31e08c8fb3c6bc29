"""The wire contract (api.contract.wire): the worker builds its reports from it, checked where
they are built, and the API reads them by their version: none is version 1 (old workers, old
spooled outbox files), a newer one than the API knows is refused with one line."""

from __future__ import annotations

import pytest

from api.contract.wire import (WORK_ORDER_VERSION, ContractError, EventEnd, EvidenceItem, WorkOrderReport,
                               check_version, version_of)
from api.schemas import WorkOrderCreate
from api.schemas_workflow import EventEndIn
from tests.support.orders import JPEG, make_settings, order_body, post_order


@pytest.fixture
def client(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(make_settings(tmp_path))) as test_client:
        yield test_client


def _report(**overrides) -> WorkOrderReport:
    fields = dict(camera_id="cam-01", zone_id="zone-a", rule_id="exposed-garbage", event_id="evt-1",
                  category_code="06010", category_name="exposed garbage", priority="normal", labels=("garbage_pile",),
                  confidence=0.8, detected_at=1_795_000_000.0, event_started_at=1_794_999_990.0,
                  model_name="m", model_version="1", evidence=(EvidenceItem("snapshot", "image/jpeg", JPEG),))
    fields.update(overrides)
    return WorkOrderReport(**fields)


def test_a_report_built_by_the_worker_is_what_the_api_reads() -> None:
    wire = _report().to_wire()
    assert wire["version"] == WORK_ORDER_VERSION
    body = WorkOrderCreate.model_validate(wire)
    assert body.version == 1 and body.camera_id == "cam-01" and body.evidence[0].kind.value == "snapshot"
    end = EventEnd("evt-1", "cam-01", "zone-a", "exposed-garbage", 1_795_000_100.0).to_wire()
    assert EventEndIn.model_validate(end).version == 1


@pytest.mark.parametrize("bad", [dict(confidence=1.5), dict(labels=()), dict(priority="whenever"),
                                 dict(category_code="x"), dict(camera_id=""), dict(version=2)])
def test_the_worker_cannot_build_a_report_the_api_would_refuse(bad) -> None:
    with pytest.raises(ContractError):
        _report(**bad)
    with pytest.raises(ContractError):
        EvidenceItem("selfie", "image/jpeg", JPEG)


def test_version_checks_say_what_is_wrong_in_one_line() -> None:
    assert version_of({}, "work order", 1) == 1, "no version: version 1"
    with pytest.raises(ContractError) as newer:
        version_of({"version": 2}, "work order", 1)
    assert "newer" in str(newer.value) and "\n" not in str(newer.value)
    for bad in (0, True, "1", 1.0):
        with pytest.raises(ContractError):
            check_version("work order", bad, 1)


def test_the_api_files_a_report_without_a_version(client) -> None:
    body = order_body()
    assert "version" not in body
    assert post_order(client, body, "key-contract-0001").status_code == 201
    # The same report, now with its version: the same payload, a replay (the version is not hashed).
    assert post_order(client, {**body, "version": 1}, "key-contract-0001").status_code == 200


def test_the_api_refuses_a_newer_version_with_a_clear_422(client) -> None:
    response = post_order(client, order_body(version=WORK_ORDER_VERSION + 1), "key-contract-0002")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "version" and "newer than this reader understands" in error["msg"], error
    status = client.put("/api/v1/cameras/cam-01/status", json={"state": "online", "at": 1.0, "version": 9})
    assert status.status_code == 422 and "camera status version 9" in status.text
    end = {"event_id": "e", "camera_id": "c", "zone_id": "z", "rule_id": "r",
           "ended_at": "2026-11-23T12:00:00+08:00", "version": 2}
    response = client.post("/api/v1/events/end", json=end, headers={"Idempotency-Key": "key-contract-0003"})
    assert response.status_code == 422 and "event end version 2" in response.text


def test_the_ingest_refuses_a_newer_version_and_counts_it_rejected(tmp_path) -> None:
    import time

    from fastapi.testclient import TestClient

    from api.main import create_app
    from streams.delivery.bus import encode_message
    from tests.support.loadgen import synthetic_order
    from tests.support.redis_server import REDIS_SERVER, RedisServer
    from tests.support.orders import b64

    if REDIS_SERVER is None:
        pytest.skip("needs redis-server on PATH")
    with RedisServer(workdir=tmp_path / "redis") as server:
        r = server.client()
        old_key, old = synthetic_order("contract", 1, b64(JPEG))
        new_key, new = synthetic_order("contract", 2, b64(JPEG))
        old.pop("version", None)  # an outbox file spooled before versions existed
        r.xadd("gs:orders", encode_message("work_order", old_key, old, "w"))
        r.xadd("gs:orders", encode_message("work_order", new_key, {**new, "version": WORK_ORDER_VERSION + 1}, "w"))
        app = create_app(make_settings(tmp_path, redis_url=server.url, redis_stream="gs:orders", ingest_block_ms=100))
        with TestClient(app) as client:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (r.xlen("gs:orders:dead") and r.xlen("gs:orders") == 0):
                time.sleep(0.05)
            [(_, dead)] = r.xrange("gs:orders:dead")
            assert dead["key"] == new_key, dead
            assert dead["dead_reason"] == (f"work order version {WORK_ORDER_VERSION + 1} is newer than this reader "
                                           f"understands (it reads up to {WORK_ORDER_VERSION}): upgrade the API "
                                           "before the workers"), dead
            metrics = client.get("/metrics").text
        assert 'gridsight_api_work_orders_total{result="created",source="stream"} 1.0' in metrics
        assert 'gridsight_api_work_orders_total{result="rejected",source="stream"} 1.0' in metrics


def test_an_evidence_follow_up_carries_one_or_two_files_of_an_event() -> None:
    from api.contract.wire import EVIDENCE_FOLLOW_UP_VERSION, EvidenceFollowUp

    clip = EvidenceItem("clip", "video/mp4", b"\x00\x00\x00\x18ftypmp42")
    wire = EvidenceFollowUp("evt-1", "cam-01", (clip,)).to_wire()
    assert wire["version"] == EVIDENCE_FOLLOW_UP_VERSION and wire["event_id"] == "evt-1"
    assert [item["kind"] for item in wire["evidence"]] == ["clip"]
    for bad in (dict(evidence=()), dict(evidence=(clip, clip, clip)), dict(camera_id=""), dict(version=2)):
        with pytest.raises(ContractError):
            EvidenceFollowUp(**{"event_id": "evt-1", "camera_id": "cam-01", "evidence": (clip,), **bad})


def test_an_evidence_follow_up_built_by_the_worker_is_what_the_api_reads() -> None:
    from api.contract.wire import EVIDENCE_FOLLOW_UP_VERSION, MAX_FOLLOW_UP_EVIDENCE_ITEMS, EvidenceFollowUp
    from api.schemas_workflow import EvidenceFollowUpIn
    from api.services.filing import FilingRefused, read_evidence_follow_up

    clip = EvidenceItem("clip", "video/mp4", b"\x00\x00\x00\x18ftypmp42")
    wire = EvidenceFollowUp("evt-1", "cam-01", (clip, EvidenceItem("before", "image/jpeg", JPEG))).to_wire()
    body = EvidenceFollowUpIn.model_validate(wire)
    assert (body.version, body.event_id, body.camera_id) == (EVIDENCE_FOLLOW_UP_VERSION, "evt-1", "cam-01")
    assert [e.kind.value for e in body.evidence] == ["clip", "before"] and body.idempotency_key is None
    assert read_evidence_follow_up({k: v for k, v in wire.items() if k != "version"}).version == 1
    schema = EvidenceFollowUpIn.model_json_schema()["properties"]["evidence"]
    assert (schema["minItems"], schema["maxItems"]) == (1, MAX_FOLLOW_UP_EVIDENCE_ITEMS)
    with pytest.raises(FilingRefused) as newer:
        read_evidence_follow_up({**wire, "version": EVIDENCE_FOLLOW_UP_VERSION + 1})
    assert newer.value.status_code == 422 and "evidence follow-up version 2" in newer.value.message
    assert "\n" not in newer.value.message
