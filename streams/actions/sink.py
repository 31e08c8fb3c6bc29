"""What every edge-action sink shares: its bounded queue, its counters, its sender thread.

A sink is handed messages on the camera's thread (``submit``: never blocks, never raises
for a full queue: the drop policy decides and counts) and sends them on its own thread,
so a slow or absent broker or hook never holds a camera up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from streams.actions.queue import DELIVERED, DROPPED, FAILED, LOGGED, ActionMessage, BoundedQueue

log = logging.getLogger(__name__)

OUTCOMES = (DELIVERED, FAILED, DROPPED, LOGGED)


class Sink:
    """Base: queue + counters + thread. Subclasses implement :meth:`_run` (the sender loop)."""

    kind = "sink"

    def __init__(self, name: str, queue: BoundedQueue, *,
                 observe_latency: Callable[[str, float], None] | None = None) -> None:
        self.name = name
        self.queue = queue
        queue.on_drop = self._dropped  # the queue drops on the camera's side (put) and the sender's (put_back)
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._count_lock = threading.Lock()
        self._observe_latency = observe_latency
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the camera's side --------------------------------------------------------------
    def submit(self, message: ActionMessage) -> None:
        self.queue.put(message)
        self.wake()

    def _dropped(self, _victim: ActionMessage) -> None:
        self._count(DROPPED)
        if self.queue.dropped == 1 or self.queue.dropped % 100 == 0:
            log.warning("edge actions: %s queue full (%d, %s): %d message(s) dropped so far",
                        self.name, self.queue.size, self.queue.policy, self.queue.dropped)

    def wake(self) -> None:
        self.queue.wake()

    # -- the sender's side --------------------------------------------------------------
    def finish(self, message: ActionMessage, outcome: str, detail: str = "") -> None:
        message.finish(outcome, detail)
        self._count(outcome)
        if outcome == DELIVERED and self._observe_latency is not None:
            self._observe_latency(self.name, time.monotonic() - message.fired_at)

    def _count(self, outcome: str) -> None:
        with self._count_lock:
            self.counts[outcome] += 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"actions-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float) -> None:
        """Send what is queued for at most ``flush_timeout_s``, then drop (and count) the rest."""
        self._flush_deadline = time.monotonic() + flush_timeout_s
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=flush_timeout_s + 5)
        for message in self.queue.drain():
            self.finish(message, DROPPED, "the worker stopped before it was sent")

    def _run(self) -> None:  # pragma: no cover - every sink overrides it
        raise NotImplementedError

    def _one_at_a_time(self, handle: Callable[[ActionMessage], None]) -> None:
        """The sender loop of a sink that sends in order: ``handle`` each queued message until
        stopped with the queue empty, or stopped and past the flush deadline."""
        while True:
            message = self.queue.get(timeout=0.5)
            if message is None:
                if self._stop.is_set():
                    return
                continue
            handle(message)
            if self._stop.is_set() and time.monotonic() >= self._flush_deadline:
                return

    # -- what the runtime reads -----------------------------------------------------------
    @property
    def up(self) -> bool:
        return True

    def problem(self) -> str | None:
        """Why this sink cannot send right now (for /health); None: it can."""
        return None

    def stats(self) -> dict:
        with self._count_lock:
            counts = dict(self.counts)
        return {"sink": self.name, "up": self.up, "queued": len(self.queue), **counts}


class LogSink(Sink):
    """Dry run: every message is logged, one line each, and nothing is sent. ``config``: the
    hook's config it stands in for, so the logged message is the one that would be sent
    (the dispatcher reads its JPEG setting)."""

    kind = "dry_run"

    def __init__(self, name: str, queue: BoundedQueue, *, config=None) -> None:
        super().__init__(name, queue)
        self.config = config

    def _run(self) -> None:
        self._one_at_a_time(self._log)

    def _log(self, message: ActionMessage) -> None:
        log.info("edge actions (dry run): would send %s %s event %s to %s (%d bytes, route %s)",
                 self.name, message.phase, message.event_id, message.target, len(message.body), message.route)
        self.finish(message, LOGGED)
