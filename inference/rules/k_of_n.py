"""The k-of-n rule: a label in the zone in at least ``k`` of the last ``n``
analysed frames (an e-bike in the lift: 3 of 5).

Built for a few seconds of evidence, not minutes: an elevator camera must warn
while the doors are still open. The window itself smooths a missed frame, so
untracked boxes count too (a track needs a few frames to be confirmed, and those
are the frames that matter here). A candidate box that overlaps a box of an
excluded label (a wheelchair, a stroller: the look-alikes that are allowed in)
by more than ``exclude_overlap`` of the smaller box does not count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from inference.clock import Clock
from inference.detections import NO_TRACK, Detections
from inference.rules.base import BaseRule, RuleSpec
from inference.rules.events import RuleEvent
from inference.rules.geometry import overlap_of_smaller
from inference.rules.incident import Sighting


@dataclass(frozen=True, kw_only=True)
class KOfNRuleSpec(RuleSpec):
    k: int
    n: int
    exclude_labels: frozenset[str] = frozenset()
    exclude_overlap: float = 0.6

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.k <= self.n:
            raise ValueError(f"rule {self.rule_id}: need 1 <= k <= n, got k={self.k} n={self.n}")
        if not 0 < self.exclude_overlap <= 1:
            raise ValueError(f"rule {self.rule_id}: exclude_overlap must be in (0, 1]")
        if self.labels & self.exclude_labels:
            raise ValueError(f"rule {self.rule_id}: labels {sorted(self.labels & self.exclude_labels)} are also excluded")


def without_excluded(candidates: Detections, excluded: Detections, max_overlap: float) -> Detections:
    """Candidates that do not overlap an excluded-label box by more than ``max_overlap``."""
    if not len(candidates) or not len(excluded):
        return candidates
    overlap = overlap_of_smaller(candidates.xyxy, excluded.xyxy)
    return candidates[~np.any(overlap >= max_overlap, axis=1)]


class KOfNRule(BaseRule):
    spec: KOfNRuleSpec

    def __init__(self, spec: KOfNRuleSpec, camera_id: str, clock: Clock) -> None:
        # The window is the smoothing; grace_s then only delays the END past a short blind spell.
        super().__init__(spec, camera_id, clock, end_after_s=spec.grace_s)
        self._hits: deque[float | None] = deque(maxlen=spec.n)  # per frame: its time if it counted, else None
        self._labels: set[str] = set()
        self._visit = 0  # counts separate spells of the condition holding: each is one "object" to the lifecycle
        self._held = False

    def update(self, detections: Detections, frame_size: tuple[int, int]) -> list[RuleEvent]:
        now, spec = self._clock.now(), self.spec
        candidates = self.in_zone(detections, spec.labels, frame_size)
        candidates = without_excluded(candidates, detections.with_labels(spec.exclude_labels), spec.exclude_overlap)
        self._hits.append(now if len(candidates) else None)
        hit_times = [t for t in self._hits if t is not None]
        if len(hit_times) < spec.k:
            self._held = False
            return self._incident.step(now, spec.zone.zone_id, None)
        if not self._held:
            self._held, self._visit = True, self._visit + 1
            self._incident.forget_objects_except({self._visit})
        tracked = [int(t) for t in candidates.tracker_id.tolist() if t != NO_TRACK]
        evidence = Sighting(
            started_at=hit_times[0],
            # Frames, not tracks, are what this rule counts: the incident is "an e-bike is in the lift".
            object_ids=frozenset({self._visit}),
            track_ids=tuple(sorted(tracked)),
            labels=frozenset(str(label) for label in candidates.labels) or frozenset(self._labels),
            confidence=float(candidates.confidence.max()) if len(candidates) else 0.0,
            detections=candidates,
        )
        self._labels |= set(evidence.labels)
        return self._incident.step(now, spec.zone.zone_id, evidence)
