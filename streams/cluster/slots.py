"""The cameras a cluster worker runs right now: one slot per held lease, each with
its pipeline in its own thread.

A slot is started when a lease is won (or a camera's config needs a restart)
and stopped when it is handed over, lost or removed. Stopping signals every
pipeline first and then waits, on one shared deadline, until each has finished
analysing: only the analysis must be over before a lease goes, the sources may
close a little later in the background. A handed-over camera stops forwarding
its status at once: its next owner reports it from then on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from api.contract.wire import CameraStatusEvent
from streams.config import CameraConfig
from streams.delivery.status import StatusReporter
from streams.pipeline import CameraPipeline
from streams.pipeline_factory import PipelineFactory

log = logging.getLogger(__name__)

RESTART_AFTER_S = 5.0  # a live camera's pipeline that exited is started again after this long


class StatusForwarder:
    """One slot's status events to the reporter, marked with this worker's id, until
    the camera is handed over (``forward = False``)."""

    def __init__(self, reporter: StatusReporter, worker_id: str) -> None:
        self._reporter = reporter
        self._worker_id = worker_id
        self.forward = True

    def __call__(self, event: CameraStatusEvent) -> None:
        if self.forward:
            self._reporter(replace(event, details={**event.details, "worker": self._worker_id}))


@dataclass
class Slot:
    """One camera this worker holds a lease for, and its running pipeline."""

    camera_id: str
    config: CameraConfig
    pipeline: CameraPipeline
    thread: threading.Thread
    stop: threading.Event
    status: StatusForwarder
    started_at: float
    died_at: float | None = None


class Slots:
    """Slots by camera id; read from other threads (metrics scrapes, health, dashboard sync)."""

    def __init__(self, factory: PipelineFactory, reporter: StatusReporter, worker_id: str) -> None:
        self.factory = factory
        self._reporter = reporter
        self.worker_id = worker_id
        self._slots: dict[str, Slot] = {}
        self._lock = threading.RLock()

    def __contains__(self, camera_id: str) -> bool:
        return camera_id in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, camera_id: str) -> Slot | None:
        return self._slots.get(camera_id)

    def ids(self) -> list[str]:
        return sorted(self._slots)

    def items(self) -> list[Slot]:
        with self._lock:
            return list(self._slots.values())

    def pipelines(self) -> list[CameraPipeline]:
        return [s.pipeline for s in self.items()]

    def start(self, camera_id: str, camera: CameraConfig, why: str) -> bool:
        """Build and start the camera's pipeline; False if it cannot be built (logged)."""
        status = StatusForwarder(self._reporter, self.worker_id)
        try:
            pipeline = self.factory.build(camera_id, camera, on_status=status)
        except Exception:
            log.exception("camera %s: cannot build its pipeline; releasing the lease", camera_id)
            return False
        stop = threading.Event()
        thread = threading.Thread(target=pipeline.run, args=(stop,), name=f"camera-{camera_id}", daemon=True)
        slot = Slot(camera_id, camera, pipeline, thread, stop, status, time.monotonic())
        with self._lock:
            self._slots[camera_id] = slot
        thread.start()
        log.info("camera %s: started on %s (%s)", camera_id, self.worker_id, why)
        return True

    def stop(self, camera_ids: list[str], why: str, *, forward: bool, wait_s: float = 5.0) -> None:
        """Signal every pipeline first, then wait (bounded, shared deadline) until each has
        finished analysing. ``forward``: whether their last statuses still go to the API
        (not when another worker takes the camera over)."""
        stopping = []
        with self._lock:
            for camera_id in camera_ids:
                slot = self._slots.pop(camera_id, None)
                if slot is not None:
                    stopping.append(slot)
        for slot in stopping:
            slot.status.forward = forward
            if not forward:
                self._reporter.discard(slot.camera_id)
            slot.stop.set()
        deadline = time.monotonic() + wait_s
        for slot in stopping:
            if not slot.pipeline.analysis_stopped.wait(max(0.0, deadline - time.monotonic())):
                log.warning("camera %s: analysis did not stop within %.0f s; going on anyway", slot.camera_id, wait_s)
            log.info("camera %s: stopped on %s (%s)", slot.camera_id, self.worker_id, why)

    def dead(self) -> list[str]:
        """Live cameras whose pipeline exited at least RESTART_AFTER_S ago (a file that
        ended stays ended); each is taken out of the slots, to be started again."""
        due = []
        for camera_id, slot in list(self._slots.items()):
            if slot.thread.is_alive() or not slot.pipeline.source.is_live:
                continue
            now = time.monotonic()
            if slot.died_at is None:
                slot.died_at = now
                log.error("camera %s: pipeline exited; restarting it in %.0f s", camera_id, RESTART_AFTER_S)
            elif now - slot.died_at >= RESTART_AFTER_S:
                with self._lock:
                    self._slots.pop(camera_id, None)
                due.append(camera_id)
        return due
