"""Load test of the work-order API over HTTP: camera workers POSTing orders with a JPEG.

One command, loopback only, bounded in count and time::

    .venv/bin/python benchmarks/api_load.py                        # SQLite (the embedded default)
    .venv/bin/python benchmarks/api_load.py --database postgresql  # PostgreSQL (what docker-compose runs)
    .venv/bin/python benchmarks/api_load.py --repo /tmp/before --label before   # another checkout's API

It starts the API (`gridsight serve`, from ``--repo``: default this checkout) on a free
loopback port with a fresh database (a new SQLite file, or a new PostgreSQL database that is
dropped afterwards), then runs two phases:

1. **load**: ``--requests`` POST /api/v1/work-orders (default 2,000), each a new event (own
   idempotency key and event id, 16 cameras in turn) carrying a ``--jpeg-kb`` KB JPEG (default
   117, a real image that the API decodes), sent by ``--concurrency`` clients (default 16)
   with keep-alive connections as fast as the API answers. The merge window is 0, so every
   request files an order (the heaviest path: decode, evidence file, insert).
2. **storm**: ``--storm`` clients (default 50) send the same request with one idempotency
   key at once, twice: the same body (what a worker's outbox does after a network blip: one
   201, the rest 200), and 50 different bodies (one 201, the rest 409).

During both phases ``/health`` is probed every 0.25 s. Latency is measured by the client
from sending the request to reading the whole response; the client runs on the same
machine as the server and shares its CPUs. Prints a table; writes JSON with the machine
description and the load average at start and end under
``benchmarks/results/<machine>/api_load-<database>[-<label>].json``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import httpx  # noqa: E402

from tests.support.api import ApiServer  # noqa: E402
from bus_load import _http_ok, make_database, percentile  # noqa: E402  (the bus benchmark's database and probes)
from scenario_eval import machine, results_dir  # noqa: E402

MAX_REQUESTS = 20_000
MAX_CONCURRENCY = 64
CAMERAS = 16


def make_jpeg(target_kb: float, seed: int = 7) -> bytes:
    """A deterministic 1280x720 JPEG close to ``target_kb`` KB: a gradient scene with noise
    (quality searched so the size matches, like a camera frame at the workers' setting)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:720, 0:1280]
    base = np.stack([(x / 5) % 256, (y / 3) % 256, ((x + y) / 7) % 256], axis=-1)
    noise = rng.normal(0, 18, size=base.shape)
    pixels = np.clip(base + noise, 0, 255).astype("uint8")
    image = Image.fromarray(pixels, "RGB")
    best = b""
    lo, hi = 5, 95
    while lo <= hi:
        quality = (lo + hi) // 2
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        data = buf.getvalue()
        if not best or abs(len(data) - target_kb * 1000) < abs(len(best) - target_kb * 1000):
            best = data
        if len(data) < target_kb * 1000:
            lo = quality + 1
        else:
            hi = quality - 1
    return best


class Bodies:
    """Request bodies as bytes, built from a template so the client spends little CPU on them."""

    def __init__(self, jpeg: bytes) -> None:
        self.placeholder = "@@EVIDENCE@@"
        self.b64 = base64.b64encode(jpeg).decode("ascii")

    def body(self, *, event: str, camera: str, detected_at: dt.datetime, confidence: float = 0.87) -> bytes:
        doc = {
            "camera_id": camera, "zone_id": "zone-a", "rule_id": "exposed-garbage", "event_id": event,
            "category_code": "06010", "category_name": "暴露垃圾 exposed garbage", "priority": "normal",
            "labels": ["garbage_pile"], "confidence": confidence,
            "detected_at": detected_at.isoformat(), "event_started_at": (detected_at - dt.timedelta(minutes=5)).isoformat(),
            "model_name": "yolo11n-gridsight", "model_version": "2026.11.1",
            "boxes": [{"label": "garbage_pile", "confidence": confidence, "xyxy": [10.0, 20.0, 110.0, 220.0], "track_id": 7}],
            "grid_cell": "cell-0274", "address": "Xietang street 1",
            "evidence": [{"kind": "snapshot", "content_type": "image/jpeg", "data_b64": self.placeholder}],
        }
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        return text.replace(self.placeholder, self.b64).encode("utf-8")


def dist(values: list[float]) -> dict:
    if not values:
        return {}
    return {"p50": round(percentile(values, 0.5), 4), "p95": round(percentile(values, 0.95), 4),
            "p99": round(percentile(values, 0.99), 4), "max": round(max(values), 4),
            "mean": round(statistics.fmean(values), 4)}


class HealthProbe:
    """GET /health every ``period_s`` on its own connection while a phase runs."""

    def __init__(self, base: str, period_s: float = 0.25, timeout_s: float = 60.0) -> None:
        self.base, self.period_s, self.timeout_s = base, period_s, timeout_s
        self.latencies: list[float] = []
        self.failures: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=self.timeout_s) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    code = http.get("/health").status_code
                    if code != 200:
                        self.failures[str(code)] += 1
                except httpx.HTTPError as exc:
                    self.failures[type(exc).__name__] += 1
                self.latencies.append(time.perf_counter() - started)
                self._stop.wait(self.period_s)

    def __enter__(self) -> "HealthProbe":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s + 5)

    def report(self) -> dict:
        return {"probes": len(self.latencies), "failures": dict(self.failures), "latency_s": dist(self.latencies)}


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (default: this one) so far."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds the API process and this client used during a phase."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> "CpuMeter":
        self._server, self._client = cpu_seconds(self.server_pid), cpu_seconds()
        return self

    def __exit__(self, *_exc) -> None:
        self.server_s = cpu_seconds(self.server_pid) - self._server
        self.client_s = cpu_seconds() - self._client


def post(http: httpx.Client, body: bytes, key: str) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        response = http.post("/api/v1/work-orders", content=body,
                             headers={"Idempotency-Key": key, "Content-Type": "application/json"})
        outcome = str(response.status_code)
        if response.headers.get("work-order-merged") == "true":
            outcome += "-merged"
    except httpx.HTTPError as exc:
        outcome = type(exc).__name__
    return outcome, time.perf_counter() - started


def summarise(name: str, results: list[tuple[str, float]], wall_s: float, health: HealthProbe, cpu: CpuMeter,
              **extra) -> dict:
    codes = Counter(outcome for outcome, _ in results)
    latencies = [lat for _, lat in results]
    failed = sum(n for code, n in codes.items() if not code[:1] in ("2", "4"))
    n = max(1, len(results))
    return {"phase": name, "requests": len(results), **extra, "outcomes": dict(sorted(codes.items())),
            "failed": failed, "wall_s": round(wall_s, 2),
            "requests_per_s": round(len(results) / wall_s, 1) if wall_s > 0 else None,
            "latency_s": dist(latencies), "health": health.report(),
            # CPU per request: the API process's, and the load generator's (same machine, same CPUs).
            "server_cpu_ms_per_request": round(cpu.server_s * 1000 / n, 2),
            "client_cpu_ms_per_request": round(cpu.client_s * 1000 / n, 2)}


def load_phase(base: str, bodies: Bodies, *, requests: int, concurrency: int, deadline: float,
               request_timeout_s: float, server_pid: int) -> dict:
    run = uuid.uuid4().hex[:8]
    t0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)
    next_index = iter(range(requests))
    lock = threading.Lock()
    results: list[tuple[str, float]] = []

    def client(_: int) -> None:
        with httpx.Client(base_url=base, timeout=request_timeout_s) as http:
            while time.monotonic() < deadline:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                body = bodies.body(event=f"evt-{run}-{i:06d}", camera=f"cam-bench-{i % CAMERAS:02d}",
                                   detected_at=t0 + dt.timedelta(seconds=i))
                outcome = post(http, body, f"key-{run}-{i:06d}")
                with lock:
                    results.append(outcome)

    with HealthProbe(base) as health, CpuMeter(server_pid) as cpu:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(client, range(concurrency)))
        wall = time.perf_counter() - started
    out = summarise("load", results, wall, health, cpu, concurrency=concurrency)
    out["not_sent"] = requests - len(results)  # the phase's time ran out
    return out


def storm_phase(base: str, bodies: Bodies, *, clients: int, same_body: bool, request_timeout_s: float,
                server_pid: int) -> dict:
    key = f"key-storm-{uuid.uuid4().hex[:12]}"
    event = f"evt-storm-{uuid.uuid4().hex[:8]}"
    detected = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.timezone.utc)
    payloads = [bodies.body(event=event, camera="cam-storm", detected_at=detected,
                            confidence=0.87 if same_body else round(0.30 + i / 1000, 3)) for i in range(clients)]
    barrier = threading.Barrier(clients)

    def one(i: int) -> tuple[str, float]:
        with httpx.Client(base_url=base, timeout=request_timeout_s) as http:
            barrier.wait()
            return post(http, payloads[i], key)

    with HealthProbe(base) as health, CpuMeter(server_pid) as cpu:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, range(clients)))
        wall = time.perf_counter() - started
    name = "storm-same" if same_body else "storm-diff"
    out = summarise(name, results, wall, health, cpu, concurrency=clients)
    expected = {"201": 1, "200" if same_body else "409": clients - 1}
    out["expected"] = expected
    out["as_expected"] = out["outcomes"] == expected
    return out


def _git_describe(repo: Path) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-dsn", default=os.environ.get("GRIDSIGHT_TEST_PG_DSN",
                                                       "host=127.0.0.1 port=5432 user=postgres dbname=postgres"))
    ap.add_argument("--requests", type=int, default=2_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--jpeg-kb", type=float, default=117.0)
    ap.add_argument("--storm", type=int, default=50, help="clients of each storm burst; 0: no storm phase")
    ap.add_argument("--timeout", type=float, default=600, help="the load phase stops sending after this many seconds")
    ap.add_argument("--request-timeout", type=float, default=60, help="client timeout per request")
    ap.add_argument("--repo", type=Path, default=REPO,
                    help="the checkout whose API is served (e.g. a `git worktree` of an older commit)")
    ap.add_argument("--label", help="added to the output name (e.g. before, after)")
    ap.add_argument("--out", help="JSON path (default: benchmarks/results/<machine>/api_load-<database>[-<label>].json)")
    args = ap.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        ap.error(f"bounded: 1 to {MAX_REQUESTS} requests")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY or not 0 <= args.storm <= 200:
        ap.error(f"bounded: concurrency 1 to {MAX_CONCURRENCY}, storm 0 to 200")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    info = machine("cpu")
    repo = args.repo.resolve()
    info["api_checkout"] = {"path": str(repo), "commit": _git_describe(repo)}
    jpeg = make_jpeg(args.jpeg_kb)
    bodies = Bodies(jpeg)
    work = Path(tempfile.mkdtemp(prefix="gs-apiload-"))
    db_url, drop_db = make_database(args.database, work, args.pg_dsn)
    # Served from ``repo`` (its packages first on the path), so that checkout's ``api`` package is the one served.
    api = ApiServer(work, database_url=db_url, evidence_dir=work / "evidence", cwd=repo, log_level="WARNING",
                    env={"GRIDSIGHT_JOB_INTERVAL_S": "0", "GRIDSIGHT_MERGE_WINDOW": "PT0S",
                         "GRIDSIGHT_LOG_LEVEL": "WARNING"})
    base = api.url
    phases: list[dict] = []
    try:
        api.start()  # waits for /health; an API that exits or never answers is an error with its log
        print(f"API load test on {info['cpu']} x{info['cpus']} ({args.database}, API from {repo} "
              f"at {info['api_checkout']['commit']}); JPEG {len(jpeg) / 1000:.0f} KB; "
              f"load average {info['load_average_at_start']}", flush=True)
        deadline = time.monotonic() + args.timeout
        phases.append(load_phase(base, bodies, requests=args.requests, concurrency=args.concurrency,
                                 deadline=deadline, request_timeout_s=args.request_timeout, server_pid=api.pid))
        if args.storm:
            for same in (True, False):
                phases.append(storm_phase(base, bodies, clients=args.storm, same_body=same,
                                          request_timeout_s=args.request_timeout, server_pid=api.pid))
        server_errors = [line for line in api.log_text().splitlines() if "Error" in line or "error" in line][-20:]
    finally:
        api.stop(signal.SIGINT)
        drop_db()
    info["load_average_at_end"] = os.getloadavg()

    header = (f"{'phase':<11} {'requests':>8} {'conc':>5} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} "
              f"{'max s':>7} {'failed':>6} {'health p95':>10} {'health max':>10} {'cpu ms/req':>10}  outcomes")
    print(header)
    print("-" * len(header))
    for p in phases:
        lat, health = p["latency_s"], p["health"]["latency_s"]
        print(f"{p['phase']:<11} {p['requests']:>8} {p['concurrency']:>5} {p['requests_per_s']:>7} "
              f"{lat.get('p50', 'nan'):>7} {lat.get('p95', 'nan'):>7} {lat.get('p99', 'nan'):>7} {lat.get('max', 'nan'):>7} "
              f"{p['failed']:>6} {health.get('p95', 'nan'):>10} {health.get('max', 'nan'):>10} "
              f"{p['server_cpu_ms_per_request']:>10}  {p['outcomes']}")
    print(f"latency: client-side, request sent -> response read; failed: 5xx and transport errors; "
          f"cpu: the API process's CPU time per request; "
          f"load average start {info['load_average_at_start']} end {info['load_average_at_end']}")
    result = {
        "benchmark": "api_load", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "database": args.database, "label": args.label, "jpeg_bytes": len(jpeg), "machine": info, "phases": phases,
        "server_error_lines": server_errors,
        "notes": "One API process (gridsight serve, uvicorn, default thread pool) and the load generator on the "
                 "same machine over loopback; client threads share the CPUs with the server. Load phase: every "
                 "request a new event with its own key (merge window 0: each files an order with its JPEG). "
                 "Storm phases: one key, all clients at once, same body or different bodies. The machine may be "
                 "shared with other jobs: load_average_at_start/_at_end (1, 5, 15 min) say how busy it was.",
    }
    name = f"api_load-{args.database}" + (f"-{args.label}" if args.label else "")
    out = Path(args.out) if args.out else results_dir(info) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    ok = all(p["failed"] == 0 for p in phases) and all(p.get("as_expected", True) for p in phases)
    print(f"{'OK' if ok else 'FAILED'}: {'no' if ok else 'some'} server errors or unexpected outcomes; wrote {out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
