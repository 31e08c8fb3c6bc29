"""Incidents: repeated sightings of one problem are one case, not many.

A repeat (same camera, zone and category) while an order for it is still
open and was last seen within ``merge_window`` merges into that order: its
``repeat_count`` goes up and the timeline says which event repeated it. A
repeat soon after closure (``recurrence_window``) is a recurrence: either a
new order linked to the closed one, or the closed one reopened for rework
(``recurrence_policy``). Windows are measured on the events' own detection
times, so a backlog delivered late by a worker's outbox merges the same way
it would have live."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from api.crud.timeline import SYSTEM_ACTOR, Change, record
from api.db.models import OrderEvent, WorkOrder
from api.schemas import WorkOrderCreate, WorkOrderStatus
from api.settings import Settings
from api.workflow import OPEN, SYSTEM, check


def _same_place(body: WorkOrderCreate):  # noqa: ANN202 (a SQL expression list)
    return (
        WorkOrder.camera_id == body.camera_id,
        WorkOrder.zone_id == body.zone_id,
        WorkOrder.category_code == body.category_code,
    )


def open_repeat_target(session: Session, settings: Settings, body: WorkOrderCreate) -> WorkOrder | None:
    if settings.merge_window <= dt.timedelta(0):
        return None
    last_seen = func.coalesce(WorkOrder.last_seen_at, WorkOrder.detected_at)
    stmt = (
        select(WorkOrder)
        .where(*_same_place(body), WorkOrder.status.in_([s.value for s in OPEN]))
        .where(last_seen >= body.detected_at - settings.merge_window)
        .where(WorkOrder.detected_at <= body.detected_at + settings.merge_window)
        .order_by(WorkOrder.detected_at.desc(), WorkOrder.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


# Built once (every new order asks it): constructing a statement costs more CPU than running it.
_RECENT_CLOSED = (
    select(WorkOrder)
    .where(WorkOrder.camera_id == bindparam("camera_id"), WorkOrder.zone_id == bindparam("zone_id"),
           WorkOrder.category_code == bindparam("category_code"), WorkOrder.status == WorkOrderStatus.CLOSED.value)
    .where(WorkOrder.closed_at >= bindparam("since", type_=WorkOrder.closed_at.type))
    .order_by(WorkOrder.closed_at.desc(), WorkOrder.id.desc())
    .limit(1)
)


def recent_closed(session: Session, settings: Settings, body: WorkOrderCreate) -> WorkOrder | None:
    if settings.recurrence_window <= dt.timedelta(0):
        return None
    params = {"camera_id": body.camera_id, "zone_id": body.zone_id, "category_code": body.category_code,
              "since": body.detected_at - settings.recurrence_window}
    return session.scalars(_RECENT_CLOSED, params).first()


def _sighting(body: WorkOrderCreate) -> dict:
    return {
        "event_id": body.event_id,
        "rule_id": body.rule_id,
        "detected_at": body.detected_at.astimezone(dt.timezone.utc).isoformat(),
        "confidence": body.confidence,
    }


def merge(session: Session, order: WorkOrder, body: WorkOrderCreate, now: dt.datetime, *, key: str, digest: str) -> None:
    """Count a repeat on the open order (the caller commits)."""
    order.repeat_count += 1
    seen = order.last_seen_at or order.detected_at
    order.last_seen_at = max(seen, body.detected_at)
    order.updated_at = now
    session.add(OrderEvent(idempotency_key=key, payload_sha256=digest, kind="merged", event_id=body.event_id,
                           camera_id=body.camera_id, work_order_id=order.id, outcome="merged", created_at=now))
    record(session, order, now, SYSTEM_ACTOR,
           Change("merged", reason=f"repeat sighting #{order.repeat_count}", data=_sighting(body)))


def reopen(session: Session, order: WorkOrder, body: WorkOrderCreate, now: dt.datetime, *, key: str, digest: str) -> None:
    """Recurrence under the 'reopen' policy: the closed order goes back to rework."""
    check(WorkOrderStatus.CLOSED, WorkOrderStatus.REWORK, SYSTEM)
    order.status = WorkOrderStatus.REWORK.value
    order.rework_count += 1
    order.repeat_count += 1
    order.closed_at = None
    order.last_seen_at = body.detected_at
    order.updated_at = now
    session.add(OrderEvent(idempotency_key=key, payload_sha256=digest, kind="merged", event_id=body.event_id,
                           camera_id=body.camera_id, work_order_id=order.id, outcome="reopened", created_at=now))
    record(session, order, now, SYSTEM_ACTOR,
           Change("recurrence", WorkOrderStatus.CLOSED.value, WorkOrderStatus.REWORK.value,
                  "the problem came back after closure", _sighting(body)))


def link(session: Session, new: WorkOrder, previous: WorkOrder, now: dt.datetime) -> None:
    """Recurrence under the 'link' policy: the new order points at the closed one."""
    new.linked_order_id = previous.id
    record(session, previous, now, SYSTEM_ACTOR,
           Change("recurrence", reason=f"recurred as {new.order_no}", data={"work_order_id": new.id}))
