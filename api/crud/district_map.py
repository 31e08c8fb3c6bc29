"""What the district map shows: every grid cell with its outline, its open and
overdue orders and its baseline level for a period (the same numbers as
``GET /stats/baselines?unit=grid_cell``), and the open orders to mark."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.crud import registry, stats
from api.crud.order_views import overdue_clause, to_public
from api.db.models import WorkOrder
from api.schemas import WorkOrderPublic
from api.schemas_map import CellBaseline, MapCellFeature, MapCellProperties
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


def cells(session: Session, calendar: stats.Calendar, query: stats.BaselineQuery,
          now: dt.datetime) -> tuple[dt.datetime, list[MapCellFeature]]:
    """Every grid cell in the reader's scope (``query.grids``), outlined or not, with its baseline."""
    assert query.unit is BaselineUnit.GRID_CELL
    start, items = stats.baselines(session, calendar, query)
    levels = {item.key: item for item in items}
    open_by_cell, overdue_by_cell = _open_counts(session, query.grids, now)
    features = []
    for cell in registry.list_grid_cells(session, query.grids):
        item = levels.get(cell.code)
        baseline = (CellBaseline(level=item.level, current=item.current, mean=item.mean, ratio=item.ratio,
                                 periods=item.periods) if item is not None else
                    CellBaseline(level=BaselineLevel.NO_HISTORY, current=0, mean=None, ratio=None, periods=0))
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
