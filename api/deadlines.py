"""Deadlines: a duration per category and tier, counted on the wall clock or,
when the centre configures a working-hours calendar, in working time only
(an order dispatched on Friday evening with 4 working hours is due on Monday
morning). Emergencies always run on the wall clock: they cannot wait for
office hours."""

from __future__ import annotations

import datetime as dt

from api.schemas import Priority
from api.settings import Settings
from inference import site_time

_MAX_DAYS_SCANNED = 3660  # a calendar with no working day at all must not loop forever


def deadline(start: dt.datetime, priority: Priority, category_code: str | None, settings: Settings) -> dt.datetime:
    duration = settings.deadline_for(priority, category_code)
    if settings.working_hours is None or priority is Priority.EMERGENCY or not settings.working_days:
        return start + duration
    return add_working_time(start, duration, settings)


def add_working_time(start: dt.datetime, duration: dt.timedelta, settings: Settings) -> dt.datetime:
    """``start`` plus ``duration`` of working time, in the site's local calendar
    (``settings.site_zone``). Opening and closing times are read on each day's own
    offset, and the hours available are counted in real (UTC) time, so a day on
    which daylight saving changes is neither an hour too long nor too short."""
    assert settings.working_hours is not None
    open_t, close_t = settings.working_hours
    if close_t <= open_t:
        return start + duration  # a nonsensical calendar degrades to the wall clock
    zone = settings.site_zone
    now = start.astimezone(dt.timezone.utc)
    remaining = duration
    for _ in range(_MAX_DAYS_SCANNED):
        day = site_time.local_day(now, zone)
        if day.isoweekday() in settings.working_days:
            opens = site_time.from_local(dt.datetime.combine(day, open_t), zone)
            closes = site_time.from_local(dt.datetime.combine(day, close_t), zone)
            begin = max(now, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        now = site_time.from_local(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), zone)
    return start + duration
