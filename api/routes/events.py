"""The live feed (Server-Sent Events) of new and changed orders, the
workers' "event ended" messages that drive the camera re-check, and their
evidence follow-ups (an order's files sent after it, e.g. an emergency order's clip).

SSE format, one message per timeline entry::

    id: 42
    event: order.created            (order.changed for every later entry)
    data: {"entry": {...TimelineEntryPublic}, "work_order": {...WorkOrderPublic}}

The feed polls the append-only timeline (ids only grow), so it works the
same with several API processes, and a client that reconnects with
``Last-Event-ID`` misses nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import BigInteger, Integer, SmallInteger, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.crud import timeline as timeline_crud
from api.crud import work_orders as order_crud
from api.deps import FilingDep, ReaderDep, SettingsDep, WriterDep, WriteSessionDep
from api.db.models import TimelineEntry, WorkOrder
from api.schemas_workflow import EventEndIn, EventEndResult, EvidenceFollowUpIn, EvidenceFollowUpResult
from api.services.filing import FilingRefused

router = APIRouter(prefix="/events", tags=["events"])
# A worker message's key, as POST /work-orders takes it (or the body's idempotency_key).
EventKeyHeader = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128, pattern=r"^[!-~]+$")]
HEARTBEAT_S = 15.0
BATCH = 200


def _column_max(column_type: object) -> int:
    """The largest value an integer column holds on every database we run on: INTEGER is
    32 bits on PostgreSQL (SQLite's is 64, but PostgreSQL's is what both must agree on)."""
    if isinstance(column_type, BigInteger):
        return 2**63 - 1
    if isinstance(column_type, SmallInteger):
        return 2**15 - 1
    if isinstance(column_type, Integer):
        return 2**31 - 1
    raise TypeError(f"not an integer column type: {column_type!r}")


# A larger id cannot exist, and binding it fails inside the stream (SQLite OverflowError,
# PostgreSQL 'integer out of range') after the 200 went out: it is refused before streaming.
MAX_ENTRY_ID = _column_max(TimelineEntry.__table__.c.id.type)


def _fetch(sessions: sessionmaker[Session], after: int, principal: Principal, now: dt.datetime) -> list[tuple[int, str]]:
    with sessions() as session:
        stmt = (select(TimelineEntry, WorkOrder).join(WorkOrder, WorkOrder.id == TimelineEntry.work_order_id)
                .where(TimelineEntry.id > after).order_by(TimelineEntry.id).limit(BATCH))
        if principal.grids is not None:
            stmt = stmt.where(WorkOrder.grid_cell.in_(sorted(principal.grids)))
        out = []
        for entry, order in session.execute(stmt):
            kind = "order.created" if entry.action == "created" else "order.changed"
            data = {
                "entry": timeline_crud.to_public(entry).model_dump(mode="json"),
                "work_order": order_crud.to_public(order, now=now, viewer=principal).model_dump(mode="json"),
            }
            out.append((entry.id, f"id: {entry.id}\nevent: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"))
        return out


def _latest_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.max(TimelineEntry.id))) or 0)


async def _messages(request: Request, principal: Principal, after: int | None, poll_s: float,
                    timeout_s: float | None) -> AsyncIterator[str]:
    sessions = request.app.state.sessions
    clock = request.app.state.clock
    last = after if after is not None else await run_in_threadpool(_latest_id, sessions)
    yield "retry: 3000\n\n"
    ends = None if timeout_s is None else time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    while True:
        batch = await run_in_threadpool(_fetch, sessions, last, principal, clock())
        for entry_id, text in batch:
            last = entry_id
            yield text
        if batch:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= HEARTBEAT_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"  # comment line: keeps proxies from closing an idle stream
        if (ends is not None and time.monotonic() >= ends) or await request.is_disconnected():
            return
        if len(batch) < BATCH:
            await asyncio.sleep(poll_s)


@router.get(
    "/stream",
    summary="Live feed of new and changed work orders (Server-Sent Events)",
    description=(
        "`text/event-stream`; one message per timeline entry: `id` (timeline entry id), `event` "
        "(`order.created` or `order.changed`), `data` = JSON `{entry, work_order}`. Without `Last-Event-ID` "
        "or `after_id` the feed starts with changes made from now on. Operators get only their grid cells. "
        "`timeout_s` closes the stream after that many seconds (polling clients, tests); browsers' "
        "EventSource reconnects on its own with Last-Event-ID. Role: operator+."
    ),
    response_class=StreamingResponse,
    responses={200: {"description": "The event stream", "content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    after_id: Annotated[
        int | None, Query(ge=0, le=MAX_ENTRY_ID, description="Send entries after this id (a timeline entry id)")
    ] = None,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400, description="Close after this long")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    after = after_id
    if after is None and last_event_id is not None:
        # ASCII digits only: str.isdigit() also passes '²' and other digits int() refuses.
        if not (last_event_id.isascii() and last_event_id.isdigit()):
            raise HTTPException(422, "Last-Event-ID must be a timeline entry id (digits)")
        after = int(last_event_id)
        if after > MAX_ENTRY_ID:
            raise HTTPException(
                422, f"Last-Event-ID {last_event_id} is beyond the largest timeline entry id ({MAX_ENTRY_ID})"
            )
    return StreamingResponse(
        _messages(request, reader, after, settings.sse_poll_s, timeout_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/end",
    response_model=EventEndResult,
    summary="A worker reports that a rule event ended (the zone is empty again)",
    description=(
        "Idempotent by `Idempotency-Key` (or `idempotency_key`). The order filed for `event_id` moves from "
        "`feedback` to `verifying` (or `closed` when GRIDSIGHT_AUTO_CLOSE_ON_RECHECK) with the evidence frame "
        "kept as proof (camera re-check); for an order in any other state the message is only recorded on its "
        "timeline. Always 200 for a well-formed message, so the worker's outbox moves on. Role: worker."
    ),
    responses={409: {"description": "Idempotency key already used for a different message"}},
)
def post_event_end(
    body: EventEndIn,
    session: WriteSessionDep,
    filing: FilingDep,
    _writer: WriterDep,
    idempotency_key: EventKeyHeader = None,  # type: ignore[assignment]  # never null
) -> EventEndResult:
    try:
        return filing.end_event(session, body, idempotency_key)
    except FilingRefused as refused:
        raise HTTPException(refused.status_code, refused.message) from None


@router.post(
    "/evidence",
    response_model=EvidenceFollowUpResult,
    summary="A worker sends files of an order it already sent (an evidence follow-up, e.g. the clip)",
    description=(
        "Idempotent by `Idempotency-Key` (or `idempotency_key`). The files join the evidence of the order filed "
        "for `event_id` on `camera_id` (or of the order that event merged into), in any state, closed included; "
        "the state does not change and the timeline gets an `evidence_added` entry. An emergency order goes "
        "without its clip, which follows in one of these. Always 200 for a well-formed message, an unknown "
        "event included (`unknown_event`, nothing stored), so the worker's outbox moves on. Role: worker."
    ),
    responses={409: {"description": "Idempotency key already used for a different message"},
               413: {"description": "An evidence file is larger than GRIDSIGHT_MAX_EVIDENCE_BYTES"}},
)
def post_evidence_follow_up(
    body: EvidenceFollowUpIn,
    session: WriteSessionDep,
    filing: FilingDep,
    _writer: WriterDep,
    idempotency_key: EventKeyHeader = None,  # type: ignore[assignment]  # never null
) -> EvidenceFollowUpResult:
    try:
        return filing.add_follow_up(session, body, idempotency_key)
    except FilingRefused as refused:
        raise HTTPException(refused.status_code, refused.message) from None
