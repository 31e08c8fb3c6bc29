"""Frames worth labelling (issue 18): workers post harvest batches; engineers and the
labelling bridge list them, fetch their raw JPEGs, mark them exported or labelled, and
read the counts. Frames of orders marked false positive are added by the API itself
(:class:`api.crud.harvest.FalsePositiveHarvest`, called from the verdict)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api.auth import Principal, Role
from api.contract.harvest import HarvestBatch, HarvestReason
from api.contract.wire import ContractError
from api.crud import harvest as crud
from api.db.models_harvest import HarvestFrameRecord
from api.deps import AdminDep, ClockDep, SessionDep, SettingsDep, WriterDep, WriteSessionDep, on_event_loop, require_role
from api.harvest_store import FrameRefused, HarvestStore, check_frame
from api.schemas_harvest import (MAX_ID, MAX_PAGE, FrameStatus, HarvestBatchIn, HarvestBatchResult, HarvestFramePage,
                                 HarvestFramePublic, HarvestStatusIn, HarvestStatusResult, HarvestSummary)

router = APIRouter(prefix="/harvest", tags=["harvest"])
# Frames show whole streets of every grid: supervisors and admins (anonymous reads in dev mode).
SupervisorReaderDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.SUPERVISOR, write=False)))]
FrameId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Harvest frame id")]


def get_harvest_store(request: Request) -> HarvestStore:
    """The app's one harvest store, made on first use (it creates its folders as it writes)."""
    state = request.app.state
    store = getattr(state, "harvest_store", None)
    if store is None:
        settings = state.settings
        store = state.harvest_store = HarvestStore(settings.harvest_root, settings.harvest_max_bytes)
    return store


HarvestStoreDep = Annotated[HarvestStore, Depends(get_harvest_store)]


def get_false_positive_harvest(request: Request, store: HarvestStoreDep) -> crud.FalsePositiveHarvest:
    state = request.app.state
    return crud.FalsePositiveHarvest(store=store, evidence=state.evidence_store, settings=state.settings)


FalsePositiveHarvestDep = Annotated[crud.FalsePositiveHarvest, Depends(get_false_positive_harvest)]


def frame_public(row: HarvestFrameRecord) -> HarvestFramePublic:
    return HarvestFramePublic(
        id=row.id, batch_id=row.batch_id, camera_id=row.camera_id, captured_at=row.captured_at,
        model_name=row.model_name, model_version=row.model_version, reasons=row.reasons, width=row.width,
        height=row.height, boxes=row.boxes, detail=row.detail, status=FrameStatus(row.status), sha256=row.sha256,
        image_url=f"/api/v1/harvest/frames/{row.id}/image", note=row.note,
    )


@router.post(
    "/frames",
    response_model=HarvestBatchResult,
    status_code=201,
    summary="Post a batch of frames worth labelling",
    description=(
        "Body: `api.contract.harvest.HarvestBatch.to_wire()` (1-32 raw JPEG frames with the model's normalised "
        "boxes and why each was picked). Every JPEG must decode, within GRIDSIGHT_MAX_IMAGE_PIXELS, at the width "
        "and height it declares; a contract error is one line (422) and nothing is stored. A frame already held "
        "(the same bytes, or a dHash within 4 bits of a frame of the same camera captured within 5 s) counts as a "
        "duplicate, one over the camera's daily cap (GRIDSIGHT_HARVEST_CAMERA_DAILY_MAX) as over_budget; neither "
        "is stored. The oldest `new` frames are evicted to stay within GRIDSIGHT_HARVEST_MAX_BYTES. "
        "Role: worker (or admin)."
    ),
    responses={422: {"description": "Unknown fields, or a contract error (bad base64, not a JPEG, sizes) in one line"}},
)
def post_frames(body: HarvestBatchIn, session: WriteSessionDep, store: HarvestStoreDep, settings: SettingsDep,
                _writer: WriterDep, clock: ClockDep) -> HarvestBatchResult:
    try:
        batch = HarvestBatch.from_wire(body.model_dump(mode="json"))
    except ContractError as exc:
        raise HTTPException(422, str(exc)) from None
    images = []
    for index, frame in enumerate(batch.frames):
        try:
            images.append(check_frame(frame.jpeg, settings.max_image_pixels, (frame.width, frame.height)))
        except FrameRefused as exc:
            raise HTTPException(422, f"frames[{index}]: {exc}") from None
    record = crud.accept_batch(session, store, settings, batch, images, clock())
    return HarvestBatchResult(batch_id=record.id, accepted=record.accepted, duplicates=record.duplicates,
                              over_budget=record.over_budget)


@router.get(
    "/frames",
    response_model=HarvestFramePage,
    summary="List stored harvest frames, in id order",
    description="Filters combine; page with `after_id` = the previous page's `next_after_id`. Evicted frames are "
    "not listed. Role: supervisor or admin (anonymous in dev mode).",
)
def get_frames(
    session: SessionDep, _reader: SupervisorReaderDep,
    status: Annotated[FrameStatus | None, Query(description="Only frames in this status")] = None,
    camera_id: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this camera")] = None,
    batch_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this batch")] = None,
    reason: Annotated[HarvestReason | None, Query(description="Only frames picked for this reason")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")] = 100,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID, description="Frames with a larger id than this")] = 0,
) -> HarvestFramePage:
    rows, next_after = crud.list_frames(
        session, status=status.value if status else None, camera_id=camera_id, batch_id=batch_id,
        reason=reason.value if reason else None, limit=limit, after_id=after_id)
    return HarvestFramePage(items=[frame_public(r) for r in rows], next_after_id=next_after)


@router.get(
    "/frames/{frame_id}/image",
    response_class=FileResponse,
    summary="A harvest frame's raw JPEG",
    description="The frame as the worker sent it (never annotated). Role: supervisor or admin (anonymous in dev mode).",
    responses={200: {"description": "The JPEG bytes", "content": {"image/jpeg": {}}},
               404: {"description": "No such frame, or it was evicted"}},
)
def get_frame_image(frame_id: FrameId, session: SessionDep, store: HarvestStoreDep,
                    _reader: SupervisorReaderDep) -> FileResponse:
    row = crud.get_frame(session, frame_id)
    path = store.resolve(row.path) if row is not None else None
    if path is None:
        raise HTTPException(404, f"no stored harvest frame {frame_id}")
    return FileResponse(path, media_type="image/jpeg", content_disposition_type="inline",
                        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.post(
    "/frames/status",
    response_model=HarvestStatusResult,
    summary="Mark frames exported (sent to a labelling tool) or labelled",
    description="Ids that are not stored (never were, or evicted) are skipped; `updated` counts the others. "
    "Role: admin.",
)
def post_frame_status(body: HarvestStatusIn, session: WriteSessionDep, _admin: AdminDep) -> HarvestStatusResult:
    return HarvestStatusResult(updated=crud.mark_status(session, body.ids, body.status.value, body.note))


@router.get(
    "/summary",
    response_model=HarvestSummary,
    summary="Harvest counts: stored frames and bytes, per status, reason and camera",
    description="`by_camera.today` counts the frames accepted on the site's calendar day (what the daily cap "
    "counts, evicted ones included), `total` those stored now. Role: supervisor or admin (anonymous in dev mode).",
)
def get_summary(session: SessionDep, settings: SettingsDep, clock: ClockDep,
                _reader: SupervisorReaderDep) -> HarvestSummary:
    return HarvestSummary.model_validate(crud.summary(session, settings, clock()))
