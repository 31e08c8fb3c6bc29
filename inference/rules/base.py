"""What every rule kind has in common: its spec's shared fields and the
zone-watching, clock-driven shell around an incident lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inference.clock import Clock
from inference.detections import Detections
from inference.rules.incident import Sighting, IncidentLifecycle, IncidentTiming
from inference.rules.presence import ContinuitySettings, Presence
from inference.rules.schedule import Schedule
from inference.zones import PolygonZone


@dataclass(frozen=True, kw_only=True)
class RuleSpec:
    rule_id: str
    zone: PolygonZone
    labels: frozenset[str]
    # The worker config (streams.config) reads these defaults from here: one place owns each.
    grace_s: float = 3.0  # missed detections shorter than this do not interrupt presence
    cooldown_s: float = 600.0  # quiet period after an event ends
    update_interval_s: float = 60.0
    merge_window_s: float = 0.0
    schedule: Schedule | None = None
    continuity: ContinuitySettings = ContinuitySettings()

    def __post_init__(self) -> None:
        if not self.labels:
            raise ValueError(f"rule {self.rule_id}: labels must not be empty")
        if min(self.grace_s, self.cooldown_s, self.merge_window_s) < 0 or self.update_interval_s <= 0:
            raise ValueError(f"rule {self.rule_id}: durations must be >= 0 (update interval > 0)")

    def timing(self, end_after_s: float = 0.0) -> IncidentTiming:
        return IncidentTiming(self.cooldown_s, self.update_interval_s, self.merge_window_s, end_after_s)


class BaseRule:
    """Base of the rule kinds: holds the spec, the camera id and the lifecycle.

    Each kind adds ``update``; the result is what the pipeline needs of a rule
    (inference.rules.events.Rule, the one protocol)."""

    spec: RuleSpec

    def __init__(self, spec: RuleSpec, camera_id: str, clock: Clock, end_after_s: float = 0.0) -> None:
        self.spec = spec
        self.camera_id = camera_id
        self._clock = clock
        self._incident = IncidentLifecycle(camera_id, spec.rule_id, spec.timing(end_after_s), spec.schedule)

    @property
    def active(self) -> bool:
        return self._incident.active

    def replace_zone(self, zone: PolygonZone) -> None:
        """Watch a new polygon from the next frame on (a zone edited while running).

        The spec is swapped in one assignment, which the analysis thread sees whole.
        Presence and any open event carry over: an object still inside keeps its
        dwell time, one now outside leaves after the grace period like any other."""
        if zone.zone_id != self.spec.zone.zone_id:
            raise ValueError(f"rule {self.spec.rule_id} watches zone {self.spec.zone.zone_id}, not {zone.zone_id}")
        self.spec = replace(self.spec, zone=zone)

    def in_zone(self, detections: Detections, labels, frame_size: tuple[int, int]) -> Detections:
        candidates = detections.with_labels(labels)
        return candidates[self.spec.zone.trigger(candidates, frame_size)] if len(candidates) else candidates


def evidence_from(presences: list[Presence], detections: Detections, started_at: float, **extra) -> Sighting:
    """A sighting naming ``presences``; ``detections`` narrowed to their current boxes."""
    track_ids = sorted(p.track_id for p in presences)
    current = detections[np.isin(detections.tracker_id, track_ids)] if len(detections) else detections
    return Sighting(
        started_at=started_at,
        object_ids=frozenset(p.origin_id for p in presences),
        track_ids=tuple(track_ids),
        labels=frozenset(p.label for p in presences),
        confidence=max((p.confidence for p in presences), default=0.0),
        detections=current,
        **extra,
    )
