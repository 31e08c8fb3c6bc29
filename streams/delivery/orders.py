"""Turns a rule event into the shapes of the wire contract (:mod:`api.contract.wire`):
the work-order report and the event end. Built, and so checked, here, before the
outbox spools them; the API reads the same JSON with its schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.contract.wire import JPEG, MP4, EventEnd, EvidenceFollowUp, EvidenceItem, Priority, WorkOrderReport, iso_utc

if TYPE_CHECKING:  # read by attribute only, so any rule's event type will do
    from inference.rules import RuleEvent

__all__ = ["JPEG", "MP4", "EvidenceItem", "iso_utc", "work_order_report", "work_order_payload", "event_end_payload",
           "evidence_follow_up_payload"]


def work_order_report(
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
) -> WorkOrderReport:
    """``evidence`` in the order given; ``snapshot_jpeg`` (the older spelling) goes first.
    The idempotency key is the event's, not the report's: evidence does not change it.
    Raises :class:`api.contract.wire.ContractError` for a report the API would refuse."""
    items = ([EvidenceItem("snapshot", JPEG, snapshot_jpeg)] if snapshot_jpeg is not None else []) + list(evidence)
    return WorkOrderReport(
        camera_id=event.camera_id,
        zone_id=event.zone_id,
        rule_id=event.rule_id,
        event_id=event.event_id,
        category_code=category_code,
        category_name=category_name,
        priority=Priority(priority).value,  # a str enum of the worker's config, or its value
        labels=tuple(event.labels),
        confidence=round(min(1.0, max(0.0, event.max_confidence)), 4),
        detected_at=event.at,
        event_started_at=event.started_at,
        model_name=model_name,
        model_version=model_version,
        boxes=tuple(event.detections.to_records()),
        grid_cell=grid_cell,
        address=address,
        evidence=tuple(items),
    )


def work_order_payload(event: RuleEvent, **fields) -> dict:
    """:func:`work_order_report` as the JSON the outbox spools and the API reads."""
    return work_order_report(event, **fields).to_wire()


def event_end_payload(event: RuleEvent, *, snapshot_jpeg: bytes) -> dict:
    """What the worker sends when a rule event ends: the frame shows the zone with the
    object gone, proof for the camera re-check."""
    return EventEnd(
        event_id=event.event_id,
        camera_id=event.camera_id,
        zone_id=event.zone_id,
        rule_id=event.rule_id,
        ended_at=event.at,
        evidence=(EvidenceItem("after", JPEG, snapshot_jpeg),),
    ).to_wire()


def evidence_follow_up_payload(event: RuleEvent, items: tuple[EvidenceItem, ...]) -> dict:
    """Files of ``event``'s order made after the order was sent (its clip)."""
    return EvidenceFollowUp(event_id=event.event_id, camera_id=event.camera_id, evidence=tuple(items)).to_wire()
