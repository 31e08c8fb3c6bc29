"""Outbox records carry a kind: work orders and event ends share one ordered
queue and are dispatched to the matching API call; old records are orders."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from streams.delivery.api_client import ApiClient
from streams.backoff import Backoff
from streams.delivery.outbox import DurableOutbox, OutboxPusher, SendResult
from tests.support.orders import make_settings, order_body


class RecordingApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def send_work_order(self, payload: dict, key: str) -> SendResult:
        self.calls.append(("work_order", key))
        return SendResult(201)

    def send_event_end(self, payload: dict, key: str) -> SendResult:
        self.calls.append(("event_end", key))
        return SendResult(200)

    def send_evidence_follow_up(self, payload: dict, key: str) -> SendResult:
        self.calls.append(("evidence_follow_up", key))
        return SendResult(200)


class OrdersOnlyApi:
    def __init__(self) -> None:
        self.calls = 0

    def send_work_order(self, payload: dict, key: str) -> SendResult:
        self.calls += 1
        return SendResult(201)


def pusher(outbox: DurableOutbox, api) -> OutboxPusher:
    return OutboxPusher(outbox, api, Backoff(0.01, 0.05, 2.0, 0.0, random.Random(0)), idle_poll_s=0.01)


def test_kinds_are_dispatched_in_order(tmp_path: Path) -> None:
    outbox = DurableOutbox(tmp_path)
    outbox.put("start-1", {"n": 1})
    outbox.put("clip-1", {"n": 2}, kind="evidence_follow_up")
    outbox.put("end-1", {"n": 3}, kind="event_end")
    outbox.put("start-2", {"n": 4})
    api = RecordingApi()
    sender = pusher(outbox, api)
    sender.drain_once()
    assert api.calls == [("work_order", "start-1"), ("evidence_follow_up", "clip-1"), ("event_end", "end-1"),
                         ("work_order", "start-2")]
    assert outbox.pending_count() == 0
    assert sender.delivered_kinds == {"orders": 2, "repeats": 0, "ends": 1, "follow_ups": 1}
    assert sender.delivered_summary().endswith("1 END(s) (zone empty again), 1 clip(s) sent after their order")


def test_records_without_kind_are_work_orders(tmp_path: Path) -> None:
    outbox = DurableOutbox(tmp_path)
    legacy = outbox.pending_dir / "000000000001-old-key.json"
    legacy.write_text(json.dumps({"idempotency_key": "old-key", "payload": {"n": 1}}), encoding="utf-8")
    item = outbox.peek()
    assert item is not None and item.kind == "work_order"
    api = RecordingApi()
    pusher(outbox, api).drain_once()
    assert api.calls == [("work_order", "old-key")]


def test_unknown_kind_refused_and_unsupported_sender_sets_it_aside(tmp_path: Path) -> None:
    outbox = DurableOutbox(tmp_path)
    with pytest.raises(ValueError, match="unknown outbox record kind"):
        outbox.put("k-1", {}, kind="telemetry")
    outbox.put("end-1", {}, kind="event_end")
    outbox.put("start-1", {})
    api = OrdersOnlyApi()
    pusher(outbox, api).drain_once()
    assert api.calls == 1 and outbox.rejected_count() == 1 and outbox.pending_count() == 0


def test_api_client_event_end_speaks_this_api(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as app_client:
        client = ApiClient("http://testserver")
        client._client = app_client  # the worker's client over the in-process app
        assert client.send_work_order(order_body(), "key-contract-end-1").status_code == 201
        end = {"event_id": "evt-0001", "camera_id": "cam-01", "zone_id": "zone-a", "rule_id": "exposed-garbage",
               "ended_at": "2026-11-23T12:00:00+08:00", "evidence": []}
        result = client.send_event_end(end, "key-contract-end-2")
        assert result.delivered and result.status_code == 200
        timeline = app_client.get("/api/v1/work-orders/1/timeline").json()["items"]
        assert timeline[-1]["action"] == "event_end"


def test_event_end_payload_matches_the_api_schema() -> None:
    from api.schemas_workflow import EventEndIn
    from inference.detections import Detections
    from inference.rules import EventPhase, RuleEvent
    from streams.delivery.orders import event_end_payload
    from tests.support.orders import JPEG

    event = RuleEvent("evt-9", EventPhase.END, "cam-01", "rule-1", "zone-a", 1_795_000_100.0, 1_795_000_000.0,
                      ("litter",), (3,), 0.9, Detections.empty())
    payload = event_end_payload(event, snapshot_jpeg=JPEG)
    parsed = EventEndIn.model_validate(payload)
    assert parsed.event_id == "evt-9" and parsed.evidence[0].kind.value == "after"
    assert len(event.idempotency_key()) >= 8


def test_api_client_evidence_follow_up_speaks_this_api(tmp_path: Path) -> None:
    from api.contract.wire import EvidenceFollowUp, EvidenceItem

    with TestClient(create_app(make_settings(tmp_path))) as app_client:
        client = ApiClient("http://testserver")
        client._client = app_client  # the worker's client over the in-process app
        assert client.send_work_order(order_body(), "key-contract-clip-1").status_code == 201
        clip = EvidenceItem("clip", "video/mp4", _tiny_mp4())
        result = client.send_evidence_follow_up(EvidenceFollowUp("evt-0001", "cam-01", (clip,)).to_wire(),
                                                "key-contract-clip-2")
        assert result.delivered and result.status_code == 200
        evidence = app_client.get("/api/v1/work-orders/1").json()["evidence"]
        assert [e["kind"] for e in evidence][-1] == "clip"


def _tiny_mp4() -> bytes:
    import numpy as np

    from inference.evidence import encode_mp4

    frames = [np.full((64, 64, 3), level, np.uint8) for level in (40, 120)]
    return encode_mp4(frames, [0.0, 0.2], crf=30, nominal_fps=5.0)
