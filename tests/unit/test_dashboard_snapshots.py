"""Camera snapshots: the API side (PUT by workers, GET by operators) and the
worker's uploader thread."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.routes.snapshots import snapshot_path
from inference.frames import VideoFrame
from streams.delivery.outbox import SendResult
from streams.sync.snapshots import SnapshotUploader, encode_frame
from tests.support.ops import ADMIN, OP_A, SUP, WORKER
from tests.support.orders import JPEG, PNG

JPEG_HEADERS = {"Content-Type": "image/jpeg"}


def put(client: TestClient, camera_id: str, data: bytes, **headers: str):
    return client.put(f"/api/v1/cameras/{camera_id}/snapshot", content=data, headers={**JPEG_HEADERS, **headers})


def test_worker_uploads_and_operator_reads_the_latest_frame(ops: TestClient) -> None:
    assert ops.get("/api/v1/cameras/street-01/snapshot", headers=OP_A).status_code == 404
    # Operators read the frames of their grid cells' cameras: this one's worker config puts it in cell-a.
    status = {"state": "online", "at": 1_790_000_000.0, "grid_cell": "cell-a"}
    assert ops.put("/api/v1/cameras/street-01/status", json=status, headers=WORKER).status_code == 200
    first = put(ops, "street-01", JPEG, **WORKER)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["camera_id"] == "street-01" and body["size"] == len(JPEG)
    assert body["url"] == "/api/v1/cameras/street-01/snapshot"
    newer = JPEG[:-2] + b"newer\xff\xd9"
    assert put(ops, "street-01", newer, **WORKER).status_code == 200  # replaces, never accumulates
    got = ops.get(body["url"], headers=OP_A)
    assert got.status_code == 200 and got.content == newer
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"] == "no-store"


def test_roles(ops: TestClient) -> None:
    assert put(ops, "cam", JPEG).status_code == 401
    assert put(ops, "cam", JPEG, **OP_A).status_code == 403
    assert put(ops, "cam", JPEG, **SUP).status_code == 403
    assert put(ops, "cam", JPEG, **ADMIN).status_code == 200
    assert ops.get("/api/v1/cameras/cam/snapshot").status_code == 401
    assert ops.get("/api/v1/cameras/cam/snapshot", headers=WORKER).status_code == 403
    assert ops.get("/api/v1/cameras/cam/snapshot", headers=SUP).status_code == 200


def test_bad_uploads_are_refused(client: TestClient) -> None:
    assert put(client, "cam", PNG).status_code == 422  # a PNG sent as JPEG: magic number
    assert put(client, "cam", b"").status_code == 422
    png = client.put("/api/v1/cameras/cam/snapshot", content=PNG, headers={"Content-Type": "image/png"})
    assert png.status_code == 415
    huge = put(client, "cam", b"\xff\xd8\xff" + b"\0" * (4 * 1024 * 1024))
    assert huge.status_code == 413
    assert client.get("/api/v1/cameras/cam/snapshot").status_code == 404


def test_limit_follows_a_lower_evidence_limit(tmp_path: Path) -> None:
    from api.main import create_app
    from tests.support.orders import make_settings

    with TestClient(create_app(make_settings(tmp_path, max_evidence_bytes=64))) as small:
        assert put(small, "cam", JPEG).status_code == 413  # JPEG is 86 bytes


@pytest.mark.parametrize("camera_id", ["street-01", "gate.3", "a b", "..", ".hidden", "摄像头1", "x" * 64])
def test_snapshot_files_stay_inside_their_folder(client: TestClient, settings, camera_id: str) -> None:
    relative = snapshot_path(camera_id)
    assert relative.startswith("snapshots/") and "/" not in relative[len("snapshots/"):]
    assert ".." not in relative and not relative[len("snapshots/"):].startswith(".")
    from urllib.parse import quote

    response = put(client, quote(camera_id, safe=""), JPEG)
    if camera_id == "..":
        return  # the router normalises '/cameras/../snapshot' away before it gets here
    assert response.status_code == 200, response.text
    assert (settings.evidence_dir / relative).read_bytes() == JPEG
    assert client.get(response.json()["url"]).content == JPEG


def test_workers_may_read_zones_but_not_change_them(ops: TestClient) -> None:
    assert ops.post("/api/v1/cameras", json={"camera_id": "street-01"}, headers=ADMIN).status_code == 201
    zone = {"zone_id": "west-kerb", "polygon": [[0.1, 0.7], [0.4, 0.7], [0.4, 1.0], [0.1, 1.0]]}
    assert ops.post("/api/v1/cameras/street-01/zones", json=zone, headers=ADMIN).status_code == 201
    listed = ops.get("/api/v1/cameras/street-01/zones", headers=WORKER)
    assert listed.status_code == 200 and listed.json()[0]["zone_id"] == "west-kerb"
    assert ops.get("/api/v1/cameras/street-01/zones", headers=SUP).status_code == 200
    assert ops.get("/api/v1/cameras/street-01/zones", headers=OP_A).status_code == 404  # in none of op.a's cells
    assert ops.get("/api/v1/cameras/street-01/zones").status_code == 401
    change = {"polygon": [[0.1, 0.6], [0.4, 0.6], [0.4, 1.0]]}
    assert ops.patch("/api/v1/cameras/street-01/zones/west-kerb", json=change, headers=WORKER).status_code == 403
    assert ops.get("/api/v1/cameras/street-01/zones/west-kerb", headers=WORKER).status_code == 403


# ---- the worker's uploader -------------------------------------------------------------------

class FakeClient:
    def __init__(self, status: int | None = 200) -> None:
        self.status = status
        self.calls: list[tuple[str, bytes]] = []

    def put_camera_snapshot(self, camera_id: str, jpeg: bytes) -> SendResult:
        self.calls.append((camera_id, jpeg))
        return SendResult(self.status, "" if self.status == 200 else "nope")


def frame(frame_id: int, width: int = 640, height: int = 360) -> VideoFrame:
    image = np.full((height, width, 3), frame_id % 255, np.uint8)
    return VideoFrame(image=image, frame_id=frame_id, captured_at=1000.0 + frame_id, camera_id="cam-1")


def test_uploader_sends_each_new_frame_once() -> None:
    pipeline = SimpleNamespace(camera_id="cam-1", latest_frame=None)
    idle = SimpleNamespace(camera_id="cam-2", latest_frame=None)
    client = FakeClient()
    uploader = SnapshotUploader(client, lambda: [pipeline, idle], interval_s=10)
    assert uploader.tick() == 0  # nothing analysed yet
    pipeline.latest_frame = frame(1)
    assert uploader.tick() == 1
    assert uploader.tick() == 0  # same frame: not again
    pipeline.latest_frame = frame(2)
    assert uploader.tick() == 1
    assert [c for c, _ in client.calls] == ["cam-1", "cam-1"]
    decoded = cv2.imdecode(np.frombuffer(client.calls[-1][1], np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)


def test_uploader_retries_a_failed_frame_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    pipeline = SimpleNamespace(camera_id="cam-1", latest_frame=frame(1))
    client = FakeClient(status=None)
    uploader = SnapshotUploader(client, lambda: [pipeline], interval_s=10)
    with caplog.at_level("WARNING"):
        assert uploader.tick() == 0 and uploader.tick() == 0
    assert len(client.calls) == 2  # the same frame is tried again
    assert sum("snapshot upload failed" in r.getMessage() for r in caplog.records) == 1
    client.status = 200
    assert uploader.tick() == 1


def test_large_frames_are_scaled_down() -> None:
    jpeg = encode_frame(np.zeros((1080, 1920, 3), np.uint8), max_width=1280)
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (720, 1280, 3)


def test_interval_zero_means_no_uploader() -> None:
    config = SimpleNamespace(worker=SimpleNamespace(snapshot_interval_s=0))
    assert SnapshotUploader.from_config(config, FakeClient(), list) is None
    config.worker.snapshot_interval_s = 5
    assert SnapshotUploader.from_config(config, FakeClient(), list).interval_s == 5


def test_uploader_thread_starts_and_stops_quickly() -> None:
    import time

    pipeline = SimpleNamespace(camera_id="cam-1", latest_frame=frame(1))
    client = FakeClient()
    uploader = SnapshotUploader(client, lambda: [pipeline], interval_s=0.05)
    uploader.start()
    deadline = time.monotonic() + 5
    while not client.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    uploader.stop()
    assert client.calls and time.monotonic() - started < 2
