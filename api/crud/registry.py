"""The registry behind grid routing: teams, grid cells, registered cameras and
their zones, and webhook subscriptions. Plain create/read/update/delete; the
routes turn :class:`RegistryError` into 404/409/422."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.contract.wire import ZONE_ORIGIN_DASHBOARD
from api.db.models import Base, Camera, GridCell, Team, Webhook, Zone
from api.schemas_registry import CameraCreate, GridCellCreate, TeamCreate, ZoneCreate

M = TypeVar("M", bound=Base)


class RegistryError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _commit(session: Session, conflict: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise RegistryError(409, conflict) from None


def _require(session: Session, model: type[M], key: Any, what: str) -> M:
    row = session.get(model, key)
    if row is None:
        raise RegistryError(404, f"{what} {key!r} not found")
    return row


def _check_refs(session: Session, *, team_code: str | None = None, grid_cell: str | None = None) -> None:
    # Checked here rather than left to the foreign key: SQLite and PostgreSQL word the
    # failure differently, and the caller deserves to know which reference is wrong.
    if team_code is not None and session.get(Team, team_code) is None:
        raise RegistryError(422, f"team {team_code!r} does not exist; create it first")
    if grid_cell is not None and session.get(GridCell, grid_cell) is None:
        raise RegistryError(422, f"grid cell {grid_cell!r} does not exist; create it first")


def _apply(row: Base, changes: BaseModel, required: tuple[str, ...] = ()) -> None:
    values = changes.model_dump(exclude_unset=True)
    for name in required:
        if name in values and values[name] is None:
            raise RegistryError(422, f"{name} cannot be null")
    for name, value in values.items():
        setattr(row, name, value)


# Teams ---------------------------------------------------------------------------------------

def create_team(session: Session, body: TeamCreate) -> Team:
    if session.get(Team, body.code) is not None:
        raise RegistryError(409, f"team {body.code!r} already exists")
    team = Team(**body.model_dump())
    session.add(team)
    _commit(session, f"team {body.code!r} already exists")
    return team


def update_team(session: Session, code: str, changes: BaseModel) -> Team:
    team = _require(session, Team, code, "team")
    _apply(team, changes, ("name", "department"))
    session.commit()
    return team


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.code)))


# Grid cells ----------------------------------------------------------------------------------

def create_grid_cell(session: Session, body: GridCellCreate) -> GridCell:
    if session.get(GridCell, body.code) is not None:
        raise RegistryError(409, f"grid cell {body.code!r} already exists")
    _check_refs(session, team_code=body.team_code)
    cell = GridCell(**body.model_dump())
    session.add(cell)
    _commit(session, f"grid cell {body.code!r} already exists")
    return cell


def update_grid_cell(session: Session, code: str, changes: BaseModel) -> GridCell:
    cell = _require(session, GridCell, code, "grid cell")
    _check_refs(session, team_code=getattr(changes, "team_code", None))
    _apply(cell, changes)
    session.commit()
    return cell


def list_grid_cells(session: Session, grids: frozenset[str] | None) -> list[GridCell]:
    stmt = select(GridCell).order_by(GridCell.code)
    if grids is not None:
        stmt = stmt.where(GridCell.code.in_(sorted(grids)))
    return list(session.scalars(stmt))


# Cameras -------------------------------------------------------------------------------------

def register_camera(session: Session, body: CameraCreate, now: dt.datetime) -> Camera:
    """Register a camera; one that already reported status keeps its status."""
    camera = session.get(Camera, body.camera_id)
    if camera is not None and camera.registered_at is not None:
        raise RegistryError(409, f"camera {body.camera_id!r} is already registered; PATCH it instead")
    _check_refs(session, grid_cell=body.grid_cell)
    if camera is None:
        camera = Camera(camera_id=body.camera_id, attempt=0, details={}, updated_at=now)
        session.add(camera)
    _apply(camera, body)
    camera.registered_at = now
    camera.updated_at = now
    _commit(session, f"camera {body.camera_id!r} already exists")
    return camera


def update_camera(session: Session, camera_id: str, changes: BaseModel, now: dt.datetime) -> Camera:
    camera = _require(session, Camera, camera_id, "camera")
    _check_refs(session, grid_cell=getattr(changes, "grid_cell", None))
    _apply(camera, changes)
    camera.registered_at = camera.registered_at or now
    camera.updated_at = now
    session.commit()
    return camera


# Zones ---------------------------------------------------------------------------------------

def get_zone(session: Session, camera_id: str, zone_id: str) -> Zone:
    zone = session.scalars(select(Zone).where(Zone.camera_id == camera_id, Zone.zone_id == zone_id)).one_or_none()
    if zone is None:
        raise RegistryError(404, f"zone {zone_id!r} not found on camera {camera_id!r}")
    return zone


def list_zones(session: Session, camera_id: str) -> list[Zone]:
    return list(session.scalars(select(Zone).where(Zone.camera_id == camera_id).order_by(Zone.zone_id)))


def create_zone(session: Session, camera_id: str, body: ZoneCreate) -> Zone:
    _require(session, Camera, camera_id, "camera")
    _check_refs(session, grid_cell=body.grid_cell)
    exists = session.scalars(select(Zone.id).where(Zone.camera_id == camera_id, Zone.zone_id == body.zone_id)).first()
    if exists is not None:
        raise RegistryError(409, f"zone {body.zone_id!r} already exists on camera {camera_id!r}")
    zone = Zone(camera_id=camera_id, **body.model_dump())
    session.add(zone)
    _commit(session, f"zone {body.zone_id!r} already exists on camera {camera_id!r}")
    return zone


def update_zone(session: Session, camera_id: str, zone_id: str, changes: BaseModel) -> Zone:
    zone = get_zone(session, camera_id, zone_id)
    _check_refs(session, grid_cell=getattr(changes, "grid_cell", None))
    _apply(zone, changes, ("polygon",))
    if "polygon" in changes.model_fields_set:
        # Issue 17: an edited polygon is the API's from now on; a worker's registration no longer moves it.
        zone.origin = ZONE_ORIGIN_DASHBOARD
    session.commit()
    return zone


# Webhooks ------------------------------------------------------------------------------------

def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.id)))


def delete(session: Session, row: Base) -> None:
    session.delete(row)
    session.commit()
