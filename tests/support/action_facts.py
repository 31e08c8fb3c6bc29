"""Rule events as the edge-action dispatcher sees them (streams.actions.payload.EventFacts),
for the actions' unit tests: one e-bike in a lift car, on a 1280x720 frame."""

from __future__ import annotations

import numpy as np

from inference.detections import Detections
from inference.frames import VideoFrame
from inference.rules import EventPhase, RuleEvent
from streams.actions.payload import EventFacts

T0 = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z
EBIKE = Detections(np.array([[640.0, 180.0, 960.0, 540.0]]), [0.91], np.array(["ebike"], dtype=object), [7])


def frame(width: int = 1280, height: int = 720, at: float = T0 + 2) -> VideoFrame:
    """A frame with a gradient, so a JPEG of it has something to encode."""
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    image = np.repeat(np.repeat(ramp[None, :, None], height, axis=0), 3, axis=2)
    return VideoFrame(np.ascontiguousarray(image), 42, at, "lift-01")


def rule_event(phase: str = "start", *, event_id: str = "lift-01/lift/car/1", camera_id: str = "lift-01",
               rule_id: str = "lift", zone_id: str = "car", at: float = T0 + 2,
               detections: Detections = EBIKE) -> RuleEvent:
    return RuleEvent(event_id=event_id, phase=EventPhase(phase), camera_id=camera_id, rule_id=rule_id, zone_id=zone_id,
                     at=at, started_at=T0, labels=("ebike",), track_ids=(7,), max_confidence=0.91234567,
                     detections=detections)


def facts(phase: str = "start", *, camera_id: str = "lift-01", priority: str = "emergency",
          category: tuple[str, str] = ("X-EBIKE-ELEVATOR", "电动车进电梯"), with_frame: bool = True,
          size: tuple[int, int] = (1280, 720), **event) -> EventFacts:
    shot = frame(*size, at=event.get("at", T0 + 2)) if with_frame else None
    return EventFacts(camera_id, rule_event(phase, camera_id=camera_id, **event), category[0], category[1], priority,
                      "GC-07", shot, EBIKE)
