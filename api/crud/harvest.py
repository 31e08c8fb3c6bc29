"""Harvested frames in the database (issue 18): accept a worker's batch (de-duplicated,
held to each camera's daily cap and to the store's byte bound), list and mark them for
the labelling tools, sum them up, and turn a false-positive verdict's key frame into one.

Eviction, when a new frame would pass ``harvest_max_bytes``: the oldest frames (by capture
time) still ``new`` go first; ``labelled`` ones (their annotations are in a dataset version
already) only when no new frame is left, ``exported`` ones (a labelling tool may still show
them) last. An evicted frame keeps its row, marked ``evicted_at``, its file is deleted after
the transaction commits."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from api.contract.harvest import HarvestBatch, HarvestFrame, HarvestReason
from api.db.models import WorkOrder
from api.db.models_harvest import HarvestBatchRecord, HarvestFrameRecord
from api.evidence import EvidenceStore
from api.harvest_store import (NEAR_DUPLICATE_BITS, NEAR_DUPLICATE_WINDOW, CheckedFrame, FrameRefused, HarvestStore,
                               check_frame, hamming)
from api.schemas_harvest import FrameStatus
from api.settings import Settings
from inference.site_time import from_local, local_day

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
EVICTION_ORDER = (FrameStatus.NEW.value, FrameStatus.LABELLED.value, FrameStatus.EXPORTED.value)
FALSE_POSITIVE_WORKER = "api:false-positive-verdict"


def _tags(reasons: list[str]) -> str:
    return "," + ",".join(reasons) + ","


def site_day_start(now: dt.datetime, settings: Settings) -> dt.datetime:
    """The start (UTC) of the site's calendar day that ``now`` falls in: the daily cap's day."""
    zone = settings.site_zone
    return from_local(dt.datetime.combine(local_day(now, zone), dt.time()), zone)


def _exact_duplicate(session: Session, sha256: str) -> HarvestFrameRecord | None:
    return session.scalars(select(HarvestFrameRecord).where(HarvestFrameRecord.sha256 == sha256).limit(1)).first()


def _near_duplicate(session: Session, camera_id: str, captured: dt.datetime, dhash: str) -> bool:
    hashes = session.scalars(select(HarvestFrameRecord.dhash).where(
        HarvestFrameRecord.camera_id == camera_id,
        HarvestFrameRecord.captured_at >= captured - NEAR_DUPLICATE_WINDOW,
        HarvestFrameRecord.captured_at <= captured + NEAR_DUPLICATE_WINDOW,
    ))
    return any(hamming(known, dhash) <= NEAR_DUPLICATE_BITS for known in hashes)


def accepted_today(session: Session, camera_id: str, day_start: dt.datetime) -> int:
    return session.scalar(select(func.count(HarvestFrameRecord.id)).where(
        HarvestFrameRecord.camera_id == camera_id, HarvestFrameRecord.received_at >= day_start)) or 0


def stored_bytes(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.sum(HarvestFrameRecord.bytes), 0)).where(
        HarvestFrameRecord.evicted_at.is_(None))) or 0


def make_room(session: Session, max_bytes: int, incoming: int, now: dt.datetime) -> list[str]:
    """Mark frames evicted (:data:`EVICTION_ORDER`, oldest first) until ``incoming`` more bytes fit;
    returns their file paths, to delete once the transaction has committed."""
    used = stored_bytes(session)
    paths: list[str] = []
    for status in EVICTION_ORDER:
        while used + incoming > max_bytes:
            oldest = session.scalars(select(HarvestFrameRecord).where(
                HarvestFrameRecord.status == status, HarvestFrameRecord.evicted_at.is_(None),
            ).order_by(HarvestFrameRecord.captured_at, HarvestFrameRecord.id).limit(64)).all()
            if not oldest:
                break
            for row in oldest:
                row.evicted_at = now
                used -= row.bytes
                paths.append(row.path)
                if used + incoming <= max_bytes:
                    break
            session.flush()
    return paths


@dataclass
class _Intake:
    """One batch being stored: its row, the files written so far and those to delete after commit."""

    record: HarvestBatchRecord
    written: list[str]
    evicted: list[str]


def _store_frame(session: Session, store: HarvestStore, intake: _Intake, frame: HarvestFrame,
                 image: CheckedFrame, now: dt.datetime) -> None:
    captured = dt.datetime.fromtimestamp(frame.captured_at, UTC)
    intake.evicted += make_room(session, store.max_bytes, len(image.jpeg), now)
    relative = store.path_for(image, captured)
    store.write(relative, image.jpeg)
    intake.written.append(relative)
    reasons = list(dict.fromkeys(frame.reasons))
    session.add(HarvestFrameRecord(
        batch_id=intake.record.id, camera_id=frame.camera_id, captured_at=captured, received_at=now,
        model_name=frame.model_name, model_version=frame.model_version, reasons=reasons, reason_tags=_tags(reasons),
        width=image.width, height=image.height, boxes=[b.to_wire() for b in frame.boxes], detail=dict(frame.detail),
        sha256=image.sha256, dhash=image.dhash, bytes=len(image.jpeg), status=FrameStatus.NEW.value, path=relative,
    ))
    session.flush()  # the next frame of the batch is checked against this one
    intake.record.accepted += 1


def _commit(session: Session, store: HarvestStore, intake: _Intake) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        store.remove(intake.written)
        raise
    store.remove(intake.evicted)


def accept_batch(session: Session, store: HarvestStore, settings: Settings, batch: HarvestBatch,
                 images: list[CheckedFrame], now: dt.datetime, *, capped: bool = True) -> HarvestBatchRecord:
    """Store the frames of ``batch`` (``images``: their bytes, already through the decode check),
    counting duplicates and frames over their camera's daily cap instead of storing them."""
    record = HarvestBatchRecord(worker=batch.worker, received_at=now, frames=len(batch.frames),
                                accepted=0, duplicates=0, over_budget=0)
    session.add(record)
    session.flush()
    intake = _Intake(record, [], [])
    day_start = site_day_start(now, settings)
    try:
        for frame, image in zip(batch.frames, images, strict=True):
            captured = dt.datetime.fromtimestamp(frame.captured_at, UTC)
            if _exact_duplicate(session, image.sha256) or _near_duplicate(session, frame.camera_id, captured,
                                                                          image.dhash):
                record.duplicates += 1
            elif len(image.jpeg) > store.max_bytes or (
                    capped and accepted_today(session, frame.camera_id, day_start) >= settings.harvest_camera_daily_max):
                record.over_budget += 1
            else:
                _store_frame(session, store, intake, frame, image, now)
    except BaseException:
        session.rollback()
        store.remove(intake.written)
        raise
    _commit(session, store, intake)
    return record


def _normalised_boxes(order: WorkOrder, width: int, height: int) -> list[dict]:
    """The order's pixel boxes (on its key frame) as the harvest contract's 0..1 corners."""
    boxes = []
    for box in order.boxes or []:
        x1, y1, x2, y2 = (float(v) for v in box["xyxy"])
        corners = (max(0.0, min(1.0, x1 / width)), max(0.0, min(1.0, y1 / height)),
                   max(0.0, min(1.0, x2 / width)), max(0.0, min(1.0, y2 / height)))
        if corners[0] < corners[2] and corners[1] < corners[3]:
            boxes.append({"label": box["label"], "confidence": float(box["confidence"]), "x1": corners[0],
                          "y1": corners[1], "x2": corners[2], "y2": corners[3], "track_id": box.get("track_id")})
    return boxes


def _false_positive_frame(order: WorkOrder, image: CheckedFrame) -> HarvestFrame:
    from api.contract.harvest import HarvestBox

    return HarvestFrame(
        camera_id=order.camera_id, captured_at=order.detected_at.timestamp(), model_name=order.model_name,
        model_version=order.model_version, reasons=(HarvestReason.FALSE_POSITIVE.value,), jpeg=image.jpeg,
        width=image.width, height=image.height,
        boxes=tuple(HarvestBox(**b) for b in _normalised_boxes(order, image.width, image.height)),
        detail={"work_order_id": order.id, "order_no": order.order_no, "verdict_reason": order.verdict_reason},
    )


@dataclass(frozen=True)
class FalsePositiveHarvest:
    """Called after a false-positive verdict is committed: the order's unannotated key frame
    (evidence kind ``frame``) and its boxes become a harvest frame with reason false_positive.
    Never raises: a verdict stands even when its frame is missing or unreadable (logged)."""

    store: HarvestStore
    evidence: EvidenceStore
    settings: Settings

    def __call__(self, session: Session, order: WorkOrder, now: dt.datetime) -> int | None:
        try:
            return self._harvest(session, order, now)
        except Exception:
            session.rollback()
            log.exception("false-positive verdict on %s: its frame was not harvested", order.order_no)
            return None

    def _harvest(self, session: Session, order: WorkOrder, now: dt.datetime) -> int | None:
        item = next((e for e in order.evidence if e.kind == "frame"), None)
        path = self.evidence.resolve(item.path) if item is not None else None
        if path is None:
            log.warning("false-positive verdict on %s: no unannotated key frame (evidence kind 'frame') to harvest",
                        order.order_no)
            return None
        try:
            image = check_frame(path.read_bytes(), self.settings.max_image_pixels)
        except FrameRefused as exc:
            log.warning("false-positive verdict on %s: its key frame was not harvested (%s)", order.order_no, exc)
            return None
        known = _exact_duplicate(session, image.sha256)
        if known is not None:  # the worker harvested this very frame already: it gains the reason
            if HarvestReason.FALSE_POSITIVE.value not in known.reasons:
                known.reasons = [*known.reasons, HarvestReason.FALSE_POSITIVE.value]
                known.reason_tags = _tags(known.reasons)
                session.commit()
            return known.id
        batch = HarvestBatch(worker=FALSE_POSITIVE_WORKER, frames=(_false_positive_frame(order, image),))
        # No daily cap: an operator's verdict is not a flood, and these frames are the most telling.
        record = accept_batch(session, self.store, self.settings, batch, [image], now, capped=False)
        return session.scalar(select(HarvestFrameRecord.id).where(HarvestFrameRecord.batch_id == record.id))


def list_frames(session: Session, *, status: str | None, camera_id: str | None, batch_id: int | None,
                reason: str | None, limit: int, after_id: int) -> tuple[list[HarvestFrameRecord], int | None]:
    """Stored (not evicted) frames in id order after ``after_id``; the id to continue after, if more."""
    query = select(HarvestFrameRecord).where(HarvestFrameRecord.evicted_at.is_(None), HarvestFrameRecord.id > after_id)
    if status is not None:
        query = query.where(HarvestFrameRecord.status == status)
    if camera_id is not None:
        query = query.where(HarvestFrameRecord.camera_id == camera_id)
    if batch_id is not None:
        query = query.where(HarvestFrameRecord.batch_id == batch_id)
    if reason is not None:
        query = query.where(HarvestFrameRecord.reason_tags.like(f"%,{reason},%"))
    rows = list(session.scalars(query.order_by(HarvestFrameRecord.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def get_frame(session: Session, frame_id: int) -> HarvestFrameRecord | None:
    row = session.get(HarvestFrameRecord, frame_id)
    return row if row is not None and row.evicted_at is None else None


def mark_status(session: Session, ids: list[int], status: str, note: str | None) -> int:
    """Set the status (and note) of the stored frames among ``ids``; how many were set."""
    result = session.execute(update(HarvestFrameRecord).where(
        HarvestFrameRecord.id.in_(sorted(set(ids))), HarvestFrameRecord.evicted_at.is_(None),
    ).values(status=status, note=note).execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def summary(session: Session, settings: Settings, now: dt.datetime) -> dict:
    """The counts of ``GET /harvest/summary``."""
    stored = HarvestFrameRecord.evicted_at.is_(None)
    by_status = {s.value: 0 for s in FrameStatus}
    for status, count in session.execute(select(HarvestFrameRecord.status, func.count()).where(stored)
                                         .group_by(HarvestFrameRecord.status)):
        by_status[status] = count
    by_reason = {r.value: 0 for r in HarvestReason}
    for tags, count in session.execute(select(HarvestFrameRecord.reason_tags, func.count()).where(stored)
                                       .group_by(HarvestFrameRecord.reason_tags)):
        for reason in tags.strip(",").split(","):
            by_reason[reason] = by_reason.get(reason, 0) + count
    day_start = site_day_start(now, settings)
    today = func.sum(case((HarvestFrameRecord.received_at >= day_start, 1), else_=0))
    total = func.sum(case((stored, 1), else_=0))
    by_camera = {camera: {"today": int(t or 0), "total": int(n or 0)} for camera, t, n in session.execute(
        select(HarvestFrameRecord.camera_id, today, total).group_by(HarvestFrameRecord.camera_id)
        .order_by(HarvestFrameRecord.camera_id))}
    evicted = session.scalar(select(func.count(HarvestFrameRecord.id)).where(HarvestFrameRecord.evicted_at.is_not(None)))
    return {"frames": sum(by_status.values()), "bytes": stored_bytes(session), "max_bytes": settings.harvest_max_bytes,
            "by_status": by_status, "by_reason": by_reason, "by_camera": by_camera, "evicted": evicted or 0,
            "duplicates": session.scalar(select(func.coalesce(func.sum(HarvestBatchRecord.duplicates), 0))) or 0}
