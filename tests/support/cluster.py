"""Helpers for the cluster fault tests: cluster workers from a generated config, a
view on their metrics, and the synthetic producer as a real process. (The API with
the Redis ingest is tests.support.api.ApiServer(..., redis_url=...).)"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import yaml

from gridsight.processes import ChildProcess, gridsight_argv
from tests.support.api import STREAM
from tests.support.models import model_manifest
from tests.support.procs import free_port

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo.yaml"


def camera_config(url: str, *, analysis_fps: float = 1.0) -> dict:
    """A camera with the demo's zones and rules (so the demo weights can file orders)."""
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    camera = dict(next(iter(demo["cameras"].values())))
    camera.update(url=url, analysis_fps=analysis_fps,
                  source={"open_timeout_s": 3, "read_timeout_s": 3, "backoff_initial_s": 0.3, "backoff_max_s": 2,
                          "offline_after_failures": 3})
    return camera


def write_cluster_config(workdir: Path, *, name: str, api_url: str, redis_url: str, cameras: dict[str, dict],
                         max_cameras: int = 4, metrics_port: int, worker_overrides: dict | None = None,
                         **redis_overrides) -> Path:
    raw = {
        "api": {"url": api_url},
        "worker": {"name": name, "spool_dir": str(workdir / "spool"), "stats_interval_s": 5, "retry_max_s": 2,
                   "metrics_port": metrics_port, "metrics_host": "127.0.0.1", **(worker_overrides or {})},
        "models": {"demo": {"manifest": str(model_manifest()), "confidence": 0.35}},
        "cameras": cameras,
        "redis": {"url": redis_url, "stream": STREAM, "max_cameras": max_cameras, **redis_overrides},
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "worker.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class ClusterWorkerProcess(ChildProcess):
    def __init__(self, workdir: Path, config: Path, metrics_port: int) -> None:
        super().__init__(workdir.name, gridsight_argv("worker", "--config", str(config)), workdir / "worker.log")
        self.workdir = workdir
        self.spool_dir = workdir / "spool"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}"
        self._worker_id: str | None = None

    @property
    def worker_id(self) -> str | None:
        if self._worker_id is None:
            match = re.search(r"cluster worker (\S+) starting", self.log_text())
            self._worker_id = match.group(1) if match else None
        return self._worker_id

    def metrics(self) -> str:
        try:
            return httpx.get(f"{self.metrics_url}/metrics", timeout=3).text
        except httpx.HTTPError:
            return ""

    def health(self) -> dict:
        try:
            return httpx.get(f"{self.metrics_url}/health", timeout=3).json()
        except (httpx.HTTPError, ValueError):
            return {}

    def analysed(self) -> dict[str, float]:
        """camera -> frames analysed by this worker's current pipeline for it."""
        return {m.group(1): float(m.group(2)) for m in
                re.finditer(r'^gridsight_worker_frames_analysed_total\{camera="([^"]+)"\} (\S+)$', self.metrics(), re.M)}

    def pending_spool(self) -> int:
        return len(list((self.spool_dir / "pending").glob("*.json")))


def start_cluster_worker(base: Path, name: str, **kwargs) -> ClusterWorkerProcess:
    port = free_port()
    workdir = base / name
    config = write_cluster_config(workdir, name=name, metrics_port=port, **kwargs)
    worker = ClusterWorkerProcess(workdir, config, port)
    worker.start()
    return worker


def run_producer(redis_url: str, spool: Path, *, run_id: str, count: int, rate: float, report: Path,
                 log_path: Path, start: int = 0) -> ChildProcess:
    """The synthetic producer (outbox + Redis publisher) as its own process."""
    argv = [*gridsight_argv()[:2], "tests.support.loadgen", "--redis-url", redis_url, "--stream", STREAM,
            "--spool", str(spool), "--run-id", run_id, "--count", str(count), "--rate", str(rate),
            "--report", str(report), "--start", str(start), "--retry-max", "1.0", "--socket-timeout", "1.0"]
    return ChildProcess(f"producer-{run_id}", argv, log_path).start()

