"""The life of one incident, shared by every rule: START once, UPDATE while it
lasts, END when it is over, then a quiet cooldown, and a merge window in which
a repeat reopens the same incident instead of filing a second work order.

Rules decide *whether* their condition holds on a frame; this decides what
that means for events. Objects are known by their origin id (stable across
tracker id switches), so an object that caused an event and stays put never
causes a second one: only a fresh object can START, though a known one may
reopen an incident within the merge window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.detections import Detections
from inference.rules.events import EventPhase, RuleEvent
from inference.rules.schedule import Schedule


@dataclass(frozen=True)
class IncidentTiming:
    cooldown_s: float  # after an END the zone stays quiet this long
    update_interval_s: float  # longest gap between UPDATEs of an open incident
    merge_window_s: float = 0.0  # a repeat within this long after an END reopens the incident (0: never)
    end_after_s: float = 0.0  # the condition must fail this long before END (rules without their own grace)


@dataclass(frozen=True)
class Sighting:
    """What a rule saw on one frame where its condition held: the input of an incident.

    Not a :class:`RuleEvent` in the making: these are one frame's objects, labels and
    confidence, while the event an incident emits carries the union of every sighting
    since it started (labels, actors), the best confidence, and the incident's own
    start. :meth:`IncidentLifecycle._event` is the one place a RuleEvent is built."""

    started_at: float
    object_ids: frozenset[int]  # origin ids: which objects, across tracker id switches
    track_ids: tuple[int, ...]  # current tracker ids, for the work order
    labels: frozenset[str]
    confidence: float
    detections: Detections
    actor_track_ids: tuple[int, ...] = ()
    before_at: float | None = None


@dataclass
class _Incident:
    event_id: str
    started_at: float
    last_emitted_at: float
    last_held_at: float
    object_ids: set[int] = field(default_factory=set)
    track_ids: set[int] = field(default_factory=set)
    actor_track_ids: set[int] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    max_confidence: float = 0.0
    before_at: float | None = None
    ended_at: float | None = None

    def absorb(self, evidence: Sighting) -> bool:
        """Add the frame's evidence; True when it brought an object not seen before."""
        newcomers = bool(evidence.object_ids - self.object_ids)
        self.object_ids |= evidence.object_ids
        self.track_ids |= set(evidence.track_ids)
        self.actor_track_ids |= set(evidence.actor_track_ids)
        self.labels |= evidence.labels
        self.max_confidence = max(self.max_confidence, evidence.confidence)
        return newcomers


class IncidentLifecycle:
    def __init__(self, camera_id: str, rule_id: str, timing: IncidentTiming, schedule: Schedule | None = None) -> None:
        self._camera_id = camera_id
        self._rule_id = rule_id
        self._timing = timing
        self._schedule = schedule
        self._open: _Incident | None = None
        self._last_ended: _Incident | None = None
        self._quiet_until = float("-inf")
        self._reported: set[int] = set()  # origin ids of objects in ended incidents

    @property
    def active(self) -> bool:
        return self._open is not None

    def forget_objects_except(self, alive: set[int]) -> None:
        """Objects the rule no longer tracks cannot return under the same origin id."""
        self._reported &= alive

    def step(self, now: float, zone_id: str, evidence: Sighting | None) -> list[RuleEvent]:
        """Advance with this frame's evidence (None: the condition does not hold)."""
        incident = self._open
        if incident is not None:
            return self._continue(incident, now, zone_id, evidence)
        if evidence is None or now < self._quiet_until:
            return []
        if self._schedule is not None and not self._schedule.is_active(now):
            return []  # outside the schedule nothing starts (an open incident runs to its end)
        previous = self._last_ended
        if previous is not None and previous.ended_at is not None and now - previous.ended_at <= self._timing.merge_window_s:
            previous.ended_at, previous.last_held_at, previous.last_emitted_at = None, now, now
            previous.absorb(evidence)
            self._open = previous
            return [self._event(previous, EventPhase.UPDATE, now, zone_id, evidence, reopened=True)]
        if not evidence.object_ids - self._reported:
            return []  # only objects that already had their event: staying put never re-alerts
        event_id = f"{self._camera_id}/{self._rule_id}/{zone_id}/{int(evidence.started_at * 1000)}"
        incident = _Incident(event_id, evidence.started_at, now, now, before_at=evidence.before_at)
        incident.absorb(evidence)
        self._open = incident
        return [self._event(incident, EventPhase.START, now, zone_id, evidence)]

    def _continue(self, incident: _Incident, now: float, zone_id: str, evidence: Sighting | None) -> list[RuleEvent]:
        if evidence is not None:
            incident.last_held_at = now
            newcomers = incident.absorb(evidence)
            if newcomers or now - incident.last_emitted_at >= self._timing.update_interval_s:
                incident.last_emitted_at = now
                return [self._event(incident, EventPhase.UPDATE, now, zone_id, evidence)]
            return []
        if now - incident.last_held_at < self._timing.end_after_s:
            return []
        incident.ended_at = now
        self._open, self._last_ended = None, incident
        self._quiet_until = now + self._timing.cooldown_s
        self._reported |= incident.object_ids
        return [self._event(incident, EventPhase.END, now, zone_id, None)]

    def _event(self, incident: _Incident, phase: EventPhase, now: float, zone_id: str, evidence: Sighting | None,
               *, reopened: bool = False) -> RuleEvent:
        current = evidence.track_ids if evidence is not None and evidence.track_ids else tuple(incident.track_ids)
        return RuleEvent(
            event_id=incident.event_id,
            phase=phase,
            camera_id=self._camera_id,
            rule_id=self._rule_id,
            zone_id=zone_id,
            at=now,
            started_at=incident.started_at,
            labels=tuple(sorted(incident.labels)),
            track_ids=tuple(sorted(current)),
            max_confidence=incident.max_confidence,
            detections=evidence.detections if evidence is not None else Detections.empty(),
            actor_track_ids=tuple(sorted(incident.actor_track_ids)),
            before_at=incident.before_at,
            reopened=reopened,
            last_held_at=incident.last_held_at,
        )
