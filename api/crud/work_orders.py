"""Creating and querying work orders.

Idempotency rests on the UNIQUE constraint on ``idempotency_key``, and the
requests of one key take turns: on SQLite every write transaction holds the
write lock from its first statement (BEGIN IMMEDIATE), on PostgreSQL a
transaction-scoped advisory lock on the key is taken before the key is looked
up. So a request that finds nothing is the key's only one until it commits,
and it can neither file a second order nor merge its event into the order the
key has just filed (the same key with another body is a 409, never a merge).
Should two requests still race past the lookup (another process on SQLite
without the lock), the loser's insert fails and it answers with the winner's
order. A key whose event merged into an open order is remembered in
``order_events`` (also UNIQUE), so its replay answers with that order.

Every path ends its transaction before returning or raising, with what the
response needs (the order's evidence) loaded: a transaction left open until
the session closes would keep SQLite's write lock for nothing.

:func:`create_work_order` needs no HTTP request: the Redis ingest calls it too."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, literal_column, or_, select, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.auth import Principal
from api.crud import incidents
from api.crud.routing import route
from api.crud.timeline import SYSTEM_ACTOR, Change, record
from api.evidence import DecodedEvidence, EvidenceStore
from api.db.models import Evidence, OrderEvent, WorkOrder, utcnow
from api.schemas import (
    EvidencePublic,
    Priority,
    WorkOrderCreate,
    WorkOrderPublic,
    WorkOrderStatus,
)
from api.settings import Settings
from api.workflow import CLOCK_RUNNING, TERMINAL, allowed_moves

API_PREFIX = "/api/v1"


class IdempotencyConflict(Exception):
    """The key was used before for a different payload."""

    def __init__(self, order: WorkOrder) -> None:
        super().__init__(order.order_no)
        self.order = order


@dataclass(frozen=True)
class CreateResult:
    order: WorkOrder
    created: bool  # False: an earlier request with the same key made it, or the event merged
    merged: bool = False  # the event was a repeat, counted on this open order
    replayed: bool = False  # the key was seen before: nothing changed


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


def payload_hash(body: WorkOrderCreate, evidence: list[DecodedEvidence]) -> str:
    """SHA-256 of the payload in canonical form: what it means, not how it was
    spelled. Times are normalised to UTC, evidence counts by content hash (so
    base64 line breaks don't matter), and the key itself is left out, as is the
    contract version (a retry after a worker upgrade is the same report)."""
    canonical: dict[str, Any] = body.model_dump(mode="json", exclude={"version", "idempotency_key", "evidence"})
    canonical["detected_at"] = _utc_iso(body.detected_at)
    canonical["event_started_at"] = _utc_iso(body.event_started_at)
    canonical["evidence"] = [{"kind": e.kind, "content_type": e.content_type, "sha256": e.sha256} for e in evidence]
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # A freshly created order still holds the caller's offset until it is reloaded.
    return None if value is None else value.astimezone(dt.timezone.utc)


def _utc_iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat()


def find_by_key(session: Session, key: str) -> WorkOrder | None:
    stmt = select(WorkOrder).where(WorkOrder.idempotency_key == key).options(selectinload(WorkOrder.evidence))
    return session.scalars(stmt).one_or_none()


def _replay(existing: WorkOrder, digest: str) -> CreateResult:
    if existing.payload_sha256 != digest:
        raise IdempotencyConflict(existing)
    return CreateResult(existing, created=False, replayed=True)


# Built once: constructing a statement costs more CPU than running it from the compiled cache.
_KEY_USE = union_all(
    select(literal_column("'order'"), WorkOrder.id, WorkOrder.payload_sha256)
    .where(WorkOrder.idempotency_key == bindparam("key")),
    select(literal_column("'merged'"), OrderEvent.work_order_id, OrderEvent.payload_sha256)
    .where(OrderEvent.idempotency_key == bindparam("key"), OrderEvent.kind == "merged"),
)


def _key_use(session: Session, key: str) -> tuple[str, int | None, str] | None:
    """Whether the key filed an order or merged an event, in one query (a new key, the
    common case, costs one round trip): (kind, work order id, payload hash) or None."""
    row = session.execute(_KEY_USE, {"key": key}).first()
    return None if row is None else (row[0], row[1], row[2])


def _find_replay(session: Session, key: str, digest: str) -> CreateResult | None:
    use = _key_use(session, key)
    if use is None:
        return None
    kind, order_id, payload_sha256 = use
    if kind == "order":
        existing = find_by_key(session, key)
        return None if existing is None else _replay(existing, digest)
    if order_id is None:
        return None
    order = session.get(WorkOrder, order_id, options=[selectinload(WorkOrder.evidence)])
    assert order is not None  # ON DELETE CASCADE removes the record with its order
    if payload_sha256 != digest:
        raise IdempotencyConflict(order)
    return CreateResult(order, created=False, merged=True, replayed=True)


# Namespace of the idempotency-key advisory locks (the two-int form: apart from the problem locks).
_KEY_LOCK_SPACE = 0x6753
_KEY_LOCK = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")


def _serialise_key(session: Session, key: str) -> None:
    """Make the requests of one idempotency key take turns (PostgreSQL; SQLite's
    writers already do). Without it, a request that looked the key up before the
    first one committed would not see its order, and would then merge its event
    into that very order (issue 14 §4). Released by the transaction's end."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(_KEY_LOCK, {"space": _KEY_LOCK_SPACE, "key": key})


def _replay_or_none(session: Session, key: str, digest: str) -> CreateResult | None:
    """What the key did before, looked up while holding the key's turn. With an
    answer (a replay, or :class:`IdempotencyConflict`) the transaction is ended
    here; with None it goes on, the key's turn still held, to file the order."""
    _serialise_key(session, key)
    try:
        replay = _find_replay(session, key, digest)
    except IdempotencyConflict:
        session.commit()  # a read; commit keeps the order loaded for the error message
        raise
    if replay is not None:
        session.commit()
    return replay


def _after_lost_race(session: Session, key: str, digest: str, exc: IntegrityError) -> CreateResult:
    session.rollback()
    replay = _replay_or_none(session, key, digest)
    if replay is None:
        session.rollback()
        raise exc
    return replay


def order_number(settings: Settings, order_id: int, created_at: dt.datetime) -> str:
    local_day = (created_at + settings.local_utc_offset).date()
    return f"{settings.order_no_prefix}-{local_day:%Y%m%d}-{order_id:06d}"


def _serialise_problem(session: Session, body: WorkOrderCreate) -> None:
    """Make concurrent reports of one problem (camera, zone, category) take turns.

    Without this, PostgreSQL lets two reports both see "no open order" and file
    two; SQLite needs nothing because it already serialises writers. The lock is
    transaction-scoped: the commit that files or merges the order releases it."""
    if session.get_bind().dialect.name != "postgresql":
        return
    problem = f"{body.camera_id}|{body.zone_id}|{body.category_code}"
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:problem, 0))"), {"problem": problem})


def create_work_order(
    session: Session,
    store: EvidenceStore,
    settings: Settings,
    body: WorkOrderCreate,
    key: str,
    evidence: list[DecodedEvidence],
    *,
    now: dt.datetime | None = None,
) -> CreateResult:
    """Create the order and its evidence, merge the event into an open order
    for the same problem, or return what the key did before.

    Raises :class:`IdempotencyConflict` when the key was used for another payload."""
    digest = payload_hash(body, evidence)
    # The evidence is written (with its fsync) before the transaction starts and only renamed
    # into place inside it: on SQLite the write lock is held for milliseconds less per file.
    staged: list[Path | None] = []
    try:
        for item in evidence:
            staged.append(store.stage(item.data))
        return _create(session, store, settings, body, key, evidence, staged, digest, now)
    finally:
        store.discard(staged)  # what was not placed: a replay, a merge, a failure


def _create(
    session: Session,
    store: EvidenceStore,
    settings: Settings,
    body: WorkOrderCreate,
    key: str,
    evidence: list[DecodedEvidence],
    staged: list[Path | None],
    digest: str,
    now: dt.datetime | None,
) -> CreateResult:
    replay = _replay_or_none(session, key, digest)
    if replay is not None:
        return replay

    now = now if now is not None else utcnow()
    _serialise_problem(session, body)
    try:
        target = incidents.open_repeat_target(session, settings, body)
        previous = None if target is not None else incidents.recent_closed(session, settings, body)
        if target is not None or (previous is not None and settings.recurrence_policy == "reopen"):
            into = target if target is not None else previous
            assert into is not None
            (incidents.merge if target is not None else incidents.reopen)(session, into, body, now, key=key, digest=digest)
            into.evidence  # noqa: B018 (loaded for the response before the transaction ends)
            session.commit()
            return CreateResult(into, created=False, merged=True)
    except IntegrityError as exc:
        return _after_lost_race(session, key, digest, exc)
    except BaseException:
        session.rollback()
        raise

    priority = Priority(body.priority)
    where = route(session, body.camera_id, body.zone_id, body.grid_cell)
    order = WorkOrder(
        # order_no derives from the id, which only the insert yields; the placeholder is
        # unique and never visible outside this transaction.
        order_no=f"pending-{uuid.uuid4().hex}",
        idempotency_key=key,
        payload_sha256=digest,
        source="video",
        status=WorkOrderStatus.DETECTED.value,
        category_code=body.category_code,
        category_name=body.category_name,
        priority=priority.value,
        # Provisional: the clock really starts at dispatch (see crud.handling).
        deadline_at=body.detected_at + settings.deadline_for(priority, body.category_code),
        camera_id=body.camera_id,
        zone_id=body.zone_id,
        rule_id=body.rule_id,
        event_id=body.event_id,
        labels=list(body.labels),
        confidence=body.confidence,
        model_name=body.model_name,
        model_version=body.model_version,
        boxes=[b.model_dump(mode="json") for b in body.boxes],
        grid_cell=where.grid_cell,
        address=body.address or where.address,
        detected_at=body.detected_at,
        event_started_at=body.event_started_at,
        created_at=now,
        updated_at=now,
        admin_area=where.admin_area,
        street=where.street,
        community=where.community,
        latitude=where.latitude,
        longitude=where.longitude,
        team=where.team,
        department=where.department,
        assignee=where.assignee,
        last_seen_at=body.detected_at,
        evidence=[],  # a new, empty collection: appending to it after the flush needs no query
    )
    written: list[str] = []
    try:
        session.add(order)
        session.flush()
        order.order_no = order_number(settings, order.id, now)
        local_day = order.order_no.split("-")[-2]
        # Order-scoped paths (sharded by day) make cleanup safe: no other order shares a file.
        folder = f"{local_day[:4]}/{local_day[4:6]}/{local_day[6:]}/{order.order_no}"
        for index, item in enumerate(evidence):
            relative = f"{folder}/{index:02d}-{item.kind}.{item.extension}"
            store.place(staged[index], relative)
            staged[index] = None  # placed: nothing left to discard
            written.append(relative)
            order.evidence.append(
                Evidence(
                    kind=item.kind,
                    content_type=item.content_type,
                    size=len(item.data),
                    sha256=item.sha256,
                    path=relative,
                    created_at=now,
                )
            )
        record(session, order, now, SYSTEM_ACTOR, Change(
            "created", None, WorkOrderStatus.DETECTED.value,
            data={"event_id": body.event_id, "grid_cell": order.grid_cell, "team": order.team},
        ))
        if previous is not None:
            incidents.link(session, order, previous, now)
        session.commit()
    except IntegrityError as exc:
        # Remove files while this transaction still holds its locks, then see who won.
        store.remove(written)
        return _after_lost_race(session, key, digest, exc)
    except BaseException:
        store.remove(written)
        session.rollback()
        raise
    return CreateResult(order, created=True)


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


def to_public(order: WorkOrder, *, now: dt.datetime | None = None, viewer: Principal | None = None) -> WorkOrderPublic:
    status = WorkOrderStatus(order.status)
    moves = allowed_moves(status, viewer.role if viewer is not None and not viewer.read_only else None)
    return WorkOrderPublic(
        id=order.id,
        order_no=order.order_no,
        source=order.source,
        status=WorkOrderStatus(order.status),
        category_code=order.category_code,
        category_name=order.category_name,
        priority=Priority(order.priority),
        deadline_at=_utc(order.deadline_at),
        camera_id=order.camera_id,
        zone_id=order.zone_id,
        rule_id=order.rule_id,
        event_id=order.event_id,
        labels=list(order.labels),
        confidence=order.confidence,
        model_name=order.model_name,
        model_version=order.model_version,
        boxes=list(order.boxes),
        grid_cell=order.grid_cell,
        address=order.address,
        detected_at=_utc(order.detected_at),
        event_started_at=_utc(order.event_started_at),
        created_at=_utc(order.created_at),
        updated_at=_utc(order.updated_at),
        evidence=[
            EvidencePublic(
                id=e.id,
                kind=e.kind,
                content_type=e.content_type,
                size=e.size,
                sha256=e.sha256,
                url=evidence_url(order.id, e.id),
            )
            for e in order.evidence
        ],
        admin_area=order.admin_area,
        street=order.street,
        community=order.community,
        latitude=order.latitude,
        longitude=order.longitude,
        team=order.team,
        department=order.department,
        assignee=order.assignee,
        filed_at=_utc(order.filed_at),
        dispatched_at=_utc(order.dispatched_at),
        closed_at=_utc(order.closed_at),
        overdue_at=_utc(order.overdue_at),
        overdue=is_overdue(order, now if now is not None else utcnow()),
        escalation_level=order.escalation_level or 0,
        rework_count=order.rework_count or 0,
        repeat_count=order.repeat_count or 0,
        last_seen_at=_utc(order.last_seen_at),
        linked_order_id=order.linked_order_id,
        verdict=order.verdict,
        verdict_reason=order.verdict_reason,
        verified_by_camera_at=_utc(order.verified_by_camera_at),
        allowed_transitions=moves,
    )
