"""Background jobs: mark overdue orders, escalate them, deliver webhooks.

Each job is a plain function taking the session factory and ``now``, so
tests drive hours of simulated time without sleeping; :func:`job_loop` is the
thin asyncio wrapper the app starts (every ``job_interval_s``).

Escalation follows the three loops of closure: an order still overdue
``escalate_after`` past its deadline is escalated (level 1), and each further
``escalate_after`` without being finished raises the level again."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.crud.timeline import SYSTEM_ACTOR, Change, record
from api.db.models import WorkOrder
from api.schemas import WorkOrderStatus as S
from api.settings import Settings
from api.webhooks import deliver_due
from api.workflow import CLOCK_RUNNING, SYSTEM, check

log = logging.getLogger(__name__)
BATCH = 500  # orders per pass: a backlog is worked off over a few passes, never one huge transaction


@dataclass
class OverdueReport:
    overdue: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def _mark_overdue(session: Session, now: dt.datetime, report: OverdueReport) -> None:
    stmt = (
        select(WorkOrder)
        .where(WorkOrder.status.in_([s.value for s in CLOCK_RUNNING]), WorkOrder.deadline_at < now)
        .order_by(WorkOrder.deadline_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    for order in session.scalars(stmt):
        current = S(order.status)
        check(current, S.OVERDUE, SYSTEM)
        order.status, order.overdue_at, order.updated_at = S.OVERDUE.value, now, now
        late = now - order.deadline_at
        record(session, order, now, SYSTEM_ACTOR, Change(
            "overdue", current.value, S.OVERDUE.value, f"deadline passed {int(late.total_seconds() // 60)} min ago",
            {"deadline_at": order.deadline_at.astimezone(dt.timezone.utc).isoformat()},
        ))
        report.overdue.append(order.id)


def _escalate(session: Session, settings: Settings, now: dt.datetime, report: OverdueReport) -> None:
    stmt = (
        select(WorkOrder)
        .where(WorkOrder.status.in_([S.OVERDUE.value, S.ESCALATED.value]), WorkOrder.overdue_at.is_not(None))
        .order_by(WorkOrder.deadline_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    for order in session.scalars(stmt):
        due = order.deadline_at + settings.escalate_after * (order.escalation_level + 1)
        if due > now:
            continue
        current = S(order.status)
        if current is S.OVERDUE:
            check(current, S.ESCALATED, SYSTEM)
            order.status = S.ESCALATED.value
        order.escalation_level += 1
        order.updated_at = now
        record(session, order, now, SYSTEM_ACTOR, Change(
            "escalated", current.value, S.ESCALATED.value,
            f"still unfinished {settings.escalate_after * order.escalation_level} after the deadline",
            {"level": order.escalation_level},
        ))
        report.escalated.append(order.id)


def run_overdue_job(sessions: sessionmaker[Session], settings: Settings, now: dt.datetime) -> OverdueReport:
    """One pass: mark orders past their deadline overdue, escalate long-overdue ones."""
    report = OverdueReport()
    with sessions() as session:
        _mark_overdue(session, now, report)
        session.commit()
    with sessions() as session:
        _escalate(session, settings, now, report)
        session.commit()
    if report.overdue or report.escalated:
        log.info("overdue job: %d marked overdue, %d escalated", len(report.overdue), len(report.escalated))
    return report


async def job_loop(sessions: sessionmaker[Session], settings: Settings, clock: Callable[[], dt.datetime],
                   client: httpx.Client) -> None:
    """Run the jobs every ``job_interval_s`` until cancelled (app shutdown)."""
    while True:
        await asyncio.sleep(settings.job_interval_s)
        try:
            await run_in_threadpool(run_overdue_job, sessions, settings, clock())
            await run_in_threadpool(deliver_due, sessions, settings, client, clock())
        except asyncio.CancelledError:
            raise
        except Exception:
            # A database blip must not kill the loop: log it and try again next period.
            log.exception("background job failed; retrying next period")
