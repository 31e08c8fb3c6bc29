"""The API takes a worker's per-event evidence (snapshot, before, after, clip) as
the pipeline makes it, stores it, and serves each file back byte for byte."""

from __future__ import annotations

import hashlib
import io

import av
from fastapi.testclient import TestClient

from inference.rules import EventPhase, RuleEvent
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from streams.delivery.orders import work_order_payload
from tests.support.orders import post_order
from tests.support.evidence_frames import BAG, FPS, T0, ZONE, frame


def recorded_order() -> tuple[dict, dict[str, bytes]]:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=4, post_s=3))
    start = 10 * FPS
    event = RuleEvent(event_id="cam-1/kerb-litter/kerb/1", phase=EventPhase.START, camera_id="cam-1",
                      rule_id="kerb-litter", zone_id="kerb", at=T0 + start / FPS, started_at=T0 + 5,
                      labels=("garbage_bag",), track_ids=(7,), max_confidence=0.9, detections=BAG)
    for i in range(start + 1):
        recorder.observe(frame(i), BAG)
    recorder.open(event, zone=ZONE, frame=frame(start), tracked=BAG, caption="cam-1 / kerb-litter / 06010")
    done = []
    for i in range(start + 1, start + 3 * FPS + 1):
        done += recorder.observe(frame(i), BAG)
    [evidence] = done
    payload = work_order_payload(event, category_code="06010", category_name="暴露垃圾", priority="normal",
                                 model_name="gridsight-demo-v1", model_version="1", grid_cell=None, address=None,
                                 evidence=evidence.items)
    return payload, {item.kind: item.data for item in evidence.items}


def test_the_api_stores_and_serves_every_kind_of_event_evidence(client: TestClient) -> None:  # noqa: F811
    payload, files = recorded_order()
    limit = client.app.state.settings.max_evidence_bytes
    assert all(len(data) < limit for data in files.values())
    response = post_order(client, payload, "key-event-evidence-1")
    assert response.status_code == 201, response.text
    listed = response.json()["evidence"]
    assert [(e["kind"], e["content_type"]) for e in listed] == [
        ("snapshot", "image/jpeg"), ("frame", "image/jpeg"), ("before", "image/jpeg"), ("after", "image/jpeg"), ("clip", "video/mp4"),
    ]
    for item in listed:
        download = client.get(item["url"])
        assert download.status_code == 200, item
        assert download.headers["content-type"] == item["content_type"]
        assert download.content == files[item["kind"]]
        assert item["sha256"] == hashlib.sha256(download.content).hexdigest()
    clip = client.get(listed[-1]["url"]).content
    with av.open(io.BytesIO(clip)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4 * FPS + 1 + 3 * FPS
    # The order read back lists the same four files.
    again = client.get(f"/api/v1/work-orders/{response.json()['id']}").json()
    assert [e["kind"] for e in again["evidence"]] == ["snapshot", "frame", "before", "after", "clip"]
