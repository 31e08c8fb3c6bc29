"""Wire schemas of the work-order API. Create (what workers send) and Public
(what clients read) are separate on purpose: clients never see idempotency
keys or raw evidence bytes, workers never set server-owned fields."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Priority(str, enum.Enum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class EvidenceKind(str, enum.Enum):
    SNAPSHOT = "snapshot"  # annotated key frame
    BEFORE = "before"
    AFTER = "after"
    CLIP = "clip"


CategoryCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z_.-]{2,32}$", description="Standard matter code (e.g. 06010) or a local code")]


class BoxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64, description="Canonical label")
    confidence: float = Field(ge=0, le=1)
    xyxy: list[float] = Field(min_length=4, max_length=4, description="Pixel box in the evidence image")
    track_id: int | None = Field(default=None, description="Tracker id, if tracked")


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: EvidenceKind
    content_type: str = Field(pattern=r"^(image/jpeg|image/png|video/mp4)$")
    data_b64: str = Field(min_length=4, max_length=30_000_000, description="Base64 of the file bytes")


class WorkOrderCreate(BaseModel):
    """What a worker POSTs for one rule event. The Idempotency-Key header (or
    ``idempotency_key``) makes retries safe: the same key never creates a
    second order."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str | None = Field(default=None, min_length=8, max_length=128, description="Alternative to the Idempotency-Key header")
    camera_id: str = Field(min_length=1, max_length=64)
    zone_id: str = Field(min_length=1, max_length=64)
    rule_id: str = Field(min_length=1, max_length=64)
    event_id: str = Field(min_length=1, max_length=128, description="Worker-side id of the rule event")
    category_code: CategoryCode
    category_name: str = Field(min_length=1, max_length=128)
    priority: Priority = Priority.NORMAL
    labels: list[str] = Field(min_length=1, max_length=32, description="Canonical labels that triggered the rule")
    confidence: float = Field(ge=0, le=1, description="Highest detection confidence in the event")
    detected_at: dt.datetime = Field(description="When the rule fired (timezone-aware)")
    event_started_at: dt.datetime | None = Field(default=None, description="When the first object entered")
    model_name: str = Field(min_length=1, max_length=128)
    model_version: str = Field(min_length=1, max_length=64)
    boxes: list[BoxIn] = Field(default_factory=list, max_length=500)
    grid_cell: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=256)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=8)
