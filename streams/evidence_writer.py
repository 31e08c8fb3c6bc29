"""Events' evidence built off the cameras' analysis threads, delivered in each camera's order.

Building a START's evidence (the annotated key frame at full size, the before and after frames,
a pre-roll clip: JPEG decode, resize, annotate, H.264 encode) costs ~0.14 s of CPU for a 1080p
camera (0.26 s before the clip's encoder settings were cut, docs/sizing.md). On the camera's own
thread that time is taken from analysis: a loaded worker's camera drops frames while it encodes
(the 360p substream configuration sustained 4 cameras that way, 6 with the pool). So the worker hands that work to an :class:`EvidencePool` (a few
threads shared by all cameras) through one :class:`EvidenceLane` per camera:

- **Order.** A lane delivers its jobs' results in the order they were submitted, whatever order
  the pool finishes them in: a START's work order always reaches the outbox before the END (and
  any later order) of the same camera, as it did when everything ran on the camera's thread.
- **Bounded, named policy: block.** At most ``max_queued`` jobs wait or run in the pool; a camera
  submitting beyond that waits for room (counted: ``waits``), so memory stays bounded and no order
  is dropped; its frames meanwhile drop upstream under the source's own ``latest`` policy.
- **Nothing lost.** Jobs are written not to raise (the pipeline's falls back to the order without
  the evidence that failed); one that raises anyway is logged and counted (``failures``) and the lane
  goes on. :meth:`EvidenceLane.wait_idle` lets a stopping camera deliver everything before it says
  it stopped.

- **Follow-ups apart.** :meth:`EvidenceLane.submit_follow_up` queues work that may wait (an emergency
  order's clip, sent after the order as an evidence follow-up) on a thread of its own, niced
  ``follow_up_nice`` steps: an order never waits behind a clip being encoded, and the encoding gets
  the CPU that analysis and orders leave. The lane delivers a follow-up once the job before it (its
  order) is delivered, without holding back the camera's later orders.

Without a pool (``EvidenceLane(None)``) a job runs and is delivered at once, on the caller's thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from streams.thread_priority import lower_current_thread

log = logging.getLogger(__name__)

FOLLOW_UP_NICE = 10  # as the record stream's capture: background work that must not slow the cameras

Delivery = Callable[[], None]  # what a finished job hands back: delivers its result (spools the order)
Job = Callable[[], Delivery | None]  # builds the evidence off the camera's thread; None: nothing to deliver


class EvidencePool:
    """Threads that build evidence for every camera of a worker; bounded by ``max_queued`` jobs."""

    def __init__(self, threads: int = 1, *, max_queued: int = 32, follow_up_nice: int = FOLLOW_UP_NICE) -> None:
        if threads < 1 or max_queued < 1:
            raise ValueError("an evidence pool needs at least one thread and room for one job")
        self.threads = threads
        self.max_queued = max_queued
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="evidence")
        self._later = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-later",
                                         initializer=lower_current_thread, initargs=(follow_up_nice,))
        self._room = threading.BoundedSemaphore(max_queued)
        self._lock = threading.Lock()
        self.submitted = 0
        self.follow_ups = 0  # of the jobs submitted, those run on the follow-up thread
        self.waits = 0  # submissions that found the pool full and waited for room
        self.failures = 0  # jobs that raised (logged; their order is not filed)
        self._queued = 0

    @property
    def queued(self) -> int:
        """Jobs waiting or running now."""
        return self._queued

    def submit(self, job: Job, *, follow_up: bool = False) -> Future:
        """``job``'s future; a ``follow_up`` runs on the niced follow-up thread."""
        if not self._room.acquire(blocking=False):
            with self._lock:
                self.waits += 1
            self._room.acquire()  # the named policy: block the submitting camera, never drop an order
        with self._lock:
            self.submitted += 1
            self.follow_ups += int(follow_up)
            self._queued += 1
        try:
            future = (self._later if follow_up else self._executor).submit(job)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())
        return future

    def _release(self) -> None:
        with self._lock:
            self._queued -= 1
        self._room.release()

    def note_failure(self) -> None:
        with self._lock:
            self.failures += 1

    def stats(self) -> dict:
        return {"evidence_threads": self.threads, "evidence_queued": self._queued, "evidence_jobs": self.submitted,
                "evidence_follow_ups": self.follow_ups, "evidence_waits": self.waits, "evidence_failures": self.failures}

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait)
        self._later.shutdown(wait=wait)


class EvidenceLane:
    """One camera's jobs, built in ``pool`` (or inline without one) and delivered in submission order;
    follow-ups after the job submitted before them."""

    def __init__(self, pool: EvidencePool | None, camera_id: str = "camera") -> None:
        self.pool = pool
        self.camera_id = camera_id
        self._pending: deque[tuple[int, Future]] = deque()  # (number, job) submitted, not yet delivered; oldest first
        self._follow_ups: list[tuple[int, Future]] = []  # (number of the job each follows, its future)
        self._numbers = itertools.count(1)
        self._last_submitted = 0  # the number of the newest ordered job
        self._lock = threading.Lock()  # held while delivering: one delivery at a time, in order
        self._idle = threading.Condition(self._lock)
        self.failures = 0

    @property
    def pending(self) -> int:
        """Jobs (follow-ups included) submitted and not yet delivered."""
        return len(self._pending) + len(self._follow_ups)

    def submit(self, job: Job) -> None:
        if self.pool is None:  # inline: exactly as if the caller did it, exceptions included
            delivery = job()
            if delivery is not None:
                delivery()
            return
        future = self.pool.submit(lambda: self._run(job))
        with self._lock:
            self._last_submitted = number = next(self._numbers)
            self._pending.append((number, future))
        future.add_done_callback(lambda _f: self.drain())

    def submit_follow_up(self, job: Job) -> None:
        """``job`` after the pool's ordered jobs; delivered once the job submitted before it is, and
        holding back none submitted after it. Inline without a pool, like :meth:`submit`."""
        if self.pool is None:
            self.submit(job)
            return
        future = self.pool.submit(lambda: self._run(job), follow_up=True)
        with self._lock:
            self._follow_ups.append((self._last_submitted, future))
        future.add_done_callback(lambda _f: self.drain())

    def drain(self) -> None:
        """Deliver every finished job at the head of the lane, then the finished follow-ups whose job
        before them is delivered (any thread may call it)."""
        with self._lock:
            while self._pending and self._pending[0][1].done():
                self._deliver(self._pending.popleft()[1].result())
            # A follow-up's job is delivered once it is no longer pending: numbers only grow.
            undelivered = self._pending[0][0] if self._pending else self._last_submitted + 1
            ready = [f for f in self._follow_ups if f[1].done() and f[0] < undelivered]
            for entry in ready:
                self._follow_ups.remove(entry)
                self._deliver(entry[1].result())
            if not self._pending and not self._follow_ups:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every submitted job is delivered; False if ``timeout`` passed first (logged)."""
        with self._idle:
            done = self._idle.wait_for(lambda: not self._pending and not self._follow_ups, timeout)
        if not done:
            log.error("camera %s: %d event(s) still building evidence after %.0f s; not waiting longer",
                      self.camera_id, self.pending, timeout)
        return done

    def _run(self, job: Job) -> Delivery | None:
        try:
            return job()
        except Exception:
            with self._lock:  # pool threads may fail two of this camera's jobs at once
                self.failures += 1
            if self.pool is not None:
                self.pool.note_failure()
            log.exception("camera %s: building an event's evidence failed; its record is not sent", self.camera_id)
            return None

    def _deliver(self, delivery: Delivery | None) -> None:
        if delivery is None:
            return
        try:
            delivery()
        except Exception:  # the outbox refused it (disk full?): logged, the lane goes on
            self.failures += 1
            log.exception("camera %s: an event's record could not be handed to the outbox", self.camera_id)
