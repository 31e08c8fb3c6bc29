"""Harvest end to end (issue 18): a real `gridsight serve` with tokens and a real `gridsight worker`
on the demo street clip, harvesting on. The worker's picks arrive in the API as raw JPEG frames at
the clip's size with their provenance (camera, capture time, model name and version, why picked)
and the model's own boxes; everything the worker says it sent is accounted for by the API
(accepted or de-duplicated). A worker whose token the API refuses keeps analysing, logs the
refusal once and says so in /health."""

from __future__ import annotations

import re
import time

import av
import cv2
import httpx
import numpy as np
import pytest
import yaml

from api.contract.harvest import REASONS
from gridsight.demo import write_worker_config
from gridsight.processes import ChildProcess, gridsight_argv
from inference.labels import CANONICAL_LABELS
from tests.support.api import ApiServer
from tests.support.procs import wait_until

pytestmark = pytest.mark.integration

CAMERA = "street-01"
WORKER, SUPERVISOR = "worker-token-harvest-01", "supervisor-token-harvest-1"
TOKENS = {WORKER: {"role": "worker", "name": "street-worker"}, SUPERVISOR: {"role": "supervisor", "name": "li.na"}}
SAMPLED = {"uncertain", "flicker", "time_of_day", "scene_change"}
SENT_LINE = re.compile(r"harvest: sent (\d+) frame\(s\) in (\d+) batch\(es\) this run; (\d+) dropped")


@pytest.fixture
def harvest_api(tmp_path):
    with ApiServer(tmp_path / "api", tokens=TOKENS) as server:
        yield server


def harvesting_worker(workdir, api_url: str, clip, token: str, *, metrics: bool = False, loop: bool = False):
    """`gridsight worker` on the clip file (read as fast as it decodes), harvesting with a short spacing."""
    workdir.mkdir(parents=True)
    path = write_worker_config(workdir, api_url, str(clip))
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["api"]["token"] = token
    raw["worker"].update({"stats_interval_s": 2, "retry_max_s": 2, "snapshot_interval_s": 0,
                          "zone_sync_interval_s": 0})
    if metrics:
        raw["worker"].update({"metrics_port": 0, "metrics_host": "127.0.0.1"})
    raw["harvest"] = {"enabled": True, "min_spacing_s": 1.0, "duplicate_threshold": 0.002, "retry_max_s": 2}
    raw["cameras"][CAMERA]["source"]["loop"] = loop
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return ChildProcess("worker", gridsight_argv("worker", "--config", str(path)), workdir / "worker.log").start()


def clip_size(clip) -> tuple[int, int]:
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height


def clip_seconds(clip) -> float:
    with av.open(str(clip)) as container:
        return container.duration / av.time_base


def test_harvested_frames_arrive_raw_with_provenance_and_the_models_boxes(tmp_path, demo_clip, harvest_api):
    supervisor = {"Authorization": f"Bearer {SUPERVISOR}"}
    started = time.time()
    worker = harvesting_worker(tmp_path / "worker", harvest_api.url, demo_clip, WORKER)
    try:  # the clip is read once, as fast as it decodes; the worker then stops by itself
        wait_until(lambda: not worker.alive, 300, "the worker to finish the clip", on_timeout=worker.log_text)
    finally:
        worker.stop()
    log = worker.log_text()
    assert "camera street-01: harvesting frames worth labelling" in log
    sent = SENT_LINE.search(log)
    assert sent is not None, log[-3000:]
    frames_sent, batches, dropped = (int(g) for g in sent.groups())
    assert frames_sent >= 2 and batches >= 1 and dropped == 0, sent.group(0)
    assert "refuses harvested frames" not in log

    page = httpx.get(f"{harvest_api.url}/api/v1/harvest/frames", params={"camera_id": CAMERA, "limit": 100},
                     headers=supervisor, timeout=10)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    summary = httpx.get(f"{harvest_api.url}/api/v1/harvest/summary", headers=supervisor, timeout=10).json()
    # Every frame the worker sent is in the API, or was one the API recognised as a duplicate.
    assert len(items) + summary["duplicates"] == frames_sent, (len(items), summary, sent.group(0))
    assert summary["by_camera"][CAMERA]["total"] == len(items) >= 1

    width, height = clip_size(demo_clip)
    reasons_seen, boxes_seen = set(), 0
    for item in items:
        assert item["camera_id"] == CAMERA and item["status"] == "new"
        assert (item["model_name"], item["model_version"]) == ("gridsight-demo-v1", "1"), item
        assert set(item["reasons"]) <= SAMPLED and set(item["reasons"]) <= set(REASONS)
        assert (item["width"], item["height"]) == (width, height)
        captured = item["captured_at"]
        # Stream time: the source's open time plus the clip's pts. Read faster than real time, it runs
        # ahead of the wall clock by up to the clip's length (measured 11 s on a quiet host).
        assert started - 5 <= _unix(captured) <= time.time() + clip_seconds(demo_clip) + 1, captured
        for box in item["boxes"]:
            assert box["label"] in CANONICAL_LABELS and 0 <= box["x1"] < box["x2"] <= 1 and 0 <= box["y1"] < box["y2"] <= 1
            assert 0.2 <= box["confidence"] <= 1  # the demo model's floor is 0.2: the detector's own boxes
        reasons_seen |= set(item["reasons"])
        boxes_seen += len(item["boxes"])
    assert "time_of_day" in reasons_seen  # the camera's first frame of the hour
    assert boxes_seen >= 1, items

    first = items[0]
    image = httpx.get(f"{harvest_api.url}{first['image_url']}", headers=supervisor, timeout=10)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    decoded = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (height, width, 3)
    raw_difference = _closest_clip_frame_difference(demo_clip, decoded)
    print(f"harvest: {len(items)} frame(s) in the API, {summary['duplicates']} duplicate(s); reasons {sorted(reasons_seen)}; "
          f"{boxes_seen} box(es); raw-frame difference {raw_difference:.5f}")
    assert raw_difference < 0.001  # the raw frame: no boxes or caption burnt in


def test_a_refused_worker_keeps_analysing_and_says_why_in_health(tmp_path, demo_clip, harvest_api):
    worker = harvesting_worker(tmp_path / "worker", harvest_api.url, demo_clip, "not-a-token-of-this-site",
                               metrics=True, loop=True)
    try:
        port = int(wait_until(lambda: (m := re.search(r"metrics and health on http://127\.0\.0\.1:(\d+)/",
                                                      worker.log_text())) and m.group(1), 120, "the health server",
                              on_timeout=worker.log_text))
        health = wait_until(lambda: _degraded_harvest(port), 120, "/health to report the refusal",
                            on_timeout=worker.log_text)
        assert health["degraded"]["harvest"].startswith("harvesting is on but the API refuses it: HTTP 401")
        assert health["harvest"]["dropped"].get("refused", 0) >= 1 and health["harvest"]["sent"] == 0
        assert health["cameras"][CAMERA] == "online"
        frames_then = health["harvest"]["cameras"][CAMERA]["harvest_today"]
        wait_until(lambda: _frames_analysed(worker) > 20, 120, "the camera to keep analysing", on_timeout=worker.log_text)
        assert worker.log_text().count("refuses harvested frames") == 1
        assert frames_then >= 1
        assert WORKER not in worker.log_text() and "not-a-token-of-this-site" not in worker.log_text()
    finally:
        worker.stop()


def _degraded_harvest(port: int) -> dict | None:
    try:
        report = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    return report if "harvest" in report.get("degraded", {}) else None


def _frames_analysed(worker) -> int:
    counts = re.findall(r"'frames_analysed': (\d+)", worker.log_text())
    return int(counts[-1]) if counts else 0


def _unix(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _closest_clip_frame_difference(clip, image: np.ndarray) -> float:
    """The share of pixels (0..1) differing by more than 48 grey levels between ``image`` and the
    clip frame most like it: JPEG noise stays far below that, a drawn box or caption does not."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.int16)
    best = 1.0
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            other = cv2.cvtColor(frame.to_ndarray(format="bgr24"), cv2.COLOR_BGR2GRAY).astype(np.int16)
            best = min(best, float((np.abs(grey - other) > 48).mean()))
    return best
