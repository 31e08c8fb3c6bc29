"""ORM tables. Kept migration-friendly: named constraints, plain string
columns for enums (new statuses need no ALTER TYPE), JSON for lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out on every backend.

    SQLite has no time zone type and hands back naive values; PostgreSQL's
    timestamptz comes back in the session time zone. Both become UTC here."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware values only")
        value = value.astimezone(dt.timezone.utc)
        # SQLite would store the offset in the text otherwise and compare strings wrongly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    # Deterministic constraint names so Alembic autogenerate can diff and drop them later.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {dt.datetime: UTCDateTime}


class WorkOrder(Base):
    __tablename__ = "work_orders"
    # AUTOINCREMENT: order numbers derive from the id and must never be reused after a delete.
    __table_args__ = (
        Index("ix_work_orders_detected_at_id", "detected_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(48), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="video")
    status: Mapped[str] = mapped_column(String(24), index=True)
    category_code: Mapped[str] = mapped_column(String(32), index=True)
    category_name: Mapped[str] = mapped_column(String(128))
    priority: Mapped[str] = mapped_column(String(16), index=True)
    deadline_at: Mapped[dt.datetime]
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    zone_id: Mapped[str] = mapped_column(String(64), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    labels: Mapped[list[str]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    boxes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    grid_cell: Mapped[str | None] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(256))
    detected_at: Mapped[dt.datetime]
    event_started_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Issue 4: where (filled from the grid map at creation), who, and when.
    admin_area: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    department: Mapped[str | None] = mapped_column(String(128))
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    filed_at: Mapped[dt.datetime | None]
    dispatched_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    overdue_at: Mapped[dt.datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    repeat_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_seen_at: Mapped[dt.datetime | None]  # latest sighting, merged repeats included
    linked_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="SET NULL"))
    verdict: Mapped[str | None] = mapped_column(String(16))
    verdict_reason: Mapped[str | None] = mapped_column(Text)
    verified_by_camera_at: Mapped[dt.datetime | None]

    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="work_order",
        cascade="all, delete-orphan",
        order_by="Evidence.id",
        lazy="selectin",
    )


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Relative to settings.evidence_dir, so the directory can move without a data migration.
    path: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="evidence")


class Camera(Base):
    """Latest known status of one camera (one row per camera)."""

    __tablename__ = "cameras"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Null until the camera's worker first reports (a camera can be registered before that).
    state: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    retry_in_s: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_online_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]  # newest frame the worker reported (issue 13)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Registry (issue 4): set by an admin; null for cameras only known from status reports.
    name: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    grid_cell: Mapped[str | None] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    registered_at: Mapped[dt.datetime | None]
    # Issue 17: the worker that last registered the camera from its config, and when.
    config_worker: Mapped[str | None] = mapped_column(String(64))
    config_registered_at: Mapped[dt.datetime | None]


class CameraStatusRecord(Base):
    """One status event as received; pruned to the newest few per camera."""

    __tablename__ = "camera_status_events"
    __table_args__ = (Index("ix_camera_status_events_camera_id_at", "camera_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.camera_id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    retry_in_s: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TimelineEntry(Base):
    """One thing that happened to an order. Append-only: rows are never updated
    or deleted (guarded below), so the timeline is an audit trail."""

    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(TimelineEntry, "before_update")
@event.listens_for(TimelineEntry, "before_delete")
def _timeline_is_append_only(_mapper: Any, _conn: Any, _target: Any) -> None:
    raise RuntimeError("timeline entries are append-only")


class OrderEvent(Base):
    """Idempotency record for worker messages that did not create an order:
    a repeat merged into an open order, an "event ended" message or an evidence follow-up."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # merged | event_end | follow_up (an evidence follow-up)
    event_id: Mapped[str] = mapped_column(String(128), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Team(Base):
    __tablename__ = "teams"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    department: Mapped[str] = mapped_column(String(128))
    contact: Mapped[str | None] = mapped_column(String(128))


class GridCell(Base):
    __tablename__ = "grid_cells"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    admin_area: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(64))
    team_code: Mapped[str | None] = mapped_column(ForeignKey("teams.code", ondelete="SET NULL"))
    manager: Mapped[str | None] = mapped_column(String(64))  # grid manager: the default assignee
    # Issue 17: the outline on the district map, a GeoJSON Polygon in WGS-84 ([lon, lat]); null: not drawn.
    polygon: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Zone(Base):
    """A camera zone (normalised polygon) and the grid cell its problems belong to."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("camera_id", "zone_id", name="uq_zones_camera_zone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.camera_id", ondelete="CASCADE"))
    zone_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(128))
    polygon: Mapped[list[list[float]]] = mapped_column(JSON)
    grid_cell: Mapped[str | None] = mapped_column(ForeignKey("grid_cells.code", ondelete="SET NULL"))
    # Issue 17: 'config' (registered by a worker, follows its file) or 'dashboard' (made or edited in the API,
    # which then wins); the config's zone kind and the rules watching the zone (null: never registered).
    origin: Mapped[str] = mapped_column(String(16), default="dashboard", server_default="dashboard")
    kind: Mapped[str | None] = mapped_column(String(32))
    rules: Mapped[list[str] | None] = mapped_column(JSON)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(512))
    events: Mapped[list[str]] = mapped_column(JSON)  # timeline actions; empty: all
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """Transactional outbox: written with the timeline entry, sent by the job."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    timeline_entry_id: Mapped[int] = mapped_column(ForeignKey("timeline_entries.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]
