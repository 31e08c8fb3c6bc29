"""Wire schemas of the work-order API (the cameras' are in :mod:`api.schemas_cameras`). Create (what workers send) and Public
(what clients read) are separate on purpose: clients never see idempotency
keys or raw evidence bytes, workers never set server-owned fields."""

from __future__ import annotations

import datetime as dt
import enum
import re
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

# The wire's vocabulary and versions: the API's schemas read what api.contract.wire defines.
from api.contract.wire import (CAMERA_STATUS_VERSION, EVENT_END_VERSION, EVIDENCE_FOLLOW_UP_VERSION, WORK_ORDER_VERSION,
                               CameraState, ContractError, EvidenceKind, Priority, check_version)


def _reads_version(shape: str, newest: int) -> Any:
    """A body's ``version`` field: 1 when absent (old workers, old spooled outboxes), refused with one
    line when newer than this API reads (:func:`api.contract.wire.check_version`)."""

    def check(value: int) -> int:
        try:
            return check_version(shape, value, newest)
        except ContractError as exc:
            raise ValueError(str(exc)) from None

    return Annotated[int, AfterValidator(check), Field(
        default=1, json_schema_extra={"minimum": 1, "maximum": newest},
        description=f"Version of the {shape} shape this body follows (1 when absent; this API reads up to {newest})",
    )]


WorkOrderVersion = _reads_version("work order", WORK_ORDER_VERSION)
EventEndVersion = _reads_version("event end", EVENT_END_VERSION)
EvidenceFollowUpVersion = _reads_version("evidence follow-up", EVIDENCE_FOLLOW_UP_VERSION)
CameraStatusVersion = _reads_version("camera status", CAMERA_STATUS_VERSION)


_FIRST_YEAR, _LAST_YEAR = 1971, 8999
# The same range as a pattern, so the OpenAPI document says it too (a year as written, before the offset).
_YEAR_PATTERN = r"^(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3})-"


def _within_range(value: dt.datetime) -> dt.datetime:
    # Far-off years overflow when converted to UTC or when a deadline is added: refuse them
    # here (422) instead of failing deep inside the request (500). Checked on the year as
    # written: within 1971-8999 no offset can carry a time out of range.
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise ValueError(f"the year must lie between {_FIRST_YEAR} and {_LAST_YEAR}")
    return value


def _iso_text_only(value: object) -> object:
    # Pydantic would read 0.5 (or "0.5") as a Unix time; the schema says an ISO 8601 string, so only
    # that (or a datetime, from Python callers) is a time here.
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise ValueError("give an ISO 8601 date and time with an offset, e.g. 2026-11-23T10:00:00+08:00")
    return value


_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")

InputDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text_only),
    AfterValidator(_within_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _YEAR_PATTERN,
                    "description": f"ISO 8601 with an offset, years {_FIRST_YEAR}-{_LAST_YEAR}"}),
]

# What an idempotency key may be: visible ASCII, no spaces (a header value must survive proxies intact).
IdempotencyKey = Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[!-~]+$")]

# Standard base64 (RFC 4648), line breaks and other whitespace allowed between characters (MIME style).
_B64_CHAR = r"[A-Za-z0-9+/]\s*"
BASE64_PATTERN = rf"^\s*(?:(?:{_B64_CHAR}){{4}})*(?:(?:{_B64_CHAR}){{2}}=\s*=|(?:{_B64_CHAR}){{3}}=)?\s*$"

CategoryCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z_.-]{2,32}$", description="Standard matter code (e.g. 06010) or a local code")]


def _json_problem(annotation: Any, value: Any) -> str | None:
    """Why ``value`` (as parsed from JSON) is not of the JSON type ``annotation`` names, or None.
    Pydantic's lax mode would read false or "0.5" as a number and 0.0 as a boolean."""
    if value is None:
        return None
    origin = get_origin(annotation)
    if origin is Annotated:
        return _json_problem(get_args(annotation)[0], value)
    if origin in (Union, UnionType):
        problems = [_json_problem(arg, value) for arg in get_args(annotation) if arg is not type(None)]
        return None if any(p is None for p in problems) else (problems[0] if problems else None)
    if origin is list and isinstance(value, list):
        (item,) = get_args(annotation) or (Any,)
        return next((p for p in (_json_problem(item, v) for v in value) if p is not None), None)
    if annotation is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if annotation in (int, float):
        if isinstance(value, bool) or isinstance(value, str):
            return "must be a number" if annotation is float else "must be an integer"
    return None


class JsonInput(BaseModel):
    """Base of request bodies: each field reads only the JSON type its schema names."""

    @model_validator(mode="before")
    @classmethod
    def _json_types(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                key = field.alias or name
                if key in data:
                    problem = _json_problem(field.annotation, data[key])
                    if problem is not None:
                        raise ValueError(f"{key} {problem}")
        return data


class BoxIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64, description="Canonical label")
    confidence: float = Field(ge=0, le=1)
    # NaN/Infinity would be stored as invalid JSON (PostgreSQL refuses it outright).
    xyxy: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=4, max_length=4, description="Pixel box in the evidence image"
    )
    track_id: int | None = Field(default=None, ge=-(2**53), le=2**53, description="Tracker id, if tracked")


class EvidenceIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    kind: EvidenceKind
    content_type: str = Field(pattern=r"^(image/jpeg|image/png|video/mp4)$")
    # The pattern documents the alphabet and padding; decode_evidence enforces them (with a message that says so).
    data_b64: str = Field(min_length=4, max_length=30_000_000, json_schema_extra={"pattern": BASE64_PATTERN},
                          description="Base64 of the file bytes (line breaks allowed)")


class WorkOrderCreate(JsonInput):
    """What a worker POSTs for one rule event. The Idempotency-Key header (or
    ``idempotency_key``) makes retries safe: the same key never creates a
    second order."""

    model_config = ConfigDict(extra="forbid")

    version: WorkOrderVersion = 1
    idempotency_key: IdempotencyKey | None = Field(default=None, description="Alternative to the Idempotency-Key header")
    camera_id: str = Field(min_length=1, max_length=64)
    zone_id: str = Field(min_length=1, max_length=64)
    rule_id: str = Field(min_length=1, max_length=64)
    event_id: str = Field(min_length=1, max_length=128, description="Worker-side id of the rule event")
    category_code: CategoryCode
    category_name: str = Field(min_length=1, max_length=128)
    priority: Priority = Priority.NORMAL
    labels: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=32, description="Canonical labels that triggered the rule"
    )
    confidence: float = Field(ge=0, le=1, description="Highest detection confidence in the event")
    # Aware only: a naive time is ambiguous (UTC or Beijing?) and would shift deadlines by hours.
    detected_at: InputDatetime = Field(description="When the rule fired (timezone-aware)")
    event_started_at: InputDatetime | None = Field(default=None, description="When the first object entered")
    model_name: str = Field(min_length=1, max_length=128)
    model_version: str = Field(min_length=1, max_length=64)
    boxes: list[BoxIn] = Field(default_factory=list, max_length=500)
    grid_cell: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=256)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=8)


def _iso_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat()


# Output times: always UTC, always a numeric offset ("+00:00", not "Z"), which every
# ISO 8601 parser reads, including datetime.fromisoformat before Python 3.11.
UtcDatetime = Annotated[
    dt.datetime,
    PlainSerializer(_iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class WorkOrderStatus(str, enum.Enum):
    """Digital city-management lifecycle. Stored as a plain string so adding a
    state later needs no schema migration."""

    DETECTED = "detected"  # created from video, not yet verified
    FILED = "filed"
    REJECTED = "rejected"  # false alarm
    DISPATCHED = "dispatched"  # the deadline clock starts here in most cities
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    FEEDBACK = "feedback"
    VERIFYING = "verifying"
    CLOSED = "closed"
    REWORK = "rework"
    RETURNED = "returned"  # wrong department
    EXTENSION = "extension"
    SUSPENDED = "suspended"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


class BoxPublic(BaseModel):
    label: str
    confidence: float
    xyxy: list[float] = Field(description="Pixel box [x1, y1, x2, y2] in the evidence image")
    track_id: int | None = None


class EvidencePublic(BaseModel):
    id: int
    kind: EvidenceKind
    content_type: str
    size: int = Field(description="Bytes")
    sha256: str = Field(description="Hex SHA-256 of the file bytes")
    url: str = Field(description="Download path, relative to the API root")


class WorkOrderPublic(BaseModel):
    """A work order as clients read it. Times are ISO 8601 in UTC with offset."""

    id: int = Field(description="Database id, used in URLs")
    order_no: str = Field(description="Human-readable number, e.g. GS-20261123-000042 (local date + id)")
    source: str = Field(description="Where the case was collected; always 'video' here")
    status: WorkOrderStatus = Field(description="Lifecycle state; new orders start at 'detected'")
    category_code: str = Field(description="Matter code, e.g. 06010 exposed garbage (GB/T 47678.5) or a local code")
    category_name: str
    priority: Priority = Field(description="Urgency tier; sets the deadline")
    deadline_at: UtcDatetime = Field(
        description="Provisionally detected_at + the tier's duration; from dispatch on, dispatched_at + the "
        "category's (or tier's) duration, in working time when a calendar is configured"
    )
    camera_id: str
    zone_id: str = Field(description="Zone of the camera view the rule watches")
    rule_id: str
    event_id: str = Field(description="Worker-side id of the rule event")
    labels: list[str] = Field(description="Canonical labels that triggered the rule")
    confidence: float = Field(description="Highest detection confidence in the event")
    model_name: str
    model_version: str
    boxes: list[BoxPublic] = Field(description="Detections drawn on the snapshot")
    grid_cell: str | None = Field(description="Grid cell the problem is routed by")
    address: str | None
    detected_at: UtcDatetime = Field(description="When the rule fired")
    event_started_at: UtcDatetime | None = Field(description="When the first object entered the zone")
    created_at: UtcDatetime = Field(description="When the server stored the order")
    updated_at: UtcDatetime
    evidence: list[EvidencePublic] = Field(description="Snapshots and clips; download each from its url")
    admin_area: str | None = Field(default=None, description="District, from the grid map")
    street: str | None = Field(default=None, description="Sub-district (街道), from the grid map")
    community: str | None = Field(default=None, description="Community (社区), from the grid map")
    latitude: float | None = Field(default=None, description="Of the camera, when registered with a position")
    longitude: float | None = None
    team: str | None = Field(default=None, description="Team code the grid cell is routed to")
    department: str | None = None
    assignee: str | None = None
    filed_at: UtcDatetime | None = None
    dispatched_at: UtcDatetime | None = Field(default=None, description="The deadline clock started here")
    closed_at: UtcDatetime | None = None
    overdue_at: UtcDatetime | None = Field(default=None, description="When the overdue job first marked it")
    overdue: bool = Field(default=False, description="Past its deadline and not closed or rejected")
    escalation_level: int = Field(default=0, description="Times the order was escalated")
    rework_count: int = Field(default=0, description="Times sent back for rework")
    repeat_count: int = Field(default=0, description="Repeat sightings merged into this order")
    last_seen_at: UtcDatetime | None = Field(default=None, description="Latest sighting, merged repeats included")
    linked_order_id: int | None = Field(default=None, description="Earlier closed order this one recurs")
    verdict: str | None = Field(default=None, description="'confirmed' or 'false_positive', if given")
    verdict_reason: str | None = None
    verified_by_camera_at: UtcDatetime | None = Field(
        default=None, description="When the camera saw the zone empty after feedback"
    )
    allowed_transitions: list[str] = Field(default_factory=list, description="States the order can move to by hand")


class WorkOrderReceipt(BaseModel):
    """What a worker token gets back for a filed order: enough to know it landed, none of the
    order's handling data (routing, assignee, verdict), which workers may not read."""

    id: int = Field(description="Database id of the order the event was filed as (or merged into)")
    order_no: str = Field(description="Human-readable number, e.g. GS-20261123-000042")
    status: WorkOrderStatus = Field(description="The order's state")
    merged: bool = Field(description="The event was merged into an already open order (Work-Order-Merged: true)")
    replayed: bool = Field(description="A retry of a request already stored (Idempotent-Replayed: true)")


class WorkOrderPage(BaseModel):
    items: list[WorkOrderPublic]
    total: int = Field(description="Orders matching the filters, across all pages")
    limit: int
    offset: int


class HealthPublic(BaseModel):
    status: str = Field(description="'ok' or 'degraded'")
    database: str = Field(description="'ok' or 'unavailable'")
    detail: str | None = Field(default=None, description="What failed, when degraded")
