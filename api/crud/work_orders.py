"""Creating and querying work orders.

Idempotency rests on the UNIQUE constraint on ``idempotency_key``: the lookup
before the insert is only a fast path. When two requests race past it, the
loser's insert fails and it answers with the winner's order."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.evidence import DecodedEvidence, EvidenceStore
from api.models import Evidence, WorkOrder, utcnow
from api.schemas import (
    EvidencePublic,
    Priority,
    WorkOrderCreate,
    WorkOrderPublic,
    WorkOrderStatus,
)
from api.settings import Settings

API_PREFIX = "/api/v1"


class IdempotencyConflict(Exception):
    """The key was used before for a different payload."""

    def __init__(self, order: WorkOrder) -> None:
        super().__init__(order.order_no)
        self.order = order


@dataclass(frozen=True)
class CreateResult:
    order: WorkOrder
    created: bool  # False: an earlier request with the same key made it


@dataclass(frozen=True)
class WorkOrderFilters:
    camera_id: str | None = None
    zone_id: str | None = None
    category_code: str | None = None
    status: WorkOrderStatus | None = None
    priority: Priority | None = None
    since: dt.datetime | None = None  # inclusive, on detected_at
    until: dt.datetime | None = None  # exclusive, on detected_at


def payload_hash(body: WorkOrderCreate, evidence: list[DecodedEvidence]) -> str:
    """SHA-256 of the payload in canonical form: what it means, not how it was
    spelled. Times are normalised to UTC, evidence counts by content hash (so
    base64 line breaks don't matter), and the key itself is left out."""
    canonical: dict[str, Any] = body.model_dump(mode="json", exclude={"idempotency_key", "evidence"})
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
    return session.scalars(select(WorkOrder).where(WorkOrder.idempotency_key == key)).one_or_none()


def _replay(existing: WorkOrder, digest: str) -> CreateResult:
    if existing.payload_sha256 != digest:
        raise IdempotencyConflict(existing)
    return CreateResult(existing, created=False)


def order_number(settings: Settings, order_id: int, created_at: dt.datetime) -> str:
    local_day = (created_at + settings.local_utc_offset).date()
    return f"{settings.order_no_prefix}-{local_day:%Y%m%d}-{order_id:06d}"


def create_work_order(
    session: Session,
    store: EvidenceStore,
    settings: Settings,
    body: WorkOrderCreate,
    key: str,
    evidence: list[DecodedEvidence],
) -> CreateResult:
    """Create the order and its evidence, or return the one the key already made.

    Raises :class:`IdempotencyConflict` when the key was used for another payload."""
    digest = payload_hash(body, evidence)
    existing = find_by_key(session, key)
    if existing is not None:
        return _replay(existing, digest)

    now = utcnow()
    priority = Priority(body.priority)
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
        deadline_at=body.detected_at + settings.deadline_for(priority),
        camera_id=body.camera_id,
        zone_id=body.zone_id,
        rule_id=body.rule_id,
        event_id=body.event_id,
        labels=list(body.labels),
        confidence=body.confidence,
        model_name=body.model_name,
        model_version=body.model_version,
        boxes=[b.model_dump(mode="json") for b in body.boxes],
        grid_cell=body.grid_cell,
        address=body.address,
        detected_at=body.detected_at,
        event_started_at=body.event_started_at,
        created_at=now,
        updated_at=now,
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
            store.write(relative, item.data)
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
        session.commit()
    except IntegrityError:
        # Remove files while this transaction still holds its locks, then see who won.
        store.remove(written)
        session.rollback()
        existing = find_by_key(session, key)
        if existing is None:
            raise
        return _replay(existing, digest)
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
    return stmt


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


def to_public(order: WorkOrder) -> WorkOrderPublic:
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
    )
