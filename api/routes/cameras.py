"""Cameras: status as reported by the stream workers, and the registry
(name, address, position, grid cell, zones) that admins maintain.

A camera appears once its worker reports or an admin registers it,
whichever comes first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from fastapi import status as http

from api.auth import Principal, Role
from api.crud import camera_registration
from api.crud import cameras as crud
from api.crud import registry
from api.deps import (AdminDep, ClockDep, PrincipalDep, ReaderDep, SessionDep, SettingsDep, WriterDep, WriteSessionDep,
                      require_role)
from api.db.models import Camera, Zone
from api.schemas_cameras import (CameraDetail, CameraList, CameraRegistrationIn, CameraRegistrationResult,
                                 CameraStatusIn)
from api.schemas_registry import CameraCreate, CameraUpdate, ZoneCreate, ZonePublic, ZoneUpdate

router = APIRouter(prefix="/cameras", tags=["cameras"])

CameraId = Annotated[str, Path(min_length=1, max_length=64, description="Camera id as configured in the worker")]


@router.put(
    "/{camera_id}/status",
    response_model=CameraDetail,
    summary="Report a camera status event",
    description=(
        "Workers send every transition (connecting, online, reconnecting, ...). The event with the latest "
        "`at` becomes the current state; late arrivals only enter the history. Credentials in URLs inside "
        "`reason` or `details` are redacted before anything is stored. Role: worker (or admin)."
    ),
    responses={
        401: {"description": "Bearer token missing or wrong"},
        403: {"description": "Role is not worker or admin"},
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


@router.get("", response_model=CameraList, summary="Latest status of every camera that has reported",
            description="Operators see only the cameras of their grid cells (the camera's own cell or one of "
            "its zones'); supervisors and admins see all. Role: operator+.")
def list_cameras(session: SessionDep, reader: ReaderDep) -> CameraList:
    cameras = crud.list_cameras(session, reader.grids)
    return CameraList(items=[crud.to_public(c) for c in cameras], total=len(cameras))


@router.get(
    "/{camera_id}",
    response_model=CameraDetail,
    summary="Latest status of one camera, with its recent history",
    description="Role: operator+ (own grid cells).",
    responses={404: {"description": "The camera has never reported (or is not in your grid cells)"}},
)
def get_camera(camera_id: CameraId, session: SessionDep, settings: SettingsDep, reader: ReaderDep) -> CameraDetail:
    camera = crud.get_camera(session, camera_id, reader.grids)
    if camera is None:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"camera {camera_id!r} has not reported any status")
    return crud.to_detail(camera, crud.history(session, camera_id, settings.camera_history_size))


ZoneId = Annotated[str, Path(min_length=1, max_length=64, description="Zone id as configured in the worker")]
ADMIN_ONLY = "Role: admin."


def _raise(exc: registry.RegistryError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))


def _detail(session: SessionDep, camera: Camera, history_size: int) -> CameraDetail:
    return crud.to_detail(camera, crud.history(session, camera.camera_id, history_size))


@router.post(
    "",
    response_model=CameraDetail,
    status_code=201,
    summary="Register a camera",
    description="Name, address, position and default grid cell. A camera already reporting status keeps it. "
    + ADMIN_ONLY,
    responses={409: {"description": "Already registered"}, 422: {"description": "Unknown grid cell"}},
)
def register_camera(body: CameraCreate, session: WriteSessionDep, settings: SettingsDep, _admin: AdminDep,
                    clock: ClockDep) -> CameraDetail:
    try:
        camera = registry.register_camera(session, body, clock())
    except registry.RegistryError as exc:
        raise _raise(exc) from None
    return _detail(session, camera, settings.camera_history_size)


@router.patch(
    "/{camera_id}",
    response_model=CameraDetail,
    summary="Change a camera's registry fields",
    description=ADMIN_ONLY,
    responses={404: {"description": "No such camera"}, 422: {"description": "Unknown grid cell"}},
)
def update_camera(camera_id: CameraId, body: CameraUpdate, session: WriteSessionDep, settings: SettingsDep,
                  _admin: AdminDep, clock: ClockDep) -> CameraDetail:
    try:
        camera = registry.update_camera(session, camera_id, body, clock())
    except registry.RegistryError as exc:
        raise _raise(exc) from None
    return _detail(session, camera, settings.camera_history_size)


@router.delete("/{camera_id}", status_code=204, summary="Delete a camera, its zones and status history",
               description="Its work orders stay. " + ADMIN_ONLY, responses={404: {"description": "No such camera"}})
def delete_camera(camera_id: CameraId, session: WriteSessionDep, _admin: AdminDep) -> Response:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise HTTPException(404, f"camera {camera_id!r} not found")
    registry.delete(session, camera)
    return Response(status_code=204)


def _zone(z: Zone) -> ZonePublic:
    return ZonePublic(camera_id=z.camera_id, zone_id=z.zone_id, name=z.name, polygon=z.polygon, grid_cell=z.grid_cell,
                      origin=z.origin or "dashboard", kind=z.kind, rules=None if z.rules is None else list(z.rules))


@router.put(
    "/{camera_id}/registration",
    response_model=CameraRegistrationResult,
    summary="Register a camera as a worker's config has it",
    description=(
        "Workers send each camera's grid cell, address, position and zones (polygon, kind, rules) at start-up "
        "and when the config changes. The config wins until someone edits the thing in the API: a camera an "
        "admin registered or changed keeps its grid cell, address and position; a zone whose polygon was "
        "edited here (origin `dashboard`) keeps it, and workers pull it down; a zone still at origin `config` "
        "follows the file, and is deleted when the file drops it. Role: worker (or admin)."
    ),
    responses={
        401: {"description": "Bearer token missing or wrong"},
        403: {"description": "Role is not worker or admin"},
        422: {"description": "Invalid registration, or body camera_id differs from the path"},
    },
)
def put_camera_registration(camera_id: CameraId, body: CameraRegistrationIn, session: WriteSessionDep,
                            _writer: WriterDep, clock: ClockDep) -> CameraRegistrationResult:
    if body.camera_id is not None and body.camera_id != camera_id:
        raise HTTPException(
            http.HTTP_422_UNPROCESSABLE_CONTENT,
            f"body camera_id {body.camera_id!r} does not match the path camera id {camera_id!r}",
        )
    camera, zones = camera_registration.register_from_config(session, camera_id, body, clock())
    return CameraRegistrationResult(camera=crud.to_public(camera), zones=[_zone(z) for z in zones])


def _zone_reader(principal: PrincipalDep) -> Principal:
    # Workers read their cameras' zones too: they pick up edits without a restart (streams/sync/zones.py).
    if principal.role is Role.WORKER and not principal.read_only:
        return principal
    return require_role(Role.OPERATOR, write=False)(principal)


_zone_reader.every_role_may = True  # type: ignore[attr-defined]  # api.openapi: no 403 to document


@router.get("/{camera_id}/zones", response_model=list[ZonePublic], summary="List a camera's zones",
            description="Role: operator+ (own grid cells), or worker (workers sync their zones from here).",
            responses={404: {"description": "No such camera (or not in your grid cells)"}})
def list_zones(camera_id: CameraId, session: SessionDep,
               reader: Annotated[Principal, Depends(_zone_reader)]) -> list[ZonePublic]:
    if crud.get_camera(session, camera_id, reader.grids) is None:
        raise HTTPException(404, f"camera {camera_id!r} not found")
    return [_zone(z) for z in registry.list_zones(session, camera_id)]


@router.post(
    "/{camera_id}/zones",
    response_model=ZonePublic,
    status_code=201,
    summary="Add a zone to a camera",
    description="The polygon is checked like the worker's config: normalised 0..1 points, at least 3, not "
    "self-intersecting, non-zero area. " + ADMIN_ONLY,
    responses={404: {"description": "No such camera"}, 409: {"description": "Zone id already used"},
               422: {"description": "Invalid polygon or unknown grid cell"}},
)
def create_zone(camera_id: CameraId, body: ZoneCreate, session: WriteSessionDep, _admin: AdminDep) -> ZonePublic:
    try:
        return _zone(registry.create_zone(session, camera_id, body))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.get("/{camera_id}/zones/{zone_id}", response_model=ZonePublic, summary="Get one zone",
            description="Role: operator+ (own grid cells).",
            responses={404: {"description": "No such zone (or its camera is not in your grid cells)"}})
def get_zone(camera_id: CameraId, zone_id: ZoneId, session: SessionDep, reader: ReaderDep) -> ZonePublic:
    if reader.grids is not None and crud.get_camera(session, camera_id, reader.grids) is None:
        raise HTTPException(404, f"zone {zone_id!r} not found on camera {camera_id!r}")
    try:
        return _zone(registry.get_zone(session, camera_id, zone_id))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.patch("/{camera_id}/zones/{zone_id}", response_model=ZonePublic, summary="Change a zone",
              description=ADMIN_ONLY, responses={404: {"description": "No such zone"},
                                                 422: {"description": "Invalid polygon or unknown grid cell"}})
def update_zone(camera_id: CameraId, zone_id: ZoneId, body: ZoneUpdate, session: WriteSessionDep,
                _admin: AdminDep) -> ZonePublic:
    try:
        return _zone(registry.update_zone(session, camera_id, zone_id, body))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.delete("/{camera_id}/zones/{zone_id}", status_code=204, summary="Delete a zone", description=ADMIN_ONLY,
               responses={404: {"description": "No such zone"}})
def delete_zone(camera_id: CameraId, zone_id: ZoneId, session: WriteSessionDep, _admin: AdminDep) -> Response:
    try:
        registry.delete(session, registry.get_zone(session, camera_id, zone_id))
    except registry.RegistryError as exc:
        raise _raise(exc) from None
    return Response(status_code=204)
