"""A worker swaps in the model the registry assigns, without a restart (issue 18, must-have 5):
a real API process (`gridsight serve`, SQLite) and a real worker process (`gridsight worker`) on
the demo street clip, looping at its own pace. v4's weights uploaded under a new version and
promoted to all cameras: the worker fetches, checks and loads them and runs them (its /health
and the API's load reports say so, same process, frames still analysed). A version whose weights
are corrupt (checksums that match the corrupt bytes, so the registry takes it) and one whose
labels the camera's rules cannot use, promoted to the camera: the worker keeps v4 and says why.
A rollback of the camera's scope clears that again."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from gridsight.demo import write_worker_config
from gridsight.processes import ChildProcess, gridsight_argv
from inference.models.manifest import sha256_file
from tests.support.model_registry import upload
from tests.support.procs import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
V4 = REPO / "weights" / "gridsight-demo-v4.yaml"
CAMERA = "street-01"
NAME = "gridsight-demo-v4"


def registry_version(root: Path, version: str, *, weights: bytes | None = None, labels: dict | None = None) -> Path:
    """v4's manifest and weights under another version (no exports: the PyTorch weights run)."""
    root.mkdir(parents=True)
    manifest = yaml.safe_load(V4.read_text(encoding="utf-8"))
    weights_path = root / f"{NAME}-{version}.pt"
    if weights is None:
        shutil.copyfile(V4.parent / manifest["file"], weights_path)
    else:
        weights_path.write_bytes(weights)
    manifest.update(version=version, file=weights_path.name, sha256=sha256_file(weights_path), exports=[])
    if labels is not None:
        manifest.update(canonical_labels=labels, class_confidence={})
    path = root / f"{NAME}-{version}.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path


def start_worker(tmp_path: Path, api_url: str, clip: Path) -> tuple[ChildProcess, str]:
    tmp_path.mkdir()
    config_path = write_worker_config(tmp_path, api_url, str(clip))
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    port = free_port()
    raw["worker"].update({"stats_interval_s": 2, "metrics_port": port, "metrics_host": "127.0.0.1"})
    raw["model_sync"] = {"interval_s": 1, "retry_max_s": 2, "cache_dir": str(tmp_path / "model-cache")}
    for cam in raw["cameras"].values():
        cam["analysis_fps"] = 2
        cam["source"].update({"loop": True, "realtime": True})
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    worker = ChildProcess("worker", gridsight_argv("worker", "--config", str(config_path)), tmp_path / "worker.log")
    return worker.start(), f"http://127.0.0.1:{port}"


def health(url: str) -> dict:
    try:
        return httpx.get(f"{url}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def camera_model(url: str) -> dict:
    return health(url).get("models", {}).get(CAMERA, {})


def frames_analysed(url: str) -> float:
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    lines = [line for line in text.splitlines() if line.startswith("gridsight_worker_frames_analysed_total{")]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def test_the_worker_swaps_in_the_promoted_model_and_keeps_it_when_a_bad_one_follows(api, demo_clip, tmp_path):
    good = registry_version(tmp_path / "good", "4-city")
    corrupt = registry_version(tmp_path / "corrupt", "4-corrupt", weights=b"\x00not a torch file\x00" * 4096)
    people = registry_version(tmp_path / "people", "4-people", labels={"person": "person"})
    with httpx.Client(base_url=api.url, timeout=60) as http:
        for manifest in (good, corrupt, people):
            assert upload(http, manifest).status_code == 201
        worker, worker_url = start_worker(tmp_path / "worker", api.url, demo_clip)
        try:
            wait_until(lambda: camera_model(worker_url).get("running") == "gridsight-demo-v1 1", 120,
                       "the worker running its config's model", on_timeout=worker.log_text)
            pid = worker.proc.pid

            promoted = http.post(f"/api/v1/models/{NAME}/4-city/promote", json={"scope": "all"}).json()
            state = wait_until(lambda: (m := camera_model(worker_url)).get("running") == f"{NAME} 4-city" and m, 120,
                               "the promoted model running", on_timeout=worker.log_text)
            assert (state["state"], state["assignment_id"]) == ("loaded", promoted["assignment_id"])
            record = wait_until(lambda: CAMERA in (r := http.get(f"/api/v1/models/{NAME}/4-city").json())["running_on"]
                                and r, 30, "the API's load report", on_timeout=worker.log_text)
            assert record["failed_on"] == []
            swapped_at = frames_analysed(worker_url)
            wait_until(lambda: frames_analysed(worker_url) >= swapped_at + 4, 60, "frames analysed by the new model",
                       on_timeout=worker.log_text)
            assert worker.alive and worker.proc.pid == pid and worker.log_text().count("worker starting") == 1

            for version, why in (("4-corrupt", "is not a YOLO model"),
                                 ("4-people", "its rules need labels the model does not provide")):
                assert http.post(f"/api/v1/models/{NAME}/{version}/promote",
                                 json={"scope": f"camera:{CAMERA}"}).status_code == 200
                line = wait_until(lambda: f"assigned {NAME} {version} not loaded" in
                                  (health(worker_url).get("degraded", {}).get("model") or "")
                                  and health(worker_url)["degraded"]["model"], 120, f"{version} refused",
                                  on_timeout=worker.log_text)
                assert line.startswith(f"{CAMERA}: assigned {NAME} {version} not loaded: ") and why in line, line
                assert "\n" not in line
                assert camera_model(worker_url)["running"] == f"{NAME} 4-city", "the old model is kept"
                failed = wait_until(lambda: http.get(f"/api/v1/models/{NAME}/{version}").json()["failed_on"], 30,
                                    f"the API's failed report of {version}", on_timeout=worker.log_text)
                assert failed[0]["camera_id"] == CAMERA and why in failed[0]["reason"]

            assert http.post("/api/v1/models/rollback", json={"scope": f"camera:{CAMERA}"}).status_code == 200
            assert http.post("/api/v1/models/rollback", json={"scope": f"camera:{CAMERA}"}).status_code == 200
            wait_until(lambda: "model" not in health(worker_url).get("degraded", {"model": "?"}), 60,
                       "the refusal cleared by the rollback", on_timeout=worker.log_text)
            assert camera_model(worker_url)["running"] == f"{NAME} 4-city"
            assert worker.alive and worker.proc.pid == pid
            assert "Traceback" not in worker.log_text()
        finally:
            worker.stop()
