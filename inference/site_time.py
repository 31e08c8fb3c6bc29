"""The site's one time zone (issue 17): an IANA name, default Asia/Shanghai.

The worker (``worker.site_timezone``) and the API (``GRIDSIGHT_SITE_TIMEZONE``) both
read it through here: the time burnt into evidence, the log lines, order-number
dates, day/week/month buckets, working-hours deadlines and the pages' times. What
crosses a wire stays UTC; only what a person reads is in the site's zone.

A zone with daylight saving has two offsets a year, so conversions go through
``zoneinfo`` per timestamp, never through a fixed offset. Stdlib only: this module
sits at the bottom layer, under both programs."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_SITE_TIMEZONE = "Asia/Shanghai"
_EXAMPLES = "an IANA name such as Asia/Shanghai, Asia/Hong_Kong, Europe/Berlin or UTC"


@functools.lru_cache(maxsize=1)
def _known_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _close_match(name: str) -> str | None:
    known = _known_names()
    wanted = name.strip().lower().replace(" ", "_")
    if wanted in known:
        return known[wanted]  # asia/shanghai -> Asia/Shanghai
    close = difflib.get_close_matches(wanted, list(known), n=1, cutoff=0.6)
    return known[close[0]] if close else None


def zone_problem(name: object) -> str | None:
    """Why ``name`` is not a usable time zone, in one line; None when it is."""
    if not isinstance(name, str) or not name.strip():
        return f"must be {_EXAMPLES}"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 64 else name[:61] + "..."
        close = _close_match(name)
        hint = f"did you mean '{close}'?" if close else f"give {_EXAMPLES}"
        return f"unknown time zone {shown!r} ({hint})"
    return None


def site_zone(name: str = DEFAULT_SITE_TIMEZONE) -> ZoneInfo:
    """The ZoneInfo for ``name``, or ValueError with one line (and a close match when there is one)."""
    problem = zone_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return ZoneInfo(name)


def check_zone_name(name: object) -> str:
    """A pydantic validator's body: ``name`` back when it is a known zone, else ValueError."""
    site_zone(name)  # type: ignore[arg-type]
    return name  # type: ignore[return-value]


def _aware(at: dt.datetime | float) -> dt.datetime:
    """An aware datetime for a datetime (naive: UTC, as the database stores it) or Unix seconds."""
    if isinstance(at, dt.datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(at), dt.timezone.utc)


def in_zone(at: dt.datetime | float, zone: dt.tzinfo) -> dt.datetime:
    """``at`` as the site's wall clock shows it (aware, in ``zone``)."""
    return _aware(at).astimezone(zone)


def local_naive(at: dt.datetime | float, zone: dt.tzinfo) -> dt.datetime:
    """The site's wall-clock reading of ``at``, without tzinfo (for calendar arithmetic)."""
    return in_zone(at, zone).replace(tzinfo=None)


def from_local(local: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A wall-clock reading at the site -> aware UTC. A reading that happens twice (clocks
    going back) is its first occurrence; one that never happens (clocks going forward) is
    read with the offset before the change, i.e. it lands just after the gap."""
    return local.replace(tzinfo=zone, fold=0).astimezone(dt.timezone.utc)


def local_day(at: dt.datetime | float, zone: dt.tzinfo) -> dt.date:
    """The site's calendar date of ``at`` (order numbers, day buckets)."""
    return in_zone(at, zone).date()


def offset_text(at: dt.datetime) -> str:
    """'UTC+08:00' for an aware datetime (the offset in force at that moment)."""
    offset = at.utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds() // 60)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def stamp_text(at: dt.datetime | float, zone: dt.tzinfo) -> str:
    """The time burnt into evidence: '2026-12-02 08:52:01 UTC+08:00', the offset of that
    moment included, so a frame read on its own is unambiguous (and DST shows)."""
    local = in_zone(at, zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {offset_text(local)}"


def clock_text(at: dt.datetime | float | str, zone: dt.tzinfo, *, date: bool = False) -> str:
    """'08:52:01' (or '2026-12-02 08:52:01' with ``date``) at the site, for terminal lines;
    ``at`` may be an API timestamp (ISO 8601 text)."""
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    local = in_zone(at, zone)
    return f"{local:%Y-%m-%d %H:%M:%S}" if date else f"{local:%H:%M:%S}"
