"""The edge-action message, schema gridsight.action v1 (streams.actions.payload): every field
a receiver may rely on, with its type and unit, written down here as the test's own schema so
renaming, removing or retyping a field fails (docs/actions.md describes the same fields); the
optional JPEG; UTF-8 JSON that keeps Chinese names; the retained per-zone state message."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import cv2
import numpy as np
import pytest

from inference.detections import Detections
from streams.actions.payload import MAX_BOXES, build_payload, encode, iso, state_payload
from tests.support.action_facts import T0, facts

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NUMBER = (int, float)
OPTIONAL = "optional"

# key -> type, tuple of types, nested schema (dict), [item schema] (a list of them), or (OPTIONAL, schema).
BOX_SCHEMA = {"label": str, "confidence": float, "track_id": (int, type(None)),
              "xyxy": [NUMBER], "xyxy_norm": ([NUMBER], type(None))}
ACTION_V1 = {
    "schema": str, "version": int, "event_id": str, "phase": str, "camera_id": str, "rule_id": str, "zone_id": str,
    "category": {"code": str, "name": str}, "priority": str, "grid_cell": (str, type(None)),
    "labels": [str], "track_ids": [int], "max_confidence": float,
    "started_at": float, "started_at_iso": str, "at": float, "at_iso": str, "dwell_s": float, "reopened": bool,
    "frame": {"width": int, "height": int, "captured_at": (float, type(None))},
    "boxes": [BOX_SCHEMA], "sent_at": float, "jpeg": (OPTIONAL, str),
}
STATE_EVENT = {"event_id": str, "rule_id": str, "category": str, "priority": str, "labels": [str], "since": float}
STATE_V1 = {"schema": str, "version": int, "camera_id": str, "zone_id": str, "active": bool, "events": [STATE_EVENT],
            "at": float, "at_iso": str}


def conforms(value, schema, path: str = "$") -> list[str]:
    """Where ``value`` differs from ``schema``: missing, unexpected or mistyped keys."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        problems = [f"{path}.{k}: unexpected" for k in value if k not in schema]
        for key, sub in schema.items():
            optional = isinstance(sub, tuple) and sub[:1] == (OPTIONAL,)
            if key not in value:
                problems += [] if optional else [f"{path}.{key}: missing"]
            else:
                problems += conforms(value[key], sub[1] if optional else sub, f"{path}.{key}")
        return problems
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in conforms(item, schema[0], f"{path}[{i}]")]
    if isinstance(schema, tuple):
        alternatives = [conforms(value, s, path) for s in schema]
        return [] if any(not a for a in alternatives) else alternatives[0]
    if schema is float and isinstance(value, int) and not isinstance(value, bool):
        return []  # JSON does not tell 2.0 from 2
    if schema is int and isinstance(value, bool) or not isinstance(value, schema):
        return [f"{path}: expected {schema.__name__}, got {type(value).__name__} {value!r}"]
    return []


def wire(payload: dict) -> dict:
    """The payload as a receiver sees it: through the JSON encoding."""
    return json.loads(encode(payload).decode("utf-8"))


def test_the_schema_checker_notices_a_renamed_removed_or_retyped_field():
    good = wire(build_payload(facts(), sent_at=T0 + 2.5))
    assert conforms(good, ACTION_V1) == []
    renamed = dict(good)
    renamed["zone"] = renamed.pop("zone_id")
    assert conforms(renamed, ACTION_V1) == ["$.zone: unexpected", "$.zone_id: missing"]
    retyped = {**good, "frame": {**good["frame"], "width": "1280"}}
    assert conforms(retyped, ACTION_V1) == ["$.frame.width: expected int, got str '1280'"]
    bad_box = {**good, "boxes": [{**good["boxes"][0], "xyxy": None}]}
    assert conforms(bad_box, ACTION_V1)


@pytest.mark.parametrize("phase", ["start", "update", "end"])
def test_every_v1_field_is_there_with_its_type(phase):
    payload = wire(build_payload(facts(phase), sent_at=T0 + 2.5))
    assert conforms(payload, ACTION_V1) == []
    assert payload["schema"] == "gridsight.action" and payload["version"] == 1 and payload["phase"] == phase
    assert "jpeg" not in payload


def test_the_values_say_what_the_event_is_and_where():
    payload = wire(build_payload(facts(), sent_at=T0 + 2.5))
    assert payload["event_id"] == "lift-01/lift/car/1"
    assert (payload["camera_id"], payload["rule_id"], payload["zone_id"]) == ("lift-01", "lift", "car")
    assert payload["category"] == {"code": "X-EBIKE-ELEVATOR", "name": "电动车进电梯"}
    assert payload["priority"] == "emergency" and payload["grid_cell"] == "GC-07"
    assert payload["labels"] == ["ebike"] and payload["track_ids"] == [7]
    assert payload["max_confidence"] == 0.9123 and payload["reopened"] is False


def test_times_are_unix_seconds_with_iso_utc_twins():
    payload = wire(build_payload(facts(at=T0 + 2), sent_at=T0 + 2.5))
    assert payload["started_at"] == T0 and payload["at"] == T0 + 2 and payload["sent_at"] == T0 + 2.5
    assert payload["dwell_s"] == 2.0  # seconds from entry to this phase
    assert payload["frame"]["captured_at"] == T0 + 2
    assert payload["started_at_iso"] == "2023-11-14T22:13:20.250Z"
    for key in ("started_at", "at"):
        text = payload[f"{key}_iso"]
        assert ISO_UTC.match(text), text
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert parsed.utcoffset() == dt.timedelta(0) and parsed.timestamp() == pytest.approx(payload[key], abs=1e-3)


def test_iso_is_utc_whatever_the_local_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert iso(0.0) == "1970-01-01T00:00:00.000Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_boxes_are_in_pixels_and_normalised_consistently_with_the_frame():
    payload = wire(build_payload(facts(size=(1280, 720)), sent_at=T0))
    assert payload["frame"]["width"] == 1280 and payload["frame"]["height"] == 720
    (box,) = payload["boxes"]
    assert box["label"] == "ebike" and box["track_id"] == 7 and box["confidence"] == 0.91
    assert box["xyxy"] == [640.0, 180.0, 960.0, 540.0]
    assert box["xyxy_norm"] == [0.5, 0.25, 0.75, 0.75]
    width, height = 1280, 720
    assert [v * s for v, s in zip(box["xyxy_norm"], (width, height, width, height))] == pytest.approx(box["xyxy"], abs=0.1)


def test_a_box_reaching_past_the_frame_edge_still_normalises_into_0_1():
    past = Detections(np.array([[-4.0, 700.0, 1290.0, 725.0]]), [0.8], np.array(["ebike"], dtype=object), [7])
    payload = wire(build_payload(facts(detections=past), sent_at=T0))
    norm = payload["boxes"][0]["xyxy_norm"]
    assert all(0.0 <= v <= 1.0 for v in norm), norm
    assert norm[0] == 0.0 and norm[2] == 1.0 and norm[3] == 1.0


def test_many_objects_are_capped():
    many = Detections(np.array([[i, i, i + 10.0, i + 10.0] for i in range(100)]), [0.5] * 100,
                      np.array(["ebike"] * 100, dtype=object), list(range(100)))
    payload = wire(build_payload(facts(detections=many), sent_at=T0))
    assert len(payload["boxes"]) == MAX_BOXES


def test_without_a_frame_the_sizes_are_zero_the_boxes_unnormalised_and_no_jpeg():
    payload = wire(build_payload(facts(with_frame=False), sent_at=T0, jpeg_max_width=640))
    assert conforms(payload, ACTION_V1) == []
    assert payload["frame"] == {"width": 0, "height": 0, "captured_at": None}
    assert payload["boxes"][0]["xyxy_norm"] is None and "jpeg" not in payload


def decode_jpeg(text: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(base64.b64decode(text, validate=True), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the jpeg field does not decode"
    return image


def test_the_jpeg_is_there_only_when_asked_decodes_and_is_scaled_down_to_the_width():
    assert "jpeg" not in build_payload(facts(), sent_at=T0)
    payload = wire(build_payload(facts(size=(1280, 720)), sent_at=T0, jpeg_max_width=640))
    image = decode_jpeg(payload["jpeg"])
    assert image.shape == (360, 640, 3)  # the frame's aspect kept
    # The frame's content, not noise: the left edge dark, the right edge bright (the fixture's ramp).
    assert image[:, :20].mean() < 30 and image[:, -20:].mean() > 225
    assert conforms(payload, ACTION_V1) == []


def test_the_jpeg_of_a_small_frame_is_never_upscaled():
    payload = build_payload(facts(size=(320, 240)), sent_at=T0, jpeg_max_width=640)
    assert decode_jpeg(payload["jpeg"]).shape == (240, 320, 3)


def test_the_json_keeps_chinese_names_as_utf8():
    body = encode(build_payload(facts(category=("X-LITTER", "乱扔垃圾")), sent_at=T0))
    assert "乱扔垃圾".encode() in body and b"\\u" not in body
    assert json.loads(body)["category"]["name"] == "乱扔垃圾"


def test_the_state_message_lists_the_active_events_of_a_zone():
    active = {"e2": {"event_id": "e2", "rule_id": "lift", "category": "X-EBIKE-ELEVATOR", "priority": "emergency",
                     "labels": ["ebike"], "since": T0},
              "e1": {"event_id": "e1", "rule_id": "lift", "category": "X-EBIKE-ELEVATOR", "priority": "emergency",
                     "labels": ["ebike"], "since": T0 - 5}}
    state = wire(state_payload("lift-01", "car", active, at=T0 + 1))
    assert conforms(state, STATE_V1) == []
    assert state["schema"] == "gridsight.action.state" and state["version"] == 1
    assert state["active"] is True and [e["event_id"] for e in state["events"]] == ["e1", "e2"]
    assert state["at"] == T0 + 1 and state["at_iso"] == "2023-11-14T22:13:21.250Z"
    idle = wire(state_payload("lift-01", "car", {}, at=T0 + 9))
    assert conforms(idle, STATE_V1) == [] and idle["active"] is False and idle["events"] == []
