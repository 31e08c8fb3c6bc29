"""Camera status: the latest event per camera plus a short history.

Events can arrive out of order (retries, several worker threads), so
"latest" means the largest ``at``, not the last one received. An event that
repeats the current state (same state, reason and ``at``: a worker's heartbeat,
or a retry) updates ``last_seen_at``, the attempt and the details but does not
enter the history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import Camera, CameraStatusRecord, Zone, utcnow
from api.redaction import redact_obj, redact_text
from api.schemas_cameras import (
    CameraDetail,
    CameraPublic,
    CameraState,
    CameraStatusEntry,
    CameraStatusIn,
)

# States whose reason explains why the camera is not delivering frames.
_ERROR_STATES = {CameraState.ERROR, CameraState.OFFLINE, CameraState.RECONNECTING}


def _lock_camera(session: Session, camera_id: str) -> Camera | None:
    # FOR UPDATE serialises concurrent events for one camera on PostgreSQL; SQLite
    # ignores it, its writer sessions already hold the database write lock.
    return session.get(Camera, camera_id, with_for_update=True, populate_existing=True)


def record_status(session: Session, camera_id: str, event: CameraStatusIn, history_size: int) -> Camera:
    at = dt.datetime.fromtimestamp(event.at, tz=dt.timezone.utc)
    reason = redact_text(event.reason) if event.reason is not None else None
    details = redact_obj(event.details)
    now = utcnow()

    camera = _lock_camera(session, camera_id)
    # The current state re-sent (heartbeat, retry): no history entry. Judged before this event lands.
    repeat = camera is not None and _repeats_current(camera, event, at, reason)
    if camera is None:
        try:
            # A savepoint, so losing a race for the first event of a camera keeps the transaction.
            with session.begin_nested():
                camera = Camera(camera_id=camera_id, state=event.state.value, at=at, reason=reason,
                                attempt=event.attempt, retry_in_s=event.retry_in_s, details=details,
                                last_online_at=None, last_error=None, last_error_at=None, updated_at=now)
                session.add(camera)
        except IntegrityError:
            camera = _lock_camera(session, camera_id)
            if camera is None:
                raise
            repeat = _repeats_current(camera, event, at, reason)
    # A camera nobody registered shows what its worker is configured with (and follows config edits);
    # a registered camera's grid cell and address are the registry's, never overwritten.
    if camera.registered_at is None:
        if event.grid_cell is not None:
            camera.grid_cell = event.grid_cell
        if event.address is not None:
            camera.address = event.address
    if event.last_frame_at is not None:
        seen = dt.datetime.fromtimestamp(event.last_frame_at, tz=dt.timezone.utc)
        if camera.last_seen_at is None or seen > camera.last_seen_at:
            camera.last_seen_at = seen
    if camera.at is None or at >= camera.at:  # None: registered, never reported before
        camera.state = event.state.value
        camera.at = at
        camera.reason = reason
        camera.attempt = event.attempt
        camera.retry_in_s = event.retry_in_s
        camera.details = details
    if event.state is CameraState.ONLINE and (camera.last_online_at is None or at > camera.last_online_at):
        camera.last_online_at = at
    if (
        event.state in _ERROR_STATES
        and reason is not None
        and (camera.last_error_at is None or at >= camera.last_error_at)
    ):
        camera.last_error = reason
        camera.last_error_at = at
    camera.updated_at = now

    if not repeat:
        session.add(
            CameraStatusRecord(camera_id=camera_id, state=event.state.value, at=at, reason=reason,
                               attempt=event.attempt, retry_in_s=event.retry_in_s, details=details, received_at=now)
        )
        session.flush()
        _prune_history(session, camera_id, history_size)
    session.commit()
    return camera


def _repeats_current(camera: Camera, event: CameraStatusIn, at: dt.datetime, reason: str | None) -> bool:
    return (camera.at is not None and _utc(camera.at) == at and camera.state == event.state.value
            and camera.reason == reason)


def _prune_history(session: Session, camera_id: str, keep: int) -> None:
    keep_ids = select(CameraStatusRecord.id).where(CameraStatusRecord.camera_id == camera_id)
    keep_ids = keep_ids.order_by(CameraStatusRecord.at.desc(), CameraStatusRecord.id.desc()).limit(keep)
    kept = list(session.scalars(keep_ids))
    session.execute(
        delete(CameraStatusRecord)
        .where(CameraStatusRecord.camera_id == camera_id)
        .where(CameraStatusRecord.id.not_in(kept))
        .execution_options(synchronize_session=False)
    )


def _in_grids(grids: frozenset[str]):
    """A camera is in an operator's grid cells when its own (default) cell or one of its zones' cells
    is: the cells its orders are routed to. A camera with neither is no operator's."""
    zone_in = exists().where(Zone.camera_id == Camera.camera_id, Zone.grid_cell.in_(grids))
    return or_(Camera.grid_cell.in_(grids), zone_in)


def get_camera(session: Session, camera_id: str, grids: frozenset[str] | None = None) -> Camera | None:
    """The camera, or None when it does not exist or lies outside ``grids`` (None: every grid)."""
    if grids is None:
        return session.get(Camera, camera_id)
    return session.scalars(select(Camera).where(Camera.camera_id == camera_id, _in_grids(grids))).first()


def list_cameras(session: Session, grids: frozenset[str] | None = None) -> list[Camera]:
    stmt = select(Camera).order_by(Camera.camera_id)
    if grids is not None:
        stmt = stmt.where(_in_grids(grids))
    return list(session.scalars(stmt))


def history(session: Session, camera_id: str, limit: int) -> list[CameraStatusRecord]:
    stmt = (
        select(CameraStatusRecord)
        .where(CameraStatusRecord.camera_id == camera_id)
        .order_by(CameraStatusRecord.at.desc(), CameraStatusRecord.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.timezone.utc)


def to_public(camera: Camera) -> CameraPublic:
    return CameraPublic(
        camera_id=camera.camera_id,
        state=CameraState(camera.state) if camera.state is not None else None,
        at=_utc(camera.at),
        reason=camera.reason,
        attempt=camera.attempt,
        retry_in_s=camera.retry_in_s,
        details=dict(camera.details or {}),
        last_online_at=_utc(camera.last_online_at),
        last_error=camera.last_error,
        last_error_at=_utc(camera.last_error_at),
        last_seen_at=_utc(camera.last_seen_at),
        updated_at=_utc(camera.updated_at),
        name=camera.name,
        address=camera.address,
        grid_cell=camera.grid_cell,
        latitude=camera.latitude,
        longitude=camera.longitude,
        registered=camera.registered_at is not None,
        config_worker=camera.config_worker,
        config_registered_at=_utc(camera.config_registered_at),
    )


def to_detail(camera: Camera, records: list[CameraStatusRecord]) -> CameraDetail:
    entries = [
        CameraStatusEntry(state=CameraState(r.state), at=_utc(r.at), reason=r.reason, attempt=r.attempt,
                          retry_in_s=r.retry_in_s, details=dict(r.details or {}))
        for r in records
    ]
    return CameraDetail(**to_public(camera).model_dump(), history=entries)
