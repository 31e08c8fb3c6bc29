"""Work orders: created by workers (idempotently), read by operators within
their grid cells (supervisors and admins: every grid)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response
from fastapi import status as http
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.crud import work_orders as crud
from api.auth import Principal, Role
from api.deps import Clock, ClockDep, EvidenceStoreDep, FilingDep, ReaderDep, SessionDep, WriterDep, WriteSessionDep
from api.db.models import Evidence, WorkOrder
from api.schemas import (InputDatetime, Priority, WorkOrderCreate, WorkOrderPage, WorkOrderPublic, WorkOrderReceipt,
                         WorkOrderStatus)
from api.services.filing import FilingRefused, FilingService, Outcome

router = APIRouter(prefix="/work-orders", tags=["work-orders"])

# Bounded to the INTEGER column range: larger numbers would overflow the driver (a 500).
MAX_ID = 2**31 - 1
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work order id (the number in its URL, not order_no)")]


def _error(code: int, description: str) -> dict[int | str, dict[str, str]]:
    return {code: {"description": description}}


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    response_model=WorkOrderPublic | WorkOrderReceipt,
    summary="Create a work order from a rule event (idempotent)",
    description=(
        "The first request with a key creates the order (201, Location header). Retrying with the same key "
        "and the same payload returns the existing order (200, `Idempotent-Replayed: true`); the same key with "
        "a different payload is refused (409). Evidence is base64 in the body, checked against its content type. "
        "A repeat of an open order's problem (same camera, zone and category within the merge window) is merged "
        "into it instead: 200 with `Work-Order-Merged: true` and that order. The order is routed by the grid map "
        "(zone -> grid cell -> team). A worker token gets a receipt (`WorkOrderReceipt`: id, order number, "
        "status, merged, replayed), never the order's routing or handling data; an admin gets the order. "
        "Role: worker (or admin)."
    ),
    responses={
        **_error(200, "Replay (the order this key created earlier) or merge into an open order"),
        **_error(401, "Bearer token missing or wrong"),
        **_error(403, "The token's role may not file orders"),
        **_error(409, "Idempotency key already used for a different payload"),
        **_error(413, "An evidence file exceeds the size limit"),
        **_error(422, "Invalid body, missing idempotency key, or evidence that fails its checks"),
    },
)
async def create_work_order(
    body: WorkOrderCreate,
    response: Response,
    session: WriteSessionDep,
    filing: FilingDep,
    writer: WriterDep,
    clock: ClockDep,
    # str, not str | None: a header is there or not, never null (None only as the default).
    idempotency_key: Annotated[
        str,
        Header(alias="Idempotency-Key", min_length=8, max_length=128, pattern=r"^[!-~]+$",
               description="Makes retries safe (8-128 visible ASCII characters)"),
    ] = None,  # type: ignore[assignment]
) -> WorkOrderPublic | WorkOrderReceipt:
    # One hand-off to a worker thread for all the blocking work; the response is then checked on
    # the event loop (a plain-function route would hand it to a thread a second time).
    return await run_in_threadpool(
        _file_order, body, response, session, filing, writer, clock, idempotency_key
    )


def _file_order(
    body: WorkOrderCreate, response: Response, session: Session, filing: FilingService,
    writer: Principal, clock: Clock, idempotency_key: str | None,
) -> WorkOrderPublic | WorkOrderReceipt:
    try:
        filed = filing.file_work_order(session, body, idempotency_key, source="http")
    except FilingRefused as refused:
        raise HTTPException(refused.status_code, refused.message) from None
    result = filed.result
    response.headers["Location"] = crud.order_url(result.order.id)
    if filed.outcome is not Outcome.CREATED:
        response.status_code = http.HTTP_200_OK
        if result.merged:
            response.headers["Work-Order-Merged"] = "true"
        if result.replayed:
            response.headers["Idempotent-Replayed"] = "true"
    if writer.role is Role.WORKER:
        # Workers file orders but may not read them (the merged-into order may carry a verdict, an assignee...).
        return WorkOrderReceipt(id=result.order.id, order_no=result.order.order_no,
                                status=WorkOrderStatus(result.order.status), merged=result.merged,
                                replayed=result.replayed)
    return crud.to_public(result.order, now=clock())


class WorkOrderQuery(BaseModel):
    """Filters for listing; all optional and combined with AND."""

    camera_id: str | None = Field(default=None, max_length=64)
    zone_id: str | None = Field(default=None, max_length=64)
    category_code: str | None = Field(default=None, max_length=32, description="e.g. 06010")
    status: WorkOrderStatus | None = None
    priority: Priority | None = None
    grid_cell: str | None = Field(default=None, max_length=64)
    assignee: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=64)
    overdue: bool | None = Field(default=None, description="true: only late orders; false: only orders on time")
    since: InputDatetime | None = Field(default=None, description="detected_at >= since (ISO 8601 with offset)")
    until: InputDatetime | None = Field(default=None, description="detected_at < until (ISO 8601 with offset)")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=10_000_000)


@router.get(
    "",
    response_model=WorkOrderPage,
    summary="List work orders, newest detection first",
    description="Operators see only their grid cells' orders; supervisors and admins see all. Role: operator+.",
)
def list_work_orders(
    session: SessionDep, reader: ReaderDep, clock: ClockDep, params: Annotated[WorkOrderQuery, Query()]
) -> WorkOrderPage:
    if params.since is not None and params.until is not None and params.since > params.until:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, "'since' is after 'until'")
    now = clock()
    filters = crud.WorkOrderFilters(
        **params.model_dump(exclude={"limit", "offset"}), grids=reader.grids, now=now
    )
    items, total = crud.list_work_orders(session, filters, params.limit, params.offset)
    return WorkOrderPage(
        items=[crud.to_public(o, now=now, viewer=reader) for o in items],
        total=total, limit=params.limit, offset=params.offset,
    )


def get_visible_order(session: Session, principal: Principal, order_id: int) -> WorkOrder:
    """The order, or 404 when it does not exist or lies outside the principal's grid cells
    (the same answer both ways, so a scope never leaks which orders exist)."""
    order = session.get(WorkOrder, order_id)
    if order is None or not principal.sees_grid(order.grid_cell):
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"work order {order_id} not found")
    return order


@router.get(
    "/{order_id}",
    response_model=WorkOrderPublic,
    summary="Get one work order",
    description="With `allowed_transitions` for the caller's role. Role: operator+ (own grid cells).",
    responses=_error(404, "No such work order (or not in your grid cells)"),
)
def get_work_order(order_id: OrderId, session: SessionDep, reader: ReaderDep, clock: ClockDep) -> WorkOrderPublic:
    return crud.to_public(get_visible_order(session, reader, order_id), now=clock(), viewer=reader)


@router.get(
    "/{order_id}/evidence/{evidence_id}",
    response_class=FileResponse,
    summary="Download one evidence file",
    responses={
        200: {"description": "The file bytes", "content": {"image/jpeg": {}, "image/png": {}, "video/mp4": {}}},
        **_error(404, "No such work order, or the evidence belongs to another order"),
        **_error(410, "The evidence row exists but its file is gone from storage"),
    },
)
def get_evidence(
    order_id: OrderId,
    evidence_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Evidence id as listed in the order")],
    session: SessionDep,
    store: EvidenceStoreDep,
    reader: ReaderDep,
) -> FileResponse:
    get_visible_order(session, reader, order_id)
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.work_order_id != order_id:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"evidence {evidence_id} not found on work order {order_id}")
    path = store.resolve(evidence.path)
    if path is None:
        raise HTTPException(
            http.HTTP_410_GONE, f"evidence {evidence_id} of work order {order_id} is missing from storage"
        )
    return FileResponse(
        path,
        media_type=evidence.content_type,
        filename=path.name,
        content_disposition_type="inline",
        # The bytes are fixed by their sha256; stop browsers from guessing another type.
        headers={"X-Content-Type-Options": "nosniff", "ETag": f'"{evidence.sha256}"'},
    )
