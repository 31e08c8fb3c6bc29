"""When a rule may start events: weekly windows in the camera's local time.

Market stalls are legal on a night-market street after 18:00 and an offence at
noon; a shop's goods on the pavement matter during the day. The clock gives
Unix seconds; the windows are read in the camera's timezone (default
Asia/Shanghai), because a worker may run in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from inference.site_time import DEFAULT_SITE_TIMEZONE as DEFAULT_TIMEZONE  # one default for the whole site

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TimeWindow:
    """Active from ``start`` to ``end`` local time on ``days`` (0 = Monday).

    A window whose end is not after its start runs past midnight: 22:00-06:00
    on Friday covers Friday night into Saturday morning."""

    days: frozenset[int]
    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        if not self.days or not all(0 <= d <= 6 for d in self.days):
            raise ValueError(f"window days must be 0..6 (Monday = 0), got {sorted(self.days)}")

    def contains(self, local: dt.datetime) -> bool:
        t, day = local.time(), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        # Overnight: the evening part belongs to its own day, the morning part to the day before.
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < self.end)


@dataclass(frozen=True)
class Schedule:
    windows: tuple[TimeWindow, ...]
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("a schedule needs at least one window (omit it to be always active)")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start, not at the first frame

    def is_active(self, unix_s: float) -> bool:
        local = dt.datetime.fromtimestamp(unix_s, ZoneInfo(self.timezone))
        return any(w.contains(local) for w in self.windows)


def parse_clock_time(text: str) -> dt.time:
    """'07:30' -> time(7, 30); '24:00' means the end of the day."""
    if text == "24:00":
        return dt.time.max
    try:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"time {text!r} must be HH:MM (00:00..24:00)") from None
