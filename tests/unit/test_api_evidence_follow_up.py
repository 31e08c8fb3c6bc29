"""Evidence follow-ups (``POST /api/v1/events/evidence`` and the Redis kind ``evidence_follow_up``):
an emergency order goes without its clip, which the worker sends afterwards; the clip joins the
order's evidence in any state (closed included, merged events on the order they merged into), the
state does not change, the timeline says so. Idempotent like ``POST /events/end``; an unknown event
is a 200 that stores nothing, so the worker's outbox moves on."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.db.models import Evidence, OrderEvent
from api.main import create_app
from tests.support.ops import OP_A, SUP, WORKER, FakeClock, secured_settings, timeline, walk
from tests.support.orders import JPEG, MP4, b64, evidence_files, jpeg_evidence, order_body, post_order

FOLLOW_UPS = "/api/v1/events/evidence"


def clip(data: bytes = MP4) -> dict:
    return {"kind": "clip", "content_type": "video/mp4", "data_b64": b64(data)}


def message(event_id: str, camera_id: str = "cam-01", evidence: list[dict] | None = None) -> dict:
    return {"event_id": event_id, "camera_id": camera_id, "evidence": [clip()] if evidence is None else evidence}


def follow_up(client: TestClient, body: dict, key: str | None = None, headers: dict | None = None):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(FOLLOW_UPS, json=body, headers={**(headers or WORKER), **extra})


def _tag() -> str:
    return uuid.uuid4().hex[:10]  # the PostgreSQL database is shared by the module: ids and keys of their own


def file_order(client: TestClient, event_id: str, camera_id: str = "cam-01", **overrides) -> int:
    body = order_body(event_id=event_id, camera_id=camera_id, grid_cell="cell-a", evidence=[jpeg_evidence()],
                      **overrides)
    response = post_order(client, body, f"key-order-{_tag()}", **WORKER)
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def count(client: TestClient, model, *where) -> int:
    with client.app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def nothing_stored_for(client: TestClient, order_id: int | None, files_before: int) -> None:
    if order_id is not None:
        assert count(client, Evidence, Evidence.work_order_id == order_id) == 1  # the order's own key frame
    assert len(evidence_files(client.app.state.settings.evidence_dir)) == files_before


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    settings = secured_settings(tmp_path, merge_window=dt.timedelta(hours=24), max_evidence_bytes=len(MP4) + 1024)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


def attaches_replays_and_refuses_a_reused_key(client: TestClient, clock: FakeClock) -> None:
    settings = client.app.state.settings
    event, camera, key = f"evt-{_tag()}", f"cam-{_tag()}", f"key-follow-{_tag()}"
    order_id = file_order(client, event, camera)
    clock.advance(seconds=4)
    sent = follow_up(client, message(event, camera), key)
    assert sent.status_code == 200, sent.text
    [clip_id] = sent.json()["evidence_ids"]
    assert sent.json() == {"outcome": "attached", "work_order_id": order_id, "evidence_ids": [clip_id],
                           "replayed": False}
    detail = client.get(f"/api/v1/work-orders/{order_id}", headers=SUP).json()
    assert detail["status"] == "detected"  # the state does not change
    assert [e["kind"] for e in detail["evidence"]] == ["snapshot", "clip"]
    served = detail["evidence"][-1]
    assert served["id"] == clip_id and client.get(served["url"], headers=SUP).content == MP4
    entry = timeline(client, order_id)[-1]
    assert (entry["action"], entry["actor"], entry["role"], entry["from_status"], entry["to_status"]) == (
        "evidence_added", f"camera:{camera}", "worker", None, None)
    assert entry["data"] == {"event_id": event, "evidence_ids": [clip_id], "kinds": ["clip"]}
    files = len(evidence_files(settings.evidence_dir))

    clock.advance(seconds=30)  # the outbox retries later: a replay, nothing new
    again = follow_up(client, {**message(event, camera), "idempotency_key": key})
    assert again.status_code == 200 and again.json() == {**sent.json(), "replayed": True}
    assert len(evidence_files(settings.evidence_dir)) == files
    assert count(client, Evidence, Evidence.work_order_id == order_id) == 2

    other = follow_up(client, message(event, camera, [jpeg_evidence(kind="after")]), key)
    assert other.status_code == 409, other.text
    assert isinstance(other.json()["detail"], str) and "\n" not in other.json()["detail"]
    assert follow_up(client, message(event, camera, [clip()] * 2), key).status_code == 409  # another message
    assert len(timeline(client, order_id)) == 2 and len(evidence_files(settings.evidence_dir)) == files


def test_a_follow_up_attaches_the_clip_replays_and_refuses_a_reused_key(app: TestClient, clock: FakeClock) -> None:
    attaches_replays_and_refuses_a_reused_key(app, clock)


def test_the_same_on_postgresql(pg_database: str, tmp_path: Path, clock: FakeClock) -> None:
    # The idempotency record's columns hold what a follow-up stores (SQLite does not check lengths).
    with TestClient(create_app(secured_settings(tmp_path, database_url=pg_database), clock=clock)) as client:
        attaches_replays_and_refuses_a_reused_key(client, clock)


def test_an_unknown_event_is_a_200_that_stores_nothing(app: TestClient) -> None:
    files = len(evidence_files(app.app.state.settings.evidence_dir))
    response = follow_up(app, message("evt-never-filed"), "key-unknown-0001")
    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": "unknown_event", "work_order_id": None, "evidence_ids": [],
                               "replayed": False}
    assert count(app, Evidence) == 0 and len(evidence_files(app.app.state.settings.evidence_dir)) == files
    assert count(app, OrderEvent, OrderEvent.event_id == "evt-never-filed") == 1  # the key is remembered
    replay = follow_up(app, message("evt-never-filed"), "key-unknown-0001").json()
    assert replay == {"outcome": "unknown_event", "work_order_id": None, "evidence_ids": [], "replayed": True}


def test_a_closed_order_still_gets_its_clip(app: TestClient, clock: FakeClock) -> None:
    order_id = file_order(app, "evt-closed")
    walk(app, order_id, "filed", "dispatched", "accepted", "in_progress", "feedback", "verifying", "closed")
    closed = app.get(f"/api/v1/work-orders/{order_id}", headers=SUP).json()
    clock.advance(minutes=5)
    response = follow_up(app, message("evt-closed"), "key-closed-0001")
    assert response.status_code == 200 and response.json()["outcome"] == "attached", response.text
    after = app.get(f"/api/v1/work-orders/{order_id}", headers=SUP).json()
    assert (after["status"], after["closed_at"]) == ("closed", closed["closed_at"])
    assert after["evidence"][-1]["kind"] == "clip" and timeline(app, order_id)[-1]["action"] == "evidence_added"


def test_a_merged_event_attaches_to_the_order_it_merged_into(app: TestClient, clock: FakeClock) -> None:
    first = file_order(app, "evt-first")
    clock.advance(minutes=10)
    assert file_order(app, "evt-repeat", detected_at=clock.now.isoformat()) == first  # merged
    response = follow_up(app, message("evt-repeat"), "key-merged-0001")
    assert response.status_code == 200, response.text
    assert (response.json()["outcome"], response.json()["work_order_id"]) == ("attached", first)
    assert timeline(app, first)[-1]["data"]["event_id"] == "evt-repeat"
    evidence = app.get(f"/api/v1/work-orders/{first}", headers=SUP).json()["evidence"]
    assert [e["kind"] for e in evidence] == ["snapshot", "clip"]


BAD = {
    "wrong content type": (message("evt-bad", evidence=[{**clip(), "content_type": "image/gif"}]), 422),
    "a clip that is not one": (message("evt-bad", evidence=[{**clip(), "data_b64": b64(JPEG)}]), 422),
    "too big": (message("evt-bad", evidence=[clip(MP4 + b"\x00" * 2048)]), 413),
    "three files": (message("evt-bad", evidence=[clip()] * 3), 422),
    "no file": (message("evt-bad", evidence=[]), 422),
    "an unknown field": ({**message("evt-bad"), "zone_id": "zone-a"}, 422),
    "a newer version": ({**message("evt-bad"), "version": 2}, 422),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_evidence_is_refused_in_one_line_and_nothing_is_written(app: TestClient, name: str) -> None:
    order_id = file_order(app, "evt-bad")
    files = len(evidence_files(app.app.state.settings.evidence_dir))
    body, status = BAD[name]
    response = follow_up(app, body, f"key-bad-{sorted(BAD).index(name):04d}")
    assert response.status_code == status, response.text
    assert "\n" not in response.text and b64(MP4)[:40] not in response.text  # one line, the input never echoed
    nothing_stored_for(app, order_id, files)
    assert count(app, OrderEvent) == 0 and len(timeline(app, order_id)) == 1


def test_the_key_and_the_role_are_checked(app: TestClient) -> None:
    order_id = file_order(app, "evt-key")
    files = len(evidence_files(app.app.state.settings.evidence_dir))
    missing = follow_up(app, message("evt-key"))
    assert missing.status_code == 422 and "idempotency key is required" in missing.json()["detail"]
    differ = follow_up(app, {**message("evt-key"), "idempotency_key": "key-body-00001"}, "key-head-00001")
    assert differ.status_code == 422 and "differ" in differ.json()["detail"]
    assert follow_up(app, message("evt-key"), "key-role-00001", headers=OP_A).status_code == 403
    assert follow_up(app, message("evt-key"), "short").status_code == 422
    nothing_stored_for(app, order_id, files)


def test_a_clip_gets_the_evidence_body_limit_not_the_json_one(tmp_path: Path) -> None:
    import json

    settings = secured_settings(tmp_path, max_json_body_bytes=8 * 1024, max_evidence_body_bytes=64 * 1024)
    with TestClient(create_app(settings)) as client:
        file_order(client, "evt-limit")
        padded = json.dumps(message("evt-limit")) + " " * 20_000  # above the JSON limit, below the evidence one
        headers = {**WORKER, "Content-Type": "application/json", "Idempotency-Key": "key-limit-0001"}
        fits = client.post(FOLLOW_UPS, content=padded, headers=headers)
        assert fits.status_code == 200 and fits.json()["outcome"] == "attached", fits.text
        big = client.post(FOLLOW_UPS, content=padded + " " * 50_000, headers=headers)
        assert big.status_code == 413 and "GRIDSIGHT_MAX_EVIDENCE_BODY_BYTES" in big.json()["detail"]


def test_the_redis_ingest_files_a_follow_up(tmp_path: Path) -> None:
    from streams.delivery.bus import encode_message
    from tests.support.loadgen import synthetic_order
    from tests.support.redis_server import REDIS_SERVER, RedisServer

    if REDIS_SERVER is None:
        pytest.skip("needs redis-server on PATH")
    with RedisServer(workdir=tmp_path / "redis") as server:
        r, stream = server.client(), "gs:orders"
        order_key, order = synthetic_order("follow", 1, b64(JPEG))
        r.xadd(stream, encode_message("work_order", order_key, order, "w"))
        clip_message = {"version": 1, "event_id": order["event_id"], "camera_id": order["camera_id"],
                        "evidence": [clip()]}
        r.xadd(stream, encode_message("evidence_follow_up", f"{order_key}-clip", clip_message, "w"))
        r.xadd(stream, encode_message("evidence_follow_up", "key-follow-unknown", message("evt-none"), "w"))
        end = {"event_id": order["event_id"], "camera_id": order["camera_id"], "zone_id": order["zone_id"],
               "rule_id": order["rule_id"], "ended_at": order["detected_at"], "evidence": []}
        r.xadd(stream, encode_message("event_end", "key-follow-end-1", end, "w"))  # the other event kind, unchanged
        r.xadd(stream, encode_message("evidence_follow_up", "key-follow-bad-1",
                                      message("evt-none", evidence=[clip()] * 3), "w"))
        settings = secured_settings(tmp_path).model_copy(
            update={"redis_url": server.url, "redis_stream": stream, "ingest_block_ms": 100})
        with TestClient(create_app(settings)) as client:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (r.xlen(f"{stream}:dead") and count(client, OrderEvent) == 3):
                time.sleep(0.05)
            [(_, dead)] = r.xrange(f"{stream}:dead")
            assert dead["key"] == "key-follow-bad-1" and "evidence follow-up" in dead["dead_reason"], dead
            [order_id] = [o["id"] for o in client.get("/api/v1/work-orders", headers=SUP).json()["items"]]
            detail = client.get(f"/api/v1/work-orders/{order_id}", headers=SUP).json()
            assert [e["kind"] for e in detail["evidence"]] == ["snapshot", "clip"]
            assert client.get(detail["evidence"][-1]["url"], headers=SUP).content == MP4
            with client.app.state.sessions() as session:
                outcomes = dict(session.execute(select(OrderEvent.idempotency_key, OrderEvent.outcome)).all())
            assert outcomes == {f"{order_key}-clip": "attached", "key-follow-unknown": "unknown_event",
                                "key-follow-end-1": "ignored"}
