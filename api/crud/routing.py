"""Grid routing: zone -> grid cell -> team -> department.

The registry (zones, cameras, grid cells, teams) wins over what the worker
sent; a worker's ``grid_cell`` is only used for cameras nobody registered,
so an unconfigured site still files orders (routed nowhere, visible to
supervisors)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.db.models import Camera, GridCell, Team, Zone


@dataclass(frozen=True)
class Route:
    grid_cell: str | None = None
    admin_area: str | None = None
    street: str | None = None
    community: str | None = None
    team: str | None = None
    department: str | None = None
    assignee: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None


# Built once (every new order is routed): constructing a statement costs more CPU than running it.
_ZONE = select(Zone).where(Zone.camera_id == bindparam("camera_id"), Zone.zone_id == bindparam("zone_id"))


def route(session: Session, camera_id: str, zone_id: str, worker_grid_cell: str | None) -> Route:
    camera = session.get(Camera, camera_id)
    zone = session.scalars(_ZONE, {"camera_id": camera_id, "zone_id": zone_id}).one_or_none()
    grid_code = (zone.grid_cell if zone else None) or (camera.grid_cell if camera else None) or worker_grid_cell
    cell = session.get(GridCell, grid_code) if grid_code else None
    team = session.get(Team, cell.team_code) if cell is not None and cell.team_code else None
    return Route(
        grid_cell=grid_code,
        admin_area=cell.admin_area if cell else None,
        street=cell.street if cell else None,
        community=cell.community if cell else None,
        team=team.code if team else None,
        department=team.department if team else None,
        assignee=cell.manager if cell else None,
        address=camera.address if camera else None,
        latitude=camera.latitude if camera else None,
        longitude=camera.longitude if camera else None,
    )
