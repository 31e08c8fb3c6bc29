"""One model instance shared by every camera on a worker, with dynamic batching.

Each camera's analysis thread calls :meth:`BatchingDetector.detect` (or
``detect_timed``, which :class:`streams.pipeline.CameraPipeline` prefers) with
its frame and blocks. An inference thread runs a batch as soon as

* ``max_batch`` images wait, or
* every camera seen lately is waiting, queued or in a batch already running (no
  point waiting for a frame that cannot come), or
* the oldest waiting image has waited ``batch_deadline_ms``,

whichever comes first. Only images of the same shape go into one batch (a
batch of one 1080p camera and one 720p camera would be letterboxed to a square
instead of each to its own rectangle, and give slightly different boxes).

The queue is bounded (``max_queue`` images). What happens when it is full is a
named policy: ``block`` (backpressure: the caller waits for room, so its
camera's frame buffer applies its own drop policy upstream -- ``latest`` for
live cameras) or ``reject`` (the caller gets :class:`QueueFull` at once and
decides). An exception from the model is raised in every caller of that batch.
:meth:`close` fails every waiting caller with :class:`DetectorClosed`.

One inference thread per copy of the model (``detector`` may be a list of
copies: inference streams, see streams.shared_detector), each running its own
batch; a copy is only ever touched by its own thread, so it needs no lock.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

WhenFull = Literal["block", "reject"]


class QueueFull(RuntimeError):
    """The batching queue is full and its policy is ``reject``."""


class DetectorClosed(RuntimeError):
    """The batching detector was closed while the call waited."""


@dataclass(eq=False)
class _Request:
    image: np.ndarray
    submitted: float  # perf_counter
    caller: int  # thread id
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None
    started: float | None = None  # when its batch went into the model
    inference_s: float = 0.0  # the whole batch's model time
    batch_size: int = 0


class BatchingDetector:
    """Implements the Detector protocol (``detect``) plus ``detect_timed``."""

    def __init__(
        self,
        detector,
        *,
        max_batch: int = 8,
        batch_deadline_ms: float = 20.0,
        max_queue: int | None = None,
        when_full: WhenFull = "block",
        active_window_s: float = 2.0,
        name: str = "batching-detector",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        if batch_deadline_ms < 0:
            raise ValueError("batch_deadline_ms must be >= 0")
        if when_full not in ("block", "reject"):
            raise ValueError(f"when_full must be 'block' or 'reject', not {when_full!r}")
        copies = list(detector) if isinstance(detector, (list, tuple)) else [detector]
        if not copies:
            raise ValueError("BatchingDetector needs a detector")
        detector = copies[0]
        self.name = detector.name
        self.version = detector.version
        self.class_confidence = dict(getattr(detector, "class_confidence", {}) or {})
        self.backend = getattr(detector, "backend", None)
        self.max_batch = int(max_batch)
        self.deadline_s = float(batch_deadline_ms) / 1000.0
        self.max_queue = int(max_queue) if max_queue else 4 * self.max_batch
        if self.max_queue < self.max_batch:
            raise ValueError("max_queue must be >= max_batch")
        self.when_full = when_full
        self._active_window_s = active_window_s
        self._queue: collections.deque[_Request] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._callers: dict[int, float] = {}  # thread id -> last submit (perf_counter)
        self._running: collections.Counter[int] = collections.Counter()  # caller -> its images in running batches
        # Metrics (read with stats()).
        self.batches = 0
        self.images = 0
        self.rejected = 0
        self.errors = 0
        self.batch_sizes: collections.Counter[int] = collections.Counter()
        self.triggers: collections.Counter[str] = collections.Counter()  # size | all_waiting | deadline | close
        self._waits_ms: collections.deque[float] = collections.deque(maxlen=10_000)
        self._inference_ms: collections.deque[float] = collections.deque(maxlen=10_000)
        self.streams = len(copies)
        self._threads = [threading.Thread(target=self._run, args=(copy,), daemon=True,
                                          name=f"{name}-inference" + (f"-{i}" if len(copies) > 1 else ""))
                         for i, copy in enumerate(copies)]
        for thread in self._threads:
            thread.start()

    # -- callers -----------------------------------------------------------------
    def detect(self, images: list[np.ndarray]) -> list:
        return self.detect_timed(images)[0]

    def detect_timed(self, images: list[np.ndarray]) -> tuple[list, float, float]:
        """(one Detections per image, model seconds of the batch(es), seconds spent queued).

        Blocks until every image is done; raises what the model raised, :class:`QueueFull`
        (policy ``reject``) or :class:`DetectorClosed`."""
        if not images:
            return [], 0.0, 0.0
        requests = self._submit(images)
        for request in requests:
            request.done.wait()
        for request in requests:
            if request.error is not None:
                raise request.error
        per_batch = {r.started: r.inference_s for r in requests}  # images may have gone in several batches
        waited_s = max(r.started - r.submitted for r in requests)
        return [r.result for r in requests], sum(per_batch.values()), waited_s

    def _submit(self, images: list[np.ndarray]) -> list[_Request]:
        caller = threading.get_ident()
        with self._cond:
            # All of one call's images go in together, so they can share a batch.
            while not self._closed and self._queue and len(self._queue) + len(images) > self.max_queue:
                if self.when_full == "reject":
                    self.rejected += len(images)
                    raise QueueFull(f"{self.name}: {len(self._queue)} images already queued (max_queue {self.max_queue})")
                self._cond.wait()
            if self._closed:
                raise DetectorClosed(f"{self.name}: detector closed")
            now = time.perf_counter()
            self._callers[caller] = now
            requests = [_Request(image, now, caller) for image in images]
            self._queue.extend(requests)
            self._cond.notify_all()
        return requests

    # -- lifecycle -----------------------------------------------------------------
    def close(self, timeout: float | None = 5.0) -> None:
        """Stop the inference threads; every caller still waiting gets DetectorClosed."""
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for request in pending:
            request.error = DetectorClosed(f"{self.name}: detector closed")
            request.done.set()
        for thread in self._threads:
            if threading.current_thread() is not thread:
                thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> BatchingDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- metrics -----------------------------------------------------------------
    def stats(self) -> dict:
        with self._cond:
            waits = sorted(self._waits_ms)
            inf = sorted(self._inference_ms)
            sizes = dict(sorted(self.batch_sizes.items()))
            triggers = dict(self.triggers)
            depth = len(self._queue)

        def pct(values, q):
            return round(values[min(len(values) - 1, int(q * len(values)))], 2) if values else None

        return {
            "batches": self.batches,
            "images": self.images,
            "mean_batch": round(self.images / self.batches, 2) if self.batches else None,
            "batch_size_histogram": sizes,
            "triggers": triggers,
            "queue_depth": depth,
            "rejected": self.rejected,
            "errors": self.errors,
            "wait_ms_p50": pct(waits, 0.5),
            "wait_ms_p95": pct(waits, 0.95),
            "batch_inference_ms_p50": pct(inf, 0.5),
            "batch_inference_ms_p95": pct(inf, 0.95),
        }

    # -- inference thread -------------------------------------------------------------
    def _active_callers(self, now: float) -> int:
        stale = [t for t, last in self._callers.items() if now - last > self._active_window_s]
        for t in stale:
            del self._callers[t]
        return max(1, len(self._callers))

    def _take_batch(self) -> list[_Request] | None:
        """Wait for a batch to be due; None once closed."""
        with self._cond:
            while True:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return None
                oldest = self._queue[0]
                shape = oldest.image.shape
                same = [r for r in self._queue if r.image.shape == shape]
                now = time.perf_counter()
                waiting_callers = {r.caller for r in self._queue} | set(self._running)
                if len(same) >= self.max_batch:
                    trigger = "size"
                elif len(waiting_callers) >= self._active_callers(now):
                    trigger = "all_waiting"
                elif now - oldest.submitted >= self.deadline_s:
                    trigger = "deadline"
                else:
                    self._cond.wait(oldest.submitted + self.deadline_s - now)
                    continue
                batch = same[: self.max_batch]
                taken = set(map(id, batch))
                self._running.update(r.caller for r in batch)
                self._queue = collections.deque(r for r in self._queue if id(r) not in taken)
                self.triggers[trigger] += 1
                self._cond.notify_all()  # room in the queue for blocked submitters
                return batch

    def _run(self, detector) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            started = time.perf_counter()
            error: BaseException | None = None
            results: list = []
            try:
                results = list(detector.detect([r.image for r in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(f"{self.name}: model returned {len(results)} results for {len(batch)} images")
            except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
                error = exc
            finished = time.perf_counter()
            with self._cond:
                self.batches += 1
                self.images += len(batch)
                self.batch_sizes[len(batch)] += 1
                self._inference_ms.append((finished - started) * 1000)
                for r in batch:  # counted down, and gone at zero: the camera may never call again
                    self._running[r.caller] -= 1
                    if self._running[r.caller] <= 0:
                        del self._running[r.caller]
                for r in batch:
                    self._waits_ms.append((started - r.submitted) * 1000)
                if error is not None:
                    self.errors += 1
            if error is not None:
                log.warning("%s: batch of %d failed: %r", self.name, len(batch), error)
            for i, r in enumerate(batch):
                r.started, r.inference_s, r.batch_size = started, finished - started, len(batch)
                if error is not None:
                    r.error = error
                else:
                    r.result = results[i]
                r.done.set()


def resolve_device(device: str) -> str:
    """The torch device to use: a CUDA device only when CUDA is really there, else the CPU (logged)."""
    if device in ("cpu", "mps"):
        return device
    try:
        import torch

        if torch.cuda.is_available():
            return device
        why = "torch sees no CUDA GPU"
    except ImportError:  # pragma: no cover - torch is a dependency
        why = "torch is not installed"
    log.warning("device %s requested but %s; falling back to the CPU", device, why)
    return "cpu"
