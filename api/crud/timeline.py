"""The append-only timeline, and the webhook outbox that rides on it.

Every change to an order goes through :func:`record`: it is what the
timeline endpoint shows, what the live feed (SSE) streams, and what webhooks
deliver, so all three always agree. Webhook deliveries are written in the
same transaction as the entry (a transactional outbox): an entry is never
committed without its deliveries, nor a delivery without its entry.

Metrics seam: anything counting order events can read this table (entries
are never updated or deleted) or wrap :func:`record`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.db.models import TimelineEntry, Webhook, WebhookDelivery, WorkOrder
from api.schemas_workflow import TimelineEntryPublic


@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    @classmethod
    def of(cls, principal: Principal) -> "Actor":
        return cls(principal.name, principal.role.value)


SYSTEM_ACTOR = Actor("system", "system")


@dataclass
class Change:
    action: str
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


_ACTIVE_HOOKS = select(Webhook).where(Webhook.active.is_(True))  # built once: every change asks it


def record(session: Session, order: WorkOrder, at: dt.datetime, actor: Actor, change: Change) -> TimelineEntry:
    entry = TimelineEntry(
        work_order_id=order.id,
        at=at,
        actor=actor.name[:64],
        role=actor.role,
        action=change.action,
        from_status=change.from_status,
        to_status=change.to_status,
        reason=change.reason,
        data=change.data,
    )
    session.add(entry)
    session.flush()
    for hook in session.scalars(_ACTIVE_HOOKS):
        if not hook.events or change.action in hook.events:
            session.add(WebhookDelivery(webhook_id=hook.id, timeline_entry_id=entry.id, state="pending",
                                        attempts=0, next_attempt_at=at))
    return entry


def entries_for(session: Session, order_id: int) -> list[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.work_order_id == order_id).order_by(TimelineEntry.id)
    return list(session.scalars(stmt))


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc)


def to_public(entry: TimelineEntry) -> TimelineEntryPublic:
    return TimelineEntryPublic(
        id=entry.id,
        work_order_id=entry.work_order_id,
        at=_utc(entry.at),
        actor=entry.actor,
        role=entry.role,
        action=entry.action,
        from_status=entry.from_status,
        to_status=entry.to_status,
        reason=entry.reason,
        data=dict(entry.data or {}),
    )
