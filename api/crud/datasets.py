"""Dataset versions (issue 18): what each import of annotations made. A name and version
is recorded once; recording it again with the same fingerprint is a replay, with another
fingerprint a conflict (two different datasets must not share a version)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models_harvest import DatasetVersionRecord
from api.schemas_harvest import DatasetVersionCreate


class DatasetConflict(Exception):
    """The name and version exist with another fingerprint (answered 409)."""

    def __init__(self, existing: DatasetVersionRecord) -> None:
        super().__init__(f"dataset {existing.name} {existing.version} exists with fingerprint "
                         f"{existing.fingerprint[:12]}..., not this one: give the new data a new version")
        self.existing = existing


def _find(session: Session, name: str, version: str) -> DatasetVersionRecord | None:
    return session.scalars(select(DatasetVersionRecord).where(
        DatasetVersionRecord.name == name, DatasetVersionRecord.version == version)).one_or_none()


def _same_or_conflict(existing: DatasetVersionRecord, fingerprint: str) -> DatasetVersionRecord:
    if existing.fingerprint != fingerprint:
        raise DatasetConflict(existing)
    return existing


def create(session: Session, body: DatasetVersionCreate, actor: str,
           now: dt.datetime) -> tuple[DatasetVersionRecord, bool]:
    """The stored version and whether this call made it (False: a replay of the same fingerprint)."""
    existing = _find(session, body.name, body.version)
    if existing is not None:
        return _same_or_conflict(existing, body.fingerprint), False
    record = DatasetVersionRecord(
        name=body.name, version=body.version, fingerprint=body.fingerprint, source=body.source.value,
        images=body.images, instances=body.instances, classes=dict(body.classes), cameras=dict(body.cameras),
        splits=body.splits.model_dump(), harvest_frame_ids=list(body.harvest_frame_ids), path=body.path,
        created_at=now, created_by=actor[:64],
    )
    session.add(record)
    try:
        session.commit()
    except IntegrityError:
        # Another request recorded the same name and version first (the UNIQUE constraint).
        session.rollback()
        raced = _find(session, body.name, body.version)
        if raced is None:
            raise
        return _same_or_conflict(raced, body.fingerprint), False
    return record, True


def list_versions(session: Session, limit: int) -> list[DatasetVersionRecord]:
    return list(session.scalars(select(DatasetVersionRecord)
                                .order_by(DatasetVersionRecord.created_at.desc(), DatasetVersionRecord.id.desc())
                                .limit(limit)))
