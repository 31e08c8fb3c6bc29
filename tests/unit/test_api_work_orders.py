"""POST /api/v1/work-orders: idempotency, validation and evidence storage."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.main import create_app
from api.db.models import Evidence, WorkOrder
from tests.support.orders import JPEG, MP4, PNG, b64, evidence_files, jpeg_evidence, make_settings, order_body, post_order


def count_orders(client: TestClient) -> int:
    with Session(client.app.state.engine) as session:
        return session.scalar(select(func.count()).select_from(WorkOrder)) or 0


def count_evidence_rows(client: TestClient) -> int:
    with Session(client.app.state.engine) as session:
        return session.scalar(select(func.count()).select_from(Evidence)) or 0


def test_create_returns_201_with_location_and_public_fields(client: TestClient) -> None:
    response = post_order(client, order_body(), "key-create-0001")
    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["location"] == f"/api/v1/work-orders/{order['id']}"
    assert "idempotent-replayed" not in response.headers
    assert re.fullmatch(r"GS-\d{8}-\d{6}", order["order_no"])
    assert order["order_no"].endswith(f"{order['id']:06d}")
    assert order["source"] == "video"
    assert order["status"] == "detected"
    assert order["category_code"] == "06010"
    assert order["labels"] == ["garbage_pile"]
    assert order["boxes"][0]["track_id"] == 7
    assert order["evidence"] == []
    # Server-side secrets of the idempotency machinery never leave the server.
    assert not {"idempotency_key", "payload_sha256", "payload_hash"} & set(order)
    assert "key-create-0001" not in response.text


def test_replay_same_key_same_payload_returns_existing_order(client: TestClient) -> None:
    body = order_body(evidence=[jpeg_evidence()])
    first = post_order(client, body, "key-replay-0001")
    second = post_order(client, body, "key-replay-0001")
    assert first.status_code == 201
    assert second.status_code == 200, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert second.json() == first.json()
    assert count_orders(client) == 1
    assert count_evidence_rows(client) == 1


def test_key_in_body_works_and_replays_via_header(client: TestClient) -> None:
    first = post_order(client, order_body(idempotency_key="key-in-body-01"), None)
    assert first.status_code == 201, first.text
    # Same key, now as a header with the body field dropped: the same request, the same order.
    second = post_order(client, order_body(), "key-in-body-01")
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]


def test_replay_compares_meaning_not_spelling(client: TestClient) -> None:
    first = post_order(client, order_body(detected_at="2026-11-23T10:00:00+08:00"), "key-spelling-01")
    evidence = [{"kind": "snapshot", "content_type": "image/jpeg", "data_b64": b64(JPEG)[:20] + "\n" + b64(JPEG)[20:]}]
    same_instant = order_body(detected_at="2026-11-23T02:00:00Z")
    second = post_order(client, same_instant, "key-spelling-01")
    assert first.status_code == 201 and second.status_code == 200
    third = post_order(client, order_body(evidence=evidence), "key-spelling-02")
    fourth = post_order(client, order_body(evidence=[jpeg_evidence()]), "key-spelling-02")
    assert third.status_code == 201 and fourth.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"confidence": 0.5},
        {"priority": "urgent"},
        {"detected_at": "2026-11-23T10:00:01+08:00"},
        {"evidence": [jpeg_evidence(JPEG + b"x")]},
    ],
)
def test_same_key_different_payload_is_409(client: TestClient, change: dict) -> None:
    assert post_order(client, order_body(), "key-conflict-01").status_code == 201
    response = post_order(client, order_body(**change), "key-conflict-01")
    assert response.status_code == 409
    assert "different payload" in response.json()["detail"]
    assert count_orders(client) == 1
    assert evidence_files(client.app.state.settings.evidence_dir) == []


def test_missing_key_is_422_with_clear_message(client: TestClient) -> None:
    response = post_order(client, order_body(), None)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert count_orders(client) == 0


def test_header_and_body_keys_that_differ_are_422(client: TestClient) -> None:
    response = post_order(client, order_body(idempotency_key="key-body-0001"), "key-header-001")
    assert response.status_code == 422
    assert "differ" in response.json()["detail"]
    both_same = post_order(client, order_body(idempotency_key="key-both-00001"), "key-both-00001")
    assert both_same.status_code == 201


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (order_body(detected_at="2026-11-23T10:00:00"), {}),  # naive: ambiguous time zone
        (order_body(detected_at="9999-12-31T20:00:00-08:00"), {}),  # would overflow with the deadline
        (order_body(boxes=[{"label": "x", "confidence": 0.5, "xyxy": [1, 2, 3, 4], "track_id": 10**30}]), {}),
        (order_body(confidence=1.5), {}),
        (order_body(labels=[]), {}),
        (order_body(priority="whenever"), {}),
        (order_body(unknown_field=1), {}),
        (order_body(boxes=[{"label": "x", "confidence": 0.5, "xyxy": [1, 2, 3]}]), {}),
        (order_body(), {"Idempotency-Key": "short"}),
    ],
)
def test_invalid_bodies_are_422_with_location_of_the_problem(client: TestClient, body: dict, headers: dict) -> None:
    headers.setdefault("Idempotency-Key", "key-invalid-01")
    response = client.post("/api/v1/work-orders", json=body, headers=headers)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and all("loc" in item and "msg" in item for item in detail)
    assert count_orders(client) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'{"camera_id": NaN}', b"\xff\xfe"])
def test_malformed_json_is_422_not_500(client: TestClient, raw: bytes) -> None:
    response = client.post(
        "/api/v1/work-orders",
        content=raw,
        headers={"Content-Type": "application/json", "Idempotency-Key": "key-malformed1"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_nan_in_boxes_is_refused(client: TestClient) -> None:
    # Written by hand: json.dumps would refuse to produce NaN for us.
    raw_text = (
        '{"camera_id":"c","zone_id":"z","rule_id":"r","event_id":"e","category_code":"06010",'
        '"category_name":"n","labels":["a"],"confidence":0.5,"detected_at":"2026-11-23T02:00:00Z",'
        '"model_name":"m","model_version":"1","boxes":[{"label":"a","confidence":0.5,"xyxy":[NaN,1,2,3]}]}'
    )
    response = client.post(
        "/api/v1/work-orders",
        content=raw_text,
        headers={"Content-Type": "application/json", "Idempotency-Key": "key-nan-00001"},
    )
    assert response.status_code == 422, response.text


def test_validation_errors_do_not_echo_the_payload(client: TestClient) -> None:
    body = order_body(evidence=[jpeg_evidence()])
    del body["camera_id"]
    response = post_order(client, body, "key-echo-00001")
    assert response.status_code == 422
    assert b64(JPEG) not in response.text


def test_evidence_round_trip_all_types(client: TestClient) -> None:
    files = {"image/jpeg": JPEG, "image/png": PNG, "video/mp4": MP4}
    evidence = [
        {"kind": "snapshot", "content_type": "image/jpeg", "data_b64": b64(JPEG)},
        {"kind": "before", "content_type": "image/png", "data_b64": b64(PNG)},
        {"kind": "clip", "content_type": "video/mp4", "data_b64": b64(MP4)},
    ]
    response = post_order(client, order_body(evidence=evidence), "key-evidence-1")
    assert response.status_code == 201, response.text
    listed = response.json()["evidence"]
    assert [e["kind"] for e in listed] == ["snapshot", "before", "clip"]
    for item in listed:
        data = files[item["content_type"]]
        assert item["size"] == len(data)
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        download = client.get(item["url"])
        assert download.status_code == 200
        assert download.content == data
        assert download.headers["content-type"] == item["content_type"]
    stored = evidence_files(client.app.state.settings.evidence_dir)
    assert len(stored) == 3
    assert not [p for p in stored if p.name.startswith(".tmp-")]


def test_evidence_of_another_order_or_missing_is_404(client: TestClient) -> None:
    a = post_order(client, order_body(evidence=[jpeg_evidence()]), "key-ev-owner-a").json()
    b = post_order(client, order_body(event_id="evt-b"), "key-ev-owner-b").json()
    evidence_id = a["evidence"][0]["id"]
    wrong_order = client.get(f"/api/v1/work-orders/{b['id']}/evidence/{evidence_id}")
    assert wrong_order.status_code == 404
    assert "not found" in wrong_order.json()["detail"]
    assert client.get(f"/api/v1/work-orders/{a['id']}/evidence/9999").status_code == 404
    assert client.get(f"/api/v1/work-orders/9999/evidence/{evidence_id}").status_code == 404


def test_evidence_file_gone_from_disk_is_410(client: TestClient) -> None:
    order = post_order(client, order_body(evidence=[jpeg_evidence()]), "key-ev-gone-01").json()
    for path in evidence_files(client.app.state.settings.evidence_dir):
        path.unlink()
    response = client.get(order["evidence"][0]["url"])
    assert response.status_code == 410
    assert "missing from storage" in response.json()["detail"]


@pytest.mark.parametrize(
    ("evidence", "fragment"),
    [
        ({"kind": "snapshot", "content_type": "image/jpeg", "data_b64": "!!!not-base64!!!"}, "not valid base64"),
        ({"kind": "snapshot", "content_type": "image/jpeg", "data_b64": "QUJDRA"}, "not valid base64"),
        ({"kind": "snapshot", "content_type": "image/jpeg", "data_b64": b64(PNG)}, "magic"),
        ({"kind": "snapshot", "content_type": "image/png", "data_b64": b64(JPEG)}, "magic"),
        ({"kind": "clip", "content_type": "video/mp4", "data_b64": b64(JPEG)}, "magic"),
        ({"kind": "snapshot", "content_type": "image/gif", "data_b64": b64(JPEG)}, None),
    ],
)
def test_bad_evidence_is_422_and_nothing_is_stored(client: TestClient, evidence: dict, fragment: str | None) -> None:
    # The bad file comes second, after a good one, so a half-done write would show.
    body = order_body(evidence=[jpeg_evidence(), evidence])
    response = post_order(client, body, "key-bad-evid-1")
    assert response.status_code == 422, response.text
    if fragment is not None:
        assert fragment in response.json()["detail"]
        assert "evidence[1]" in response.json()["detail"]
    assert count_orders(client) == 0
    assert count_evidence_rows(client) == 0
    assert evidence_files(client.app.state.settings.evidence_dir) == []
    # The key was not burnt: a corrected retry creates the order.
    assert post_order(client, order_body(evidence=[jpeg_evidence()]), "key-bad-evid-1").status_code == 201


def test_oversize_evidence_is_413(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_evidence_bytes=1024)
    with TestClient(create_app(settings)) as small:
        big = jpeg_evidence(JPEG + b"\x00" * 2048)
        response = post_order(small, order_body(evidence=[big]), "key-oversize-1")
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        assert post_order(small, order_body(evidence=[jpeg_evidence()]), "key-oversize-2").status_code == 201


@pytest.mark.parametrize("step", ["stage", "place"])
def test_failed_write_leaves_no_orphan_files(client: TestClient, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    # Evidence is staged (written, fsync) before the transaction and placed (renamed) inside it.
    store = client.app.state.evidence_store
    real = getattr(store, step)
    calls = []

    def flaky(*args):  # type: ignore[no-untyped-def]
        calls.append(args)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args)

    monkeypatch.setattr(store, step, flaky)
    body = order_body(evidence=[jpeg_evidence(), jpeg_evidence(kind="before")])
    raw = TestClient(client.app, raise_server_exceptions=False)
    assert post_order(raw, body, f"key-orphan-{step}").status_code == 500
    assert len(calls) == 2
    assert evidence_files(client.app.state.settings.evidence_dir) == []
    assert count_orders(client) == 0


def test_staged_files_a_crash_left_are_removed_at_start(tmp_path: Path) -> None:
    import os
    import time

    from api.evidence import EvidenceStore

    store = EvidenceStore(tmp_path / "evidence")
    old, fresh = store.stage(b"left by a crash"), store.stage(b"another process's request, in flight")
    past = time.time() - EvidenceStore.STALE_STAGED_S - 60
    os.utime(old, (past, past))
    store.prepare()
    assert not old.exists() and fresh.exists()


def test_failed_commit_leaves_no_orphan_files(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_commit(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    raw = TestClient(client.app, raise_server_exceptions=False)
    response = post_order(raw, order_body(evidence=[jpeg_evidence()]), "key-orphan-002")
    assert response.status_code == 500
    monkeypatch.undo()
    assert evidence_files(client.app.state.settings.evidence_dir) == []
    assert count_orders(client) == 0
