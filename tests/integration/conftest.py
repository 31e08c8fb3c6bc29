"""Fixtures of the integration tests: real processes on loopback, the API (`gridsight
serve` on SQLite) and `gridsight worker`, each in its own process as
in production. Helpers that are not fixtures are imported from tests/support."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gridsight.demo import write_worker_config
from gridsight.processes import ChildProcess, gridsight_argv
from tests.support.api import ApiServer


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory) -> Path:
    """The synthetic street clip with its ground truth, rendered once per session."""
    from gridsight.synth.clip import write_clip
    from gridsight.synth.scenario import demo_scenario

    return write_clip(tmp_path_factory.mktemp("media") / "street.mp4", demo_scenario())


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium (tests.support.browser), launched once per module; skips without playwright."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
    from tests.support.browser import launched_chromium

    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def open_page(browser, api):
    """open_page(token, locale="zh-CN") -> a page on the module's `api` (tests.support.browser.PageSession,
    1440x900, screenshots under test-output/dashboard/); after the test each is closed and must have seen
    no script error or CSP violation."""
    from tests.support.browser import PageSession, shots_dir
    from tests.support.dashboard import UI_TIMEOUT_MS

    pages = []

    def make(token: str | None, locale: str = "zh-CN"):
        pages.append(PageSession(browser, api.url, token=token, locale=locale, timeout_ms=UI_TIMEOUT_MS,
                                 shots=shots_dir("dashboard")))
        return pages[-1]

    yield make
    for page in pages:
        page.close()
        page.clean()


@pytest.fixture(scope="session")
def lift_clip(tmp_path_factory) -> Path:
    """The e-bike-in-elevator scenario rendered at 5 fps (tests.support.edge_site), once per session."""
    from tests.support.edge_site import render_lift_clip

    return render_lift_clip(tmp_path_factory.mktemp("lift-clip"))


@pytest.fixture
def api(tmp_path):
    """`gridsight serve` on SQLite under tmp_path (tests.support.api.ApiServer); stop() and start() keep its port."""
    server = ApiServer(tmp_path).start()
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


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    """A real Label Studio (tests.support.labelstudio: its own virtualenv from `make labelstudio`) on a
    free loopback port with its own data directory, an admin user and a legacy API token; stopped after."""
    from tests.support.labelstudio import LabelStudioServer

    with LabelStudioServer(tmp_path_factory.mktemp("label-studio")) as server:
        yield server
