"""The dwell/count rule: "at least ``min_count`` objects of these labels have
stood in this zone for at least ``min_dwell_s``" (optionally: without moving).

It emits START once, UPDATE at most every ``update_interval_s`` while the
condition holds (or at once when another object joins), and END when it has
not held for ``grace_s``. After an END the zone stays quiet for ``cooldown_s``,
so a parked object that flickers in and out of detection yields one event,
not one per flicker; a repeat within ``merge_window_s`` reopens the same event.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.clock import Clock
from inference.detections import Detections
from inference.rules.base import BaseRule, RuleSpec, evidence_from
from inference.rules.events import RuleEvent
from inference.rules.incident import Sighting
from inference.rules.presence import Presence, PresenceTracker


@dataclass(frozen=True, kw_only=True)
class DwellRuleSpec(RuleSpec):
    min_dwell_s: float
    min_count: int = 1
    require_static: bool = False  # dwell counts from when the object stopped moving, and only while it stays still

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_dwell_s < 0:
            raise ValueError(f"rule {self.rule_id}: min_dwell_s must be >= 0")
        if self.min_count < 1:
            raise ValueError(f"rule {self.rule_id}: min_count must be >= 1")


class DwellRule(BaseRule):
    """Presence in the zone plus the dwell/count test. Subclasses choose their
    candidates differently (an e-bike only while its charging cable is near)."""

    spec: DwellRuleSpec

    def __init__(self, spec: DwellRuleSpec, camera_id: str, clock: Clock) -> None:
        super().__init__(spec, camera_id, clock)
        self._presence = PresenceTracker(spec.grace_s, spec.continuity)

    def update(self, detections: Detections, frame_size: tuple[int, int]) -> list[RuleEvent]:
        now, spec = self._clock.now(), self.spec
        candidates = self.candidates(detections, frame_size)
        self._presence.observe(candidates, now)
        self._incident.forget_objects_except(self._presence.origin_ids())
        # Dwell is what was seen, entry to last sighting: an object that left a moment ago is
        # still "present" for grace_s, but that grace must not count towards its dwell.
        qualifying = [p for p in self._presence.present(now) if p.last_seen_at - self._since(p) >= spec.min_dwell_s]
        if len(qualifying) < spec.min_count:
            return self._incident.step(now, spec.zone.zone_id, None)
        evidence = evidence_from(qualifying, candidates, min(self._since(p) for p in qualifying))
        return self._incident.step(now, spec.zone.zone_id, self.with_context(evidence, detections))

    def candidates(self, detections: Detections, frame_size: tuple[int, int]) -> Detections:
        """The boxes that count on this frame."""
        return self.in_zone(detections, self.spec.labels, frame_size)

    def with_context(self, evidence: Sighting, detections: Detections) -> Sighting:
        """The sighting as the work order shows it (subclasses add what proves their case)."""
        return evidence

    def _since(self, p: Presence) -> float:
        # Settling happens at or after entering; a move re-settles the object.
        return p.settled_at if self.spec.require_static else p.entered_at
