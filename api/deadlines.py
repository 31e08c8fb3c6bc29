"""Deadlines: a duration per category and tier, counted on the wall clock or,
when the centre configures a working-hours calendar, in working time only
(an order dispatched on Friday evening with 4 working hours is due on Monday
morning). Emergencies always run on the wall clock: they cannot wait for
office hours."""

from __future__ import annotations

import datetime as dt

from api.schemas import Priority
from api.settings import Settings

_MAX_DAYS_SCANNED = 3660  # a calendar with no working day at all must not loop forever


def deadline(start: dt.datetime, priority: Priority, category_code: str | None, settings: Settings) -> dt.datetime:
    duration = settings.deadline_for(priority, category_code)
    if settings.working_hours is None or priority is Priority.EMERGENCY or not settings.working_days:
        return start + duration
    return add_working_time(start, duration, settings)


def add_working_time(start: dt.datetime, duration: dt.timedelta, settings: Settings) -> dt.datetime:
    """``start`` plus ``duration`` of working time, in the centre's local calendar."""
    assert settings.working_hours is not None
    open_t, close_t = settings.working_hours
    if close_t <= open_t:
        return start + duration  # a nonsensical calendar degrades to the wall clock
    offset = settings.local_utc_offset
    local = start.astimezone(dt.timezone.utc).replace(tzinfo=None) + offset
    remaining = duration
    for _ in range(_MAX_DAYS_SCANNED):
        day = local.date()
        if day.isoweekday() in settings.working_days:
            opens = dt.datetime.combine(day, open_t)
            closes = dt.datetime.combine(day, close_t)
            begin = max(local, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining - offset).replace(tzinfo=dt.timezone.utc)
                remaining -= available
        local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return start + duration
