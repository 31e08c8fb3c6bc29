"""What a rule's events become on their way to the outbox: the work-order template a rule's
events are filed under, and a reopened incident reported as a sighting of its own (moved out of
streams.pipeline, which re-exports :class:`WorkOrderTemplate`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from inference.rules import EventPhase, RuleEvent
from streams.delivery.orders import work_order_payload

# Orders of this tier go out at once: an emergency must not wait for its clip's tail.
NO_WAIT_PRIORITIES = frozenset({"emergency"})


@dataclass(frozen=True)
class WorkOrderTemplate:
    """What a rule's events become: the category and tier an operations centre files them under."""

    category_code: str
    category_name: str
    priority: str
    grid_cell: str | None
    address: str | None


def reopen_report(event: RuleEvent) -> RuleEvent:
    """A reopened incident as a sighting of its own, filed like a START.

    The API has had the incident's END, which it may have taken as the camera's proof that
    the zone is clear. The report, with its own evidence, reaches the open order as a merged
    repeat (or, if the order was closed meanwhile, as a recurrence). Its id is derived from
    the reopen time, so a retry or a replay files the same report; the incident's later END
    keeps the original id and still finds the original order."""
    return replace(event, event_id=f"{event.event_id}@{round(event.at * 1000)}", phase=EventPhase.START)


def order_payload(event: RuleEvent, template: WorkOrderTemplate, model: tuple[str, str], evidence) -> dict:
    """The work order the outbox spools for ``event``, filed under ``template`` by ``model`` (name,
    version) with its ``evidence`` files; raises api.contract.wire.ContractError if the API would refuse it."""
    model_name, model_version = model
    return work_order_payload(
        event, category_code=template.category_code, category_name=template.category_name,
        priority=template.priority, model_name=model_name, model_version=model_version,
        grid_cell=template.grid_cell, address=template.address, evidence=tuple(evidence),
    )
