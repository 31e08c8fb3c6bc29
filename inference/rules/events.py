"""What every rule emits, and what every rule looks like to the pipeline."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Protocol

from inference.detections import Detections
from inference.zones import PolygonZone


class EventPhase(str, enum.Enum):
    START = "start"
    UPDATE = "update"
    END = "end"


@dataclass(frozen=True)
class RuleEvent:
    event_id: str
    phase: EventPhase
    camera_id: str
    rule_id: str
    zone_id: str
    at: float  # when this phase happened (clock time)
    started_at: float  # when the earliest qualifying object entered the zone (or the litter was dropped)
    labels: tuple[str, ...]
    track_ids: tuple[int, ...]
    max_confidence: float
    detections: Detections  # the qualifying objects at this moment, for evidence
    # Who caused it, where the rule knows (the litterer's person track); evidence draws them.
    actor_track_ids: tuple[int, ...] = ()
    # Clock time the "before" evidence frame should show (just before the litter was dropped);
    # None: a few seconds before started_at.
    before_at: float | None = None
    # True on the UPDATE that reopened an ended event within the rule's merge window.
    reopened: bool = False
    # The last clock time the rule's condition held (seen in a frame); None: ``at``.
    last_held_at: float | None = None

    @property
    def dwell_s(self) -> float:
        """Entry to the last frame that showed it: an END that comes after a stream outage
        (no frames for half a minute) does not count the outage as dwell."""
        held = self.at if self.last_held_at is None else min(self.at, self.last_held_at)
        return max(0.0, held - self.started_at)

    def idempotency_key(self) -> str:
        """Stable per event: a retried push of the same START never files a second order."""
        return hashlib.sha256(f"{self.event_id}|{self.phase.value}".encode()).hexdigest()[:40]


class RuleSpecLike(Protocol):
    @property
    def rule_id(self) -> str: ...

    @property
    def zone(self) -> PolygonZone: ...


class Rule(Protocol):
    """What the pipeline needs of a rule: feed it each analysed frame's tracked
    detections, read its zone, swap the zone while it runs."""

    spec: RuleSpecLike
    camera_id: str

    @property
    def active(self) -> bool:
        """An event is open (started, not yet ended)."""

    def update(self, detections: Detections, frame_size: tuple[int, int]) -> list[RuleEvent]:
        """Advance on one frame (stream time from the injected clock); events it caused."""

    def replace_zone(self, zone: PolygonZone) -> None:
        """Watch a new polygon of the same zone id from the next frame on."""
