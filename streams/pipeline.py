"""One camera's analysis loop: source -> detector -> tracker -> rules -> outbox.

Constructors take collaborators; ``streams.worker`` is the factory that reads
config and wires them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from inference.clock import FrameClock
from inference.detector import Detector
from inference.evidence import render_snapshot
from inference.rules import DwellRule, EventPhase, RuleEvent
from inference.tracking import ObjectTracker
from streams.frames import VideoFrame
from streams.orders import event_end_payload, work_order_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkOrderTemplate:
    """What a rule's events become: the category and tier an operations centre files them under."""

    category_code: str
    category_name: str
    priority: str
    grid_cell: str | None
    address: str | None


class SharedDetector:
    """One model instance shared by every camera on the worker; the lock
    serialises calls because an ultralytics predictor is not thread-safe."""

    def __init__(self, detector: Detector) -> None:
        self._detector = detector
        self._lock = threading.Lock()
        self.name = detector.name
        self.version = detector.version

    def detect(self, images):
        with self._lock:
            return self._detector.detect(images)


class CameraPipeline:
    # Set by the worker to send rule ENDs through its outbox (camera re-check);
    # None: ENDs are only logged, as before.
    submit_event_end: Callable[[str, dict], None] | None = None

    def __init__(
        self,
        camera_id: str,
        source,
        detector: Detector,
        tracker: ObjectTracker,
        rules: list[tuple[DwellRule, WorkOrderTemplate]],
        clock: FrameClock,
        submit_order: Callable[[str, dict], None],
    ) -> None:
        self.camera_id = camera_id
        self.source = source
        self._detector = detector
        self._tracker = tracker
        self._rules = rules
        self._clock = clock
        self._submit_order = submit_order
        self.frames_analysed = 0
        self.events = {phase: 0 for phase in EventPhase}
        self._inference_ms_total = 0.0

    def run(self, stop: threading.Event) -> None:
        self.source.start()
        try:
            while not stop.is_set():
                frame = self.source.read(timeout=0.5)
                if frame is None:
                    if self.source.ended:
                        log.info("camera %s: source ended", self.camera_id)
                        return
                    continue
                self.process(frame)
        except Exception:
            # One camera's bug must not take the other cameras on this worker down with it.
            log.exception("camera %s: analysis loop crashed", self.camera_id)
        finally:
            self.source.stop()

    def process(self, frame: VideoFrame) -> list[RuleEvent]:
        started = time.perf_counter()
        detections = self._detector.detect([frame.image])[0]
        self._inference_ms_total += (time.perf_counter() - started) * 1000
        tracked = self._tracker.update(detections, timestamp=frame.captured_at)
        self._clock.advance_to(frame.captured_at)
        self.frames_analysed += 1
        emitted = []
        for rule, template in self._rules:
            for event in rule.update(tracked, (frame.width, frame.height)):
                self.events[event.phase] += 1
                emitted.append(event)
                self._on_event(event, template, frame, tracked, rule)
        return emitted

    def _on_event(self, event: RuleEvent, template: WorkOrderTemplate, frame: VideoFrame, tracked, rule: DwellRule) -> None:
        log.info(
            "camera %s: event %s %s zone=%s labels=%s dwell=%.1fs tracks=%s",
            self.camera_id, event.phase.value, event.rule_id, event.zone_id, ",".join(event.labels),
            event.dwell_s, list(event.track_ids),
        )
        if event.phase is EventPhase.END and self.submit_event_end is not None:
            self._send_event_end(event, template, frame, tracked, rule)
            return
        if event.phase is not EventPhase.START:
            return
        snapshot = render_snapshot(
            frame.image,
            rule.spec.zone,
            event.detections,
            context=tracked[~np.isin(tracked.tracker_id, list(event.track_ids))],
            caption=f"{self.camera_id} / {event.rule_id} / {template.category_code}",
            captured_at=frame.captured_at,
        )
        payload = work_order_payload(
            event,
            category_code=template.category_code,
            category_name=template.category_name,
            priority=template.priority,
            model_name=self._detector.name,
            model_version=self._detector.version,
            grid_cell=template.grid_cell,
            address=template.address,
            snapshot_jpeg=snapshot,
        )
        self._submit_order(event.idempotency_key(), payload)

    def _send_event_end(self, event: RuleEvent, template: WorkOrderTemplate, frame: VideoFrame, tracked,
                        rule: DwellRule) -> None:
        """The zone is empty again: send the frame that shows it, so the API can
        verify an order waiting for feedback without anyone going on site."""
        snapshot = render_snapshot(
            frame.image,
            rule.spec.zone,
            event.detections,
            context=tracked,
            caption=f"{self.camera_id} / {event.rule_id} / {template.category_code} / ended",
            captured_at=frame.captured_at,
        )
        self.submit_event_end(event.idempotency_key(), event_end_payload(event, snapshot_jpeg=snapshot))

    def stats(self) -> dict:
        source_stats = self.source.stats()
        return {
            "camera_id": self.camera_id,
            "frames_analysed": self.frames_analysed,
            "inference_ms_avg": round(self._inference_ms_total / self.frames_analysed, 1) if self.frames_analysed else None,
            "events_started": self.events[EventPhase.START],
            **{k: v for k, v in source_stats.items() if k != "camera_id"},
        }
