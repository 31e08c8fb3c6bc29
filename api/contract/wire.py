"""What crosses the wire between a camera worker and the operations-centre API.

Defined once, imported by both sides: the worker builds these shapes and the API
reads them. Nothing else of :mod:`api` is imported by :mod:`streams`.

Five shapes, each with a ``version`` the reader checks (:func:`check_version`):
:class:`WorkOrderReport` (a rule event filed as a work order), :class:`EvidenceFollowUp`
(files of that order made after it was sent), :class:`EventEnd` (the event is over),
:class:`CameraStatusEvent` (a camera's connection state) and :class:`CameraRegistration`
(what a worker's config says a camera is and watches).
Stdlib only, so the worker pays nothing to import it.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


# -- versions ------------------------------------------------------------------------------
# Each shape carries ``version``; a reader accepts every version up to its own and refuses a
# newer one (a worker upgraded before its API) with one line instead of guessing. A body
# without ``version`` is version 1: what workers sent, and outboxes spooled, before it existed.
WORK_ORDER_VERSION = 1
EVENT_END_VERSION = 1
EVIDENCE_FOLLOW_UP_VERSION = 1
CAMERA_STATUS_VERSION = 1
CAMERA_REGISTRATION_VERSION = 1


class ContractError(ValueError):
    """A shape does not fit the contract; the message is one line, fit for a 422 or a log."""


def check_version(shape: str, version: object, newest: int) -> int:
    """``version`` if this side reads it; :class:`ContractError` otherwise."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ContractError(f"{shape} version must be a whole number from 1")
    if version > newest:
        raise ContractError(f"{shape} version {version} is newer than this reader understands (it reads up to "
                            f"{newest}): upgrade the API before the workers")
    return version


def version_of(payload: Mapping[str, Any], shape: str, newest: int) -> int:
    """The version a received body declares (1 when it declares none), checked."""
    return check_version(shape, payload.get("version", 1), newest)


# -- vocabulary ----------------------------------------------------------------------------
class Priority(str, enum.Enum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class EvidenceKind(str, enum.Enum):
    SNAPSHOT = "snapshot"  # annotated key frame
    FRAME = "frame"  # the same key frame unannotated, in the boxes' pixels (verdicts -> training data)
    BEFORE = "before"
    AFTER = "after"
    CLIP = "clip"


JPEG = "image/jpeg"
PNG = "image/png"
MP4 = "video/mp4"
CONTENT_TYPES = (JPEG, PNG, MP4)
MAX_EVIDENCE_ITEMS = 8  # per work order
MAX_END_EVIDENCE_ITEMS = 2  # per event end
MAX_FOLLOW_UP_EVIDENCE_ITEMS = 2  # per evidence follow-up


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ContractError(message)


def _text(name: str, value: object, limit: int) -> None:
    _require(isinstance(value, str) and 0 < len(value) <= limit, f"{name} must be text of 1-{limit} characters")


def iso_utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence file: ``kind`` is an :class:`EvidenceKind` value, the bytes travel as base64."""

    kind: str
    content_type: str
    data: bytes

    def __post_init__(self) -> None:
        _require(self.kind in {k.value for k in EvidenceKind}, f"evidence kind {self.kind!r} is not one of "
                 + ", ".join(k.value for k in EvidenceKind))
        _require(self.content_type in CONTENT_TYPES, f"evidence content type {self.content_type!r} is not one of "
                 + ", ".join(CONTENT_TYPES))
        _require(isinstance(self.data, (bytes, bytearray)) and len(self.data) > 0, "evidence data must be bytes")

    def to_wire(self) -> dict:
        return {"kind": self.kind, "content_type": self.content_type,
                "data_b64": base64.b64encode(self.data).decode("ascii")}


@dataclass(frozen=True)
class WorkOrderReport:
    """One rule event filed as a work order: what a worker sends (HTTP body or bus payload).

    Checked when built, so a worker cannot spool what the API would refuse; the API then
    reads the same JSON with its schema (``api.schemas.WorkOrderCreate``)."""

    camera_id: str
    zone_id: str
    rule_id: str
    event_id: str
    category_code: str
    category_name: str
    priority: str
    labels: tuple[str, ...]
    confidence: float
    detected_at: float  # unix seconds: when the rule fired
    event_started_at: float | None  # unix seconds: when the first object entered
    model_name: str
    model_version: str
    boxes: tuple[dict, ...] = ()
    grid_cell: str | None = None
    address: str | None = None
    evidence: tuple[EvidenceItem, ...] = ()
    version: int = WORK_ORDER_VERSION

    def __post_init__(self) -> None:
        check_version("work order", self.version, WORK_ORDER_VERSION)
        for name, limit in (("camera_id", 64), ("zone_id", 64), ("rule_id", 64), ("event_id", 128),
                            ("category_name", 128), ("model_name", 128), ("model_version", 64)):
            _text(name, getattr(self, name), limit)
        _require(isinstance(self.category_code, str) and _CATEGORY_CODE.match(self.category_code) is not None,
                 "category_code must be 2-32 letters, digits, '_', '.' or '-'")
        _require(self.priority in {p.value for p in Priority},
                 f"priority {self.priority!r} is not one of " + ", ".join(p.value for p in Priority))
        _require(0 < len(self.labels) <= 32 and all(isinstance(x, str) and 0 < len(x) <= 64 for x in self.labels),
                 "labels must be 1-32 texts of 1-64 characters")
        _require(0.0 <= self.confidence <= 1.0, "confidence must lie between 0 and 1")
        _require(len(self.boxes) <= 500, "at most 500 boxes")
        _require(len(self.evidence) <= MAX_EVIDENCE_ITEMS, f"at most {MAX_EVIDENCE_ITEMS} evidence files")
        _require(self.grid_cell is None or len(self.grid_cell) <= 64, "grid_cell must be at most 64 characters")
        _require(self.address is None or len(self.address) <= 256, "address must be at most 256 characters")

    def to_wire(self) -> dict:
        return {
            "version": self.version,
            "camera_id": self.camera_id,
            "zone_id": self.zone_id,
            "rule_id": self.rule_id,
            "event_id": self.event_id,
            "category_code": self.category_code,
            "category_name": self.category_name,
            "priority": self.priority,
            "labels": list(self.labels),
            "confidence": self.confidence,
            "detected_at": iso_utc(self.detected_at),
            "event_started_at": None if self.event_started_at is None else iso_utc(self.event_started_at),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "boxes": [dict(b) for b in self.boxes],
            "grid_cell": self.grid_cell,
            "address": self.address,
            "evidence": [item.to_wire() for item in self.evidence],
        }


@dataclass(frozen=True)
class EventEnd:
    """A rule event ended (the zone is empty again): the camera re-check's proof."""

    event_id: str
    camera_id: str
    zone_id: str
    rule_id: str
    ended_at: float  # unix seconds
    evidence: tuple[EvidenceItem, ...] = ()
    version: int = EVENT_END_VERSION

    def __post_init__(self) -> None:
        check_version("event end", self.version, EVENT_END_VERSION)
        for name, limit in (("event_id", 128), ("camera_id", 64), ("zone_id", 64), ("rule_id", 64)):
            _text(name, getattr(self, name), limit)
        _require(len(self.evidence) <= MAX_END_EVIDENCE_ITEMS, f"at most {MAX_END_EVIDENCE_ITEMS} evidence files")

    def to_wire(self) -> dict:
        return {
            "version": self.version,
            "event_id": self.event_id,
            "camera_id": self.camera_id,
            "zone_id": self.zone_id,
            "rule_id": self.rule_id,
            "ended_at": iso_utc(self.ended_at),
            "evidence": [item.to_wire() for item in self.evidence],
        }


@dataclass(frozen=True)
class EvidenceFollowUp:
    """Files of an order already sent, made after it: an emergency order goes on its deciding frame
    with its key frame and before frame, and its clip (seconds of H.264 encoding on a loaded
    worker) follows in one of these, so the order is not held back by it. The worker spools it
    after the order, in the same queue, so the order is always there first."""

    event_id: str
    camera_id: str
    evidence: tuple[EvidenceItem, ...]
    version: int = EVIDENCE_FOLLOW_UP_VERSION

    def __post_init__(self) -> None:
        check_version("evidence follow-up", self.version, EVIDENCE_FOLLOW_UP_VERSION)
        for name, limit in (("event_id", 128), ("camera_id", 64)):
            _text(name, getattr(self, name), limit)
        _require(0 < len(self.evidence) <= MAX_FOLLOW_UP_EVIDENCE_ITEMS,
                 f"an evidence follow-up carries 1-{MAX_FOLLOW_UP_EVIDENCE_ITEMS} files")

    def to_wire(self) -> dict:
        return {
            "version": self.version,
            "event_id": self.event_id,
            "camera_id": self.camera_id,
            "evidence": [item.to_wire() for item in self.evidence],
        }


_CATEGORY_CODE = re.compile(r"^[0-9A-Za-z_.-]{2,32}$")


class CameraState(str, enum.Enum):
    CONNECTING = "connecting"
    ONLINE = "online"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CameraStatusEvent:
    camera_id: str
    state: CameraState
    at: float  # unix seconds
    reason: str | None = None  # already credential-redacted
    attempt: int = 0  # consecutive failed connection attempts
    retry_in_s: float | None = None
    details: dict = field(default_factory=dict)
    last_frame_at: float | None = None  # unix seconds of the newest frame (the API's last_seen_at)
    # The camera's config (grid cell, address): the API shows them for a camera nobody registered.
    grid_cell: str | None = None
    address: str | None = None
    version: int = CAMERA_STATUS_VERSION

    def to_dict(self) -> dict:
        hints = {k: v for k, v in (("grid_cell", self.grid_cell), ("address", self.address)) if v is not None}
        return {**hints,
            "version": self.version,
            "camera_id": self.camera_id,
            "state": self.state.value,
            "at": self.at,
            "reason": self.reason,
            "attempt": self.attempt,
            "retry_in_s": self.retry_in_s,
            "details": dict(self.details),
            "last_frame_at": self.last_frame_at,
        }


# -- camera registration (issue 17) ---------------------------------------------------------
ZONE_ORIGIN_CONFIG = "config"  # as a worker's config file has it: the worker's file wins, re-registered on change
ZONE_ORIGIN_DASHBOARD = "dashboard"  # created or edited in the API: the API wins, workers pull it (streams.sync.zones)
ZONE_ORIGINS = (ZONE_ORIGIN_CONFIG, ZONE_ORIGIN_DASHBOARD)


@dataclass(frozen=True)
class ZoneRegistration:
    """One zone of a worker's config: its polygon (normalised 0..1), kind and the rules watching it."""

    zone_id: str
    polygon: tuple[tuple[float, float], ...]
    kind: str = "any"
    description: str | None = None
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"zone_id": self.zone_id, "polygon": [[float(x), float(y)] for x, y in self.polygon],
                "kind": self.kind, "description": self.description, "rules": list(self.rules)}


@dataclass(frozen=True)
class CameraRegistration:
    """``PUT /api/v1/cameras/{id}/registration``: a camera as the worker's config describes it.

    Who wins (the API applies it, :mod:`api.crud.camera_registration`): the camera's grid cell,
    address and position follow the config until an admin registers or edits the camera; a zone
    follows the config while its origin is ``config`` and becomes the API's (``dashboard``) once
    edited there. Deleting a zone on the dashboard gives it back to the config at the next
    registration."""

    camera_id: str
    worker: str
    zones: tuple[ZoneRegistration, ...]
    grid_cell: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    version: int = CAMERA_REGISTRATION_VERSION

    def to_dict(self) -> dict:
        return {"version": self.version, "camera_id": self.camera_id, "worker": self.worker,
                "grid_cell": self.grid_cell, "address": self.address,
                "latitude": self.latitude, "longitude": self.longitude,
                "zones": [z.to_dict() for z in self.zones]}
