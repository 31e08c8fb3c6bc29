"""Fault tests 2 and 3: events keep flowing while Redis (30 s) or the API (60 s)
is down; afterwards every event is exactly one work order.

Events come from the synthetic producer (`python -m tests.support.loadgen`): the
worker's own durable outbox and Redis publisher, without a detector - these
tests exercise the bus. Test 2 also runs a real cluster worker on an RTSP
camera through the outage: it keeps analysing, and holds its lease after.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.api import STREAM, ApiServer
from tests.support.cluster import camera_config, run_producer, start_cluster_worker
from tests.support.loadgen import order_key
from tests.support.media import make_test_clip
from tests.support.procs import wait_until
from tests.support.redis_server import RedisServer, requires_redis_server
from tests.support.rtsp import RtspServer, requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_redis_server, pytest.mark.timeout(300)]


def published_keys(report: Path) -> list[str]:
    if not report.exists():
        return []
    return [json.loads(line)["key"] for line in report.read_text().splitlines() if line.strip()]


def producer_summary(proc) -> dict:
    match = re.search(r"SUMMARY (\{.*\})", proc.log_text())
    return json.loads(match.group(1)) if match else {}


def consumer_group(r) -> dict:
    return next(g for g in r.xinfo_groups(STREAM) if g["name"] == "gridsight-api")


def check_exactly_once(api: ApiServer, redis_server: RedisServer, run_id: str, produced: int, report: Path) -> dict:
    """Every produced event is one stored order, counted per incident, not per idempotency key.

    The key is UNIQUE in the schema, so counting distinct keys proves nothing. What a lost
    ack would do if the producer re-published under a new key or event id is file the same
    incident again: a second row for its zone, or (within the merge window) a repeat merged
    into the first. Each synthetic event has a zone of its own, so both are counted here."""
    expected = {order_key(run_id, i): f"z-{run_id}-{i}"[:64] for i in range(produced)}
    wait_until(lambda: set(expected) <= set(api.stored_keys()), 90, "every produced event stored",
               poll_s=1, on_timeout=lambda: api.log_text()[-3000:])
    r = redis_server.client()
    # The producer has exited: once the stream is read to its end and every entry acked, nothing more can land.
    wait_until(lambda: (lambda g: int(g["pending"]) == 0 and not g.get("lag"))(consumer_group(r)), 60,
               "the stream consumed and acked", poll_s=0.5, on_timeout=lambda: str(consumer_group(r)))
    rows = [row for row in api.stored_orders("idempotency_key", "zone_id", "event_id", "repeat_count")
            if row[1].startswith(f"z-{run_id}-")]  # the run's incidents, whatever key they came under
    per_zone = Counter(zone for _, zone, _, _ in rows)
    events_per_zone: dict[str, set] = {}
    for _, zone, event_id, _ in rows:
        events_per_zone.setdefault(zone, set()).add(event_id)
    counts = {
        "produced": produced,
        "xadd_acks": len(published_keys(report)),
        "stored": len(rows),
        "missing": len(set(expected.values()) - set(per_zone)),
        "unexpected": sum(1 for key, zone, _, _ in rows if expected.get(key) != zone),
        # an incident filed twice: a second row, a repeat merged into the first, or a second event id
        "duplicates": sum(n - 1 for n in per_zone.values()) + sum(rc or 0 for *_, rc in rows),
        "incidents_with_two_event_ids": sum(1 for ids in events_per_zone.values() if len(ids) > 1),
        "pending": int(consumer_group(r)["pending"]),
        "dead_lettered": r.xlen(f"{STREAM}:dead"),
    }
    assert counts["missing"] == 0 and counts["unexpected"] == 0, counts
    assert counts["duplicates"] == 0 and counts["incidents_with_two_event_ids"] == 0, f"duplicates: {counts}"
    assert counts["stored"] == produced, counts
    assert counts["pending"] == 0 and counts["dead_lettered"] == 0, counts
    return counts


@requires_rtsp_server
def test_redis_down_30s_every_event_becomes_exactly_one_order(tmp_path):
    run_id = "redisdown"
    report = tmp_path / "published.jsonl"
    clip = make_test_clip(None, seconds=20, fps=15, size=(320, 240))
    # AOF fsynced on every write: what the deployment runs (a stream must survive a Redis restart).
    redis_server = RedisServer(workdir=tmp_path / "redis", persistent=True).start()
    with RtspServer({"/cam": clip}, loop=True) as rtsp:
        api = ApiServer(tmp_path / "api", redis_url=redis_server.url).start()
        worker = start_cluster_worker(tmp_path, "worker-1", api_url=api.url, redis_url=redis_server.url,
                                      cameras={"cam": camera_config(rtsp.url("/cam"))}, max_cameras=2)
        producer = None
        try:
            wait_until(lambda: worker.analysed().get("cam", 0) > 0, 120, "worker analysing its camera",
                       on_timeout=lambda: worker.log_text()[-3000:])
            producer = run_producer(redis_server.url, tmp_path / "spool", run_id=run_id, count=800, rate=20,
                                    report=report, log_path=tmp_path / "producer.log")
            wait_until(lambda: len(published_keys(report)) >= 60, 30, "events flowing")
            before = len(published_keys(report))
            redis_server.kill()
            down_at = time.monotonic()
            print(f"injected: kill -9 redis-server with {before} events published; down for 30 s")
            spool = tmp_path / "spool" / "pending"
            peak, analysed_at_kill = 0, worker.analysed().get("cam", 0)
            while time.monotonic() - down_at < 30:  # the outage itself: 30 s, sampling the spool meanwhile
                peak = max(peak, len(list(spool.glob("*.json"))))
                time.sleep(0.5)
            analysed_during = worker.analysed().get("cam", 0) - analysed_at_kill
            health = worker.health()
            assert health.get("degraded", {}).get("redis"), health
            redis_server.start()
            print(f"injected: redis-server restarted on port {redis_server.port} (AOF replayed); "
                  f"{peak} events waited in the producer's spool; worker analysed {analysed_during:.0f} frames "
                  f"while Redis was down")
            assert producer.proc.wait(120) == 0, producer.log_text()[-3000:]
            summary = producer_summary(producer)
            counts = check_exactly_once(api, redis_server, run_id, summary["produced"], report)
            print(f"checked: {counts}; producer retries {summary['retries']}")
            assert peak > 100, "events kept coming while Redis was down"
            assert analysed_during > 0, "the worker kept analysing its camera during the outage"
            lease = redis_server.client().get("gridsight:lease:cam")
            wait_until(lambda: redis_server.client().get("gridsight:lease:cam") == worker.worker_id, 20,
                       "lease held again", on_timeout=lambda: worker.log_text()[-3000:])
            print(f"checked: after the restart the camera's lease is {worker.worker_id}'s again (was {lease})")
        finally:
            if producer is not None:
                producer.stop(signal.SIGTERM)
            worker.stop(signal.SIGTERM, timeout_s=20)
            api.stop()
            redis_server.kill()


def test_api_down_60s_every_event_becomes_exactly_one_order(tmp_path):
    run_id = "apidown"
    report = tmp_path / "published.jsonl"
    with RedisServer(workdir=tmp_path / "redis", persistent=True) as redis_server:
        api = ApiServer(tmp_path / "api", redis_url=redis_server.url, claim_idle_s=5).start()
        producer = None
        try:
            producer = run_producer(redis_server.url, tmp_path / "spool", run_id=run_id, count=1500, rate=20,
                                    report=report, log_path=tmp_path / "producer.log")
            wait_until(lambda: len(api.stored_keys()) >= 60, 60, "orders being stored",
                       on_timeout=lambda: api.log_text()[-3000:] + producer.log_text()[-2000:])
            stored_before = len(api.stored_keys())
            api.kill()
            down_at = time.monotonic()
            r = redis_server.client()
            pending_dead = int(consumer_group(r)["pending"])
            print(f"injected: kill -9 the API with {stored_before} orders stored, {pending_dead} entries delivered "
                  "to it but not acked; down for 60 s")
            lag_peak = 0
            while time.monotonic() - down_at < 60:  # the outage itself: 60 s, sampling the stream's lag meanwhile
                lag_peak = max(lag_peak, int(consumer_group(r).get("lag") or 0))
                time.sleep(1)
            api.start()
            print(f"injected: API restarted (new consumer); {lag_peak} entries had piled up in the stream")
            assert producer.proc.wait(120) == 0, producer.log_text()[-3000:]
            summary = producer_summary(producer)
            counts = check_exactly_once(api, redis_server, run_id, summary["produced"], report)
            claimed = re.search(r"^gridsight_api_ingest_claimed_total (\S+)$", api.metrics(), re.M)
            replayed = re.search(r'^gridsight_api_work_orders_total\{result="replayed",source="stream"\} (\S+)$',
                                 api.metrics(), re.M)
            print(f"checked: {counts}; claimed from the dead consumer: {claimed.group(1) if claimed else 0}; "
                  f"replayed (already stored): {replayed.group(1) if replayed else 0}")
            assert lag_peak > 500, "events kept coming while the API was down"
        finally:
            if producer is not None:
                producer.stop(signal.SIGTERM)
            api.stop()
