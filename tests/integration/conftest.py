"""Real processes on loopback: the API (uvicorn + SQLite), the GStreamer RTSP
server, and `gridsight worker`, each in its own process as in production."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from gridsight.demo import write_worker_config
from tests.support.procs import ChildProcess, gridsight_argv, wait_http_ok, wait_until  # noqa: F401 (tests import it from here)
from tests.support.rtsp import free_port


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory) -> Path:
    """The synthetic street clip with its ground truth, rendered once per session."""
    from gridsight.synth.clip import write_clip
    from gridsight.synth.scenario import demo_scenario

    return write_clip(tmp_path_factory.mktemp("media") / "street.mp4", demo_scenario())


class ApiProcess:
    """The API as a child process; stop() and start() again keep the same port and database."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self._runs = 0
        self.proc: ChildProcess | None = None

    def start(self) -> "ApiProcess":
        self._runs += 1
        argv = gridsight_argv(
            "serve", "--port", str(self.port),
            "--database-url", f"sqlite:///{self.workdir / 'gridsight.db'}",
            "--evidence-dir", str(self.workdir / "evidence"),
        )
        self.proc = ChildProcess("api", argv, self.workdir / "logs" / f"api-{self._runs}.log").start()
        wait_http_ok(f"{self.url}/health", 60, self.proc)
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def orders(self, **params) -> list[dict]:
        response = httpx.get(f"{self.url}/api/v1/work-orders", params={"limit": 200, **params}, timeout=10)
        response.raise_for_status()
        return response.json()["items"]

    def camera(self, camera_id: str) -> dict | None:
        response = httpx.get(f"{self.url}/api/v1/cameras/{camera_id}", timeout=10)
        return response.json() if response.status_code == 200 else None


@pytest.fixture
def api(tmp_path):
    server = ApiProcess(tmp_path).start()
    yield server
    server.stop()


class WorkerProcess(ChildProcess):
    def event_starts(self) -> int:
        return self.log_text().count(": event start ")


@pytest.fixture
def start_worker(tmp_path):
    """start_worker(api_url, camera_url, **camera_overrides) -> a running `gridsight worker`."""
    started: list[WorkerProcess] = []

    def start(api_url: str, camera_url: str, **camera_overrides) -> WorkerProcess:
        workdir = tmp_path / f"worker-{len(started)}"
        workdir.mkdir()
        config_path = write_worker_config(workdir, api_url, camera_url)
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        raw["worker"]["stats_interval_s"] = 2
        raw["worker"]["retry_max_s"] = 2
        for camera in raw["cameras"].values():
            camera.update(camera_overrides)
        config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        worker = WorkerProcess("worker", gridsight_argv("worker", "--config", str(config_path)), workdir / "worker.log")
        worker.spool_dir = workdir / "spool"
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()

