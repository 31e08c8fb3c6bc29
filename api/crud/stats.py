"""Counts for charts and the baseline warnings.

Baseline rule (from the operations centres): compare a unit's count in the
current period with its own mean over the trailing ``history`` periods
(the seeds: a month against the previous 36 months). At or above
``warn_ratio`` x mean it warns ("near the average"), above ``alert_ratio`` x
mean it alerts (the community is summoned). A unit younger than ``history``
periods is compared with the periods it has existed (its first order's
period onwards), and a unit with no past period has no baseline.

Periods are calendar days, ISO weeks (Monday) or months in the centre's
local time. Rejected orders (false alarms) do not count. Grouping happens in
Python so SQLite and PostgreSQL give identical answers."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import WorkOrder
from api.schemas import WorkOrderStatus
from api.schemas_workflow import BaselineItem, BaselineLevel, BaselineUnit, Period
from api.workflow import TERMINAL
from inference import site_time


@dataclass(frozen=True)
class Calendar:
    """The site's wall clock (``Settings.site_zone``): periods are counted in naive local
    time and converted per timestamp, so a day with a DST change is 23 or 25 hours long."""

    zone: dt.tzinfo

    def local(self, at: dt.datetime) -> dt.datetime:
        return site_time.local_naive(at, self.zone)

    def to_utc(self, local: dt.datetime) -> dt.datetime:
        return site_time.from_local(local, self.zone)


def period_start(local: dt.datetime, period: Period) -> dt.datetime:
    day = dt.datetime.combine(local.date(), dt.time())
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - dt.timedelta(days=local.weekday())
    return day.replace(day=1)


def shift(start: dt.datetime, period: Period, n: int) -> dt.datetime:
    """The start of the period ``n`` periods after (negative: before) ``start``."""
    if period is Period.DAY:
        return start + dt.timedelta(days=n)
    if period is Period.WEEK:
        return start + dt.timedelta(weeks=n)
    months = start.year * 12 + (start.month - 1) + n
    return start.replace(year=months // 12, month=months % 12 + 1, day=1)


def index_of(local_start: dt.datetime, current: dt.datetime, period: Period) -> int:
    """How many periods ``local_start`` lies before ``current`` (0: the current period)."""
    if period is Period.MONTH:
        return (current.year * 12 + current.month) - (local_start.year * 12 + local_start.month)
    days = (current - local_start).days
    return days if period is Period.DAY else days // 7


def _key(unit: BaselineUnit, camera_id: str, zone_id: str, grid_cell: str | None, category: str) -> str | None:
    if unit is BaselineUnit.ZONE:
        return f"{camera_id}/{zone_id}"
    if unit is BaselineUnit.GRID_CELL:
        return grid_cell
    return category


def _counted(session: Session, since_utc: dt.datetime, until_utc: dt.datetime, grids: frozenset[str] | None):
    stmt = (
        select(WorkOrder.detected_at, WorkOrder.camera_id, WorkOrder.zone_id, WorkOrder.grid_cell,
               WorkOrder.category_code)
        .where(WorkOrder.status != WorkOrderStatus.REJECTED.value)
        .where(WorkOrder.detected_at >= since_utc, WorkOrder.detected_at < until_utc)
    )
    if grids is not None:
        stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(grids)))
    return session.execute(stmt)


def _first_seen(session: Session, unit: BaselineUnit, grids: frozenset[str] | None) -> dict[str, dt.datetime]:
    """Each unit's first order ever: a young unit's mean covers only the periods it existed."""
    columns = {
        BaselineUnit.ZONE: (WorkOrder.camera_id, WorkOrder.zone_id),
        BaselineUnit.GRID_CELL: (WorkOrder.grid_cell,),
        BaselineUnit.CATEGORY: (WorkOrder.category_code,),
    }[unit]
    stmt = (select(*columns, func.min(WorkOrder.detected_at))
            .where(WorkOrder.status != WorkOrderStatus.REJECTED.value).group_by(*columns))
    if grids is not None:
        stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(grids)))
    first = {}
    for *parts, at in session.execute(stmt):
        key = "/".join(parts) if unit is BaselineUnit.ZONE else parts[0]
        if key is not None:
            # min() over a TypeDecorator column comes back raw on SQLite: normalise to aware UTC.
            first[key] = at if isinstance(at, dt.datetime) and at.tzinfo else _parse_utc(at)
    return first


def _parse_utc(value: object) -> dt.datetime:
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=dt.timezone.utc) if parsed.tzinfo is None else parsed


def level_for(current: int, mean: float | None, warn_ratio: float, alert_ratio: float) -> BaselineLevel:
    if mean is None:
        return BaselineLevel.NO_HISTORY
    if current > mean * alert_ratio:
        return BaselineLevel.ALERT
    if current >= mean * warn_ratio and current > 0:
        return BaselineLevel.WARNING
    return BaselineLevel.NORMAL


@dataclass(frozen=True)
class BaselineQuery:
    unit: BaselineUnit
    period: Period
    history: int
    at: dt.datetime
    warn_ratio: float
    alert_ratio: float
    grids: frozenset[str] | None = None


def baselines(session: Session, calendar: Calendar, q: BaselineQuery) -> tuple[dt.datetime, list[BaselineItem]]:
    current = period_start(calendar.local(q.at), q.period)
    first = shift(current, q.period, -q.history)
    end = shift(current, q.period, 1)
    now_counts: Counter[str] = Counter()
    past_counts: Counter[str] = Counter()
    for detected_at, camera_id, zone_id, grid_cell, category in _counted(
        session, calendar.to_utc(first), calendar.to_utc(end), q.grids
    ):
        key = _key(q.unit, camera_id, zone_id, grid_cell, category)
        if key is None:
            continue
        back = index_of(period_start(calendar.local(detected_at), q.period), current, q.period)
        if back == 0:
            now_counts[key] += 1
        else:
            past_counts[key] += 1
    first_seen = _first_seen(session, q.unit, q.grids)
    items = []
    for key in set(now_counts) | set(past_counts):
        age = index_of(period_start(calendar.local(first_seen[key]), q.period), current, q.period)
        periods = max(0, min(q.history, age))
        mean = past_counts[key] / periods if periods else None
        count = now_counts[key]
        items.append(BaselineItem(
            key=key, current=count, mean=None if mean is None else round(mean, 4), periods=periods,
            ratio=None if not mean else round(count / mean, 4),
            level=level_for(count, mean, q.warn_ratio, q.alert_ratio),
        ))
    rank = {BaselineLevel.ALERT: 0, BaselineLevel.WARNING: 1, BaselineLevel.NORMAL: 2, BaselineLevel.NO_HISTORY: 3}
    items.sort(key=lambda i: (rank[i.level], -i.current, i.key))
    return calendar.to_utc(current), items


def timeseries(session: Session, calendar: Calendar, period: Period, buckets: int, at: dt.datetime,
               unit: BaselineUnit | None, key: str | None, grids: frozenset[str] | None) -> list[tuple[dt.datetime, int]]:
    current = period_start(calendar.local(at), period)
    first = shift(current, period, -(buckets - 1))
    counts: Counter[int] = Counter()
    for detected_at, camera_id, zone_id, grid_cell, category in _counted(
        session, calendar.to_utc(first), calendar.to_utc(shift(current, period, 1)), grids
    ):
        if unit is not None and key is not None and _key(unit, camera_id, zone_id, grid_cell, category) != key:
            continue
        counts[index_of(period_start(calendar.local(detected_at), period), current, period)] += 1
    return [(calendar.to_utc(shift(current, period, -back)), counts[back]) for back in range(buckets - 1, -1, -1)]


def summary(session: Session, grids: frozenset[str] | None, overdue_clause) -> dict:  # noqa: ANN001
    def grouped(column) -> dict[str, int]:  # noqa: ANN001
        stmt = select(column, func.count()).group_by(column)
        if grids is not None:
            stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(grids)))
        return {str(k): int(v) for k, v in session.execute(stmt)}

    def count(*where) -> int:  # noqa: ANN002
        stmt = select(func.count()).select_from(WorkOrder).where(*where)
        if grids is not None:
            stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(grids)))
        return int(session.scalar(stmt) or 0)

    names = select(WorkOrder.category_code, func.max(WorkOrder.category_name)).group_by(WorkOrder.category_code)
    if grids is not None:
        names = names.where(WorkOrder.grid_cell.in_(sorted(grids)))
    return {
        "total": count(),
        "by_status": grouped(WorkOrder.status),
        "by_category": grouped(WorkOrder.category_code),
        "category_names": {str(code): str(name) for code, name in session.execute(names)},
        "by_priority": grouped(WorkOrder.priority),
        "overdue": count(overdue_clause),
        "open": count(WorkOrder.status.not_in([s.value for s in TERMINAL])),
    }
