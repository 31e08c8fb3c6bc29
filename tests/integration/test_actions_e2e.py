"""Issue 19's proof, end to end: the e-bike-in-elevator scenario clip served by gst-rtsp-server
at 5 fps, a real `gridsight worker` (demo-v4 model, tracker, the ebike_in_elevator preset:
3 of 5 frames, tier emergency), a real Mosquitto broker and a subscriber, and the API.

The lift's message must arrive on its topic with the event the API's emergency order is for,
and before that order is stored: the action does not wait for the outbox, the evidence
window or the API. The latencies are printed, not asserted (benchmarks/edge_latency.py
measures them over repeated runs on a quiet machine)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.edge_site import EdgeSite, latencies, parse_utc
from tests.support.mosquitto import Subscriber, requires_mosquitto
from tests.support.procs import wait_until
from tests.support.rtsp import requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server, requires_mosquitto]

CAMERA = "lift-01"


def evidence_kinds(site: EdgeSite, order_id: int) -> list[str]:
    order = httpx.get(f"{site.api.url}/api/v1/work-orders/{order_id}", timeout=10).json()
    return [e["kind"] for e in order["evidence"]]



def test_ebike_in_lift_reaches_mqtt_before_the_order_is_stored(tmp_path, lift_clip):
    with EdgeSite(tmp_path, lift_clip, cameras=(CAMERA,)) as site:
        start = site.subscriber.wait_for(site.is_start, 90, "the lift's START message")
        payload = Subscriber.json(start)
        order = site.wait_order(payload["event_id"], 30)
        end = site.subscriber.wait_for(lambda m: m.topic.endswith("/end") and not m.retain, 40, "the lift's END message")
        stats = wait_until(lambda: (s := site.action_stats())["sink"].get("delivered", 0) >= 2 and s, 10,
                           "the broker's acknowledgements of both", on_timeout=site.worker_log)
        measured = latencies(payload, start.received_at, order)
        print(f"measured (one run, not asserted): {json.dumps(measured)}")
        # The emergency order went on its deciding frame; its clip follows it (an evidence follow-up).
        kinds = wait_until(lambda: "clip" in (k := evidence_kinds(site, order["id"])) and k, 60,
                           "the order's clip, sent after it", on_timeout=site.worker_log)
        timeline = httpx.get(f"{site.api.url}/api/v1/work-orders/{order['id']}/timeline", timeout=10).json()["items"]

    assert start.topic == f"gridsight/lift/{CAMERA}/car/start" and start.qos == 1
    assert payload["schema"] == "gridsight.action" and payload["version"] == 1
    assert (payload["phase"], payload["camera_id"], payload["rule_id"], payload["zone_id"]) == ("start", CAMERA, "lift", "car")
    assert payload["priority"] == "emergency" and payload["category"]["code"] == "X-EBIKE-ELEVATOR"
    assert "ebike" in payload["labels"] and any(b["label"] == "ebike" for b in payload["boxes"])
    # k-of-n: the deciding frame is the 3rd hit of a 5-frame window, a later frame than the first hit
    # (~0.4 s at 5 fps; not asserted: under load the decoder hands frames over in bursts).
    assert payload["started_at"] < payload["frame"]["captured_at"] <= payload["sent_at"] <= start.received_at, payload

    # The order is the same event, stored after the message had already arrived.
    assert order["event_id"] == payload["event_id"]
    assert order["priority"] == "emergency" and order["category_code"] == "X-EBIKE-ELEVATOR"
    assert order["camera_id"] == CAMERA and order["zone_id"] == "car"
    assert parse_utc(order["created_at"]) > start.received_at, (order["created_at"], start.received_at)

    assert kinds[:2] == ["snapshot", "frame"] and kinds.count("clip") == 1 and kinds[-1] == "clip", kinds
    assert "evidence_added" in [entry["action"] for entry in timeline]

    assert Subscriber.json(end)["event_id"] == payload["event_id"] and end.topic == f"gridsight/lift/{CAMERA}/car/end"
    events = [m for m in site.subscriber.messages if not m.retain]
    assert [m.topic.rsplit("/", 1)[1] for m in events] == ["start", "end"], [m.topic for m in events]
    assert stats["route"]["sent"] == 2 and stats["sink"]["delivered"] == 2 and stats["sink"]["dropped"] == 0, stats
