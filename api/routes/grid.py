"""Grid cells and teams: the map new orders are routed by (zone -> grid cell
-> team/department). Admins maintain it; operators read their own cells."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from api.crud import district_map, registry, stats
from api.deps import AdminDep, ClockDep, ReaderDep, SessionDep, SettingsDep, WriteSessionDep
from api.db.models import GridCell, Team
from api.routes.stats import baseline_query, date_range_checked
from api.schemas import InputDatetime
from api.schemas_map import MapCells, MapOrders, MapUnit
from api.schemas_registry import GridCellCreate, GridCellPublic, GridCellUpdate, TeamCreate, TeamPublic, TeamUpdate
from api.schemas_workflow import BaselineUnit, Period

router = APIRouter(tags=["grid"])
CodePath = Annotated[str, Path(min_length=1, max_length=64, description="Code")]
ADMIN_ONLY = "Role: admin."


def _raise(exc: registry.RegistryError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))


def _team(t: Team) -> TeamPublic:
    return TeamPublic(code=t.code, name=t.name, department=t.department, contact=t.contact)


def _cell(c: GridCell) -> GridCellPublic:
    return GridCellPublic(code=c.code, name=c.name, admin_area=c.admin_area, street=c.street,
                          community=c.community, team_code=c.team_code, manager=c.manager, polygon=c.polygon)


@router.get("/teams", response_model=list[TeamPublic], summary="List teams", description="Role: operator+.")
def list_teams(session: SessionDep, _reader: ReaderDep) -> list[TeamPublic]:
    return [_team(t) for t in registry.list_teams(session)]


@router.post("/teams", response_model=TeamPublic, status_code=201, summary="Create a team",
             description=ADMIN_ONLY, responses={409: {"description": "Code already used"}})
def create_team(body: TeamCreate, session: WriteSessionDep, _admin: AdminDep) -> TeamPublic:
    try:
        return _team(registry.create_team(session, body))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.get("/teams/{code}", response_model=TeamPublic, summary="Get a team", description="Role: operator+.",
            responses={404: {"description": "No such team"}})
def get_team(code: CodePath, session: SessionDep, _reader: ReaderDep) -> TeamPublic:
    team = session.get(Team, code)
    if team is None:
        raise HTTPException(404, f"team {code!r} not found")
    return _team(team)


@router.patch("/teams/{code}", response_model=TeamPublic, summary="Change a team", description=ADMIN_ONLY,
              responses={404: {"description": "No such team"}})
def update_team(code: CodePath, body: TeamUpdate, session: WriteSessionDep, _admin: AdminDep) -> TeamPublic:
    try:
        return _team(registry.update_team(session, code, body))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.delete("/teams/{code}", status_code=204, summary="Delete a team",
               description="Grid cells routed to it become unrouted. " + ADMIN_ONLY,
               responses={404: {"description": "No such team"}})
def delete_team(code: CodePath, session: WriteSessionDep, _admin: AdminDep) -> Response:
    team = session.get(Team, code)
    if team is None:
        raise HTTPException(404, f"team {code!r} not found")
    registry.delete(session, team)
    return Response(status_code=204)


@router.get("/grid-cells", response_model=list[GridCellPublic], summary="List grid cells",
            description="Operators see only their own cells. Role: operator+.")
def list_grid_cells(session: SessionDep, reader: ReaderDep) -> list[GridCellPublic]:
    return [_cell(c) for c in registry.list_grid_cells(session, reader.grids)]


@router.post("/grid-cells", response_model=GridCellPublic, status_code=201, summary="Create a grid cell",
             description=ADMIN_ONLY,
             responses={409: {"description": "Code already used"}, 422: {"description": "Unknown team"}})
def create_grid_cell(body: GridCellCreate, session: WriteSessionDep, _admin: AdminDep) -> GridCellPublic:
    try:
        return _cell(registry.create_grid_cell(session, body))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.get("/grid-cells/{code}", response_model=GridCellPublic, summary="Get a grid cell",
            description="Role: operator+ (own cells).", responses={404: {"description": "No such grid cell"}})
def get_grid_cell(code: CodePath, session: SessionDep, reader: ReaderDep) -> GridCellPublic:
    cell = session.get(GridCell, code)
    if cell is None or not reader.sees_grid(code):
        raise HTTPException(404, f"grid cell {code!r} not found")
    return _cell(cell)


@router.patch("/grid-cells/{code}", response_model=GridCellPublic, summary="Change a grid cell",
              description=ADMIN_ONLY,
              responses={404: {"description": "No such grid cell"}, 422: {"description": "Unknown team"}})
def update_grid_cell(code: CodePath, body: GridCellUpdate, session: WriteSessionDep,
                     _admin: AdminDep) -> GridCellPublic:
    try:
        return _cell(registry.update_grid_cell(session, code, body))
    except registry.RegistryError as exc:
        raise _raise(exc) from None


@router.delete("/grid-cells/{code}", status_code=204, summary="Delete a grid cell", description=ADMIN_ONLY,
               responses={404: {"description": "No such grid cell"}})
def delete_grid_cell(code: CodePath, session: WriteSessionDep, _admin: AdminDep) -> Response:
    cell = session.get(GridCell, code)
    if cell is None:
        raise HTTPException(404, f"grid cell {code!r} not found")
    registry.delete(session, cell)
    return Response(status_code=204)


# The district map (issue 17) ------------------------------------------------------------------

@router.get(
    "/map/cells", response_model=MapCells,
    summary="Grid cells as GeoJSON features with their open orders and baseline level",
    description=(
        "A FeatureCollection: one feature per grid cell (geometry null for a cell without an outline), with its "
        "open and overdue orders and its baseline for the period containing `at`: this period's orders against "
        "the mean of the previous `history` periods, as `GET /stats/baselines?unit=grid_cell` (`alert`: above the "
        "mean, the community is summoned; `warning`: near it). `unit=community` gives every cell its community's "
        "baseline instead: all the community's orders against its own mean. The seeds' wall map is "
        "`unit=community&period=month&history=36`. "
        "Operators get only their grid cells. Role: operator+."
    ),
)
def get_map_cells(
    session: SessionDep, reader: ReaderDep, settings: SettingsDep, clock: ClockDep,
    unit: MapUnit = MapUnit.GRID_CELL,
    period: Period = Period.MONTH,
    history: Annotated[int, Query(ge=1, le=400, description="Past periods in the mean")] = 36,
    at: Annotated[InputDatetime | None, Query(description="Default: now")] = None,
) -> MapCells:
    now = clock()
    when = at or now
    query = baseline_query(settings, reader, BaselineUnit.GRID_CELL, period, history, when)
    with date_range_checked():
        start, features = district_map.cells(session, stats.Calendar(settings.site_zone), query, now, unit)
    return MapCells(unit=unit, period=period, history=history, period_start=start, at=when,
                    warn_ratio=settings.baseline_warn_ratio, alert_ratio=settings.baseline_alert_ratio,
                    features=features)


@router.get("/map/orders", response_model=MapOrders, summary="Open orders to mark on the map",
            description="Orders not closed or rejected, newest detection first (`limit` of them; `total` counts "
            "all). A marker goes at the order's latitude/longitude (its camera's), else at its grid cell. "
            "Operators get only their grid cells. Role: operator+.")
def get_map_orders(session: SessionDep, reader: ReaderDep, clock: ClockDep,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> MapOrders:
    items, total = district_map.open_orders(session, reader, clock(), limit)
    return MapOrders(items=items, total=total)
