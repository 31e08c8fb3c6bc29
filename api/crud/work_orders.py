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

:func:`create_work_order` needs no HTTP request: the filing service
(:mod:`api.services.filing`) calls it for both transports. Reading orders
lives in :mod:`api.crud.order_views` (re-exported here)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, literal_column, select, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.crud import incidents
from api.crud.order_views import (  # noqa: F401 (re-exported: callers read orders through this module)
    API_PREFIX,
    WorkOrderFilters,
    evidence_url,
    is_overdue,
    list_work_orders,
    order_url,
    overdue_clause,
    to_public,
)
from api.crud.routing import Route, route
from api.crud.timeline import SYSTEM_ACTOR, Change, record
from api.evidence import DecodedEvidence, EvidenceStore
from api.db.models import Evidence, OrderEvent, WorkOrder, utcnow
from api.schemas import Priority, WorkOrderCreate, WorkOrderStatus
from api.settings import Settings
from inference import site_time


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
    local_day = site_time.local_day(created_at, settings.site_zone)  # the site's date (docs/time.md)
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
        merged, previous = _merge_or_reopen(session, settings, body, key, digest, now)
    except IntegrityError as exc:
        return _after_lost_race(session, key, digest, exc)
    except BaseException:
        session.rollback()
        raise
    if merged is not None:
        return merged

    order = _new_order(settings, body, key, digest, route(session, body.camera_id, body.zone_id, body.grid_cell), now)
    written: list[str] = []
    try:
        _store_new(session, store, settings, order, body, evidence, staged, written, now)
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


def _merge_or_reopen(session: Session, settings: Settings, body: WorkOrderCreate, key: str, digest: str,
                     now: dt.datetime) -> tuple[CreateResult | None, WorkOrder | None]:
    """A repeat merged into the open order of its problem (or, by policy, reopening the recently
    closed one), committed: (its result, None). Otherwise (None, the recently closed order or None)."""
    target = incidents.open_repeat_target(session, settings, body)
    previous = None if target is not None else incidents.recent_closed(session, settings, body)
    if target is None and (previous is None or settings.recurrence_policy != "reopen"):
        return None, previous
    into = target if target is not None else previous
    assert into is not None
    (incidents.merge if target is not None else incidents.reopen)(session, into, body, now, key=key, digest=digest)
    into.evidence  # noqa: B018 (loaded for the response before the transaction ends)
    session.commit()
    return CreateResult(into, created=False, merged=True), None


def _new_order(settings: Settings, body: WorkOrderCreate, key: str, digest: str, where: Route,
               now: dt.datetime) -> WorkOrder:
    priority = Priority(body.priority)
    return WorkOrder(
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


def _store_new(session: Session, store: EvidenceStore, settings: Settings, order: WorkOrder, body: WorkOrderCreate,
               evidence: list[DecodedEvidence], staged: list[Path | None], written: list[str],
               now: dt.datetime) -> None:
    """Insert the order (for its id and number), place its evidence files (``written`` collects
    their paths, for cleanup on failure) and record its creation; the caller commits."""
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
        order.evidence.append(Evidence(kind=item.kind, content_type=item.content_type, size=len(item.data),
                                       sha256=item.sha256, path=relative, created_at=now))
    record(session, order, now, SYSTEM_ACTOR, Change(
        "created", None, WorkOrderStatus.DETECTED.value,
        data={"event_id": body.event_id, "grid_cell": order.grid_cell, "team": order.team},
    ))
