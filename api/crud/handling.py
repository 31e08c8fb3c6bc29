"""Handling orders: transitions, comments, verdicts, the camera re-check and evidence follow-ups.

Which moves exist and who may make them is data (:mod:`api.workflow`); what
a move *does* to the order's fields is the ``_EFFECTS`` table here. Every
change appends a timeline entry in the same transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.crud.timeline import Actor, Change, record
from api.deadlines import deadline
from api.evidence import DecodedEvidence, EvidenceStore
from api.db.models import Evidence, OrderEvent, WorkOrder
from api.schemas import Priority, WorkOrderStatus as S
from api.schemas_workflow import (EventEndIn, EventEndOutcome, EventEndResult, EvidenceFollowUpIn,
                                  EvidenceFollowUpOutcome, EvidenceFollowUpResult, TransitionIn, Verdict, VerdictIn)
from api.settings import Settings
from api.workflow import SYSTEM, check

# Moves that must say why: they are the ones a supervisor or an auditor asks about.
REASON_REQUIRED = frozenset({S.REJECTED, S.RETURNED, S.REWORK, S.EXTENSION, S.SUSPENDED, S.ESCALATED})


class HandlingError(ValueError):
    """Bad input that the schema cannot see (answered 422)."""


class EventKeyConflict(Exception):
    """An event-end idempotency key reused for a different message (409)."""


@dataclass(frozen=True)
class MoveContext:
    body: TransitionIn
    actor: Actor
    now: dt.datetime
    settings: Settings


def _filed(order: WorkOrder, ctx: MoveContext) -> None:
    order.filed_at = order.filed_at or ctx.now


def _dispatched(order: WorkOrder, ctx: MoveContext) -> None:
    # The deadline clock (re)starts at every dispatch, in working time when a calendar is set.
    order.dispatched_at = ctx.now
    order.deadline_at = deadline(ctx.now, Priority(order.priority), order.category_code, ctx.settings)
    order.overdue_at = None
    order.department = ctx.body.department or order.department
    order.assignee = ctx.body.assignee or order.assignee


def _accepted(order: WorkOrder, ctx: MoveContext) -> None:
    order.assignee = ctx.body.assignee or order.assignee or ctx.actor.name


def _in_progress(order: WorkOrder, ctx: MoveContext) -> None:
    if ctx.body.extend_minutes:
        order.deadline_at = order.deadline_at + dt.timedelta(minutes=ctx.body.extend_minutes)
        if order.deadline_at > ctx.now:
            order.overdue_at = None


def _rework(order: WorkOrder, _ctx: MoveContext) -> None:
    order.rework_count += 1
    order.closed_at = None


def _closed(order: WorkOrder, ctx: MoveContext) -> None:
    order.closed_at = ctx.now


def _escalated(order: WorkOrder, _ctx: MoveContext) -> None:
    order.escalation_level += 1


_EFFECTS: dict[S, Callable[[WorkOrder, MoveContext], None]] = {
    S.FILED: _filed,
    S.DISPATCHED: _dispatched,
    S.ACCEPTED: _accepted,
    S.IN_PROGRESS: _in_progress,
    S.REWORK: _rework,
    S.CLOSED: _closed,
    S.ESCALATED: _escalated,
}


def attach_evidence(session: Session, store: EvidenceStore, order: WorkOrder, items: list[DecodedEvidence],
                    now: dt.datetime) -> list[str]:
    """Write files next to the order's others; returns their paths for cleanup on failure."""
    local_day = order.order_no.split("-")[-2]
    folder = f"{local_day[:4]}/{local_day[4:6]}/{local_day[6:]}/{order.order_no}"
    written = []
    for item in items:
        relative = f"{folder}/{uuid.uuid4().hex[:12]}-{item.kind}.{item.extension}"
        store.write(relative, item.data)
        written.append(relative)
        order.evidence.append(Evidence(kind=item.kind, content_type=item.content_type, size=len(item.data),
                                       sha256=item.sha256, path=relative, created_at=now))
    return written


def _commit_or_clean(session: Session, store: EvidenceStore, written: list[str]) -> None:
    try:
        session.commit()
    except BaseException:
        store.remove(written)
        session.rollback()
        raise


def transition(session: Session, store: EvidenceStore, order: WorkOrder, principal: Principal,
               ctx: MoveContext, evidence: list[DecodedEvidence]) -> WorkOrder:
    current, target = S(order.status), ctx.body.to
    check(current, target, principal.role)  # raises TransitionError (409/403)
    if target in REASON_REQUIRED and not ctx.body.reason:
        raise HandlingError(f"a reason is required to move an order to '{target.value}'")
    if ctx.body.extend_minutes and not (current is S.EXTENSION and target is S.IN_PROGRESS):
        raise HandlingError("extend_minutes only applies when granting an extension (extension -> in_progress)")
    order.status = target.value
    effect = _EFFECTS.get(target)
    if effect is not None:
        effect(order, ctx)
    order.updated_at = ctx.now
    written = attach_evidence(session, store, order, evidence, ctx.now)
    session.flush()
    data = {k: v for k, v in {
        "department": ctx.body.department, "assignee": ctx.body.assignee,
        "extend_minutes": ctx.body.extend_minutes,
        "evidence_ids": [e.id for e in order.evidence[-len(evidence):]] if evidence else None,
    }.items() if v}
    record(session, order, ctx.now, ctx.actor, Change("transition", current.value, target.value, ctx.body.reason, data))
    _commit_or_clean(session, store, written)
    return order


def comment(session: Session, order: WorkOrder, actor: Actor, text: str, now: dt.datetime) -> None:
    record(session, order, now, actor, Change("comment", reason=text))
    order.updated_at = now
    session.commit()


def verdict(session: Session, order: WorkOrder, principal: Principal, body: VerdictIn, now: dt.datetime,
            harvest: Callable[[Session, WorkOrder, dt.datetime], object] | None = None) -> WorkOrder:
    """Record whether the detection was right; an unfiled order follows the verdict
    (false positive -> rejected, confirmed -> filed). Feeds model evaluation; ``harvest``
    (issue 18) then takes a false positive's key frame for labelling, after the commit."""
    actor = Actor.of(principal)
    order.verdict = body.verdict.value
    order.verdict_reason = body.reason
    order.updated_at = now
    record(session, order, now, actor, Change("verdict", reason=body.reason, data={"verdict": body.verdict.value}))
    current = S(order.status)
    follow = {
        (Verdict.FALSE_POSITIVE, S.DETECTED): S.REJECTED,
        (Verdict.FALSE_POSITIVE, S.FILED): S.REJECTED,
        (Verdict.CONFIRMED, S.DETECTED): S.FILED,
    }.get((body.verdict, current))
    if follow is not None:
        check(current, follow, principal.role)
        order.status = follow.value
        if follow is S.FILED:
            order.filed_at = now
        record(session, order, now, actor, Change("transition", current.value, follow.value, body.reason,
                                                  {"by": "verdict"}))
    session.commit()
    if harvest is not None and body.verdict is Verdict.FALSE_POSITIVE:
        harvest(session, order, now)  # never raises: the verdict stands whatever becomes of the frame
    return order


class EventMessage(Protocol):
    """A worker's message about one rule event: an event end, an evidence follow-up."""

    event_id: str
    camera_id: str


def _digest(canonical: dict[str, Any], evidence: list[DecodedEvidence]) -> str:
    canonical = {**canonical, "evidence": [e.sha256 for e in evidence]}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _end_digest(body: EventEndIn, evidence: list[DecodedEvidence]) -> str:
    canonical = body.model_dump(mode="json", exclude={"version", "idempotency_key", "evidence", "ended_at"})
    canonical["ended_at"] = body.ended_at.astimezone(dt.timezone.utc).isoformat()
    return _digest(canonical, evidence)


def _order_for_event(session: Session, body: EventMessage) -> WorkOrder | None:
    order = session.scalars(
        select(WorkOrder).where(WorkOrder.event_id == body.event_id, WorkOrder.camera_id == body.camera_id)
    ).first()
    if order is not None:
        return order
    merged = session.scalars(select(OrderEvent).where(
        OrderEvent.event_id == body.event_id, OrderEvent.camera_id == body.camera_id, OrderEvent.kind == "merged",
    )).first()
    return session.get(WorkOrder, merged.work_order_id) if merged and merged.work_order_id else None


def _result(order: WorkOrder | None, outcome: str, replayed: bool) -> EventEndResult:
    return EventEndResult(outcome=EventEndOutcome(outcome), work_order_id=order.id if order else None,
                          status=S(order.status) if order else None, replayed=replayed)


def event_end(session: Session, store: EvidenceStore, settings: Settings, body: EventEndIn, key: str,
              evidence: list[DecodedEvidence], now: dt.datetime) -> EventEndResult:
    """Camera re-check: the zone is empty again. An order waiting in 'feedback'
    moves to 'verifying' (or closed, if configured) with the frame as proof;
    any other order only gets a timeline entry."""
    digest = _end_digest(body, evidence)
    replay = _replay_end(session, key, digest)
    if replay is not None:
        return replay

    order = _order_for_event(session, body)
    outcome = EventEndOutcome.UNKNOWN_EVENT.value
    written: list[str] = []
    if order is not None:
        actor = Actor(f"camera:{body.camera_id}"[:64], "worker")
        info = {"event_id": body.event_id, "ended_at": body.ended_at.astimezone(dt.timezone.utc).isoformat()}
        if S(order.status) is S.FEEDBACK:
            written = attach_evidence(session, store, order, evidence, now)
            session.flush()
            info["evidence_ids"] = [e.id for e in order.evidence[-len(evidence):]] if evidence else []
            target = S.CLOSED if settings.auto_close_on_recheck else S.VERIFYING
            check(S.FEEDBACK, S.VERIFYING, SYSTEM)
            order.status = S.VERIFYING.value
            if target is S.CLOSED:
                check(S.VERIFYING, S.CLOSED, SYSTEM)
                order.status, order.closed_at = S.CLOSED.value, now
            order.verified_by_camera_at = body.ended_at
            order.updated_at = now
            record(session, order, now, actor, Change("camera_recheck", S.FEEDBACK.value, order.status,
                                                      "the camera sees the zone empty", info))
            outcome = EventEndOutcome.VERIFIED.value
        else:
            record(session, order, now, actor, Change("event_end", reason=f"ignored in state '{order.status}'",
                                                      data=info))
            outcome = EventEndOutcome.IGNORED.value
    session.add(OrderEvent(idempotency_key=key, payload_sha256=digest, kind="event_end", event_id=body.event_id,
                           camera_id=body.camera_id, work_order_id=order.id if order else None, outcome=outcome,
                           created_at=now))
    try:
        _commit_or_clean(session, store, written)
    except IntegrityError:
        # A concurrent retry with the same key won the UNIQUE race: answer as its replay.
        replay = _replay_end(session, key, digest)
        if replay is None:
            raise
        return replay
    return _result(order, outcome, replayed=False)


def _replay_end(session: Session, key: str, digest: str) -> EventEndResult | None:
    seen = _seen(session, key, digest, "event_end")
    if seen is None:
        return None
    order = session.get(WorkOrder, seen.work_order_id) if seen.work_order_id else None
    return _result(order, seen.outcome, replayed=True)


def _seen(session: Session, key: str, digest: str, kind: str) -> OrderEvent | None:
    """The message stored under ``key`` (None: a new key); the key reused for another message: conflict."""
    seen = session.scalars(select(OrderEvent).where(OrderEvent.idempotency_key == key)).one_or_none()
    if seen is not None and (seen.payload_sha256 != digest or seen.kind != kind):
        raise EventKeyConflict(key)
    return seen


FOLLOW_UP = "follow_up"  # OrderEvent.kind of an evidence follow-up (the column holds 16 characters)


def evidence_follow_up(session: Session, store: EvidenceStore, body: EvidenceFollowUpIn, key: str,
                       evidence: list[DecodedEvidence], now: dt.datetime) -> EvidenceFollowUpResult:
    """Files made after the order was sent (an emergency order's clip) join its evidence, in any
    state: the clip belongs to the record even once it is closed, and the state does not change."""
    digest = _digest(body.model_dump(mode="json", include={"event_id", "camera_id"})
                     | {"kinds": [e.kind for e in evidence]}, evidence)
    replay = _replay_follow_up(session, key, digest, evidence)
    if replay is not None:
        return replay
    order = _order_for_event(session, body)
    written: list[str] = []
    ids: list[int] = []
    if order is not None:
        written = attach_evidence(session, store, order, evidence, now)
        session.flush()
        added = order.evidence[-len(evidence):]
        ids = [e.id for e in added]
        order.updated_at = now
        record(session, order, now, Actor(f"camera:{body.camera_id}"[:64], "worker"), Change(
            "evidence_added", data={"event_id": body.event_id, "evidence_ids": ids, "kinds": [e.kind for e in added]}))
    outcome = EvidenceFollowUpOutcome.ATTACHED if order is not None else EvidenceFollowUpOutcome.UNKNOWN_EVENT
    session.add(OrderEvent(idempotency_key=key, payload_sha256=digest, kind=FOLLOW_UP, event_id=body.event_id,
                           camera_id=body.camera_id, work_order_id=order.id if order else None,
                           outcome=outcome.value, created_at=now))
    try:
        _commit_or_clean(session, store, written)
    except IntegrityError:
        # A concurrent retry with the same key won the UNIQUE race: answer as its replay.
        replay = _replay_follow_up(session, key, digest, evidence)
        if replay is None:
            raise
        return replay
    return EvidenceFollowUpResult(outcome=outcome, work_order_id=order.id if order else None, evidence_ids=ids,
                                  replayed=False)


def _replay_follow_up(session: Session, key: str, digest: str,
                      evidence: list[DecodedEvidence]) -> EvidenceFollowUpResult | None:
    seen = _seen(session, key, digest, FOLLOW_UP)
    if seen is None:
        return None
    ids: list[int] = []
    if seen.work_order_id is not None:  # the files this message stored: same order, same instant, same bytes
        stored = session.scalars(select(Evidence).where(
            Evidence.work_order_id == seen.work_order_id, Evidence.created_at == seen.created_at,
            Evidence.sha256.in_([e.sha256 for e in evidence])).order_by(Evidence.id)).all()
        for item in evidence:
            match = next((e for e in stored if e.sha256 == item.sha256 and e.id not in ids), None)
            if match is not None:
                ids.append(match.id)
    return EvidenceFollowUpResult(outcome=EvidenceFollowUpOutcome(seen.outcome), work_order_id=seen.work_order_id,
                                  evidence_ids=ids, replayed=True)
