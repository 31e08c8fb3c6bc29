"""The co-occurrence rule: a primary object with a companion next to it for a
time (an e-bike with a charging cable or power strip for 5 minutes).

A primary counts while some companion box lies within ``max_distance`` of its
own size from it (box gap, 0 when they overlap), so "next to it" means the
same thing near the camera and far from it. Companions need not be in the
zone: a cable runs from a window the zone does not cover. Thin companions
like cables flicker in and out of detection, which the presence grace absorbs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inference.detections import Detections
from inference.rules.dwell import DwellRule, DwellRuleSpec
from inference.rules.geometry import box_sizes, gap_distances
from inference.rules.incident import Sighting


@dataclass(frozen=True, kw_only=True)
class CoOccurrenceRuleSpec(DwellRuleSpec):
    companion_labels: frozenset[str]
    max_distance: float = 1.0  # in sizes (longer side) of the primary box

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.companion_labels:
            raise ValueError(f"rule {self.rule_id}: companion_labels must not be empty")
        if self.max_distance < 0:
            raise ValueError(f"rule {self.rule_id}: max_distance must be >= 0")


def with_companion(primaries: Detections, companions: Detections, max_distance: float) -> Detections:
    """The primaries that have a companion box within ``max_distance`` of their size."""
    if not len(primaries) or not len(companions):
        return primaries[np.zeros(len(primaries), dtype=bool)]
    sizes = box_sizes(primaries.xyxy)
    near = [bool(np.any(gap_distances(primaries.xyxy[i], companions.xyxy) <= max_distance * sizes[i]))
            for i in range(len(primaries))]
    return primaries[np.array(near, dtype=bool)]


class CoOccurrenceRule(DwellRule):
    spec: CoOccurrenceRuleSpec

    def candidates(self, detections: Detections, frame_size: tuple[int, int]) -> Detections:
        primaries = self.in_zone(detections, self.spec.labels, frame_size)
        return with_companion(primaries, detections.with_labels(self.spec.companion_labels), self.spec.max_distance)

    def with_context(self, evidence: Sighting, detections: Detections) -> Sighting:
        # The companions are the proof: draw them too.
        companions = detections.with_labels(self.spec.companion_labels)
        shown = Detections.merge([evidence.detections, companions])
        return replace(evidence, detections=shown, labels=evidence.labels | frozenset(map(str, companions.labels)))
