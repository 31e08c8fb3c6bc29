"""`gridsight demo`: the whole path on one machine.

The API on SQLite, the synthetic street clip served by a real RTSP server,
and a worker analysing it; new work orders, repeats, ENDs and every move made on
the dashboard are printed as they arrive. The database (with its evidence and
spool) is kept for the next run; `--fresh` starts clean. Ctrl-C stops everything.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml

from gridsight.demo.district import show_demo_district
from gridsight.demo.feed import EventFeed, FeedPrinter
from gridsight.logs import zone_from_env
from gridsight.demo.workdir import EVIDENCE_DIR, FRESH_HINT, SPOOL_DIR, DemoStateError, prepare_workdir
from gridsight.processes import REPO_ROOT, SYSTEM_PYTHON, ChildProcess, gridsight_argv, system_python_env, wait_http_ok

DEMO_CONFIG = REPO_ROOT / "configs" / "demo.yaml"
BIG_SCREEN_PATH = "/dashboard/live"
API_URL = "http://127.0.0.1:{port}"
RTSP_URL = "rtsp://127.0.0.1:{port}/street"


def ensure_demo_clip(workdir: Path) -> Path:
    from gridsight.synth.clip import ground_truth_path, write_clip
    from gridsight.synth.scenario import demo_scenario

    clip = workdir / "street.mp4"
    if not clip.exists() or not ground_truth_path(clip).exists():

        print(f"rendering the synthetic street clip -> {clip}")
        write_clip(clip, demo_scenario())
    return clip


def write_worker_config(workdir: Path, api_url: str, rtsp_url: str) -> Path:
    """The demo config with this run's ports and absolute paths."""
    raw = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["api"]["url"] = api_url
    raw["worker"]["spool_dir"] = str((workdir / SPOOL_DIR).resolve())
    for model in raw["models"].values():
        model["manifest"] = str((DEMO_CONFIG.parent / model["manifest"]).resolve())
    for camera in raw["cameras"].values():
        camera["url"] = rtsp_url
    path = workdir / "worker.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def print_urls(api_url: str) -> None:
    """Where to look: the dashboard first (it is what an operator uses), then the API."""
    print(f"dashboard: {api_url}/dashboard  (orders, cameras, stats; the 中文/English switch at the top)")
    print(f"big screen (a 1920x1080 wall): {api_url}{BIG_SCREEN_PATH}")
    print(f"API: {api_url}  (docs: {api_url}/docs, orders: {api_url}/api/v1/work-orders)", flush=True)


def count_orders(api_url: str) -> int | None:
    try:
        return int(httpx.get(f"{api_url}/api/v1/work-orders", params={"limit": 1}, timeout=5).json()["total"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def worker_summary(worker: ChildProcess) -> str | None:
    """The worker's own last line ("delivered this run N order(s), N repeat(s) ..."), for the terminal."""
    lines = [line for line in worker.log_text().splitlines() if "worker stopped:" in line]
    return lines[-1].split("worker stopped:", 1)[1].strip() if lines else None


def _follow(children: list[ChildProcess], feed: EventFeed, printer: FeedPrinter, duration_s: float | None,
            stop: threading.Event) -> int:
    """Print every change until Ctrl-C, --duration, or a child dies (1)."""
    deadline = time.monotonic() + duration_s if duration_s else None
    while not stop.wait(1.0):
        for message in feed.drain():
            print(printer.show(message), flush=True)
        if deadline and time.monotonic() > deadline:
            break
        for child in children:
            if not child.alive:
                print(f"error: {child.name} exited unexpectedly; last log lines:\n{child.log_text()[-2000:]}")
                return 1
    return 0


def _drain_until_quiet(feed: EventFeed, printer: FeedPrinter, quiet_s: float = 1.5, limit_s: float = 10.0) -> None:
    """After the worker stopped: print what its last flush delivered, until the feed is quiet."""
    quiet_since = ends = time.monotonic()
    ends += limit_s
    while time.monotonic() - quiet_since < quiet_s and time.monotonic() < ends:
        messages = feed.drain()
        for message in messages:
            print(printer.show(message))
        if messages:
            quiet_since = time.monotonic()
        time.sleep(0.2)


def _children(workdir: Path, database: Path, clip: Path, api_port: int, rtsp_port: int) -> list[ChildProcess]:
    """The API, the RTSP camera and the worker, not started yet; this run's logs under workdir/logs."""
    logs = workdir / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    api_url, rtsp_url = API_URL.format(port=api_port), RTSP_URL.format(port=rtsp_port)
    api = ChildProcess(
        "api",
        gridsight_argv("serve", "--port", str(api_port), "--database-url", f"sqlite:///{database}",
                       "--evidence-dir", str(workdir / EVIDENCE_DIR)),
        logs / "api.log",
    )
    rtsp = ChildProcess(
        "rtsp-server",
        [SYSTEM_PYTHON, str(Path(__file__).resolve().parent / "rtsp_server.py"), "--port", str(rtsp_port),
         "--mount", f"/street={clip}", "--loop"],
        logs / "rtsp.log",
        env=system_python_env(),
    )
    worker = ChildProcess("worker", gridsight_argv("worker", "--config", str(write_worker_config(workdir, api_url, rtsp_url))),
                          logs / "worker.log")
    return [api, rtsp, worker]


def run_demo(workdir: Path, api_port: int, rtsp_port: int, duration_s: float | None, stop: threading.Event,
             fresh: bool = False) -> int:
    workdir = workdir.resolve()
    try:
        # Kept between runs: the database with its evidence and spool (gridsight/demo/workdir.py).
        prepared = prepare_workdir(workdir, fresh)
    except DemoStateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clip = ensure_demo_clip(workdir)
    api_url, rtsp_url = API_URL.format(port=api_port), RTSP_URL.format(port=rtsp_port)
    api, rtsp, worker = children = _children(workdir, prepared.database, clip, api_port, rtsp_port)
    printer = FeedPrinter(api_url, zone=zone_from_env())  # the clock the API and worker children use too
    feed: EventFeed | None = None
    try:
        api.start()
        wait_http_ok(f"{api_url}/health", 60, api)
        for line in prepared.lines(count_orders(api_url)):
            print(line)
        print_urls(api_url)
        show_demo_district(api_url)  # the map's cells and the camera's position, before the first order
        rtsp.start()
        rtsp.wait_for_log("READY", 30)
        print(f"RTSP camera up: {rtsp_url}  (synthetic street clip, looping)")
        feed = EventFeed(api_url).start()  # before the worker: its first order is not missed
        worker.start()
        print(f"worker started; logs under {workdir / 'logs'}. Every new order and every change is printed "
              f"below (Ctrl-C to stop)", flush=True)
        code = _follow(children, feed, printer, duration_s, stop)
        worker.stop()  # flushes its spool: what it delivers last is still printed and counted
        _drain_until_quiet(feed, printer)
        print(f"demo stopping; this run: {printer.summary()}", flush=True)
        return code
    except (RuntimeError, TimeoutError) as exc:  # a child did not start: its log tail says why
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in (worker, rtsp):
            child.stop()
        if feed is not None:
            feed.stop()
        api.stop()
        said = worker_summary(worker)
        if said:
            print(f"worker: {said}")
        print(f"kept for the next run: {prepared.database} and its evidence; {FRESH_HINT}")
