"""Cameras and their config zones registered by the worker (issue 17): the API side
(who wins: config until edited in the API) and the worker side (what is sent, when,
and how the zone sync leaves the file's own zones alone)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient

from api.contract.wire import CameraRegistration, ZoneRegistration
from streams.config import load_config
from streams.delivery.outbox import SendResult
from streams.sync.registration import CameraRegistrar, registration_for
from streams.sync.zones import ZoneSync

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"
WEST = [[0.05, 0.7], [0.45, 0.7], [0.45, 1.0], [0.05, 1.0]]
EAST = [[0.55, 0.7], [0.95, 0.7], [0.95, 1.0], [0.55, 1.0]]
MOVED = [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]


def registration(camera_id: str = "cam-r1", zones=None, **camera) -> dict:
    zones = zones if zones is not None else [
        ZoneRegistration("west-kerb", tuple(map(tuple, WEST)), kind="sidewalk", description="West pavement",
                         rules=("west-litter",)),
        ZoneRegistration("east-kerb", tuple(map(tuple, EAST)), rules=("east-litter",)),
    ]
    fields = {"grid_cell": "GC-0101-07", "address": "Demo Rd 1", **camera}
    return CameraRegistration(camera_id, "demo-worker", tuple(zones), **fields).to_dict()


def register(client: TestClient, body: dict, camera_id: str = "cam-r1"):
    return client.put(f"/api/v1/cameras/{camera_id}/registration", json=body)


def zones_of(client: TestClient, camera_id: str = "cam-r1") -> dict[str, dict]:
    return {z["zone_id"]: z for z in client.get(f"/api/v1/cameras/{camera_id}/zones").json()}


# -- API side ------------------------------------------------------------------------------------

def test_a_registered_camera_shows_its_config_grid_cell_address_position_and_zones(client: TestClient) -> None:
    response = register(client, registration(latitude=31.23, longitude=121.47))
    assert response.status_code == 200, response.text
    camera = client.get("/api/v1/cameras/cam-r1").json()
    assert (camera["grid_cell"], camera["address"], camera["latitude"], camera["longitude"]) == (
        "GC-0101-07", "Demo Rd 1", 31.23, 121.47)
    assert camera["config_worker"] == "demo-worker" and camera["config_registered_at"] is not None
    assert camera["state"] is None and camera["registered"] is False  # not an admin's registration
    zones = zones_of(client)
    assert set(zones) == {"west-kerb", "east-kerb"}
    west = zones["west-kerb"]
    assert (west["origin"], west["kind"], west["rules"], west["name"]) == ("config", "sidewalk", ["west-litter"],
                                                                           "West pavement")
    assert west["polygon"] == WEST


def test_config_changes_follow_until_the_polygon_is_edited_on_the_dashboard(client: TestClient) -> None:
    register(client, registration())
    edited = client.patch("/api/v1/cameras/cam-r1/zones/west-kerb", json={"polygon": MOVED})
    assert edited.status_code == 200, edited.text
    assert edited.json()["origin"] == "dashboard"
    # The worker restarts with a changed file: east follows it, the edited west keeps the dashboard's polygon.
    moved_east = [[0.6, 0.6], [0.9, 0.6], [0.9, 0.9], [0.6, 0.9]]
    body = registration(zones=[ZoneRegistration("west-kerb", tuple(map(tuple, WEST)), kind="sidewalk",
                                                rules=("west-litter", "west-bags")),
                               ZoneRegistration("east-kerb", tuple(map(tuple, moved_east)))])
    assert register(client, body).status_code == 200
    zones = zones_of(client)
    assert zones["west-kerb"]["polygon"] == MOVED and zones["west-kerb"]["origin"] == "dashboard"
    assert zones["west-kerb"]["rules"] == ["west-litter", "west-bags"]  # rules are the config's
    assert zones["east-kerb"]["polygon"] == moved_east and zones["east-kerb"]["origin"] == "config"


def test_a_zone_the_config_dropped_goes_unless_the_dashboard_made_it(client: TestClient) -> None:
    register(client, registration())
    made = client.post("/api/v1/cameras/cam-r1/zones", json={"zone_id": "bus-stop", "polygon": EAST})
    assert made.status_code == 201, made.text
    only_west = [ZoneRegistration("west-kerb", tuple(map(tuple, WEST)), rules=("west-litter",))]
    register(client, registration(zones=only_west))
    zones = zones_of(client)
    assert set(zones) == {"west-kerb", "bus-stop"}
    assert zones["bus-stop"]["origin"] == "dashboard" and zones["bus-stop"]["rules"] == []


def test_a_zone_deleted_on_the_dashboard_comes_back_from_the_config(client: TestClient) -> None:
    register(client, registration())
    assert client.delete("/api/v1/cameras/cam-r1/zones/west-kerb").status_code == 204
    assert "west-kerb" not in zones_of(client)
    register(client, registration())
    assert zones_of(client)["west-kerb"]["origin"] == "config"


def test_an_admins_camera_fields_win_over_the_config(client: TestClient) -> None:
    created = client.post("/api/v1/cameras", json={"camera_id": "cam-r2", "address": "Registry St 9"})
    assert created.status_code == 201, created.text
    register(client, registration("cam-r2", latitude=1.0, longitude=2.0), "cam-r2")
    camera = client.get("/api/v1/cameras/cam-r2").json()
    assert (camera["address"], camera["grid_cell"], camera["latitude"]) == ("Registry St 9", None, None)
    assert camera["config_worker"] == "demo-worker"
    assert set(zones_of(client, "cam-r2")) == {"west-kerb", "east-kerb"}  # its zones still register


def test_a_bad_registration_is_one_line_422(client: TestClient) -> None:
    body = registration()
    body["zones"][0]["polygon"] = [[0, 0], [1, 1], [1, 0], [0, 1]]  # crosses itself
    response = register(client, body)
    assert response.status_code == 422
    other = register(client, registration("cam-other"))
    assert other.status_code == 422 and "does not match" in other.json()["detail"]
    newer = {**registration(), "version": 99}
    assert register(client, newer).status_code == 422


# -- worker side ---------------------------------------------------------------------------------

class FakeApi:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.sent: list[tuple[str, dict]] = []

    def put_camera_registration(self, camera_id: str, body: dict) -> SendResult:
        self.sent.append((camera_id, body))
        return SendResult(self.status)


def demo_camera():
    return load_config(DEMO, check_models=False).cameras["street-01"]


def test_the_registration_carries_the_configs_zones_kinds_rules_grid_cell_and_address() -> None:
    reg = registration_for("street-01", demo_camera(), "demo-worker").to_dict()
    assert (reg["grid_cell"], reg["address"], reg["worker"]) == ("GC-0101-07", "Demo Rd 1, synthetic street",
                                                                 "demo-worker")
    zones = {z["zone_id"]: z for z in reg["zones"]}
    assert zones["west-kerb"]["rules"] == ["west-litter"] and zones["west-kerb"]["kind"] == "any"
    assert zones["east-kerb"]["polygon"] == EAST
    assert zones["west-kerb"]["description"] == "West pavement in front of the shops"


def test_a_position_in_the_config_is_registered_and_none_is_sent_without_one() -> None:
    camera = demo_camera()
    assert registration_for("street-01", camera, "w").to_dict()["latitude"] is None
    placed = camera.model_copy(update={"latitude": 31.2304, "longitude": 121.4737})
    reg = registration_for("street-01", placed, "w").to_dict()
    assert (reg["latitude"], reg["longitude"]) == (31.2304, 121.4737)


def test_the_api_accepts_what_the_worker_builds(client: TestClient) -> None:
    body = registration_for("street-01", demo_camera(), "demo-worker").to_dict()
    assert client.put("/api/v1/cameras/street-01/registration", json=body).status_code == 200


def test_registers_once_then_on_change_on_invalidate_and_after_refresh() -> None:
    now = [0.0]
    api = FakeApi()
    camera = demo_camera()
    pipe = SimpleNamespace(camera_id="street-01", camera_config=camera)
    registrar = CameraRegistrar(api, lambda: [pipe], "w", refresh_s=300, clock=lambda: now[0])
    assert registrar.register_once() == 1
    assert registrar.register_once() == 0  # unchanged: not sent again
    pipe.camera_config = camera.model_copy(update={"address": "Elsewhere 2"})
    assert registrar.register_once() == 1 and api.sent[-1][1]["address"] == "Elsewhere 2"
    registrar.invalidate("street-01")
    assert registrar.register_once() == 1
    now[0] = 301.0
    assert registrar.register_once() == 1
    assert len(api.sent) == 4


def test_unreachable_api_is_retried_and_a_refusal_is_not(caplog) -> None:
    api = FakeApi(status=None)  # type: ignore[arg-type]
    pipe = SimpleNamespace(camera_id="street-01", camera_config=demo_camera())
    registrar = CameraRegistrar(api, lambda: [pipe], "w")
    for _ in range(3):
        registrar.register_once()
    assert len(api.sent) == 3 and "cannot register" in caplog.text
    api.status = 403
    registrar.register_once()
    registrar.invalidate("street-01")  # the zone sync misses its zones: a refusal still waits
    registrar.register_once()
    assert len(api.sent) == 4 and "refused" in caplog.text
    assert caplog.text.count("refused") == 1


class ZonesApi:
    def __init__(self, zones: list[dict]) -> None:
        self.zones = zones

    def get_camera_zones(self, camera_id: str) -> list[dict]:
        return self.zones


def sync_pipeline():
    from tests.unit.test_dashboard_zone_sync import pipeline

    return pipeline()


def test_the_zone_sync_leaves_the_files_own_zones_and_asks_for_a_registration_when_one_is_missing() -> None:
    cam = sync_pipeline()
    missing: list[str] = []
    stale = [{"zone_id": "west-kerb", "polygon": MOVED, "origin": "config"},
             {"zone_id": "east-kerb", "polygon": EAST, "origin": "config"}]
    sync = ZoneSync(ZonesApi(stale), lambda: [cam], interval_s=5, on_config_zone_missing=missing.append)
    assert sync.sync_once() == 0  # a config zone's polygon in the API is the file's: never moves a rule
    assert missing == []
    sync._client = ZonesApi([{"zone_id": "west-kerb", "polygon": MOVED, "origin": "dashboard"}])
    assert sync.sync_once() == 1  # the dashboard's edit wins
    assert missing == ["street-01"]  # east-kerb is not in the API: register the camera again
