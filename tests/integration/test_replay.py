"""gridsight replay: a recorded clip through the full pipeline, offline, twice the same; and an
order's own evidence clip fetched from the API and replayed."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from streams.config import load_config
from gridsight.ml.replay import fetch_order_clip, replay_clip
from tests.support.orders import make_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def first_replay(demo_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("replay") / "a"
    return replay_clip(load_config(ROOT / "configs" / "demo.yaml"), "street-01", demo_clip, out_dir=out), out


def test_replay_files_the_demo_alerts_and_reproduces_them(first_replay, demo_clip, tmp_path):
    config = load_config(ROOT / "configs" / "demo.yaml")
    first, first_dir = first_replay
    again = replay_clip(config, "street-01", demo_clip, out_dir=tmp_path / "b")

    assert first.frames_analysed > 50
    assert all(0 <= o["started_s"] <= o["detected_s"] for o in first.orders)
    rules = sorted(o["rule_id"] for o in first.orders)
    assert rules == ["east-litter", "west-litter"], first.table()
    # Same clip, same config, same model: the same alerts, so an alert can be reproduced.
    wall = {"evidence", "event_id", "detected_at", "event_started_at"}  # wall-clock stamps differ per run
    strip = lambda orders: [{k: v for k, v in o.items() if k not in wall} for o in orders]  # noqa: E731
    assert strip(again.orders) == strip(first.orders)

    lines = [json.loads(x) for x in (first_dir / "events.jsonl").read_text().splitlines()]
    assert [x["rule_id"] for x in lines if x["type"] == "order"] == [o["rule_id"] for o in first.orders]
    for order in first.orders:
        assert "snapshot" in " ".join(order["evidence"])
        for name in order["evidence"]:
            assert (first_dir / name).stat().st_size > 1000


def test_an_orders_evidence_clip_is_fetched_and_replayed(first_replay, tmp_path):
    config = load_config(ROOT / "configs" / "demo.yaml")
    first, out = first_replay
    order = first.orders[0]
    clip = next(name for name in order["evidence"] if name.endswith("clip.mp4"))
    with av.open(str(out / clip)) as container:
        assert container.streams.video[0].frames > 5

    import base64

    payload = {
        "camera_id": "street-01", "zone_id": order["zone_id"], "rule_id": order["rule_id"],
        "event_id": order["event_id"], "category_code": order["category_code"],
        "category_name": order["category_name"], "priority": order["priority"], "labels": order["labels"],
        "confidence": order["confidence"], "detected_at": order["detected_at"],
        "event_started_at": order["event_started_at"], "model_name": order["model_name"],
        "model_version": order["model_version"], "boxes": [],
        "evidence": [{"kind": "clip", "content_type": "video/mp4",
                      "data_b64": base64.b64encode((out / clip).read_bytes()).decode()}],
    }
    with TestClient(create_app(make_settings(tmp_path))) as api:
        created = api.post("/api/v1/work-orders", json=payload, headers={"Idempotency-Key": "replay-test-1"})
        assert created.status_code == 201, created.text
        path, camera_id = fetch_order_clip(created.json()["id"], tmp_path / "fetched.mp4", client=api)
    assert camera_id == "street-01" and path.read_bytes() == (out / clip).read_bytes()

    # The evidence clip is short and annotated; replay must run it end to end without error.
    replayed = replay_clip(config, camera_id, path, out_dir=tmp_path / "replayed")
    assert replayed.frames_analysed > 5


def test_a_refused_order_fetch_is_one_line_with_the_api_detail(tmp_path):
    import httpx

    refuse = httpx.MockTransport(lambda request: httpx.Response(404, json={"detail": "work order 7 not found"}))
    with httpx.Client(transport=refuse, base_url="http://api.test") as api:
        with pytest.raises(ValueError) as info:
            fetch_order_clip(7, tmp_path / "fetched.mp4", client=api)
    assert str(info.value) == "work order 7: the API answered 404: work order 7 not found"
    assert not (tmp_path / "fetched.mp4").exists()
