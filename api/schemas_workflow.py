"""Wire schemas for handling orders: transitions, comments, verdicts, the
timeline, camera "event ended" messages, evidence follow-ups and statistics."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.contract.wire import MAX_FOLLOW_UP_EVIDENCE_ITEMS
from api.schemas import (EventEndVersion, EvidenceFollowUpVersion, EvidenceIn, IdempotencyKey, InputDatetime, JsonInput,
                         UtcDatetime, WorkOrderPublic, WorkOrderStatus)

Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class TransitionIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    to: WorkOrderStatus = Field(description="Next state; see the transition table in the API description")
    reason: Reason | None = Field(default=None, description="Why; required for rejected, returned, rework, extension")
    department: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None, description="On dispatch: overrides the routed department"
    )
    assignee: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="On dispatch/accept: who handles it"
    )
    extend_minutes: int | None = Field(
        default=None, ge=1, le=60 * 24 * 90, description="extension -> in_progress: minutes added to the deadline"
    )
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=4, description="e.g. the after-photo on feedback")


class CommentIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    text: Reason


class Verdict(str, enum.Enum):
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"


class VerdictIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    verdict: Verdict = Field(description="confirmed: a real case; false_positive: the model was wrong")
    reason: Reason


class TimelineEntryPublic(BaseModel):
    id: int = Field(description="Increases with every change anywhere; the SSE event id")
    work_order_id: int
    at: UtcDatetime
    actor: str = Field(description="Token name, 'system' (jobs) or 'camera:<id>' (re-check)")
    role: str
    action: str = Field(
        description="created, merged, recurrence, transition, comment, verdict, camera_recheck, event_end, "
        "evidence_added, overdue, escalated"
    )
    from_status: str | None
    to_status: str | None
    reason: str | None
    data: dict[str, Any]


class TimelinePage(BaseModel):
    items: list[TimelineEntryPublic]
    total: int


class EventEndIn(JsonInput):
    """A worker saw the zone empty again after a rule event (the rule's END)."""

    model_config = ConfigDict(extra="forbid")
    version: EventEndVersion = 1
    idempotency_key: IdempotencyKey | None = None
    event_id: str = Field(min_length=1, max_length=128)
    camera_id: str = Field(min_length=1, max_length=64)
    zone_id: str = Field(min_length=1, max_length=64)
    rule_id: str = Field(min_length=1, max_length=64)
    ended_at: InputDatetime
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=2, description="Frame showing the zone empty")


class EventEndOutcome(str, enum.Enum):
    VERIFIED = "verified"  # order was in feedback: moved on, frame kept as proof
    IGNORED = "ignored"  # order in another state: recorded on its timeline only
    UNKNOWN_EVENT = "unknown_event"  # no order for this event


class EventEndResult(BaseModel):
    outcome: EventEndOutcome
    work_order_id: int | None
    status: WorkOrderStatus | None = Field(description="The order's state after this message")
    replayed: bool = Field(description="True when this idempotency key was seen before")


class EvidenceFollowUpIn(JsonInput):
    """Files of an order made after it was sent (an emergency order's clip): attached to the order
    filed for ``event_id`` on ``camera_id``, whatever its state."""

    model_config = ConfigDict(extra="forbid")
    version: EvidenceFollowUpVersion = 1
    idempotency_key: IdempotencyKey | None = None
    event_id: str = Field(min_length=1, max_length=128, description="The event of the order these files belong to")
    camera_id: str = Field(min_length=1, max_length=64, description="The camera that filed that order")
    evidence: list[EvidenceIn] = Field(
        min_length=1, max_length=MAX_FOLLOW_UP_EVIDENCE_ITEMS,
        description=f"1-{MAX_FOLLOW_UP_EVIDENCE_ITEMS} files, e.g. the event's clip (video/mp4)",
    )


class EvidenceFollowUpOutcome(str, enum.Enum):
    ATTACHED = "attached"  # the files are on the order (its state unchanged)
    UNKNOWN_EVENT = "unknown_event"  # no order for this event: nothing stored


class EvidenceFollowUpResult(BaseModel):
    outcome: EvidenceFollowUpOutcome
    work_order_id: int | None = Field(description="The order the files were attached to (null: unknown event)")
    evidence_ids: list[int] = Field(description="The attached files' evidence ids, in the message's order")
    replayed: bool = Field(description="True when this idempotency key was seen before")


class WorkOrderWithTimeline(WorkOrderPublic):
    timeline: list[TimelineEntryPublic]


class Period(str, enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class BaselineUnit(str, enum.Enum):
    ZONE = "zone"
    GRID_CELL = "grid_cell"
    CATEGORY = "category"


class BaselineLevel(str, enum.Enum):
    NORMAL = "normal"
    WARNING = "warning"  # near the trailing mean
    ALERT = "alert"  # above it
    NO_HISTORY = "no_history"


class BaselineItem(BaseModel):
    key: str = Field(description="Zone as 'camera/zone', grid cell code or category code")
    current: int = Field(description="Orders in the current period (rejected false alarms excluded)")
    mean: float | None = Field(description="Mean per period over the trailing window (null: no history)")
    periods: int = Field(description="How many past periods the mean covers (at most 'history')")
    ratio: float | None = Field(description="current / mean")
    level: BaselineLevel


class BaselineReport(BaseModel):
    unit: BaselineUnit
    period: Period
    history: int
    period_start: UtcDatetime = Field(description="Start of the current period (local calendar, shown in UTC)")
    at: UtcDatetime
    warn_ratio: float
    alert_ratio: float
    items: list[BaselineItem] = Field(description="Alerts first, then warnings, then by count")


class CountBucket(BaseModel):
    start: UtcDatetime
    count: int


class TimeSeries(BaseModel):
    period: Period
    unit: BaselineUnit | None
    key: str | None
    buckets: list[CountBucket]


class SummaryStats(BaseModel):
    total: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    category_names: dict[str, str] = Field(default_factory=dict, description="Each counted category's name, by code")
    by_priority: dict[str, int]
    overdue: int
    open: int
