"""The district map's API (issue 17): grid cells carry a GeoJSON outline (checked, one
sentence per refusal), the map reads cells with their baseline level and the open
orders, in the reader's grid scope; the migration adds and removes the column; the
map page, its vendored Leaflet and the optional tile server's CSP."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.db.engine import make_engine
from api.db.migrate import _config, current, head, upgrade
from api.main import create_app
from api.routes.dashboard import STATIC_DIR
from api.schemas_map import MAX_VERTICES, PolygonError, centroid, validate_polygon
from api.settings import SettingsInvalid, load_settings
from tests.support.ops import ADMIN, OP_A, SUP, T0, file_order, move, secured_settings
from tests.support.orders import make_settings

REPO = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIR / "vendor" / "leaflet-1.9.4"
UTC = dt.timezone.utc


def square(lon: float = 120.95, lat: float = 31.38, size: float = 0.004) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def add_cell(client: TestClient, code: str, polygon: dict | None = None, **extra) -> dict:
    response = client.post("/api/v1/grid-cells", json={"code": code, "polygon": polygon or square(), **extra},
                           headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


# ---- polygons through the grid-cell API ----------------------------------------------------------

def test_a_grid_cell_keeps_its_outline_through_create_read_update_and_clear(ops: TestClient) -> None:
    created = add_cell(ops, "cell-a", square(), community="翠园社区", street="玉山街道")
    assert created["polygon"] == square()
    assert ops.get("/api/v1/grid-cells/cell-a", headers=SUP).json()["polygon"] == square()
    moved = square(121.0, 31.0, 0.002)
    assert ops.patch("/api/v1/grid-cells/cell-a", json={"polygon": moved}, headers=ADMIN).json()["polygon"] == moved
    # Leaving it out keeps it; null removes it.
    assert ops.patch("/api/v1/grid-cells/cell-a", json={"manager": "li.wei"}, headers=ADMIN).json()["polygon"] == moved
    assert ops.patch("/api/v1/grid-cells/cell-a", json={"polygon": None}, headers=ADMIN).json()["polygon"] is None
    listed = ops.get("/api/v1/grid-cells", headers=SUP).json()
    assert [(c["code"], c["polygon"]) for c in listed] == [("cell-a", None)]


def test_positions_are_stored_as_lon_lat_floats_and_an_altitude_is_dropped(ops: TestClient) -> None:
    ring = [[120, 31, 5], [121, 31, 5], [121, 32, 5], [120, 31, 5]]
    cell = add_cell(ops, "cell-z", {"type": "Polygon", "coordinates": [ring]})
    assert cell["polygon"]["coordinates"] == [[[120.0, 31.0], [121.0, 31.0], [121.0, 32.0], [120.0, 31.0]]]


OPEN_RING = [[0, 0], [1, 0], [1, 1], [0, 1]]
BAD = {
    "not closed": ({"type": "Polygon", "coordinates": [OPEN_RING]}, "the outline is not closed"),
    "too few": ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "has 3 position(s)"),
    "latitude": ({"type": "Polygon", "coordinates": [[[0, 0], [1, 95], [1, 1], [0, 0]]]},
                 "the outline, position 2: latitude 95 is outside -90..90"),
    "longitude": ({"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]},
                  "position 2: longitude 181 is outside -180..180"),
    "swapped hole": ({"type": "Polygon", "coordinates": [square()["coordinates"][0], [[0, 0], [0, 1], [1, 1], [0, 0.5]]]},
                     "hole 1 is not closed"),
    "too many": ({"type": "Polygon", "coordinates": [[[0, 0]] + [[1, i / MAX_VERTICES] for i in range(MAX_VERTICES)] + [[0, 0]]]},
                 f"at most {MAX_VERTICES}"),
    "flat": ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}, "has no area"),
    "point": ({"type": "Point", "coordinates": [0, 0]}, "must be a GeoJSON Polygon"),
    "text": ({"type": "Polygon", "coordinates": [[["0", 0], [1, 0], [1, 1], ["0", 0]]]}, "longitude must be a number"),
    "boolean": ({"type": "Polygon", "coordinates": [[[True, 0], [1, 0], [1, 1], [True, 0]]]}, "must be a number"),
    "extra member": ({"type": "Polygon", "coordinates": [square()["coordinates"][0]], "crs": "EPSG:3857"},
                     "unknown member 'crs'"),
    "no rings": ({"type": "Polygon", "coordinates": []}, "non-empty list of rings"),
    "not an object": ([[0, 0], [1, 0], [1, 1], [0, 0]], "must be a GeoJSON Polygon"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_polygon_is_refused_with_one_sentence(ops: TestClient, case: str) -> None:
    polygon, expected = BAD[case]
    response = ops.post("/api/v1/grid-cells", json={"code": "cell-x", "polygon": polygon}, headers=ADMIN)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert len(detail) == 1 and detail[0]["loc"] == ["body", "polygon"]
    message = detail[0]["msg"]
    assert expected in message and "\n" not in message and len(message) < 200, message
    # PATCH checks the same way, and a refused change leaves the cell as it was.
    add_cell(ops, "cell-y")
    patched = ops.patch("/api/v1/grid-cells/cell-y", json={"polygon": polygon}, headers=ADMIN)
    assert patched.status_code == 422 and expected in patched.json()["detail"][0]["msg"]
    assert ops.get("/api/v1/grid-cells/cell-y", headers=SUP).json()["polygon"] == square()


def test_validation_and_centroid_directly() -> None:
    with pytest.raises(PolygonError, match="not closed"):
        validate_polygon({"type": "Polygon", "coordinates": [OPEN_RING]})
    lon, lat = centroid(square(10, 20, 2))
    assert (round(lon, 9), round(lat, 9)) == (11, 21)


def test_only_admins_write_outlines(ops: TestClient) -> None:
    response = ops.post("/api/v1/grid-cells", json={"code": "cell-a", "polygon": square()}, headers=SUP)
    assert response.status_code == 403


# ---- the map's reads ----------------------------------------------------------------------------

def _order(client: TestClient, n: int, cell: str, at: dt.datetime) -> dict:
    return file_order(client, n, grid_cell=cell, zone_id=f"zone-{cell}", detected_at=at.isoformat())


def _month(year: int, month: int) -> dt.datetime:
    return dt.datetime(year, month, 10, 4, 0, tzinfo=UTC)


def test_cells_carry_the_same_baseline_as_the_stats_and_their_open_counts(ops: TestClient) -> None:
    for code in ("cell-a", "cell-b", "cell-c", "cell-d"):
        add_cell(ops, code, community="翠园社区")
    add_cell(ops, "cell-e", None)
    ops.patch("/api/v1/grid-cells/cell-e", json={"polygon": None}, headers=ADMIN)
    n = iter(range(1, 100))
    # cell-a: one a month in Aug..Oct, two this month (November): above its mean -> alert.
    for month in (8, 9, 10):
        _order(ops, next(n), "cell-a", _month(2026, month))
    hot = [_order(ops, next(n), "cell-a", T0 - dt.timedelta(hours=h)) for h in (1, 2)]
    # cell-b: one in Sep and Oct, one now: near its mean -> warning.
    for month in (9, 10):
        _order(ops, next(n), "cell-b", _month(2026, month))
    _order(ops, next(n), "cell-b", T0 - dt.timedelta(hours=3))
    # cell-c: two in October, none now -> normal. cell-d: never an order -> no history.
    for _ in range(2):
        _order(ops, next(n), "cell-c", _month(2026, 10))
    move(ops, hot[1]["id"], "rejected", headers=SUP, reason="false alarm")  # not counted, not open

    report = ops.get("/api/v1/map/cells", params={"period": "month", "history": 36}, headers=SUP).json()
    assert report["type"] == "FeatureCollection" and report["period"] == "month" and report["history"] == 36
    by_code = {f["id"]: f for f in report["features"]}
    assert sorted(by_code) == ["cell-a", "cell-b", "cell-c", "cell-d", "cell-e"]
    levels = {code: f["properties"]["baseline"]["level"] for code, f in by_code.items()}
    assert levels == {"cell-a": "warning", "cell-b": "warning", "cell-c": "normal", "cell-d": "no_history",
                      "cell-e": "no_history"}
    stats = ops.get("/api/v1/stats/baselines", params={"unit": "grid_cell", "period": "month", "history": 36},
                    headers=SUP).json()
    for item in stats["items"]:
        baseline = by_code[item["key"]]["properties"]["baseline"]
        assert {k: baseline[k] for k in ("level", "current", "mean", "ratio", "periods")} == \
            {k: item[k] for k in ("level", "current", "mean", "ratio", "periods")}
    assert by_code["cell-a"]["properties"]["open"] == 4  # the rejected one is not open
    assert by_code["cell-e"]["geometry"] is None and by_code["cell-a"]["geometry"] == square()
    assert by_code["cell-a"]["properties"]["community"] == "翠园社区"

    # A second order this month tips cell-a above its mean.
    _order(ops, next(n), "cell-a", T0 - dt.timedelta(hours=4))
    again = ops.get("/api/v1/map/cells", headers=SUP).json()
    assert {f["id"]: f["properties"]["baseline"]["level"] for f in again["features"]}["cell-a"] == "alert"

    # The day view compares today with the previous days.
    day = ops.get("/api/v1/map/cells", params={"period": "day", "history": 28}, headers=SUP).json()
    assert day["period"] == "day" and {f["id"]: f["properties"]["baseline"]["current"] for f in day["features"]}["cell-a"] == 2


def test_unit_community_gives_every_cell_its_communitys_baseline(ops: TestClient) -> None:
    add_cell(ops, "cell-a", community="翠园社区", street="玉山街道")
    add_cell(ops, "cell-b", community="翠园社区", street="玉山街道")
    add_cell(ops, "cell-c", community="翠园社区", street="亭林街道")  # same name, another street: another community
    add_cell(ops, "cell-d")  # in no community: keeps its own
    n = iter(range(1, 100))
    _order(ops, next(n), "cell-a", _month(2026, 9))
    _order(ops, next(n), "cell-a", _month(2026, 10))
    for _ in range(2):
        _order(ops, next(n), "cell-b", _month(2026, 10))
    for h in (1, 2, 3):
        _order(ops, next(n), "cell-b", T0 - dt.timedelta(hours=h))
    _order(ops, next(n), "cell-d", _month(2026, 10))
    _order(ops, next(n), "cell-d", T0 - dt.timedelta(hours=1))

    def baselines(unit: str) -> dict[str, dict]:
        report = ops.get("/api/v1/map/cells", params={"unit": unit}, headers=SUP).json()
        assert report["unit"] == unit
        return {f["id"]: f["properties"]["baseline"] for f in report["features"]}

    own = baselines("grid_cell")
    assert {k: v["level"] for k, v in own.items()} == {"cell-a": "normal", "cell-b": "alert", "cell-c": "no_history",
                                                       "cell-d": "warning"}
    # The community: Sep 1 + Oct 3 over the two months since its first order (mean 2), 3 now: above it.
    community = baselines("community")
    for code in ("cell-a", "cell-b"):
        assert community[code] == {"level": "alert", "current": 3, "mean": 2.0, "ratio": 1.5, "periods": 2}
    assert community["cell-c"]["level"] == "no_history"
    assert community["cell-d"] == own["cell-d"]
    assert ops.get("/api/v1/map/cells", params={"unit": "street"}, headers=SUP).status_code == 422


def test_an_operator_sees_only_their_cells_and_orders(ops: TestClient) -> None:
    add_cell(ops, "cell-a")
    add_cell(ops, "cell-b")
    mine = _order(ops, 1, "cell-a", T0)
    _order(ops, 2, "cell-b", T0)
    cells = ops.get("/api/v1/map/cells", headers=OP_A).json()["features"]
    assert [f["id"] for f in cells] == ["cell-a"]
    orders = ops.get("/api/v1/map/orders", headers=OP_A).json()
    assert orders["total"] == 1 and [o["id"] for o in orders["items"]] == [mine["id"]]
    assert ops.get("/api/v1/map/orders").status_code == 401


def test_map_orders_are_the_open_ones_newest_first(ops: TestClient) -> None:
    add_cell(ops, "cell-a")
    first = _order(ops, 1, "cell-a", T0 - dt.timedelta(hours=2))
    second = _order(ops, 2, "cell-a", T0 - dt.timedelta(hours=1))
    rejected = _order(ops, 3, "cell-a", T0)
    move(ops, rejected["id"], "rejected", headers=SUP, reason="false alarm")
    page = ops.get("/api/v1/map/orders", headers=SUP).json()
    assert [o["id"] for o in page["items"]] == [second["id"], first["id"]] and page["total"] == 2
    limited = ops.get("/api/v1/map/orders", params={"limit": 1}, headers=SUP).json()
    assert len(limited["items"]) == 1 and limited["total"] == 2
    assert ops.get("/api/v1/map/orders", params={"limit": 0}, headers=SUP).status_code == 422


def test_bad_map_queries_are_refused(ops: TestClient) -> None:
    assert ops.get("/api/v1/map/cells", params={"history": 0}, headers=SUP).status_code == 422
    assert ops.get("/api/v1/map/cells", params={"period": "year"}, headers=SUP).status_code == 422
    assert ops.get("/api/v1/map/cells", params={"at": "2026-11-23T10:00:00"}, headers=SUP).status_code == 422


# ---- the migration ------------------------------------------------------------------------------

def test_migration_0004_adds_the_polygon_column_and_takes_it_away(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO grid_cells (code, name) VALUES ('cell-old', 'kept')")
    assert "polygon" not in {c["name"] for c in inspect(engine).get_columns("grid_cells")}
    upgrade(engine, "0004")
    assert current(engine) == "0004"
    assert "polygon" in {c["name"] for c in inspect(engine).get_columns("grid_cells")}
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT name, polygon FROM grid_cells").all() == [("kept", None)]
    with engine.connect() as conn:
        command.downgrade(_config(conn), "0003")
        conn.commit()
    assert current(engine) == "0003"
    assert "polygon" not in {c["name"] for c in inspect(engine).get_columns("grid_cells")}
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT name FROM grid_cells").all() == [("kept",)]


def test_polygons_round_trip_on_postgresql(pg_database: str, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, database_url=pg_database))) as client:
        assert current(client.app.state.engine) == head()
        created = client.post("/api/v1/grid-cells", json={"code": "pg-cell", "polygon": square()})
        assert created.status_code == 201, created.text
        assert client.get("/api/v1/grid-cells/pg-cell").json()["polygon"] == square()
        features = client.get("/api/v1/map/cells").json()["features"]
        assert [f["geometry"] for f in features if f["id"] == "pg-cell"] == [square()]
        with client.app.state.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM grid_cells WHERE code = 'pg-cell'")


# ---- the page, the vendored map library, the tile server ----------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["/dashboard/map", "/dashboard/live"])
def test_the_map_pages_render_with_the_vendored_leaflet_and_no_tiles(client: TestClient, path: str, lang: str) -> None:
    response = client.get(path, params={"lang": lang})
    assert response.status_code == 200
    html = response.text
    assert "/dashboard/static/vendor/leaflet-1.9.4/leaflet.js" in html and 'data-map-tiles=""' in html
    assert 'href="/dashboard/map"' in html  # the nav names the map
    for asset in ("leaflet.js", "leaflet.css", "images/layers.png"):
        assert client.get(f"/dashboard/static/vendor/leaflet-1.9.4/{asset}").status_code == 200
    csp = response.headers["content-security-policy"]
    assert "img-src 'self' blob: data:;" in csp and "connect-src 'self'" in csp


def test_a_tile_server_is_allowed_by_the_csp_only_when_set_and_only_on_map_pages(tmp_path: Path) -> None:
    tiles = "http://tiles.intranet:8080/osm/{z}/{x}/{y}.png"
    with TestClient(create_app(make_settings(tmp_path, map_tiles=tiles))) as client:
        for path in ("/dashboard/map", "/dashboard/live"):
            page = client.get(path)
            assert "img-src 'self' blob: data: http://tiles.intranet:8080;" in page.headers["content-security-policy"]
            assert f'data-map-tiles="{tiles}"' in page.text
        assert "tiles.intranet" not in client.get("/dashboard/orders").headers["content-security-policy"]


@pytest.mark.parametrize("value, problem", [
    ("ftp://tiles/{z}/{x}/{y}.png", "http:// or https://"),
    ("http://user:secret@tiles/{z}/{x}/{y}.png", "user or password"),
    ("http://{s}.tiles/{z}/{x}/{y}.png", "{s}"),
    ("http://tiles/{z}/{x}.png", "missing: {y}"),
    ('http://tiles/{z}/{x}/{y}.png"onerror', "quotes"),
])
def test_a_bad_tile_setting_is_one_line_without_its_value(value: str, problem: str) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        load_settings(map_tiles=value)
    (line,) = caught.value.problems
    assert line.startswith("GRIDSIGHT_MAP_TILES: ") and problem in line
    assert "secret" not in line


def test_unset_or_blank_tiles_mean_none() -> None:
    assert load_settings().map_tiles is None
    assert load_settings(map_tiles="  ").map_tiles_origin is None


def test_leaflet_is_vendored_with_its_licence_and_shipped() -> None:
    assert (VENDOR / "LICENSE").read_text(encoding="utf-8").startswith("BSD 2-Clause License")
    assert "Leaflet 1.9.4" in (VENDOR / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert "npm pack leaflet@1.9.4" in (VENDOR / "VENDORED.md").read_text(encoding="utf-8")
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["api.dashboard"]
    base = REPO / "api" / "dashboard"
    shipped = {p for pattern in patterns for p in base.glob(pattern) if p.is_file()}
    assert {p for p in VENDOR.rglob("*") if p.is_file()} <= shipped
