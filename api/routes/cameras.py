"""Camera status as reported by the stream workers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi import status as http

from api.crud import cameras as crud
from api.deps import ReaderDep, SessionDep, SettingsDep, WriterDep, WriteSessionDep
from api.schemas import CameraDetail, CameraList, CameraStatusIn

router = APIRouter(prefix="/cameras", tags=["cameras"])

CameraId = Annotated[str, Path(min_length=1, max_length=64, description="Camera id as configured in the worker")]


@router.put(
    "/{camera_id}/status",
    response_model=CameraDetail,
    summary="Report a camera status event",
    description=(
        "Workers send every transition (connecting, online, reconnecting, ...). The event with the latest "
        "`at` becomes the current state; late arrivals only enter the history. Credentials in URLs inside "
        "`reason` or `details` are redacted before anything is stored."
    ),
    responses={
        401: {"description": "Bearer token missing or wrong (only when the server has one configured)"},
        422: {"description": "Invalid event, or body camera_id differs from the path"},
    },
)
def put_camera_status(
    camera_id: CameraId,
    event: CameraStatusIn,
    session: WriteSessionDep,
    settings: SettingsDep,
    _writer: WriterDep,
) -> CameraDetail:
    if event.camera_id is not None and event.camera_id != camera_id:
        raise HTTPException(
            http.HTTP_422_UNPROCESSABLE_CONTENT,
            f"body camera_id {event.camera_id!r} does not match the path camera id {camera_id!r}",
        )
    camera = crud.record_status(session, camera_id, event, settings.camera_history_size)
    return crud.to_detail(camera, crud.history(session, camera_id, settings.camera_history_size))


@router.get("", response_model=CameraList, summary="Latest status of every camera that has reported")
def list_cameras(session: SessionDep, _reader: ReaderDep) -> CameraList:
    cameras = crud.list_cameras(session)
    return CameraList(items=[crud.to_public(c) for c in cameras], total=len(cameras))


@router.get(
    "/{camera_id}",
    response_model=CameraDetail,
    summary="Latest status of one camera, with its recent history",
    responses={404: {"description": "The camera has never reported"}},
)
def get_camera(camera_id: CameraId, session: SessionDep, settings: SettingsDep, _reader: ReaderDep) -> CameraDetail:
    camera = crud.get_camera(session, camera_id)
    if camera is None:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"camera {camera_id!r} has not reported any status")
    return crud.to_detail(camera, crud.history(session, camera_id, settings.camera_history_size))
