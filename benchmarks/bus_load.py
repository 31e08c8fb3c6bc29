"""Load test of the event bus: synthetic workers -> Redis Stream -> API ingest -> database.

One command, loopback only, bounded in count and time::

    .venv/bin/python benchmarks/bus_load.py                      # SQLite (the embedded default)
    .venv/bin/python benchmarks/bus_load.py --database postgresql # PostgreSQL (what docker-compose runs)

It starts a private redis-server (AOF, ``appendfsync everysec`` as deployed), the
API (`gridsight serve` with GRIDSIGHT_REDIS_URL, so the ingest runs in it) and
``--producers`` processes of the synthetic producer (``tests.support.loadgen``: each
order goes through a worker's real on-disk outbox and XADD). Two phases:

1. **burst**: ``--events`` orders (default 10,000) published as fast as the
   producers can; sustained orders/s = stored / (last - first commit).
2. **paced**: ``--paced-events`` at half the burst rate; latency without a backlog.

Ingest latency of an order = its ``created_at`` in the database minus the moment
its XADD returned in the producer. Loss and duplicates are checked key by key.
Prints a table; writes JSON with the machine description under
``benchmarks/results/<cpu>-<n>cpu/bus_load-<database>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from gridsight.hardware import cpu_model  # noqa: E402
from gridsight.processes import ChildProcess  # noqa: E402
from tests.support.api import ApiServer  # noqa: E402
from tests.support.procs import free_port, wait_until  # noqa: E402

STREAM = "gridsight:orders"



def machine() -> dict:
    cpu = cpu_model()
    mem_gib = None
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem_gib = round(kb / 2**20, 1)
    except (OSError, AttributeError):
        pass
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "hostname": socket.gethostname(), "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": mem_gib,
        "platform": platform.platform(), "python": platform.python_version(), "redis": redis_version,
        "load_average_at_start": os.getloadavg(),
    }


def results_dir(info: dict) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", info["cpu"].lower()).strip("-") or "cpu"
    return REPO / "benchmarks" / "results" / f"{slug}-{info['cpus']}cpu"




def make_database(kind: str, work: Path, pg_dsn: str) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{work / 'gridsight.db'}", lambda: None
    import psycopg

    name = f"gridsight_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(pg_dsn, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    info = admin.info

    def drop():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}", drop


def stored(engine, prefix: str) -> dict[str, float]:
    """idempotency key -> created_at (unix s) for this run's orders."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT idempotency_key, created_at FROM work_orders WHERE idempotency_key LIKE :p"),
                            {"p": f"{prefix}%"}).all()
    out = {}
    for key, created in rows:
        if isinstance(created, str):
            created = dt.datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.timezone.utc)
        out[key] = created.timestamp()
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_phase(name: str, *, redis_url: str, engine, work: Path, producers: int, events: int, rate: float,
              timeout_s: float) -> dict:
    run_id = f"{name}{uuid.uuid4().hex[:6]}"
    per = [events // producers + (1 if i < events % producers else 0) for i in range(producers)]
    procs, reports, start = [], [], 0
    began = time.time()
    for i, count in enumerate(per):
        report = work / f"{run_id}-{i}.jsonl"
        reports.append(report)
        argv = [sys.executable, "-m", "tests.support.loadgen", "--redis-url", redis_url, "--stream", STREAM,
                "--spool", str(work / f"spool-{run_id}-{i}"), "--run-id", run_id, "--count", str(count),
                "--start", str(start), "--rate", str(rate / producers if rate else 0), "--report", str(report),
                "--worker", f"bench-{i}", "--drain-timeout", str(timeout_s)]
        procs.append(ChildProcess(f"producer-{i}", argv, work / f"producer-{run_id}-{i}.log").start())
        start += count
    expected = {f"{run_id}-{i:08d}" for i in range(events)}
    deadline = time.monotonic() + timeout_s
    try:
        for p in procs:
            p.proc.wait(max(1, deadline - time.monotonic()))
    finally:
        for p in procs:
            p.stop()
    published: dict[str, float] = {}
    put: dict[str, float] = {}
    for report in reports:
        for line in report.read_text().splitlines():
            rec = json.loads(line)
            published[rec["key"]] = rec["published_at"]
            put[rec["key"]] = rec["put_at"]
    wait_until(lambda: len(stored(engine, run_id)) >= len(expected), max(5, deadline - time.monotonic()),
         f"{name}: all {events} orders stored", poll_s=0.5)
    time.sleep(2)  # a duplicate would show up now
    rows = stored(engine, run_id)
    with engine.connect() as conn:
        total_rows = conn.execute(text("SELECT count(*) FROM work_orders WHERE idempotency_key LIKE :p"),
                                  {"p": f"{run_id}%"}).scalar()
    end_to_end = [rows[k] - put[k] for k in rows if put.get(k)]
    bus = [rows[k] - published[k] for k in rows if k in published]
    first, last = min(rows.values()), max(rows.values())

    def dist(values):
        return {"p50": round(percentile(values, 0.5), 3), "p95": round(percentile(values, 0.95), 3),
                "p99": round(percentile(values, 0.99), 3), "max": round(max(values), 3),
                "mean": round(statistics.fmean(values), 3)}

    return {
        "phase": name, "events": events, "producers": producers, "target_rate": rate or "max",
        "published": len(published), "stored": len(rows), "rows": int(total_rows),
        "lost": len(expected - set(rows)), "duplicates": int(total_rows) - len(rows),
        "unexpected": len(set(rows) - expected),
        "publish_rate": round(len(published) / (max(published.values()) - min(published.values())), 1)
        if len(published) > 1 else None,
        "orders_per_s": round(len(rows) / (last - first), 1) if last > first else None,
        "wall_s": round(time.time() - began, 1),
        # event entered the worker's spool -> order row in the database (outbox + XADD + ingest, queueing included)
        "latency_s": dist(end_to_end),
        # XADD returned -> order row (the ingest part alone)
        "ingest_latency_s": dist(bus),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--paced-events", type=int, default=2_000)
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-dsn", default=os.environ.get("GRIDSIGHT_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"))
    ap.add_argument("--ingest-threads", type=int, default=None,
                    help="GRIDSIGHT_INGEST_THREADS for the API (default: 1 on SQLite, 4 on PostgreSQL)")
    ap.add_argument("--timeout", type=float, default=600, help="per phase")
    ap.add_argument("--out", help="JSON path (default: benchmarks/results/<cpu>/bus_load-<database>.json)")
    args = ap.parse_args(argv)
    if args.events > 50_000 or args.paced_events > 50_000:
        ap.error("bounded: at most 50,000 events per phase")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="gs-busload-"))
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    rproc = ChildProcess("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(work), "--save", "",
                                   "--appendonly", "yes", "--appendfsync", "everysec"], work / "redis.log").start()
    db_url, drop_db = make_database(args.database, work, args.pg_dsn)
    api = None
    try:
        wait_until(lambda: _ping(redis_url), 10, "redis")
        threads = args.ingest_threads or (1 if args.database == "sqlite" else 4)
        api = ApiServer(work, database_url=db_url, redis_url=redis_url, stream=STREAM,
                        env={"GRIDSIGHT_JOB_INTERVAL_S": "0", "GRIDSIGHT_INGEST_THREADS": str(threads)}).start()
        engine = create_engine(db_url)
        print(f"bus load test on {info['cpu']} x{info['cpus']} ({args.database}, {threads} ingest thread(s)); "
              f"work dir {work}", flush=True)
        burst = run_phase("burst", redis_url=redis_url, engine=engine, work=work, producers=args.producers,
                          events=args.events, rate=0, timeout_s=args.timeout)
        phases = [burst]
        if args.paced_events and burst["orders_per_s"]:
            phases.append(run_phase("paced", redis_url=redis_url, engine=engine, work=work, producers=args.producers,
                                    events=args.paced_events, rate=round(burst["orders_per_s"] * 0.5, 1),
                                    timeout_s=args.timeout))
        metrics = api.metrics()
        engine.dispose()
    finally:
        if api is not None:
            api.stop(signal.SIGINT)
        rproc.stop()
        drop_db()
    header = f"{'phase':<7} {'events':>7} {'rate':>7} {'published':>9} {'stored':>7} {'lost':>5} {'dup':>4} " \
             f"{'orders/s':>9} {'e2e p50':>8} {'e2e p95':>8} {'e2e p99':>8} {'ingest p95':>10}"
    print(header)
    print("-" * len(header))
    for p in phases:
        lat, ing = p["latency_s"], p["ingest_latency_s"]
        print(f"{p['phase']:<7} {p['events']:>7} {str(p['target_rate']):>7} {p['published']:>9} {p['stored']:>7} "
              f"{p['lost']:>5} {p['duplicates']:>4} {p['orders_per_s']:>9} {lat['p50']:>8} {lat['p95']:>8} "
              f"{lat['p99']:>8} {ing['p95']:>10}")
    print("latencies in seconds; e2e: event put in the worker's spool -> order row; ingest: XADD returned -> order row")
    ok = all(p["lost"] == 0 and p["duplicates"] == 0 and p["unexpected"] == 0 for p in phases)
    result = {
        "benchmark": "bus_load", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "database": args.database, "ingest_threads": threads, "producers": args.producers, "machine": info, "phases": phases, "zero_loss_zero_duplicates": ok,
        "notes": "latency_s: created_at of the order row minus the moment the producer put the event in its "
                 "on-disk spool (end to end, queueing included); ingest_latency_s: created_at minus the moment "
                 "XADD returned. created_at is stamped when the ingest starts the order's transaction. "
                 "orders/s = stored orders over the span between the first and the last created_at. "
                 "The machine was shared with a model training run during the measurement.",
        "api_ingest_metrics": [line for line in metrics.splitlines()
                               if line.startswith(("gridsight_api_work_orders_total", "gridsight_api_ingest_claimed",
                                                   "gridsight_api_ingest_messages_total"))],
    }
    out = Path(args.out) if args.out else results_dir(info) / f"bus_load-{args.database}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'OK' if ok else 'FAILED'}: zero loss and zero duplicates {'held' if ok else 'VIOLATED'}; wrote {out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
