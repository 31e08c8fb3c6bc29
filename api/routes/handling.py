"""Handling an order: move it through the workflow, comment, give a verdict,
read its timeline. Operators act within their grid cells."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam

from api.crud import handling
from api.crud import timeline as timeline_crud
from api.crud import work_orders as crud
from api.crud.timeline import Actor
from api.deps import ClockDep, EvidenceStoreDep, OperatorDep, ReaderDep, SessionDep, SettingsDep, WriteSessionDep
from api.evidence import EvidenceError, decode_evidence
from api.routes.harvest import FalsePositiveHarvestDep
from api.routes.work_orders import MAX_ID, get_visible_order
from api.schemas import WorkOrderPublic
from api.schemas_workflow import CommentIn, TimelineEntryPublic, TimelinePage, TransitionIn, VerdictIn
from api.workflow import TRANSITIONS, TransitionError

router = APIRouter(prefix="/work-orders", tags=["work-orders"])
OrderId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Work order id")]


def _table_markdown() -> str:
    rows = [
        f"| `{src.value}` | " + ", ".join(f"`{dst.value}` ({getattr(role, 'value', role)})" for dst, role in moves.items())
        + " |"
        for src, moves in TRANSITIONS.items()
    ]
    return "| from | to (least role) |\n|---|---|\n" + "\n".join(rows)


@router.post(
    "/{order_id}/transitions",
    response_model=WorkOrderPublic,
    summary="Move a work order to its next state",
    description=(
        "The server enforces the table below; an illegal move gets 409 with `allowed` naming the open moves, "
        "a role too low gets 403. `system` moves are made only by the server (overdue job, camera re-check). "
        "Dispatching starts the deadline clock. A reason is required for rejected, returned, rework, extension, "
        "suspended and escalated. Role: operator+ (own grid cells).\n\n" + _table_markdown()
    ),
    responses={
        403: {"description": "Role too low for this move"},
        404: {"description": "No such work order (or not in your grid cells)"},
        409: {"description": "Move not allowed from the current state; `allowed` lists the open moves"},
    },
)
def post_transition(
    order_id: OrderId, body: TransitionIn, session: WriteSessionDep, store: EvidenceStoreDep,
    settings: SettingsDep, principal: OperatorDep, clock: ClockDep,
) -> WorkOrderPublic:
    order = get_visible_order(session, principal, order_id)
    try:
        evidence = decode_evidence(body.evidence, settings.max_evidence_bytes, settings.max_image_pixels)
    except EvidenceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    now = clock()
    ctx = handling.MoveContext(body=body, actor=Actor.of(principal), now=now, settings=settings)
    try:
        handling.transition(session, store, order, principal, ctx, evidence)
    except handling.HandlingError as exc:
        raise HTTPException(422, str(exc)) from None
    return crud.to_public(order, now=now, viewer=principal)


@router.post(
    "/{order_id}/comments",
    response_model=TimelineEntryPublic,
    status_code=201,
    summary="Add a comment to the order's timeline",
    description="Role: operator+ (own grid cells).",
    responses={404: {"description": "No such work order (or not in your grid cells)"}},
)
def post_comment(
    order_id: OrderId, body: CommentIn, session: WriteSessionDep, principal: OperatorDep, clock: ClockDep
) -> TimelineEntryPublic:
    order = get_visible_order(session, principal, order_id)
    handling.comment(session, order, Actor.of(principal), body.text, clock())
    return timeline_crud.to_public(timeline_crud.entries_for(session, order.id)[-1])


@router.post(
    "/{order_id}/verdict",
    response_model=WorkOrderPublic,
    summary="Say whether the detection was right",
    description=(
        "`confirmed` or `false_positive`, with a reason (kept for model evaluation). An order still `detected` "
        "follows the verdict: false_positive -> rejected, confirmed -> filed; a `filed` one is rejected on "
        "false_positive. A false positive's unannotated key frame (evidence kind `frame`) and boxes become a "
        "harvest frame for labelling (reason false_positive). Role: operator+ (own grid cells)."
    ),
    responses={404: {"description": "No such work order (or not in your grid cells)"}},
)
def post_verdict(
    order_id: OrderId, body: VerdictIn, session: WriteSessionDep, principal: OperatorDep, clock: ClockDep,
    harvest: FalsePositiveHarvestDep,
) -> WorkOrderPublic:
    order = get_visible_order(session, principal, order_id)
    now = clock()
    handling.verdict(session, order, principal, body, now, harvest=harvest)
    return crud.to_public(order, now=now, viewer=principal)


@router.get(
    "/{order_id}/timeline",
    response_model=TimelinePage,
    summary="The order's append-only timeline, oldest first",
    description="Who did what, when and why. Role: operator+ (own grid cells).",
    responses={404: {"description": "No such work order (or not in your grid cells)"}},
)
def get_timeline(order_id: OrderId, session: SessionDep, reader: ReaderDep) -> TimelinePage:
    order = get_visible_order(session, reader, order_id)
    entries = [timeline_crud.to_public(e) for e in timeline_crud.entries_for(session, order.id)]
    return TimelinePage(items=entries, total=len(entries))


def transition_error_body(exc: TransitionError) -> dict:
    return {"detail": exc.message, "current": exc.current.value, "allowed": exc.allowed}
