"""Camera status: latest wins, history, credential redaction."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.main import create_app
from api.schemas import CameraState
from tests.support.orders import make_settings

T0 = 1_795_000_000.0  # 2026-11-18, unix seconds as the workers send them


def put(client: TestClient, camera_id: str, state: str, at: float, **extra: object):
    return client.put(f"/api/v1/cameras/{camera_id}/status", json={"state": state, "at": at, **extra})


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


def test_put_then_get_returns_latest_status(client: TestClient) -> None:
    response = put(client, "cam-01", "connecting", T0, attempt=0)
    assert response.status_code == 200, response.text
    response = put(client, "cam-01", "online", T0 + 2, details={"fps": 25.0, "codec": "h264"})
    body = response.json()
    assert body["state"] == "online"
    assert body["at"] == iso(T0 + 2)
    assert body["details"] == {"fps": 25.0, "codec": "h264"}
    assert body["last_online_at"] == iso(T0 + 2)
    fetched = client.get("/api/v1/cameras/cam-01").json()
    assert fetched["state"] == "online"
    assert [h["state"] for h in fetched["history"]] == ["online", "connecting"]


def test_worker_event_dict_is_accepted_as_is(client: TestClient) -> None:
    from api.contract.wire import CameraStatusEvent
    from api.contract.wire import CameraState as StreamState

    event = CameraStatusEvent("cam-07", StreamState.RECONNECTING, T0, "read timeout", attempt=3, retry_in_s=4.0)
    response = client.put("/api/v1/cameras/cam-07/status", json=event.to_dict())
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["state"], body["attempt"], body["retry_in_s"]) == ("reconnecting", 3, 4.0)
    assert body["last_error"] == "read timeout"


def test_out_of_order_event_does_not_override_newer_state(client: TestClient) -> None:
    put(client, "cam-02", "online", T0 + 10)
    late = put(client, "cam-02", "reconnecting", T0 + 5, reason="stale", attempt=1).json()
    assert late["state"] == "online"
    assert late["at"] == iso(T0 + 10)
    # The late event is still part of the history, ordered by its own time.
    assert [h["state"] for h in late["history"]] == ["online", "reconnecting"]


def test_last_error_and_last_online_survive_recovery(client: TestClient) -> None:
    put(client, "cam-03", "online", T0)
    put(client, "cam-03", "error", T0 + 1, reason="401 Unauthorized")
    put(client, "cam-03", "reconnecting", T0 + 2, attempt=1, retry_in_s=1.0)  # no reason: keeps last_error
    body = put(client, "cam-03", "online", T0 + 5).json()
    assert body["state"] == "online"
    assert body["reason"] is None
    assert body["last_error"] == "401 Unauthorized"
    assert body["last_error_at"] == iso(T0 + 1)
    assert body["last_online_at"] == iso(T0 + 5)


def test_history_keeps_the_newest_twenty(client: TestClient) -> None:
    for i in range(30):
        put(client, "cam-04", "reconnecting", T0 + i, attempt=i)
    body = client.get("/api/v1/cameras/cam-04").json()
    assert [h["attempt"] for h in body["history"]] == list(range(29, 9, -1))
    with client.app.state.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM camera_status_events WHERE camera_id = 'cam-04'")).scalar()
    assert stored == 20


def test_credentials_are_redacted_before_storage(client: TestClient) -> None:
    reason = "open failed: rtsp://admin:S3cret!pw@10.0.0.7:554/Streaming/Channels/101 (401)"
    details = {
        "url": "rtsp://admin:S3cret!pw@10.0.0.7/stream",
        "nested": [{"fallback": "http://viewer:hunter22@cam.local/snap.jpg"}],
        "rtsp://user:pw123@host/x": "credential in a key",
    }
    body = put(client, "cam-05", "error", T0, reason=reason, details=details).json()
    dumped = json.dumps(body)
    for secret in ("S3cret", "hunter22", "pw123", "admin:", "viewer:"):
        assert secret not in dumped
    assert body["reason"].startswith("open failed: rtsp://***:***@10.0.0.7:554/")
    assert body["details"]["url"] == "rtsp://***:***@10.0.0.7/stream"
    # What is on disk is clean too, not just what is returned.
    with client.app.state.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT reason, details FROM cameras UNION ALL SELECT reason, details FROM camera_status_events")
        )
        stored = " ".join(f"{r} {d}" for r, d in rows)
    assert "S3cret" not in stored and "hunter22" not in stored and "pw123" not in stored


def test_list_cameras(client: TestClient) -> None:
    assert client.get("/api/v1/cameras").json() == {"items": [], "total": 0}
    put(client, "cam-b", "online", T0)
    put(client, "cam-a", "offline", T0, reason="no route to host")
    listing = client.get("/api/v1/cameras").json()
    assert listing["total"] == 2
    assert [(c["camera_id"], c["state"]) for c in listing["items"]] == [("cam-a", "offline"), ("cam-b", "online")]
    assert "history" not in listing["items"][0]


def test_unknown_camera_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/cameras/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"state": "sleeping", "at": T0},
        {"state": "online"},
        {"state": "online", "at": -1},
        {"state": "online", "at": 1e300},
        {"state": "online", "at": T0, "attempt": -1},
        {"state": "online", "at": T0, "attempt": 10**20},
        {"state": "online", "at": T0, "extra": 1},
        {"state": "online", "at": T0, "camera_id": "other-camera"},
        {"state": "online", "at": T0, "details": "not a dict"},
        {"state": "online", "at": T0, "details": {"blob": "x" * 20_000}},
    ],
)
def test_invalid_status_is_422(client: TestClient, body: dict) -> None:
    response = client.put("/api/v1/cameras/cam-06/status", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert client.get("/api/v1/cameras/cam-06").status_code == 404


def test_non_finite_numbers_are_422(client: TestClient) -> None:
    for raw in ('{"state": "online", "at": NaN}', '{"state": "online", "at": 1.0, "details": {"x": Infinity}}'):
        response = client.put(
            "/api/v1/cameras/cam-06/status", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text


def test_put_requires_token_when_configured(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, api_token="s3cr3t-token"))) as secured:
        assert put(secured, "cam-01", "online", T0).status_code == 401
        ok = secured.put(
            "/api/v1/cameras/cam-01/status",
            json={"state": "online", "at": T0},
            headers={"Authorization": "Bearer s3cr3t-token"},
        )
        assert ok.status_code == 200
        assert secured.get("/api/v1/cameras/cam-01").status_code == 200


def test_an_unregistered_camera_shows_the_grid_cell_and_address_of_its_worker_config(client: TestClient) -> None:
    from api.contract.wire import CameraStatusEvent
    from api.contract.wire import CameraState as StreamState

    event = CameraStatusEvent("cam-31", StreamState.ONLINE, T0, grid_cell="GC-0101-07", address="Demo Rd 1")
    assert client.put("/api/v1/cameras/cam-31/status", json=event.to_dict()).status_code == 200
    listing = client.get("/api/v1/cameras").json()
    [listed] = [c for c in listing["items"] if c["camera_id"] == "cam-31"]
    assert (listed["grid_cell"], listed["address"]) == ("GC-0101-07", "Demo Rd 1")
    # It follows the config: a worker now configured with another cell moves the camera there.
    put(client, "cam-31", "online", T0 + 5, grid_cell="GC-0202-01")
    assert client.get("/api/v1/cameras/cam-31").json()["grid_cell"] == "GC-0202-01"


def test_a_registered_cameras_own_grid_cell_wins_over_the_worker_config(client: TestClient) -> None:
    created = client.post("/api/v1/cameras", json={"camera_id": "cam-32", "name": "Gate", "address": "Registry St 9"})
    assert created.status_code in (200, 201), created.text
    put(client, "cam-32", "online", T0, grid_cell="GC-0101-07", address="Demo Rd 1")
    fetched = client.get("/api/v1/cameras/cam-32").json()
    assert (fetched["grid_cell"], fetched["address"]) == (None, "Registry St 9")


def test_the_worker_sends_its_configs_grid_cell_and_address_with_every_status() -> None:
    from streams.config import load_config
    from api.contract.wire import CameraState as StreamState
    from api.contract.wire import CameraStatusEvent
    from streams.pipeline_factory import _with_config_hints

    camera = load_config(Path(__file__).resolve().parents[2] / "configs" / "demo.yaml", check_models=False).cameras["street-01"]
    sent = []
    _with_config_hints(camera, sent.append)(CameraStatusEvent("street-01", StreamState.CONNECTING, T0))
    assert (sent[0].to_dict()["grid_cell"], sent[0].to_dict()["address"]) == ("GC-0101-07", "Demo Rd 1, synthetic street")
