"""Reading work orders: the list filters, the overdue test, URLs, and the public view
(:func:`to_public`) every route and the live feed answer with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.db.models import WorkOrder, utcnow
from api.schemas import EvidencePublic, Priority, WorkOrderPublic, WorkOrderStatus
from api.workflow import CLOCK_RUNNING, TERMINAL, allowed_moves

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class WorkOrderFilters:
    camera_id: str | None = None
    zone_id: str | None = None
    category_code: str | None = None
    status: WorkOrderStatus | None = None
    priority: Priority | None = None
    since: dt.datetime | None = None  # inclusive, on detected_at
    until: dt.datetime | None = None  # exclusive, on detected_at
    grid_cell: str | None = None
    assignee: str | None = None
    team: str | None = None
    overdue: bool | None = None
    grids: frozenset[str] | None = None  # the reader's scope; None: every grid
    now: dt.datetime | None = None  # for the overdue filter


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # A freshly created order still holds the caller's offset until it is reloaded.
    return None if value is None else value.astimezone(dt.timezone.utc)


def _filtered(stmt: Select[Any], f: WorkOrderFilters) -> Select[Any]:
    if f.camera_id is not None:
        stmt = stmt.where(WorkOrder.camera_id == f.camera_id)
    if f.zone_id is not None:
        stmt = stmt.where(WorkOrder.zone_id == f.zone_id)
    if f.category_code is not None:
        stmt = stmt.where(WorkOrder.category_code == f.category_code)
    if f.status is not None:
        stmt = stmt.where(WorkOrder.status == f.status.value)
    if f.priority is not None:
        stmt = stmt.where(WorkOrder.priority == f.priority.value)
    if f.since is not None:
        stmt = stmt.where(WorkOrder.detected_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(WorkOrder.detected_at < f.until)
    if f.grid_cell is not None:
        stmt = stmt.where(WorkOrder.grid_cell == f.grid_cell)
    if f.assignee is not None:
        stmt = stmt.where(WorkOrder.assignee == f.assignee)
    if f.team is not None:
        stmt = stmt.where(WorkOrder.team == f.team)
    if f.grids is not None:
        stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(f.grids)))
    if f.overdue is not None:
        late = overdue_clause(f.now or utcnow())
        stmt = stmt.where(late if f.overdue else ~late)
    return stmt


def overdue_clause(now: dt.datetime):  # noqa: ANN201 (a SQL expression)
    """Past the deadline while the clock runs, or marked overdue and not yet finished."""
    running = [s.value for s in CLOCK_RUNNING]
    finished = [s.value for s in TERMINAL]
    return and_(
        WorkOrder.status.not_in(finished),
        or_(
            WorkOrder.overdue_at.is_not(None),
            and_(WorkOrder.status.in_(running), WorkOrder.deadline_at < now),
        ),
    )


def is_overdue(order: WorkOrder, now: dt.datetime) -> bool:
    status = WorkOrderStatus(order.status)
    if status in TERMINAL:
        return False
    return order.overdue_at is not None or (status in CLOCK_RUNNING and order.deadline_at < now)


def list_work_orders(
    session: Session, filters: WorkOrderFilters, limit: int, offset: int
) -> tuple[list[WorkOrder], int]:
    total = session.scalar(_filtered(select(func.count()).select_from(WorkOrder), filters)) or 0
    # id breaks ties between equal detected_at values, so pages never overlap or skip.
    stmt = _filtered(select(WorkOrder), filters).order_by(WorkOrder.detected_at.desc(), WorkOrder.id.desc())
    items = list(session.scalars(stmt.limit(limit).offset(offset)))
    return items, total


def evidence_url(order_id: int, evidence_id: int) -> str:
    return f"{API_PREFIX}/work-orders/{order_id}/evidence/{evidence_id}"


def order_url(order_id: int) -> str:
    return f"{API_PREFIX}/work-orders/{order_id}"


# Columns a client reads as stored, and the times it reads in UTC.
_AS_STORED = (
    "id", "order_no", "source", "category_code", "category_name", "camera_id", "zone_id", "rule_id", "event_id",
    "confidence", "model_name", "model_version", "grid_cell", "address", "admin_area", "street", "community",
    "latitude", "longitude", "team", "department", "assignee", "linked_order_id", "verdict", "verdict_reason",
)
_TIMES = (
    "deadline_at", "detected_at", "event_started_at", "created_at", "updated_at", "filed_at", "dispatched_at",
    "closed_at", "overdue_at", "last_seen_at", "verified_by_camera_at",
)


def _evidence_public(order: WorkOrder) -> list[EvidencePublic]:
    return [EvidencePublic(id=e.id, kind=e.kind, content_type=e.content_type, size=e.size, sha256=e.sha256,
                           url=evidence_url(order.id, e.id)) for e in order.evidence]


def to_public(order: WorkOrder, *, now: dt.datetime | None = None, viewer: Principal | None = None) -> WorkOrderPublic:
    """The order as clients read it; ``allowed_transitions`` for ``viewer``'s role (none when read-only)."""
    status = WorkOrderStatus(order.status)
    moves = allowed_moves(status, viewer.role if viewer is not None and not viewer.read_only else None)
    return WorkOrderPublic(
        **{name: getattr(order, name) for name in _AS_STORED},
        **{name: _utc(getattr(order, name)) for name in _TIMES},
        status=status,
        priority=Priority(order.priority),
        labels=list(order.labels),
        boxes=list(order.boxes),
        evidence=_evidence_public(order),
        overdue=is_overdue(order, now if now is not None else utcnow()),
        escalation_level=order.escalation_level or 0,
        rework_count=order.rework_count or 0,
        repeat_count=order.repeat_count or 0,
        allowed_transitions=moves,
    )
