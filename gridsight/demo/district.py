"""The demo's district map: twelve grid cells in three communities of two streets,
and the demo camera's position (gridsight/demo/district.geojson), put into a
running API through its own endpoints so `gridsight demo` shows a populated map.

Kept data wins: a grid cell that exists keeps what it has (only a missing
outline is filled in) and a camera that has a position keeps it, so an admin's
edits survive the next demo run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.schemas_map import validate_polygon

DISTRICT_FILE = Path(__file__).resolve().with_name("district.geojson")
CELL_FIELDS = ("name", "admin_area", "street", "community", "manager")


@dataclass
class DistrictLoaded:
    created: list[str] = field(default_factory=list)
    outlined: list[str] = field(default_factory=list)  # existed without an outline; given this one
    kept: list[str] = field(default_factory=list)
    cameras_placed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        cells = len(self.created) + len(self.outlined) + len(self.kept)
        parts = [f"{cells} grid cell(s)"]
        if self.created:
            parts.append(f"{len(self.created)} added")
        if self.outlined:
            parts.append(f"{len(self.outlined)} given an outline")
        if self.kept:
            parts.append(f"{len(self.kept)} kept as they were")
        if self.cameras_placed:
            parts.append("camera(s) placed: " + ", ".join(self.cameras_placed))
        return "; ".join(parts)


def read_district(path: Path = DISTRICT_FILE) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(grid cells as grid-cell API bodies, cameras as {camera_id, latitude, longitude, ...})."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    cells, cameras = [], []
    for feature in doc["features"]:
        props = feature["properties"]
        if props.get("kind") == "camera":
            lon, lat = feature["geometry"]["coordinates"]
            cameras.append({"camera_id": props["camera_id"], "name": props.get("name"), "grid_cell": props.get("grid_cell"),
                            "address": props.get("address"), "latitude": lat, "longitude": lon})
        else:
            body = {"code": props["code"], **{k: props[k] for k in CELL_FIELDS if props.get(k)}}
            body["polygon"] = validate_polygon(feature["geometry"])
            cells.append(body)
    return cells, cameras


def _cell(client: httpx.Client, body: dict[str, Any], loaded: DistrictLoaded) -> None:
    created = client.post("/api/v1/grid-cells", json=body)
    if created.status_code == 201:
        loaded.created.append(body["code"])
        return
    if created.status_code != 409:
        created.raise_for_status()
    existing = client.get(f"/api/v1/grid-cells/{body['code']}")
    existing.raise_for_status()
    if existing.json().get("polygon") is None:
        client.patch(f"/api/v1/grid-cells/{body['code']}", json={"polygon": body["polygon"]}).raise_for_status()
        loaded.outlined.append(body["code"])
    else:
        loaded.kept.append(body["code"])


def _camera(client: httpx.Client, cam: dict[str, Any], loaded: DistrictLoaded) -> None:
    found = client.get(f"/api/v1/cameras/{cam['camera_id']}")
    if found.status_code == 404:
        body = {k: v for k, v in cam.items() if v is not None}
        client.post("/api/v1/cameras", json=body).raise_for_status()
    elif found.json().get("latitude") is None:
        position = {"latitude": cam["latitude"], "longitude": cam["longitude"]}
        client.patch(f"/api/v1/cameras/{cam['camera_id']}", json=position).raise_for_status()
    else:
        return
    loaded.cameras_placed.append(cam["camera_id"])


def load_into(client: httpx.Client, path: Path = DISTRICT_FILE) -> DistrictLoaded:
    """Put the district into the API ``client`` talks to (as an admin, or in dev mode)."""
    cells, cameras = read_district(path)
    loaded = DistrictLoaded()
    for body in cells:
        _cell(client, body, loaded)
    for cam in cameras:
        _camera(client, cam, loaded)
    return loaded


def install_demo_district(api_url: str, *, headers: dict[str, str] | None = None, timeout_s: float = 10.0,
                          path: Path = DISTRICT_FILE) -> DistrictLoaded:
    """Put the demo district into the API at ``api_url`` (an admin's token in ``headers``, or dev mode)."""
    with httpx.Client(base_url=api_url, headers=headers, timeout=timeout_s) as client:
        return load_into(client, path)


def show_demo_district(api_url: str) -> None:
    """What `gridsight demo` calls once the API is up, before the worker files its first order (an
    order takes its camera's position when it is filed): one line saying what the map got."""
    try:
        print(f"district map: {install_demo_district(api_url).summary()}  ({api_url}/dashboard/map)", flush=True)
    except httpx.HTTPError as exc:
        print(f"warning: the demo district was not loaded ({exc}); the map stays empty", flush=True)
