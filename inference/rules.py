"""Rules turn tracked detections into events.

A rule is a state machine driven by an injected clock, so tests replay hours
in microseconds and a file processed faster than real time still measures
dwell in stream time.

The first rule is the generic dwell rule: "at least ``min_count`` objects of
these labels have stood in this zone for at least ``min_dwell_s``". It emits
START once, UPDATE at most every ``update_interval_s`` while the condition
holds, and END when it has not held for ``grace_s``. After an END the zone
stays quiet for ``cooldown_s``, so a parked object that flickers in and out
of detection yields one event, not one per flicker.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from inference.clock import Clock
from inference.detections import NO_TRACK, Detections
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
    started_at: float  # when the earliest qualifying object entered the zone
    labels: tuple[str, ...]
    track_ids: tuple[int, ...]
    max_confidence: float
    detections: Detections  # the qualifying objects at this moment, for evidence

    @property
    def dwell_s(self) -> float:
        return self.at - self.started_at

    def idempotency_key(self) -> str:
        """Stable per event: a retried push of the same START never files a second order."""
        return hashlib.sha256(f"{self.event_id}|{self.phase.value}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class DwellRuleSpec:
    rule_id: str
    zone: PolygonZone
    labels: frozenset[str]
    min_dwell_s: float
    min_count: int = 1
    grace_s: float = 3.0
    cooldown_s: float = 300.0
    update_interval_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.labels:
            raise ValueError(f"rule {self.rule_id}: labels must not be empty")
        if self.min_dwell_s < 0 or self.grace_s < 0 or self.cooldown_s < 0 or self.update_interval_s <= 0:
            raise ValueError(f"rule {self.rule_id}: durations must be >= 0 (update interval > 0)")
        if self.min_count < 1:
            raise ValueError(f"rule {self.rule_id}: min_count must be >= 1")


@dataclass
class _TrackPresence:
    entered_at: float
    last_seen_at: float
    label: str
    confidence: float


@dataclass
class _ActiveEvent:
    event_id: str
    started_at: float
    last_emitted_at: float
    track_ids: set[int] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    max_confidence: float = 0.0


class DwellRule:
    def __init__(self, spec: DwellRuleSpec, camera_id: str, clock: Clock) -> None:
        self.spec = spec
        self.camera_id = camera_id
        self._clock = clock
        self._presence: dict[int, _TrackPresence] = {}
        self._active: _ActiveEvent | None = None
        self._quiet_until = float("-inf")

    @property
    def active(self) -> bool:
        return self._active is not None

    def replace_zone(self, zone: PolygonZone) -> None:
        """Watch a new polygon from the next frame on (a zone edited while running).

        The spec is swapped in one assignment, which the analysis thread sees whole.
        Presence and any open event carry over: an object still inside keeps its
        dwell time, one now outside leaves after ``grace_s`` like any other."""
        if zone.zone_id != self.spec.zone.zone_id:
            raise ValueError(f"rule {self.spec.rule_id} watches zone {self.spec.zone.zone_id}, not {zone.zone_id}")
        self.spec = replace(self.spec, zone=zone)

    def update(self, detections: Detections, frame_size: tuple[int, int]) -> list[RuleEvent]:
        now = self._clock.now()
        candidates = detections.with_labels(self.spec.labels)
        candidates = candidates[candidates.tracker_id != NO_TRACK]
        in_zone = candidates[self.spec.zone.trigger(candidates, frame_size)]
        self._refresh_presence(in_zone, now)

        qualifying_ids = [
            tid for tid, p in self._presence.items() if now - p.entered_at >= self.spec.min_dwell_s
        ]
        held = len(qualifying_ids) >= self.spec.min_count
        current = in_zone[np.isin(in_zone.tracker_id, qualifying_ids)]
        return self._advance(now, held, qualifying_ids, current)

    def _refresh_presence(self, in_zone: Detections, now: float) -> None:
        for i, tid in enumerate(in_zone.tracker_id.tolist()):
            p = self._presence.get(tid)
            if p is None:
                self._presence[tid] = _TrackPresence(now, now, str(in_zone.labels[i]), float(in_zone.confidence[i]))
            else:
                p.last_seen_at = now
                p.confidence = max(p.confidence, float(in_zone.confidence[i]))
        # An object unseen for longer than the grace period has left (or was a false positive).
        for tid in [t for t, p in self._presence.items() if now - p.last_seen_at > self.spec.grace_s]:
            del self._presence[tid]

    def _advance(self, now: float, held: bool, qualifying_ids: list[int], current: Detections) -> list[RuleEvent]:
        active = self._active
        if active is None:
            if not held or now < self._quiet_until:
                return []
            started_at = min(self._presence[t].entered_at for t in qualifying_ids)
            event_id = f"{self.camera_id}/{self.spec.rule_id}/{self.spec.zone.zone_id}/{int(started_at * 1000)}"
            self._active = _ActiveEvent(event_id, started_at, now, set(qualifying_ids))
            return [self._event(EventPhase.START, now, qualifying_ids, current)]

        if held:
            newcomers = set(qualifying_ids) - active.track_ids
            active.track_ids |= set(qualifying_ids)
            if newcomers or now - active.last_emitted_at >= self.spec.update_interval_s:
                active.last_emitted_at = now
                return [self._event(EventPhase.UPDATE, now, qualifying_ids, current)]
            return []

        # Presence already tolerates gaps up to grace_s, so "not held" means really gone.
        event = self._event(EventPhase.END, now, [], current)
        self._active = None
        self._quiet_until = now + self.spec.cooldown_s
        return [event]

    def _event(self, phase: EventPhase, now: float, track_ids: list[int], current: Detections) -> RuleEvent:
        active = self._active
        assert active is not None
        ids = sorted(track_ids) if track_ids else sorted(active.track_ids)
        for p in (self._presence[t] for t in track_ids if t in self._presence):
            active.labels.add(p.label)
            active.max_confidence = max(active.max_confidence, p.confidence)
        return RuleEvent(
            event_id=active.event_id,
            phase=phase,
            camera_id=self.camera_id,
            rule_id=self.spec.rule_id,
            zone_id=self.spec.zone.zone_id,
            at=now,
            started_at=active.started_at,
            labels=tuple(sorted(active.labels)),
            track_ids=tuple(ids),
            max_confidence=active.max_confidence,
            detections=current,
        )
