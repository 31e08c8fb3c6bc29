"""What the district map shows: every grid cell with its outline, its open and
overdue orders and its baseline level for a period (the same numbers as
``GET /stats/baselines?unit=grid_cell``), and the open orders to mark."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.crud import registry, stats
from api.crud.order_views import overdue_clause, to_public
from api.db.models import GridCell, WorkOrder
from api.schemas import WorkOrderPublic, WorkOrderStatus
from api.schemas_map import CellBaseline, MapCellFeature, MapCellProperties, MapUnit
from api.schemas_workflow import BaselineLevel, BaselineUnit
from api.workflow import TERMINAL

_FINISHED = [s.value for s in TERMINAL]


def _open_counts(session: Session, grids: frozenset[str] | None, now: dt.datetime) -> tuple[dict, dict]:
    def per_cell(*where) -> dict[str, int]:  # noqa: ANN002
        stmt = (select(WorkOrder.grid_cell, func.count()).where(WorkOrder.status.not_in(_FINISHED), *where)
                .group_by(WorkOrder.grid_cell))
        if grids is not None:
            stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(grids)))
        return {str(cell): int(n) for cell, n in session.execute(stmt) if cell is not None}

    return per_cell(), per_cell(overdue_clause(now))


NO_HISTORY = CellBaseline(level=BaselineLevel.NO_HISTORY, current=0, mean=None, ratio=None, periods=0)


def _community(cell: GridCell) -> str | None:
    # Two streets may each have a community of the same name: the street is part of the key.
    return None if not cell.community else f"{cell.street or ''}/{cell.community}"


def _aware(value: object) -> dt.datetime:
    # min() over a TypeDecorator column comes back raw on SQLite.
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=dt.timezone.utc) if parsed.tzinfo is None else parsed


def community_baselines(session: Session, calendar: stats.Calendar, query: stats.BaselineQuery,
                        grid_cells: list[GridCell]) -> dict[str, CellBaseline]:
    """The seeds' rule by community: all its cells' orders this period against the community's own mean
    over the previous ``query.history`` periods (or the periods since its first order, if fewer); keyed by
    cell code, so every cell of a community carries the community's numbers."""
    group = {c.code: _community(c) for c in grid_cells if _community(c) is not None}
    if not group:
        return {}
    current = stats.period_start(calendar.local(query.at), query.period)
    since, until = stats.shift(current, query.period, -query.history), stats.shift(current, query.period, 1)
    counted = select(WorkOrder.detected_at, WorkOrder.grid_cell).where(
        WorkOrder.status != WorkOrderStatus.REJECTED.value, WorkOrder.grid_cell.in_(sorted(group)),
        WorkOrder.detected_at >= calendar.to_utc(since), WorkOrder.detected_at < calendar.to_utc(until))
    now_counts: Counter[str] = Counter()
    past_counts: Counter[str] = Counter()
    for at, code in session.execute(counted):
        back = stats.index_of(stats.period_start(calendar.local(at), query.period), current, query.period)
        (now_counts if back == 0 else past_counts)[group[code]] += 1
    first_seen: dict[str, dt.datetime] = {}
    for code, at in session.execute(
            select(WorkOrder.grid_cell, func.min(WorkOrder.detected_at))
            .where(WorkOrder.status != WorkOrderStatus.REJECTED.value, WorkOrder.grid_cell.in_(sorted(group)))
            .group_by(WorkOrder.grid_cell)):
        key = group[code]
        first_seen[key] = min(first_seen.get(key, _aware(at)), _aware(at))
    out: dict[str, CellBaseline] = {}
    for key, first in first_seen.items():
        age = stats.index_of(stats.period_start(calendar.local(first), query.period), current, query.period)
        periods = max(0, min(query.history, age))
        mean = past_counts[key] / periods if periods else None
        count = now_counts[key]
        out[key] = CellBaseline(level=stats.level_for(count, mean, query.warn_ratio, query.alert_ratio), current=count,
                                mean=None if mean is None else round(mean, 4), periods=periods,
                                ratio=None if not mean else round(count / mean, 4))
    return {code: out.get(key, NO_HISTORY) for code, key in group.items()}


def _cell_baselines(session: Session, calendar: stats.Calendar, query: stats.BaselineQuery) -> dict[str, CellBaseline]:
    _start, items = stats.baselines(session, calendar, query)
    return {i.key: CellBaseline(level=i.level, current=i.current, mean=i.mean, ratio=i.ratio, periods=i.periods)
            for i in items}


def cells(session: Session, calendar: stats.Calendar, query: stats.BaselineQuery, now: dt.datetime,
          unit: MapUnit = MapUnit.GRID_CELL) -> tuple[dt.datetime, list[MapCellFeature]]:
    """Every grid cell in the reader's scope (``query.grids``), outlined or not, with its baseline: its own
    (unit grid_cell, as /stats/baselines?unit=grid_cell) or its community's (unit community)."""
    assert query.unit is BaselineUnit.GRID_CELL
    start = calendar.to_utc(stats.period_start(calendar.local(query.at), query.period))
    grid_cells = registry.list_grid_cells(session, query.grids)
    baselines = _cell_baselines(session, calendar, query)
    if unit is MapUnit.COMMUNITY:  # a cell outside any community keeps its own
        baselines.update(community_baselines(session, calendar, query, grid_cells))
    open_by_cell, overdue_by_cell = _open_counts(session, query.grids, now)
    features = []
    for cell in grid_cells:
        baseline = baselines.get(cell.code, NO_HISTORY)
        features.append(MapCellFeature(id=cell.code, geometry=cell.polygon, properties=MapCellProperties(
            code=cell.code, name=cell.name, admin_area=cell.admin_area, street=cell.street,
            community=cell.community, team_code=cell.team_code, manager=cell.manager,
            open=open_by_cell.get(cell.code, 0), overdue=overdue_by_cell.get(cell.code, 0), baseline=baseline)))
    return start, features


def open_orders(session: Session, viewer: Principal, now: dt.datetime, limit: int) -> tuple[list[WorkOrderPublic], int]:
    """The newest ``limit`` orders not closed or rejected (in the viewer's grid cells), and how many there are."""
    def scoped(stmt):  # noqa: ANN001, ANN202
        stmt = stmt.where(WorkOrder.status.not_in(_FINISHED))
        return stmt if viewer.grids is None else stmt.where(WorkOrder.grid_cell.in_(sorted(viewer.grids)))

    total = int(session.scalar(scoped(select(func.count()).select_from(WorkOrder))) or 0)
    rows = session.scalars(scoped(select(WorkOrder)).order_by(WorkOrder.detected_at.desc(), WorkOrder.id.desc())
                           .limit(limit))
    return [to_public(order, now=now, viewer=viewer) for order in rows], total
