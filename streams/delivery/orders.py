"""Turns a rule event into the work-order payload the API accepts (api.schemas.WorkOrderCreate)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # read by attribute only, so any rule's event type will do
    from inference.rules import RuleEvent

JPEG = "image/jpeg"
MP4 = "video/mp4"


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence file as the API takes it (api.schemas.EvidenceIn): ``kind`` is one of
    snapshot (annotated key frame), before, after, clip."""

    kind: str
    content_type: str
    data: bytes

    def to_wire(self) -> dict:
        return {"kind": self.kind, "content_type": self.content_type, "data_b64": base64.b64encode(self.data).decode("ascii")}


def iso_utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


def work_order_payload(
    event: RuleEvent,
    *,
    category_code: str,
    category_name: str,
    priority: str,
    model_name: str,
    model_version: str,
    grid_cell: str | None,
    address: str | None,
    snapshot_jpeg: bytes | None = None,
    evidence: Sequence[EvidenceItem] = (),
) -> dict:
    """``evidence`` in the order given; ``snapshot_jpeg`` (the older spelling) goes first.
    The idempotency key is the event's, not the payload's: evidence does not change it."""
    items = ([EvidenceItem("snapshot", JPEG, snapshot_jpeg)] if snapshot_jpeg is not None else []) + list(evidence)
    return {
        "camera_id": event.camera_id,
        "zone_id": event.zone_id,
        "rule_id": event.rule_id,
        "event_id": event.event_id,
        "category_code": category_code,
        "category_name": category_name,
        "priority": priority,
        "labels": list(event.labels),
        "confidence": round(min(1.0, max(0.0, event.max_confidence)), 4),
        "detected_at": iso_utc(event.at),
        "event_started_at": iso_utc(event.started_at),
        "model_name": model_name,
        "model_version": model_version,
        "boxes": event.detections.to_records(),
        "grid_cell": grid_cell,
        "address": address,
        "evidence": [item.to_wire() for item in items],
    }


def event_end_payload(event: RuleEvent, *, snapshot_jpeg: bytes) -> dict:
    """What the worker sends when a rule event ends (api.schemas_workflow.EventEndIn):
    the frame shows the zone with the object gone, proof for the camera re-check."""
    return {
        "event_id": event.event_id,
        "camera_id": event.camera_id,
        "zone_id": event.zone_id,
        "rule_id": event.rule_id,
        "ended_at": iso_utc(event.at),
        "evidence": [EvidenceItem("after", JPEG, snapshot_jpeg).to_wire()],
    }
