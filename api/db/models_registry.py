"""The model registry's tables (issue 18), beside api.db.models (which would pass its
400 lines with them); same Base, so they join its metadata and its migrations.

A model version's files live under settings.model_dir (paths relative to its version
directory); assignments are append-mostly (a promotion or rollback adds a row, the one
it replaces is only marked superseded), so the history of what ran where stays readable."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.models import Base, utcnow


class ModelVersion(Base):
    """One uploaded model version: its parsed manifest and (optionally) its comparison."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(128))
    manifest_path: Mapped[str] = mapped_column(String(512))  # among the files
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))  # over all files: a re-upload of the same content is a no-op
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    comparison_at: Mapped[dt.datetime | None]

    files: Mapped[list[ModelVersionFile]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelVersionFile.path", lazy="selectin")


class ModelVersionFile(Base):
    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("model_id", "path", name="uq_model_files_model_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)

    model: Mapped[ModelVersion] = relationship(back_populates="files")


class CameraGroup(Base):
    """A named set of cameras a model can be promoted to first (a canary)."""

    __tablename__ = "camera_groups"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(256))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CameraGroupMember(Base):
    # No foreign key to cameras: a camera may join a group before its worker first reports.
    __tablename__ = "camera_group_members"
    __table_args__ = (UniqueConstraint("group_name", "camera_id", name="uq_camera_group_members_group_camera"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_name: Mapped[str] = mapped_column(ForeignKey("camera_groups.name", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(64), index=True)


class ModelAssignmentRecord(Base):
    """Which model a scope ('all', 'group:<name>', 'camera:<id>') runs, from when, and why.

    ``previous_id`` is the assignment that was in force for the scope when this one came, so a
    rollback walks back one step at a time; AUTOINCREMENT because workers compare ids and an
    id must never come back."""

    __tablename__ = "model_assignments"
    __table_args__ = (
        Index("ix_model_assignments_scope_superseded", "scope", "superseded_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    model_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    previous_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[dt.datetime | None]


class ModelLoadRecord(Base):
    """The latest load report of one camera for one assignment."""

    __tablename__ = "model_load_reports"
    __table_args__ = (UniqueConstraint("camera_id", "assignment_id", name="uq_model_load_reports_camera_assignment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    assignment_id: Mapped[int] = mapped_column(Integer, index=True)
    worker: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # loaded | failed
    at: Mapped[dt.datetime]
    running_version: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelAuditEntry(Base):
    """One change to the registry (upload, comparison, promote, rollback, group, load). Append-only."""

    __tablename__ = "model_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(128))
    scope: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(ModelAuditEntry, "before_update")
@event.listens_for(ModelAuditEntry, "before_delete")
def _model_audit_is_append_only(_mapper: Any, _conn: Any, _target: Any) -> None:
    raise RuntimeError("model audit entries are append-only")
