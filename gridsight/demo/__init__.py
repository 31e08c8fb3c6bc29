"""`gridsight demo`: the whole path on one machine.

The API on SQLite, the synthetic street clip served by a real RTSP server,
and a worker analysing it; new work orders are printed as they arrive and
stay visible through the API. Ctrl-C stops everything.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import yaml

from gridsight.processes import REPO_ROOT, SYSTEM_PYTHON, ChildProcess, gridsight_argv, system_python_env, wait_http_ok

DEMO_CONFIG = REPO_ROOT / "configs" / "demo.yaml"


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
    raw["worker"]["spool_dir"] = str((workdir / "spool").resolve())
    for model in raw["models"].values():
        model["manifest"] = str((DEMO_CONFIG.parent / model["manifest"]).resolve())
    for camera in raw["cameras"].values():
        camera["url"] = rtsp_url
    path = workdir / "worker.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def print_order(order: dict, api_url: str) -> None:
    evidence = ", ".join(f"{api_url}{e['url']}" for e in order.get("evidence", []))
    print(
        f"\n>>> NEW WORK ORDER {order['order_no']}  [{order['category_code']} {order['category_name']}]  priority={order['priority']}"
        f"\n    camera={order['camera_id']} zone={order['zone_id']} labels={','.join(order['labels'])} "
        f"confidence={order['confidence']:.2f} detected_at={order['detected_at']} deadline={order['deadline_at']}"
        f"\n    evidence: {evidence}\n",
        flush=True,
    )


def run_demo(workdir: Path, api_port: int, rtsp_port: int, duration_s: float | None, stop: threading.Event) -> int:
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    clip = ensure_demo_clip(workdir)
    # A fresh database each run, so what the demo shows is what this run detected.
    for stale in ("gridsight.db", "gridsight.db-wal", "gridsight.db-shm"):
        (workdir / stale).unlink(missing_ok=True)
    shutil.rmtree(workdir / "evidence", ignore_errors=True)
    shutil.rmtree(workdir / "spool", ignore_errors=True)

    api_url = f"http://127.0.0.1:{api_port}"
    rtsp_url = f"rtsp://127.0.0.1:{rtsp_port}/street"
    logs = workdir / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    api = ChildProcess(
        "api",
        gridsight_argv("serve", "--port", str(api_port), "--database-url", f"sqlite:///{workdir / 'gridsight.db'}", "--evidence-dir", str(workdir / "evidence")),
        logs / "api.log",
    )
    rtsp = ChildProcess(
        "rtsp-server",
        [SYSTEM_PYTHON, str(Path(__file__).resolve().parent / "rtsp_server.py"), "--port", str(rtsp_port), "--mount", f"/street={clip}", "--loop"],
        logs / "rtsp.log",
        env=system_python_env(),
    )
    worker = ChildProcess("worker", gridsight_argv("worker", "--config", str(write_worker_config(workdir, api_url, rtsp_url))), logs / "worker.log")
    children = [api, rtsp, worker]
    try:
        api.start()
        wait_http_ok(f"{api_url}/health", 60, api)
        print(f"API up: {api_url}  (docs: {api_url}/docs, orders: {api_url}/api/v1/work-orders)")
        rtsp.start()
        rtsp.wait_for_log("READY", 30)
        print(f"RTSP camera up: {rtsp_url}  (synthetic street clip, looping)")
        worker.start()
        print(f"worker started; logs under {logs}. Waiting for work orders... (Ctrl-C to stop)", flush=True)
        seen: set[int] = set()
        deadline = time.monotonic() + duration_s if duration_s else None
        while not stop.wait(1.0):
            if deadline and time.monotonic() > deadline:
                break
            for child in children:
                if not child.alive:
                    print(f"error: {child.name} exited unexpectedly; last log lines:\n{child.log_text()[-2000:]}")
                    return 1
            try:
                page = httpx.get(f"{api_url}/api/v1/work-orders", params={"limit": 50}, timeout=5).json()
            except (httpx.HTTPError, ValueError):
                continue
            for order in reversed(page.get("items", [])):
                if order["id"] not in seen:
                    seen.add(order["id"])
                    print_order(order, api_url)
        print(f"demo stopping: {len(seen)} work order(s) created")
        return 0
    finally:
        worker.stop()
        rtsp.stop()
        api.stop()
