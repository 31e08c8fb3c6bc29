"""A durable, ordered outbox for messages on their way to the API.

Records have a ``kind``: ``work_order`` (a rule event's START: file an order),
``evidence_follow_up`` (files of an order made after it: an emergency order's
clip) or ``event_end`` (the rule's END: the zone is empty again, for the camera
re-check). Records written before kinds existed are work orders. All kinds
share one queue, so neither an END nor a follow-up overtakes the order it belongs to.

Every order is written to disk (temp file, fsync, rename) before the worker
tries to send it, and deleted only once the API has acknowledged it. An API
outage, a worker crash or a restart therefore loses nothing; the idempotency
key that travels with each order stops a resend after a lost acknowledgement
from creating a duplicate.

An order the API rejects as malformed (4xx other than 408/409/429) cannot be
fixed by retrying; it is moved to ``rejected/`` with the reason, kept for a
human, and the queue moves on.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from streams.backoff import Backoff

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 425, 429}
WORK_ORDER = "work_order"
EVENT_END = "event_end"
EVIDENCE_FOLLOW_UP = "evidence_follow_up"
KINDS = (WORK_ORDER, EVENT_END, EVIDENCE_FOLLOW_UP)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None  # None: the request never got an HTTP answer
    detail: str = ""
    merged: bool = False  # the API merged the order into an open one (a repeat), when it says so

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def permanent_failure(self) -> bool:
        code = self.status_code
        return code is not None and 400 <= code < 500 and code not in RETRYABLE_STATUS


class Sender(Protocol):
    def send_work_order(self, payload: dict, idempotency_key: str) -> SendResult: ...

    # Optional: senders without them get those records rejected (kept on disk), not crashed.
    # def send_event_end(self, payload: dict, idempotency_key: str) -> SendResult: ...
    # def send_evidence_follow_up(self, payload: dict, idempotency_key: str) -> SendResult: ...


@dataclass(frozen=True)
class OutboxItem:
    path: Path
    idempotency_key: str
    payload: dict
    kind: str = WORK_ORDER


def send_item(sender: Sender, item: OutboxItem) -> SendResult:
    """Dispatch one record to the sender method for its kind."""
    if item.kind == WORK_ORDER:
        return sender.send_work_order(item.payload, item.idempotency_key)
    method = getattr(sender, f"send_{item.kind}", None) if item.kind in KINDS else None
    if method is None:
        return SendResult(400, f"this sender cannot deliver outbox records of kind {item.kind!r}")
    return method(item.payload, item.idempotency_key)


class DurableOutbox:
    """Files named ``<sequence>-<key>.json`` under ``pending/``; sequence order is send order."""

    def __init__(self, directory: Path) -> None:
        self.pending_dir = Path(directory) / "pending"
        self.rejected_dir = Path(directory) / "rejected"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        existing = [int(p.name.split("-", 1)[0]) for p in self.pending_dir.glob("*.json") if p.name.split("-", 1)[0].isdigit()]
        self._next_seq = max(existing, default=0) + 1
        for stale in self.pending_dir.glob("*.tmp"):
            stale.unlink(missing_ok=True)  # a crash mid-write left half a file; its order was never acknowledged
        # Sorted pending paths known to this process, so peek() does not list and sort the
        # directory for every record (quadratic in a backlog of thousands after an outage).
        # Refilled from disk whenever it runs empty: files another process put there are
        # picked up then.
        self._queue: list[Path] = []

    def put(self, idempotency_key: str, payload: dict, kind: str = WORK_ORDER) -> Path:
        if not idempotency_key.replace("-", "").isalnum():
            raise ValueError(f"idempotency key must be alphanumeric (dashes allowed): {idempotency_key!r}")
        if kind not in KINDS:
            raise ValueError(f"unknown outbox record kind {kind!r} (expected one of {KINDS})")
        body = json.dumps({"idempotency_key": idempotency_key, "kind": kind, "payload": payload}, ensure_ascii=False)
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
        final = self.pending_dir / f"{seq:012d}-{idempotency_key}.json"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        with self._lock:
            # An empty queue is refilled from disk, which sees this file; a refill may also
            # have raced this put and listed it already.
            i = bisect.bisect_left(self._queue, final)
            if self._queue and (i == len(self._queue) or self._queue[i] != final):
                self._queue.insert(i, final)
        return final

    def peek(self) -> OutboxItem | None:
        while True:
            with self._lock:
                if not self._queue:
                    self._queue = sorted(self.pending_dir.glob("*.json"))
                if not self._queue:
                    return None
                path = self._queue[0]
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                return OutboxItem(path, record["idempotency_key"], record["payload"], record.get("kind", WORK_ORDER))
            except FileNotFoundError:
                self._forget(path)  # acknowledged or moved meanwhile
            except (OSError, ValueError, KeyError) as exc:
                self._reject(path, f"unreadable outbox file: {exc}")

    def _forget(self, path: Path) -> None:
        with self._lock:
            if self._queue and self._queue[0] == path:
                self._queue.pop(0)
            elif path in self._queue:
                self._queue.remove(path)

    def ack(self, item: OutboxItem) -> None:
        item.path.unlink(missing_ok=True)
        self._forget(item.path)

    def reject(self, item: OutboxItem, reason: str) -> None:
        self._reject(item.path, reason)

    def _reject(self, path: Path, reason: str) -> None:
        self._forget(path)
        target = self.rejected_dir / path.name
        os.replace(path, target)
        target.with_suffix(".reason.txt").write_text(reason, encoding="utf-8")
        log.error("work order %s rejected permanently and kept in %s: %s", path.name, self.rejected_dir, reason)

    def pending_count(self) -> int:
        return sum(1 for _ in self.pending_dir.glob("*.json"))

    def rejected_count(self) -> int:
        return sum(1 for _ in self.rejected_dir.glob("*.json"))


class OutboxPusher:
    """Drains the outbox in order, backing off while the API is unreachable."""

    def __init__(
        self,
        outbox: DurableOutbox,
        sender: Sender,
        backoff: Backoff,
        *,
        idle_poll_s: float = 0.2,
        on_delivered: Callable[[OutboxItem, SendResult], None] | None = None,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._backoff = backoff
        self._idle_poll_s = idle_poll_s
        self._on_delivered = on_delivered
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0  # records of every kind
        # Delivered records apart: new orders, repeats merged into an open order, rule ENDs, clips sent later.
        self.delivered_kinds = {"orders": 0, "repeats": 0, "ends": 0, "follow_ups": 0}
        self.retries = 0
        self._api_down_logged = False
        self._backing_off = False

    def _count_delivered(self, item: OutboxItem, result: SendResult) -> None:
        self.delivered += 1
        if item.kind == EVENT_END:
            self.delivered_kinds["ends"] += 1
        elif item.kind == EVIDENCE_FOLLOW_UP:
            self.delivered_kinds["follow_ups"] += 1
        elif result.merged:
            self.delivered_kinds["repeats"] += 1
        else:
            self.delivered_kinds["orders"] += 1

    def delivered_summary(self, merges_known: bool = True) -> str:
        """E.g. "2 order(s), 3 repeat(s) merged into open orders, 5 END(s)". ``merges_known=False``
        (a bus, whose consumer merges later): orders and repeats are one number."""
        k = self.delivered_kinds
        later = f", {k['follow_ups']} clip(s) sent after their order" if k.get("follow_ups") else ""
        if not merges_known:
            return f"{k['orders'] + k['repeats']} order(s) (repeats included), {k['ends']} END(s){later}"
        return (f"{k['orders']} order(s), {k['repeats']} repeat(s) merged into open orders, "
                f"{k['ends']} END(s) (zone empty again){later}")

    def notify(self) -> None:
        """Called after put(): send now instead of at the next poll."""
        self._wake.set()

    def drain_once(self) -> float:
        """Send what is pending until the queue is empty or a send fails; return the wait before the next try."""
        while not self._stop.is_set():
            item = self._outbox.peek()
            if item is None:
                self._backing_off = False
                return self._idle_poll_s
            result = send_item(self._sender, item)
            if result.delivered:
                self._backing_off = False
                self._outbox.ack(item)
                self._count_delivered(item, result)
                self._backoff.reset()
                if self._api_down_logged:
                    log.info("API reachable again; outbox draining (%d pending)", self._outbox.pending_count())
                    self._api_down_logged = False
                if self._on_delivered:
                    self._on_delivered(item, result)
                continue
            if result.permanent_failure:
                self._outbox.reject(item, f"HTTP {result.status_code}: {result.detail}")
                continue
            self.retries += 1
            self._backing_off = True
            delay = self._backoff.next_delay()
            if not self._api_down_logged:
                log.warning(
                    "cannot deliver work orders (%s); keeping %d on disk, retrying with backoff",
                    result.detail or f"HTTP {result.status_code}", self._outbox.pending_count(),
                )
                self._api_down_logged = True
            return delay
        return 0.0

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.is_set():
            # While backing off, a new record must not cut the wait short: during an
            # outage every new order would otherwise trigger another doomed attempt.
            (self._stop if self._backing_off else self._wake).wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                break
            delay = self.drain_once()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-pusher", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float = 5.0) -> None:
        """One last bounded attempt to deliver, then stop; anything left stays on disk for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=flush_timeout_s + 5)
        deadline_flush = threading.Thread(target=self._final_flush, daemon=True)
        deadline_flush.start()
        deadline_flush.join(timeout=flush_timeout_s)

    def _final_flush(self) -> None:
        while (item := self._outbox.peek()) is not None:
            result = send_item(self._sender, item)
            if result.delivered:
                self._outbox.ack(item)
                self._count_delivered(item, result)
            elif result.permanent_failure:
                self._outbox.reject(item, f"HTTP {result.status_code}: {result.detail}")
            else:
                return
