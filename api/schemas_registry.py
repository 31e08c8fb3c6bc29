"""Wire schemas of the registry: teams, grid cells, cameras, zones, webhooks.
Admins write these; the routing of new orders reads them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import JsonInput, UtcDatetime
from api.schemas_map import GridCellFacts, PolygonError, nullable_polygon_schema, validate_polygon

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.\-]+$")]
Text64 = Annotated[str, Field(min_length=1, max_length=64)]
Text128 = Annotated[str, Field(min_length=1, max_length=128)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


def _no_default(schema: dict) -> None:
    # An optional field that may not be null: "omit to keep" has no default value to document.
    schema.pop("default", None)


class TeamCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Text128
    department: Text128 = Field(description="Department the team belongs to (e.g. 城管, 环卫)")
    contact: Text128 | None = None


class TeamUpdate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    # Leave a field out to keep it; a team always has a name and a department, so null is no value here.
    name: Text128 = Field(default=None, description="Omit to keep", json_schema_extra=_no_default)  # type: ignore[assignment]
    department: Text128 = Field(default=None, description="Omit to keep",  # type: ignore[assignment]
                                json_schema_extra=_no_default)
    contact: Text128 | None = None


class TeamPublic(BaseModel):
    code: str
    name: str
    department: str
    contact: str | None


class GridCellCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    code: Code = Field(description="Grid cell id, as in work orders' grid_cell")
    name: Text128 | None = None
    admin_area: Text64 | None = Field(default=None, description="District")
    street: Text64 | None = Field(default=None, description="Sub-district (街道)")
    community: Text64 | None = Field(default=None, description="Community (社区)")
    team_code: Code | None = Field(default=None, description="Team new orders in this cell go to")
    manager: Text64 | None = Field(default=None, description="Grid manager; the default assignee")
    polygon: dict[str, Any] | None = Field(default=None, json_schema_extra=nullable_polygon_schema,
                                           description="The cell's outline on the map (GeoJSON Polygon, WGS-84)")

    @field_validator("polygon", mode="before")
    @classmethod
    def _outline(cls, value: Any) -> Any:
        return _geo_polygon(value)


def _geo_polygon(value: Any) -> Any:
    if value is None:
        return None
    try:
        return validate_polygon(value)
    except PolygonError as exc:
        raise ValueError(str(exc)) from None


class GridCellUpdate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    name: Text128 | None = None
    admin_area: Text64 | None = None
    street: Text64 | None = None
    community: Text64 | None = None
    team_code: Code | None = None
    manager: Text64 | None = None
    polygon: dict[str, Any] | None = Field(default=None, json_schema_extra=nullable_polygon_schema,
                                           description="GeoJSON Polygon (WGS-84); null removes the outline")

    @field_validator("polygon", mode="before")
    @classmethod
    def _outline(cls, value: Any) -> Any:
        return _geo_polygon(value)


class GridCellPublic(GridCellFacts):
    polygon: dict[str, Any] | None = Field(default=None, json_schema_extra=nullable_polygon_schema,
                                           description="Outline on the map (GeoJSON Polygon, WGS-84); null: none yet")


class CameraCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    camera_id: Code
    name: Text128 | None = None
    address: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    grid_cell: Code | None = Field(default=None, description="Default grid cell for zones that name none")
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class CameraUpdate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    name: Text128 | None = None
    address: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    grid_cell: Code | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None


Point = Annotated[list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]], Field(min_length=2, max_length=2)]


def valid_polygon(points: list[list[float]]) -> list[list[float]]:
    # The same geometry checks the worker's config loader runs (normalised, simple, non-degenerate).
    from inference.zones import ZoneGeometryError, validate_polygon

    try:
        return [[float(x), float(y)] for x, y in validate_polygon(points).tolist()]
    except ZoneGeometryError as exc:
        raise ValueError(str(exc)) from None


class ZoneCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    zone_id: Code
    name: Text128 | None = None
    polygon: list[Point] = Field(
        min_length=3, max_length=64, description="Normalised [x, y] points (0..1, origin top-left), not self-crossing"
    )
    grid_cell: Code | None = Field(default=None, description="Grid cell; null: the camera's")

    @field_validator("polygon")
    @classmethod
    def _poly(cls, value: list[list[float]]) -> list[list[float]]:
        return valid_polygon(value)


class ZoneUpdate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    name: Text128 | None = None
    polygon: list[Point] = Field(default=None, min_length=3, max_length=64,  # type: ignore[assignment]
                                 description="Omit to keep; never null", json_schema_extra=_no_default)
    grid_cell: Code | None = None

    @field_validator("polygon")
    @classmethod
    def _poly(cls, value: list[list[float]] | None) -> list[list[float]] | None:
        return None if value is None else valid_polygon(value)


class ZonePublic(BaseModel):
    camera_id: str
    zone_id: str
    name: str | None
    polygon: list[list[float]]
    grid_cell: str | None = Field(description="As registered (null: the camera's grid cell applies)")
    origin: str = Field(default="dashboard", description="'config': as the worker's config file has it (a worker "
                        "registered it; it follows the file); 'dashboard': made or edited in the API, which wins")
    kind: str | None = Field(default=None, description="The worker config's zone kind (null: never registered)")
    rules: list[str] | None = Field(default=None, description="Rules of the worker config watching it (null: unknown)")


class WebhookCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=8, max_length=512, pattern=r"^https?://[^\s]+$")]
    events: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=32, description="Timeline actions to send (e.g. created, transition); empty: all"
    )
    description: Annotated[str, Field(max_length=256)] | None = None
    active: bool = True


class WebhookPublic(BaseModel):
    id: int
    url: str = Field(description="The target; credentials in it (user:password@) are shown masked as ***")
    events: list[str]
    description: str | None
    active: bool
    created_at: UtcDatetime


class WebhookDeliveryPublic(BaseModel):
    id: int
    timeline_entry_id: int
    state: str = Field(description="pending, delivered or failed (gave up after the last attempt)")
    attempts: int
    next_attempt_at: UtcDatetime
    last_status: int | None
    last_error: str | None
    delivered_at: UtcDatetime | None
