"""Harvest and dataset versions against the real API process on PostgreSQL (issue 18):
`gridsight serve` with tokens, a batch built with api.contract.harvest.HarvestBatch sent by
the worker's own client (streams.delivery.api_client.ApiClient), then read back, marked,
summed up, recorded as a dataset version, and still de-duplicated after a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from api.contract.harvest import HarvestBatch, HarvestBox
from streams.delivery.api_client import ApiClient
from tests.support.api import ApiServer
from tests.support.harvest_frames import distinct_scenes, frame, jpeg, scene
from tests.support.ops import TOKENS

WORKER_TOKEN, _, _, SUPERVISOR_TOKEN, ADMIN_TOKEN = TOKENS


def test_a_worker_batch_on_postgresql_survives_a_restart(pg_database: str, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    frames = distinct_scenes(4)
    box = HarvestBox(label="garbage_bag", confidence=0.28, x1=0.2, y1=0.3, x2=0.45, y2=0.7, track_id=12)
    batch = HarvestBatch(worker="worker-pg", frames=(
        frame(frames[0], at=now, boxes=[box]),
        frame(frames[1], at=now, reasons=("flicker",)),
        frame(frames[2], at=now, camera="cam-b", reasons=("scene_change",)),
        frame(frames[3], at=now),  # over cam-1's cap of 2
        frame(jpeg(scene(1), 60), at=now),  # frames[0]'s view re-encoded: a near-duplicate
    ))
    server = ApiServer(tmp_path, database_url=pg_database, tokens=TOKENS,
                       env={"GRIDSIGHT_HARVEST_CAMERA_DAILY_MAX": "2"})
    with server:
        sent = ApiClient(server.url, token=WORKER_TOKEN).send_harvest_batch(batch.to_wire())
        assert sent.delivered, sent.detail
        with server.client(SUPERVISOR_TOKEN) as supervisor:
            items = supervisor.get("/api/v1/harvest/frames").json()["items"]
            assert [(i["camera_id"], i["reasons"]) for i in items] == [
                ("cam-1", ["uncertain"]), ("cam-1", ["flicker"]), ("cam-b", ["scene_change"])]
            assert items[0]["boxes"] == [box.to_wire()] and items[0]["captured_at"] == now.isoformat()
            assert supervisor.get(items[0]["image_url"]).content == frames[0]
            summary = supervisor.get("/api/v1/harvest/summary").json()
            assert summary["frames"] == 3 and summary["duplicates"] == 1
            assert summary["by_camera"] == {"cam-1": {"today": 2, "total": 2}, "cam-b": {"today": 1, "total": 1}}
        with server.client(ADMIN_TOKEN) as admin:
            ids = [i["id"] for i in items]
            marked = admin.post("/api/v1/harvest/frames/status", json={"ids": ids, "status": "exported",
                                                                         "note": "label studio project 1"})
            assert marked.json() == {"updated": 3}
            version = {"name": "pg-night", "version": "1", "fingerprint": "d" * 64, "source": "label-studio",
                       "images": 3, "instances": 4, "classes": {"garbage_bag": 4}, "cameras": {"cam-1": 2, "cam-b": 1},
                       "splits": {"train": 2, "val": 1, "test": 0}, "harvest_frame_ids": ids, "path": None}
            assert admin.post("/api/v1/datasets", json=version).status_code == 201
        stored = sorted(p.name for p in (tmp_path / "harvest").rglob("*.jpg"))
        assert len(stored) == 3  # beside the evidence directory, one file per stored frame

    server.start()  # the same database and folders, a new process
    try:
        again = httpx.post(f"{server.url}/api/v1/harvest/frames", json=batch.to_wire(),
                           headers={"Authorization": f"Bearer {WORKER_TOKEN}"}, timeout=30)
        assert again.status_code == 201, again.text
        # Stored ones and the near-duplicate are caught from the rows; the capped one is still over budget.
        assert (again.json()["accepted"], again.json()["duplicates"], again.json()["over_budget"]) == (0, 4, 1)
        with server.client(SUPERVISOR_TOKEN) as supervisor:
            listed = supervisor.get("/api/v1/harvest/frames", params={"status": "exported"}).json()["items"]
            assert len(listed) == 3 and {i["note"] for i in listed} == {"label studio project 1"}
            (recorded,) = supervisor.get("/api/v1/datasets").json()["items"]
            assert recorded["harvest_frame_ids"] == ids and recorded["created_by"] == "root"
        refused = httpx.post(f"{server.url}/api/v1/harvest/frames", json={**batch.to_wire(), "version": 2},
                             headers={"Authorization": f"Bearer {WORKER_TOKEN}"}, timeout=30)
        assert refused.status_code == 422 and "version 2 is newer" in refused.json()["detail"]
    finally:
        server.stop()
    for log in sorted((tmp_path / "logs").glob("api-*.log")):  # no request failed inside the server
        assert "Exception in ASGI application" not in log.read_text(encoding="utf-8"), log.name
