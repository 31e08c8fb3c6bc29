"""Issue 17, point 4: a real worker registers its camera and its config's zones with a
real API, so the camera page and the zone editor show what runs; a zone edited on
the dashboard flows down to the worker and is not pushed back by the next
registration; a zone deleted there comes back from the config."""

from __future__ import annotations

import re

import pytest

from tests.support.procs import free_port, wait_until

pytestmark = [pytest.mark.integration]

CAMERA = "street-01"
MOVED = [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]
# Nothing listens there: registration needs no frames, and the camera page must show the zones anyway.
FAST_SOURCE = {"open_timeout_s": 2, "read_timeout_s": 2, "backoff_initial_s": 0.3, "backoff_max_s": 1.0}


def zones(api) -> dict[str, dict]:
    with api.client() as c:
        response = c.get(f"/api/v1/cameras/{CAMERA}/zones")
    return {z["zone_id"]: z for z in response.json()} if response.status_code == 200 else {}


@pytest.mark.timeout(120)
def test_the_camera_page_shows_the_workers_zones_grid_cell_and_address(api, start_worker) -> None:
    worker = start_worker(api.url, f"rtsp://127.0.0.1:{free_port()}/nothing", source=FAST_SOURCE)
    wait_until(lambda: set(zones(api)) == {"west-kerb", "east-kerb"}, 60, "the config's zones in the API",
               on_timeout=worker.log_text)
    # What the camera page reads: GET /cameras (grid cell, address) and each camera's zones.
    with api.client() as c:
        [camera] = [cam for cam in c.get("/api/v1/cameras").json()["items"] if cam["camera_id"] == CAMERA]
    assert (camera["grid_cell"], camera["address"]) == ("GC-0101-07", "Demo Rd 1, synthetic street")
    assert camera["config_worker"] == "demo-worker"
    west = zones(api)["west-kerb"]
    assert west["origin"] == "config" and west["rules"] == ["west-litter"] and west["kind"] == "any"
    assert west["polygon"] == [[0.05, 0.7], [0.45, 0.7], [0.45, 1.0], [0.05, 1.0]]

    # Downwards: the dashboard's edit reaches the running worker, and stays the API's.
    with api.client() as c:
        edited = c.patch(f"/api/v1/cameras/{CAMERA}/zones/west-kerb", json={"polygon": MOVED})
    assert edited.status_code == 200, edited.text
    wait_until(lambda: "zone west-kerb updated from the API" in worker.log_text(), 30, "the worker took the edit",
               on_timeout=worker.log_text)
    assert zones(api)["west-kerb"]["polygon"] == MOVED and zones(api)["west-kerb"]["origin"] == "dashboard"

    # Deleted on the dashboard: the worker falls back to its file and registers the zone again.
    with api.client() as c:
        assert c.delete(f"/api/v1/cameras/{CAMERA}/zones/west-kerb").status_code == 204
    wait_until(lambda: zones(api).get("west-kerb", {}).get("origin") == "config", 30, "west-kerb back from the config",
               on_timeout=worker.log_text)
    assert zones(api)["west-kerb"]["polygon"] == [[0.05, 0.7], [0.45, 0.7], [0.45, 1.0], [0.05, 1.0]]
    assert "back to the config file's polygon" in worker.log_text()
    assert len(re.findall(r"camera street-01: registered with the API", worker.log_text())) >= 2
    assert worker.alive
