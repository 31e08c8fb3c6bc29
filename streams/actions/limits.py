"""Per-route safety valves, so a flickering detection cannot machine-gun a loudspeaker.

A :class:`RouteGate` decides, per camera and zone, whether a route sends an event phase:

* ``cooldown_s``: after a START is sent, no new START for the same camera and zone for
  that long (its UPDATEs and END still may);
* ``min_interval_s``: at most one message per interval per camera and zone;
* an END whose START was sent always goes (a device that switched on a warning must hear
  that it may switch it off); an UPDATE or END of an event whose START was held back is
  held back too (the device never heard of it) -- on a route that sends starts; a route
  that sends only updates and/or ends (``sends_starts=False``: "the zone is clear again")
  has no start to wait for, and only ``min_interval_s`` spaces its messages.

State machine with an injected clock (monotonic seconds); nothing here blocks or sends.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

SENT = "sent"
RATE_LIMITED = "rate_limited"
COOLDOWN = "cooldown"
NOT_STARTED = "start_held_back"  # an update or end of an event whose start was not sent
HELD_BACK = (RATE_LIMITED, COOLDOWN, NOT_STARTED)
MAX_OPEN_EVENTS = 10_000  # events remembered per route: bounded, oldest forgotten first


@dataclass
class _ZoneState:
    last_sent_at: float | None = None
    last_start_at: float | None = None


class RouteGate:
    def __init__(self, min_interval_s: float, cooldown_s: float, *, sends_starts: bool = True) -> None:
        self.min_interval_s = float(min_interval_s)
        self.cooldown_s = float(cooldown_s)
        self.sends_starts = sends_starts
        self._zones: dict[tuple[str, str], _ZoneState] = {}
        self._open: OrderedDict[str, None] = OrderedDict()  # event ids whose START this route sent

    def decide(self, camera_id: str, zone_id: str, event_id: str, phase: str, now: float) -> str:
        """``SENT`` (and the gate remembers it) or why the message is held back."""
        zone = self._zones.setdefault((camera_id, zone_id), _ZoneState())
        if not self.sends_starts and phase != "start":
            if self._too_soon(zone, now):
                return RATE_LIMITED
            zone.last_sent_at = now
            return SENT
        if phase == "end":
            if event_id not in self._open:
                return NOT_STARTED
            del self._open[event_id]
            zone.last_sent_at = now
            return SENT
        if phase == "update":
            if event_id not in self._open:
                return NOT_STARTED
            if self._too_soon(zone, now):
                return RATE_LIMITED
            zone.last_sent_at = now
            return SENT
        if zone.last_start_at is not None and now - zone.last_start_at < self.cooldown_s:
            return COOLDOWN
        if self._too_soon(zone, now):
            return RATE_LIMITED
        zone.last_sent_at = zone.last_start_at = now
        self._open[event_id] = None
        if len(self._open) > MAX_OPEN_EVENTS:
            self._open.popitem(last=False)
        return SENT

    def _too_soon(self, zone: _ZoneState, now: float) -> bool:
        return zone.last_sent_at is not None and now - zone.last_sent_at < self.min_interval_s
