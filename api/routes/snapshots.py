"""Each camera's latest frame, for the dashboard's camera wall and zone editor.

Workers ``PUT`` the latest analysed frame of each camera every few seconds
(``worker.snapshot_interval_s``); operators ``GET`` it. Only the newest frame
is kept, one file per camera under ``<evidence dir>/snapshots/``: it is a
view of the street, not evidence, so it is overwritten and never linked to an
order."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.crud import cameras as camera_crud
from api.deps import EvidenceStoreDep, ReaderDep, SessionDep, SettingsDep, WriterDep
from api.evidence import EvidenceError, EvidenceStore, check_image
from api.guard import body_limit
from api.schemas import UtcDatetime

router = APIRouter(prefix="/cameras", tags=["cameras"])

CameraId = Annotated[str, Path(min_length=1, max_length=64, description="Camera id as configured in the worker")]
JPEG_MAGIC = b"\xff\xd8\xff"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")


class SnapshotPublic(BaseModel):
    camera_id: str
    size: int = Field(description="Bytes")
    sha256: str = Field(description="Hex SHA-256 of the JPEG")
    updated_at: UtcDatetime = Field(description="When the server stored it")
    url: str = Field(description="Download path, relative to the API root")


def snapshot_path(camera_id: str) -> str:
    """Path of a camera's snapshot relative to the evidence root. Ids that are not
    plain file names (or could be read as '..') are hashed instead of escaped."""
    if _SAFE_NAME.match(camera_id) and camera_id.strip(".") == camera_id:
        return f"snapshots/{camera_id}.jpg"
    return f"snapshots/id-{hashlib.sha256(camera_id.encode('utf-8')).hexdigest()[:32]}.jpg"


def snapshot_url(camera_id: str) -> str:
    from urllib.parse import quote

    return f"/api/v1/cameras/{quote(camera_id, safe='')}/snapshot"


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"snapshot larger than the {limit} byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"snapshot larger than the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _store(store: EvidenceStore, camera_id: str, data: bytes) -> SnapshotPublic:
    relative = snapshot_path(camera_id)
    store.write(relative, data)
    return SnapshotPublic(
        camera_id=camera_id, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        updated_at=dt.datetime.now(dt.timezone.utc), url=snapshot_url(camera_id),
    )


@router.put(
    "/{camera_id}/snapshot",
    response_model=SnapshotPublic,
    summary="Upload a camera's latest frame (JPEG)",
    description=(
        "Body: the JPEG bytes, `Content-Type: image/jpeg`, at most GRIDSIGHT_MAX_SNAPSHOT_BYTES (4 MiB; or the "
        "evidence limit, if lower), decoded to check it (at most GRIDSIGHT_MAX_IMAGE_PIXELS pixels). "
        "Replaces the camera's previous frame; the camera need not be registered. Role: worker (or admin)."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        401: {"description": "Bearer token missing or wrong"},
        403: {"description": "Role is not worker or admin"},
        413: {"description": "Larger than the limit"},
        415: {"description": "Content-Type is not image/jpeg"},
        422: {"description": "Empty body, or the bytes do not decode as a JPEG (or it has too many pixels)"},
    },
)
async def put_snapshot(
    camera_id: CameraId,
    request: Request,
    store: EvidenceStoreDep,
    settings: SettingsDep,
    _writer: WriterDep,
) -> SnapshotPublic:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "image/jpeg":
        raise HTTPException(415, "send the frame as Content-Type: image/jpeg")
    # api.guard already refused a larger body while it streamed in; this is the route's own check.
    data = await _read_limited(request, body_limit(settings, "snapshot"))
    if not data:
        raise HTTPException(422, "empty body: send the JPEG bytes")
    if data[:3] != JPEG_MAGIC:
        raise HTTPException(422, "body does not look like a JPEG (magic number mismatch)")
    try:
        await run_in_threadpool(check_image, data, "image/jpeg", settings.max_image_pixels, "snapshot")
    except EvidenceError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    return await run_in_threadpool(_store, store, camera_id, data)


@router.get(
    "/{camera_id}/snapshot",
    response_class=FileResponse,
    summary="A camera's latest frame",
    description="The JPEG its worker uploaded last (raw frame, no drawing). Role: operator+ (cameras of their "
    "own grid cells, as in GET /cameras).",
    responses={
        200: {"description": "The JPEG bytes", "content": {"image/jpeg": {}}},
        404: {"description": "No frame uploaded for this camera yet (or the camera is not in your grid cells)"},
    },
)
def get_snapshot(camera_id: CameraId, store: EvidenceStoreDep, session: SessionDep, reader: ReaderDep) -> FileResponse:
    # Out of an operator's scope reads exactly like "no frame": a scope never says which cameras exist.
    visible = reader.grids is None or camera_crud.get_camera(session, camera_id, reader.grids) is not None
    path = store.resolve(snapshot_path(camera_id)) if visible else None
    if path is None:
        raise HTTPException(404, f"no frame uploaded for camera {camera_id!r} yet")
    return FileResponse(
        path,
        media_type="image/jpeg",
        content_disposition_type="inline",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
