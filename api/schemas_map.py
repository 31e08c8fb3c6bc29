"""Wire schemas of the district map: a grid cell's outline (a GeoJSON Polygon in
WGS-84, [longitude, latitude]) and what the map page reads (cells with their
baseline level, the open orders to mark).

A polygon is checked as a whole and refused with one sentence naming the first
problem (ring not closed, a position out of range, too many vertices), not
with one pydantic error per coordinate."""

from __future__ import annotations

import enum
import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas import UtcDatetime, WorkOrderPublic
from api.schemas_workflow import BaselineLevel, Period

MAX_RINGS = 16  # the outline and up to 15 holes
MAX_VERTICES = 2000  # all rings together: a grid cell's outline, not a coastline

# What the OpenAPI document shows; the validator below does the real checking.
POLYGON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "GeoJSON Polygon, WGS-84: {\"type\": \"Polygon\", \"coordinates\": [[[lon, lat], ...]]}. "
    f"Each ring closed (last position = first), at least 4 positions; at most {MAX_RINGS} rings and "
    f"{MAX_VERTICES} positions in all; longitude -180..180, latitude -90..90. The first ring is the outline, "
    "the others holes",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Polygon"]},
        "coordinates": {
            "type": "array", "minItems": 1, "maxItems": MAX_RINGS,
            "items": {"type": "array", "minItems": 4, "maxItems": MAX_VERTICES, "items": {
                "type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number", "minimum": -180, "maximum": 180},
            }},
        },
    },
}


def nullable_polygon_schema(schema: dict[str, Any]) -> None:
    """json_schema_extra of an optional polygon field: the GeoJSON shape or null."""
    description = schema.get("description")
    schema.clear()
    schema["anyOf"] = [POLYGON_SCHEMA, {"type": "null"}]
    if description:
        schema["description"] = description


class PolygonError(ValueError):
    """One sentence about the first thing wrong with a polygon."""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PolygonError(f"{what} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise PolygonError(f"{what} must be a finite number")
    return number


def _position(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise PolygonError(f"{where}: must be [longitude, latitude]")
    lon = _number(value[0], f"{where}: longitude")
    lat = _number(value[1], f"{where}: latitude")
    if len(value) == 3:
        _number(value[2], f"{where}: altitude")  # allowed by GeoJSON, not kept
    if not -180 <= lon <= 180:
        raise PolygonError(f"{where}: longitude {lon:g} is outside -180..180 (positions are [longitude, latitude])")
    if not -90 <= lat <= 90:
        raise PolygonError(f"{where}: latitude {lat:g} is outside -90..90 (positions are [longitude, latitude])")
    return [lon, lat]


def _area2(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:]))


def _ring(value: Any, index: int) -> list[list[float]]:
    name = "the outline" if index == 0 else f"hole {index}"
    if not isinstance(value, list):
        raise PolygonError(f"{name} must be a list of positions")
    if len(value) < 4:
        raise PolygonError(f"{name} has {len(value)} position(s); a closed ring needs at least 4 "
                           "(3 corners and the first one again)")
    ring = [_position(p, f"{name}, position {i + 1}") for i, p in enumerate(value)]
    if ring[0] != ring[-1]:
        raise PolygonError(f"{name} is not closed: its last position must repeat the first")
    if abs(_area2(ring)) < 1e-14:
        raise PolygonError(f"{name} has no area (its positions lie on one line)")
    return ring


def validate_polygon(value: Any) -> dict[str, Any]:
    """A GeoJSON Polygon (as parsed from JSON) -> the same, with positions as [lon, lat] floats;
    :class:`PolygonError` with one sentence otherwise."""
    if not isinstance(value, dict) or value.get("type") != "Polygon":
        raise PolygonError('must be a GeoJSON Polygon: {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}')
    extra = sorted(set(value) - {"type", "coordinates", "bbox"})
    if extra:
        raise PolygonError(f"unknown member {extra[0]!r} (a Polygon has type and coordinates)")
    rings = value.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise PolygonError("coordinates must be a non-empty list of rings")
    if len(rings) > MAX_RINGS:
        raise PolygonError(f"{len(rings)} rings; at most {MAX_RINGS} (the outline and its holes)")
    total = sum(len(r) for r in rings if isinstance(r, list))
    if total > MAX_VERTICES:
        raise PolygonError(f"{total} positions; at most {MAX_VERTICES} (simplify the outline)")
    return {"type": "Polygon", "coordinates": [_ring(r, i) for i, r in enumerate(rings)]}


def centroid(polygon: dict[str, Any]) -> tuple[float, float]:
    """(lon, lat) of the outline's area centroid (a point for labels and markers)."""
    ring = polygon["coordinates"][0]
    area2 = _area2(ring)
    cx = sum((a[0] + b[0]) * (a[0] * b[1] - b[0] * a[1]) for a, b in zip(ring, ring[1:]))
    cy = sum((a[1] + b[1]) * (a[0] * b[1] - b[0] * a[1]) for a, b in zip(ring, ring[1:]))
    return cx / (3 * area2), cy / (3 * area2)


# ---- what the map page reads -----------------------------------------------------------------

class MapUnit(str, enum.Enum):
    """Whose baseline colours a cell: its own, or its community's (the seeds' wall map)."""

    GRID_CELL = "grid_cell"
    COMMUNITY = "community"


class CellBaseline(BaseModel):
    level: BaselineLevel = Field(description="alert (above its mean: summoned), warning (near it), normal, "
                                             "no_history; no_history too for a cell without orders")
    current: int = Field(description="Orders in the current period")
    mean: float | None = Field(description="Mean per period over the history (null: no past period)")
    ratio: float | None
    periods: int = Field(description="Past periods the mean covers")


class GridCellFacts(BaseModel):
    """What a grid cell is, as the API shows it: the cell list and the district map's cell properties."""

    code: str
    name: str | None
    admin_area: str | None
    street: str | None
    community: str | None
    team_code: str | None
    manager: str | None


class MapCellProperties(GridCellFacts):
    open: int = Field(description="Orders not closed or rejected")
    overdue: int = Field(description="Open orders past their deadline")
    baseline: CellBaseline


class MapCellFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] | None = Field(description="The cell's GeoJSON Polygon; null: not drawn yet")
    properties: MapCellProperties


class MapCells(BaseModel):
    """A GeoJSON FeatureCollection (cells without an outline have a null geometry) with the baseline's terms."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    unit: MapUnit = Field(description="grid_cell: each cell's own baseline; community: its community's (all its "
                                      "cells' orders against the community's mean)")
    period: Period
    history: int
    period_start: UtcDatetime
    at: UtcDatetime
    warn_ratio: float
    alert_ratio: float
    features: list[MapCellFeature]


class MapOrders(BaseModel):
    items: list[WorkOrderPublic] = Field(description="Open orders (not closed or rejected), newest detection first")
    total: int = Field(description="All open orders in scope (items may be fewer: limit)")
