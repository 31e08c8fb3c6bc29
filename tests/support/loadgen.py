"""A synthetic event producer for the bus: fault tests and the load benchmark.

It files made-up work orders through exactly the worker's path - the durable
on-disk outbox and the Redis publisher with backoff - without a camera or a
detector, because those tests exercise the bus, not the model. Every order
gets its own camera/zone pair so none merges into another; keys are
``<run id>-<sequence>``.

    python -m tests.support.loadgen --redis-url redis://127.0.0.1:6379/0 --spool /tmp/spool \\
        --count 1000 --rate 200 --run-id run1 --report /tmp/run1.jsonl

Writes one JSON line per delivered record to ``--report``: key, when it
entered the spool (``put_at``) and when XADD returned (``published_at``), and a
summary line on stdout at the end. SIGTERM stops producing and flushes.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import random
import signal
import sys
import threading
import time
from pathlib import Path

from streams.backoff import Backoff
from streams.delivery.bus import RedisPublisher, make_redis
from streams.delivery.outbox import DurableOutbox, OutboxPusher

log = logging.getLogger("gridsight.loadgen")


def tiny_jpeg() -> bytes:
    import cv2
    import numpy as np

    image = np.zeros((48, 64, 3), np.uint8)
    cv2.rectangle(image, (8, 8), (40, 40), (0, 200, 255), -1)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def order_key(run_id: str, seq: int) -> str:
    return f"{run_id}-{seq:08d}"


def synthetic_order(run_id: str, seq: int, jpeg_b64: str, at: float | None = None) -> tuple[str, dict]:
    import datetime as dt

    at = time.time() if at is None else at
    iso = dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat()
    started = dt.datetime.fromtimestamp(at - 5, dt.timezone.utc).isoformat()
    key = order_key(run_id, seq)
    return key, {
        "camera_id": f"load-{seq % 997:03d}",
        "zone_id": f"z-{run_id}-{seq}"[:64],
        "rule_id": "load-dwell",
        "event_id": f"{run_id}/{seq}",
        "category_code": "06010",
        "category_name": "暴露垃圾 exposed garbage",
        "priority": "normal",
        "labels": ["litter"],
        "confidence": 0.9,
        "detected_at": iso,
        "event_started_at": started,
        "model_name": "loadgen",
        "model_version": "1",
        "boxes": [{"label": "litter", "confidence": 0.9, "xyxy": [8.0, 8.0, 40.0, 40.0], "track_id": seq}],
        "grid_cell": None,
        "address": None,
        "evidence": [{"kind": "snapshot", "content_type": "image/jpeg", "data_b64": jpeg_b64}],
    }


def run(args) -> dict:
    client = make_redis(args.redis_url, socket_timeout_s=args.socket_timeout)
    outbox = DurableOutbox(Path(args.spool))
    report = open(args.report, "a", encoding="utf-8") if args.report else None
    put_at: dict[str, float] = {}
    lock = threading.Lock()
    delivered = 0

    def on_delivered(item, _result) -> None:
        nonlocal delivered
        now = time.time()
        with lock:
            delivered += 1
            if report is not None:
                report.write(json.dumps({"key": item.idempotency_key, "put_at": put_at.get(item.idempotency_key),
                                         "published_at": now}) + "\n")

    publisher = RedisPublisher(client, args.stream, args.worker)
    pusher = OutboxPusher(outbox, publisher, Backoff(0.2, args.retry_max, 2.0, 0.3, random.Random()),
                          idle_poll_s=0.05, on_delivered=on_delivered)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    jpeg_b64 = base64.b64encode(tiny_jpeg()).decode("ascii")
    pusher.start()
    started = time.monotonic()
    produced = 0
    period = 1.0 / args.rate if args.rate > 0 else 0.0
    for seq in range(args.start, args.start + args.count):
        if stop.is_set():
            break
        if period:
            due = started + (seq - args.start) * period
            if stop.wait(max(0.0, due - time.monotonic())):
                break
        key, payload = synthetic_order(args.run_id, seq, jpeg_b64)
        put_at[key] = time.time()
        outbox.put(key, payload)
        pusher.notify()
        produced += 1
    produce_s = time.monotonic() - started
    # Drain: wait until the spool is empty (bounded), then stop the pusher.
    deadline = time.monotonic() + args.drain_timeout
    while outbox.pending_count() and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.1)
    pusher.stop(flush_timeout_s=5)
    if report is not None:
        report.close()
    summary = {
        "run_id": args.run_id, "produced": produced, "delivered": delivered, "pending": outbox.pending_count(),
        "retries": pusher.retries, "produce_s": round(produce_s, 3), "total_s": round(time.monotonic() - started, 3),
    }
    print("SUMMARY " + json.dumps(summary), flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--redis-url", required=True)
    p.add_argument("--stream", default="gridsight:orders")
    p.add_argument("--spool", required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--start", type=int, default=0, help="first sequence number")
    p.add_argument("--rate", type=float, default=0, help="orders per second (0: as fast as possible)")
    p.add_argument("--run-id", required=True)
    p.add_argument("--worker", default="loadgen")
    p.add_argument("--report", help="JSON lines: key, put_at, published_at")
    p.add_argument("--retry-max", type=float, default=2.0, help="longest backoff while Redis is away")
    p.add_argument("--socket-timeout", type=float, default=2.0)
    p.add_argument("--drain-timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stdout)
    summary = run(args)
    return 0 if summary["pending"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
