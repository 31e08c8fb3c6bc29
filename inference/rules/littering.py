"""The littering rule: someone drops something and walks away.

A litter-label object is a *drop* when it first appears (a new track, not an
id switch of one already there) close to the recent path of a tracked person:
within ``near_distance`` person heights of where their feet were in the last
``path_window_s``. It becomes an event once the person has moved away (more
than ``leave_distance`` person heights from it, or out of view for
``leave_after_s``) and the object has lain still for ``min_dwell_s`` since.
The event names the person (``actor_track_ids``) and the moment before the
drop (``before_at``), so the evidence can show who and when.

What must not fire: a bag its owner carries on (it moves with them, so it
never settles and they never get away from it), and litter that was there
before anyone came by (nobody's path was near when it appeared: that is
exposed garbage, another rule's business). Litter is remembered at its spot
for ``LITTER_MEMORY_S`` even while undetected, so a piece of old rubbish that
flickers out and back in as a person walks past is not mistaken for a drop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inference.clock import Clock
from inference.detections import Detections
from inference.rules.base import BaseRule, RuleSpec, evidence_from
from inference.rules.events import RuleEvent
from inference.rules.presence import ContinuitySettings, Presence, PresenceTracker

# Litter does not walk: a box re-detected at the same spot within this long is the same litter.
LITTER_MEMORY_S = 60.0


@dataclass(frozen=True, kw_only=True)
class LitteringRuleSpec(RuleSpec):
    actor_labels: frozenset[str] = frozenset({"person"})
    min_dwell_s: float = 10.0  # the object lies still this long after the person has gone
    path_window_s: float = 5.0  # how much of each person's recent path counts as "passed by"
    near_distance: float = 0.75  # in person heights: how close to the path a new object must appear
    leave_distance: float = 1.5  # in person heights: this far from the object, the person has moved away
    leave_after_s: float = 5.0  # or out of view this long

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.actor_labels:
            raise ValueError(f"rule {self.rule_id}: actor_labels must not be empty")
        if min(self.min_dwell_s, self.near_distance, self.leave_distance, self.leave_after_s) < 0 or self.path_window_s <= 0:
            raise ValueError(f"rule {self.rule_id}: littering distances and durations must be >= 0 (path window > 0)")


@dataclass
class _Drop:
    person_track_id: int  # the person's latest known tracker id (kept up to date across id switches)
    dropped_at: float
    before_at: float | None
    away_since: float | None = None


class LitteringRule(BaseRule):
    spec: LitteringRuleSpec

    def __init__(self, spec: LitteringRuleSpec, camera_id: str, clock: Clock) -> None:
        super().__init__(spec, camera_id, clock)
        # A person unseen for leave_after_s has left; remembered that long so the drop can say so.
        self._people = PresenceTracker(spec.leave_after_s, spec.continuity, path_window_s=spec.path_window_s)
        litter_continuity = ContinuitySettings(
            max(spec.continuity.max_gap_s, LITTER_MEMORY_S), spec.continuity.max_distance, spec.continuity.static_tolerance
        )
        self._litter = PresenceTracker(spec.grace_s, litter_continuity)
        self._drops: dict[int, _Drop] = {}  # litter origin id -> who dropped it
        self._last_frame_at: float | None = None

    def update(self, detections: Detections, frame_size: tuple[int, int]) -> list[RuleEvent]:
        now, spec = self._clock.now(), self.spec
        people = detections.with_labels(spec.actor_labels)
        self._people.observe(people, now)
        litter = self.in_zone(detections, spec.labels, frame_size)
        for track_id in self._litter.observe(litter, now):
            self._register_drop(self._litter.get(track_id), now)
        self._drops = {o: d for o, d in self._drops.items() if o in self._litter.origin_ids()}
        self._incident.forget_objects_except(self._litter.origin_ids())
        self._last_frame_at = now
        return self._incident.step(now, spec.zone.zone_id, self._evidence(litter, people, now))

    def _register_drop(self, item: Presence | None, now: float) -> None:
        if item is None:
            return
        dropper = self._nearest_path(item.position, now)
        if dropper is not None:  # nobody near: it was already lying there, not a drop
            self._drops[item.origin_id] = _Drop(dropper.track_id, now, self._last_frame_at)

    def _nearest_path(self, point: tuple[float, float], now: float) -> Presence | None:
        best, best_ratio = None, float("inf")
        for person in self._people.present(now):
            path = np.array([(x, y) for _t, x, y in person.path]) if person.path else np.array([person.position])
            ratio = float(np.min(np.hypot(path[:, 0] - point[0], path[:, 1] - point[1]))) / person.height
            if ratio <= self.spec.near_distance and ratio < best_ratio:
                best, best_ratio = person, ratio
        return best

    def _left_at(self, drop: _Drop, item: Presence, now: float) -> float | None:
        """Since when the person who dropped ``item`` has been away from it; None: still by it."""
        person = self._people.get(drop.person_track_id)
        if person is None:
            return drop.away_since if drop.away_since is not None else now
        drop.person_track_id = person.track_id  # follow id switches while they are still remembered
        if now - person.last_seen_at >= self.spec.leave_after_s:
            return person.last_seen_at  # out of view: gone since they were last seen
        if person.distance_to(item.position) >= self.spec.leave_distance * person.height:
            return drop.away_since if drop.away_since is not None else now
        return None

    def _evidence(self, litter: Detections, people: Detections, now: float):
        left: list[tuple[Presence, _Drop]] = []
        for item in self._litter.present(now):
            drop = self._drops.get(item.origin_id)
            if drop is None:
                continue
            drop.away_since = self._left_at(drop, item, now)  # None: came back or never went
            if drop.away_since is None:
                continue
            if now - max(drop.away_since, item.settled_at) >= self.spec.min_dwell_s:
                left.append((item, drop))
        if not left:
            return None
        actor_ids = tuple(sorted({drop.person_track_id for _item, drop in left}))
        shown_people = people[np.isin(people.tracker_id, actor_ids)] if len(people) else people
        before = [d.before_at for _i, d in left if d.before_at is not None]
        evidence = evidence_from([item for item, _d in left], litter, min(d.dropped_at for _i, d in left),
                                 actor_track_ids=actor_ids, before_at=min(before) if before else None)
        return replace(evidence, detections=Detections.merge([evidence.detections, shown_people]))
