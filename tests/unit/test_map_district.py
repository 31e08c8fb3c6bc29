"""The demo district (gridsight/demo/district.geojson) and its loader: valid outlines that
tile (neighbours share their corners, so the map can trace community and street
borders), GC-0101-07 with the demo camera inside it, and a load through the API that
keeps what an admin already has."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from gridsight.demo.district import DISTRICT_FILE, load_into, read_district
from tests.support.ops import ADMIN, SUP

REPO = Path(__file__).resolve().parents[2]


def _inside(point: tuple[float, float], ring: list[list[float]]) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _edges(cells: list[dict]) -> Counter:
    edges: Counter = Counter()
    for cell in cells:
        ring = cell["polygon"]["coordinates"][0]
        edges.update(tuple(sorted((tuple(a), tuple(b)))) for a, b in zip(ring, ring[1:]))
    return edges


def test_the_district_is_twelve_valid_cells_in_three_communities_of_two_streets() -> None:
    cells, cameras = read_district()
    assert len(cells) == 12 and "GC-0101-07" in {c["code"] for c in cells}
    assert {c["community"] for c in cells} == {"翠园社区 Cuiyuan", "金桥社区 Jinqiao", "南湖社区 Nanhu"}
    assert {c["street"] for c in cells} == {"玉山街道 Yushan", "亭林街道 Tinglin"}
    # A tiling: every inner edge is shared by exactly two cells, the outline's 16 edges belong to one.
    edges = _edges(cells)
    assert set(edges.values()) == {1, 2} and sum(1 for n in edges.values() if n == 1) == 16
    (camera,) = cameras
    assert camera["camera_id"] == "street-01" and camera["grid_cell"] == "GC-0101-07"
    home = next(c for c in cells if c["code"] == "GC-0101-07")
    assert _inside((camera["longitude"], camera["latitude"]), home["polygon"]["coordinates"][0])
    others = [c for c in cells if c["code"] != "GC-0101-07"]
    assert not any(_inside((camera["longitude"], camera["latitude"]), c["polygon"]["coordinates"][0]) for c in others)


def test_the_district_file_is_shipped_with_the_package() -> None:
    import tomllib

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    assert any((REPO / "gridsight").glob(p) for p in patterns["gridsight"]) and DISTRICT_FILE.is_file()


def test_loading_fills_an_empty_api_and_keeps_what_an_admin_changed(ops: TestClient) -> None:
    ops.headers.update(ADMIN)
    first = load_into(ops)
    assert len(first.created) == 12 and first.cameras_placed == ["street-01"]
    camera = ops.get("/api/v1/cameras/street-01", headers=SUP).json()
    assert camera["grid_cell"] == "GC-0101-07" and camera["latitude"] is not None

    # An admin moves one cell's outline and clears another's; the camera moves too.
    moved = {"type": "Polygon", "coordinates": [[[121, 31], [121.01, 31], [121.01, 31.01], [121, 31]]]}
    ops.patch("/api/v1/grid-cells/GC-0101-01", json={"polygon": moved})
    ops.patch("/api/v1/grid-cells/GC-0101-02", json={"polygon": None})
    ops.patch("/api/v1/cameras/street-01", json={"latitude": 30.0, "longitude": 120.0})
    again = load_into(ops)
    assert again.created == [] and again.outlined == ["GC-0101-02"] and len(again.kept) == 11
    assert again.cameras_placed == []
    assert ops.get("/api/v1/grid-cells/GC-0101-01").json()["polygon"] == moved
    assert ops.get("/api/v1/grid-cells/GC-0101-02").json()["polygon"] is not None
    assert ops.get("/api/v1/cameras/street-01").json()["latitude"] == 30.0
    assert "12 grid cell(s)" in again.summary() and "1 given an outline" in again.summary()


def test_an_order_filed_after_loading_carries_the_cameras_position(ops: TestClient) -> None:
    from tests.support.ops import file_order

    ops.headers.update(ADMIN)
    load_into(ops)
    order = file_order(ops, 1, camera_id="street-01", grid_cell="GC-0101-07")
    assert (order["latitude"], order["longitude"]) == (
        ops.get("/api/v1/cameras/street-01").json()["latitude"], ops.get("/api/v1/cameras/street-01").json()["longitude"])
    assert order["community"] == "翠园社区 Cuiyuan"
