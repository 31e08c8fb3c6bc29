"""ORM tables of issue 18's labelling loop: harvested frames (and the batches they came in)
and dataset versions. In their own module because api/db/models.py is at its size limit;
they share its ``Base``, so its metadata (and the migrations' env.py, which imports this
module) sees them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, utcnow


class HarvestBatchRecord(Base):
    """One ``POST /harvest/frames`` (or one false-positive verdict): who sent it and how it went."""

    __tablename__ = "harvest_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    frames: Mapped[int] = mapped_column(Integer)  # frames in the request
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    over_budget: Mapped[int] = mapped_column(Integer, default=0)


class HarvestFrameRecord(Base):
    """A stored frame worth labelling. An evicted frame keeps its row (``evicted_at`` set, file
    gone) so its hashes still catch a re-send and the daily budget still counts it."""

    __tablename__ = "harvest_frames"
    __table_args__ = (
        Index("ix_harvest_frames_camera_id_captured_at", "camera_id", "captured_at"),
        Index("ix_harvest_frames_status_evicted_at", "status", "evicted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("harvest_batches.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    # The reasons again as ",a,b," text: a LIKE filter reads the same on SQLite and PostgreSQL.
    reason_tags: Mapped[str] = mapped_column(String(128))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    boxes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    dhash: Mapped[str] = mapped_column(String(16))  # 64-bit difference hash, hex
    bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | exported | labelled
    note: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(512))  # relative to settings.harvest_dir
    evicted_at: Mapped[dt.datetime | None]


class DatasetVersionRecord(Base):
    """A labelled dataset made from an import (Label Studio, COCO, YOLO, CVAT)."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_dataset_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    images: Mapped[int] = mapped_column(Integer)
    instances: Mapped[int] = mapped_column(Integer)
    classes: Mapped[dict[str, int]] = mapped_column(JSON)
    cameras: Mapped[dict[str, int]] = mapped_column(JSON)
    splits: Mapped[dict[str, int]] = mapped_column(JSON)
    harvest_frame_ids: Mapped[list[int]] = mapped_column(JSON)
    path: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
