"""Operators see the cameras, zones and live frames of their own grid cells only,
like their orders (issue 14 §8). Out of scope reads exactly like "does not exist"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.ops import ADMIN, OP_A, OP_B, SUP, WORKER
from tests.support.orders import JPEG

T = 1_790_000_000.0


def _setup(ops: TestClient) -> None:
    for cell in ("cell-a", "cell-b"):
        assert ops.post("/api/v1/grid-cells", json={"code": cell}, headers=ADMIN).status_code == 201
    # cam-a: registered in cell-a; cam-b: registered in cell-b, with one zone in cell-a (its view spans both);
    # cam-c: registered in cell-b only; cam-w: never registered, its worker config says cell-a; cam-n: no cell.
    for camera, cell in (("cam-a", "cell-a"), ("cam-b", "cell-b"), ("cam-c", "cell-b")):
        created = ops.post("/api/v1/cameras", json={"camera_id": camera, "grid_cell": cell}, headers=ADMIN)
        assert created.status_code == 201, created.text
    zone = {"zone_id": "kerb", "polygon": [[0, 0], [1, 0], [1, 1]], "grid_cell": "cell-a"}
    assert ops.post("/api/v1/cameras/cam-b/zones", json=zone, headers=ADMIN).status_code == 201
    zone = {"zone_id": "kerb", "polygon": [[0, 0], [1, 0], [1, 1]]}
    assert ops.post("/api/v1/cameras/cam-c/zones", json=zone, headers=ADMIN).status_code == 201
    for camera, hints in (("cam-w", {"grid_cell": "cell-a"}), ("cam-n", {})):
        status = {"state": "online", "at": T, **hints}
        assert ops.put(f"/api/v1/cameras/{camera}/status", json=status, headers=WORKER).status_code == 200
    for camera in ("cam-a", "cam-b", "cam-c", "cam-w", "cam-n"):
        uploaded = ops.put(f"/api/v1/cameras/{camera}/snapshot", content=JPEG,
                           headers={"Content-Type": "image/jpeg", **WORKER})
        assert uploaded.status_code == 200, uploaded.text


def _listed(ops: TestClient, headers: dict) -> list[str]:
    response = ops.get("/api/v1/cameras", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == len(response.json()["items"])
    return [c["camera_id"] for c in response.json()["items"]]


def test_operators_list_and_read_only_their_grid_cells_cameras(ops: TestClient) -> None:
    _setup(ops)
    assert _listed(ops, OP_A) == ["cam-a", "cam-b", "cam-w"]
    assert _listed(ops, OP_B) == ["cam-b", "cam-c"]
    assert _listed(ops, SUP) == ["cam-a", "cam-b", "cam-c", "cam-n", "cam-w"]
    for camera in ("cam-c", "cam-n"):
        missing = ops.get(f"/api/v1/cameras/{camera}", headers=OP_A)
        assert missing.status_code == 404
        assert missing.json() == ops.get("/api/v1/cameras/cam-nowhere", headers=OP_A).json() | {
            "detail": f"camera {camera!r} has not reported any status"}
    assert ops.get("/api/v1/cameras/cam-a", headers=OP_A).status_code == 200
    assert ops.get("/api/v1/cameras/cam-n", headers=SUP).status_code == 200


def test_operators_fetch_live_frames_of_their_cameras_only(ops: TestClient) -> None:
    _setup(ops)
    for camera in ("cam-a", "cam-b", "cam-w"):
        got = ops.get(f"/api/v1/cameras/{camera}/snapshot", headers=OP_A)
        assert got.status_code == 200 and got.content == JPEG
    for camera in ("cam-c", "cam-n"):
        refused = ops.get(f"/api/v1/cameras/{camera}/snapshot", headers=OP_A)
        assert refused.status_code == 404
        assert refused.json() == {"detail": f"no frame uploaded for camera {camera!r} yet"}
        assert ops.get(f"/api/v1/cameras/{camera}/snapshot", headers=SUP).status_code == 200


def test_zones_follow_their_cameras_scope(ops: TestClient) -> None:
    _setup(ops)
    assert ops.get("/api/v1/cameras/cam-c/zones", headers=OP_A).status_code == 404
    assert ops.get("/api/v1/cameras/cam-c/zones/kerb", headers=OP_A).status_code == 404
    assert [z["zone_id"] for z in ops.get("/api/v1/cameras/cam-c/zones", headers=OP_B).json()] == ["kerb"]
    assert ops.get("/api/v1/cameras/cam-b/zones/kerb", headers=OP_A).status_code == 200
    # Workers sync every camera's zones, whatever the cells.
    assert ops.get("/api/v1/cameras/cam-c/zones", headers=WORKER).status_code == 200
