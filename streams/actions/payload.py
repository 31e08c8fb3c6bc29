"""The edge-action message, schema ``gridsight.action/v1`` (docs/actions.md), built once per
event and route variant on the camera's thread, right where the rule fired.

It carries what a device next to the camera needs to act without asking the API: the
event (ids, phase, times), what it is (category, tier, labels), where (camera, zone, grid
cell, boxes in pixels and normalised) and, on request, a small JPEG of the deciding frame.
Times are Unix seconds (the frame clock: wall clock for live cameras) and ISO 8601 UTC.
A receiver must ignore fields it does not know; a change that removes or redefines a field
bumps ``version``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

import cv2
import numpy as np

from inference.detections import Detections
from inference.frames import VideoFrame
from inference.rules import RuleEvent

SCHEMA = "gridsight.action"
VERSION = 1
JPEG_QUALITY = 80
MAX_BOXES = 32  # a payload for a loudspeaker, not a detection dump


@dataclass(frozen=True)
class EventFacts:
    """What the dispatcher knows of a rule event when it fires: the pipeline's arguments, named."""

    camera_id: str
    event: RuleEvent
    category_code: str
    category_name: str
    priority: str
    grid_cell: str | None
    frame: VideoFrame | None
    tracked: Detections
    test: bool = False  # a sample from `gridsight actions test`: the message says "test": true


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_payload(facts: EventFacts, *, sent_at: float, jpeg_max_width: int | None = None) -> dict:
    """The v1 message as a dict; ``jpeg_max_width``: attach the frame scaled to at most that width."""
    event = facts.event
    width, height = (facts.frame.width, facts.frame.height) if facts.frame is not None else (0, 0)
    payload = {
        "schema": SCHEMA,
        "version": VERSION,
        "event_id": event.event_id,
        "phase": event.phase.value,
        "camera_id": facts.camera_id,
        "rule_id": event.rule_id,
        "zone_id": event.zone_id,
        "category": {"code": facts.category_code, "name": facts.category_name},
        "priority": facts.priority,
        "grid_cell": facts.grid_cell,
        "labels": list(event.labels),
        "track_ids": [int(t) for t in event.track_ids],
        "max_confidence": round(float(event.max_confidence), 4),
        "started_at": round(event.started_at, 3),
        "started_at_iso": iso(event.started_at),
        "at": round(event.at, 3),
        "at_iso": iso(event.at),
        "dwell_s": round(event.dwell_s, 2),
        "reopened": event.reopened,
        "frame": {"width": width, "height": height,
                  "captured_at": round(facts.frame.captured_at, 3) if facts.frame is not None else None},
        "boxes": boxes(event.detections, width, height),
        "sent_at": round(sent_at, 3),
    }
    if facts.test:
        payload["test"] = True  # absent on real events, so a receiver can drop samples with one check
    if jpeg_max_width is not None and facts.frame is not None:
        payload["jpeg"] = jpeg_base64(facts.frame.image, jpeg_max_width)
    return payload


def boxes(detections: Detections, width: int, height: int) -> list[dict]:
    """The event's qualifying objects: label, confidence, track, box in pixels (as detected) and
    normalised to 0..1 (clipped to the frame: a box a detector let reach past the edge still
    gives a receiver fractions it can use)."""
    out = []
    for record in detections.to_records()[:MAX_BOXES]:
        x1, y1, x2, y2 = record["xyxy"]
        norm = [_fraction(x1, width), _fraction(y1, height), _fraction(x2, width), _fraction(y2, height)] \
            if width and height else None
        out.append({"label": record["label"], "confidence": record["confidence"], "track_id": record["track_id"],
                    "xyxy": [x1, y1, x2, y2], "xyxy_norm": norm})
    return out


def _fraction(value: float, size: int) -> float:
    return round(min(1.0, max(0.0, value / size)), 4)


def jpeg_base64(image: np.ndarray, max_width: int) -> str:
    """The frame as a base64 JPEG, scaled down (never up) to ``max_width``."""
    h, w = image.shape[:2]
    if w > max_width:
        image = cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV refuses only non-images, which a VideoFrame never is
        raise ValueError("the frame could not be encoded as JPEG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def state_payload(camera_id: str, zone_id: str, active: dict[str, dict], *, at: float) -> dict:
    """The retained per-zone state: which events are active in the zone right now."""
    return {"schema": f"{SCHEMA}.state", "version": VERSION, "camera_id": camera_id, "zone_id": zone_id,
            "active": bool(active), "events": [active[k] for k in sorted(active)], "at": round(at, 3), "at_iso": iso(at)}
