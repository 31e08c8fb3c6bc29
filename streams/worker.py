"""The camera worker process: reads the config, wires one pipeline per camera
around shared detectors, and runs until told to stop.

Work orders go through the durable outbox, so an API outage or a restart
loses nothing. Camera status changes are logged and reported to the API on a
best-effort basis (the latest state wins; an old status is worth nothing).
"""

from __future__ import annotations

import logging
import random
import threading

from gridsight.config import CameraConfig, GridSightConfig
from inference.clock import FrameClock
from inference.detector import YoloDetector
from inference.rules import DwellRule, DwellRuleSpec
from inference.tracking import ObjectTracker
from inference.zones import PolygonZone
from streams.api_client import ApiClient
from streams.backoff import Backoff
from streams.frames import CameraStatusEvent
from streams.outbox import DurableOutbox, OutboxPusher
from streams.pipeline import CameraPipeline, SharedDetector, WorkOrderTemplate
from streams.source import CameraSource, SourceOptions

log = logging.getLogger(__name__)

class StatusReporter:
    """Pushes the latest status of each camera to the API (an older status is worth nothing)."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client
        self._latest: dict[str, CameraStatusEvent] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-reporter", daemon=True)

    def __call__(self, event: CameraStatusEvent) -> None:
        # The source has already logged the transition; this only forwards it.
        with self._lock:
            self._latest[event.camera_id] = event
        self._changed.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.wait(1.0)
            self._changed.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._latest = self._latest, {}
        for camera_id, event in batch.items():
            result = self._client.put_camera_status(camera_id, event.to_dict())
            if not result.delivered:
                with self._lock:  # keep it unless a newer status arrived meanwhile
                    self._latest.setdefault(camera_id, event)
                self._stop.wait(1.0)
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout=5)
        self.flush()


def _source_for(camera_id: str, camera: CameraConfig, on_status) -> CameraSource:
    src = camera.source
    options = SourceOptions(
        open_timeout_s=src.open_timeout_s,
        read_timeout_s=src.read_timeout_s,
        backoff_initial_s=src.backoff_initial_s,
        backoff_max_s=src.backoff_max_s,
        offline_after_failures=src.offline_after_failures,
        realtime=src.realtime,
        loop=src.loop,
    )
    return CameraSource(camera_id, camera.url, analysis_fps=camera.analysis_fps, options=options, on_status=on_status)


class Worker:
    def __init__(self, pipelines: list[CameraPipeline], pusher: OutboxPusher, reporter: StatusReporter, outbox: DurableOutbox, stats_interval_s: float) -> None:
        self.pipelines = pipelines
        self._pusher = pusher
        self._reporter = reporter
        self._outbox = outbox
        self._stats_interval_s = stats_interval_s
        self._threads: list[threading.Thread] = []

    def submit_order(self, idempotency_key: str, payload: dict) -> None:
        self._outbox.put(idempotency_key, payload)
        self._pusher.notify()

    def submit_event_end(self, idempotency_key: str, payload: dict) -> None:
        """A rule event ended: queued behind its START in the same durable outbox."""
        self._outbox.put(idempotency_key, payload, kind="event_end")
        self._pusher.notify()

    def run(self, stop: threading.Event) -> None:
        """Run every camera until ``stop`` is set; returns after a clean shutdown."""
        log.info("worker starting %d camera(s); %d work order(s) waiting in the outbox", len(self.pipelines), self._outbox.pending_count())
        self._reporter.start()
        self._pusher.start()
        for pipeline in self.pipelines:
            if pipeline.submit_event_end is None:  # rule ENDs go through the outbox too (camera re-check)
                pipeline.submit_event_end = self.submit_event_end
            t = threading.Thread(target=pipeline.run, args=(stop,), name=f"camera-{pipeline.camera_id}", daemon=True)
            t.start()
            self._threads.append(t)
        try:
            while not stop.wait(self._stats_interval_s):
                for pipeline in self.pipelines:
                    log.info("stats %s", pipeline.stats())
                if not any(t.is_alive() for t in self._threads):
                    log.info("every camera source has ended")
                    break
        finally:
            stop.set()
            for t in self._threads:
                t.join(timeout=15)
            self._pusher.stop(flush_timeout_s=5)
            self._reporter.stop()
            log.info(
                "worker stopped: %d order(s) delivered this run, %d still pending on disk, %d rejected",
                self._pusher.delivered, self._outbox.pending_count(), self._outbox.rejected_count(),
            )


def build_worker(config: GridSightConfig) -> Worker:
    """Factory: reads config, loads and verifies each model once, wires every camera."""
    client = ApiClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s)
    reporter = StatusReporter(client)
    outbox = DurableOutbox(config.worker.spool_dir)
    pusher = OutboxPusher(
        outbox, client, Backoff(config.worker.retry_initial_s, config.worker.retry_max_s, 2.0, 0.3, random.Random())
    )

    detectors: dict[str, SharedDetector] = {}
    for model_id, model in config.models.items():
        if any(c.model == model_id for c in config.cameras.values()):
            detectors[model_id] = SharedDetector(
                YoloDetector.from_manifest(model.manifest, confidence=model.confidence, iou=model.iou, device=model.device)
            )

    worker = Worker([], pusher, reporter, outbox, config.worker.stats_interval_s)
    for camera_id, camera in config.cameras.items():
        clock = FrameClock()
        zones = {zid: PolygonZone.from_points(zid, z.polygon) for zid, z in camera.zones.items()}
        rules = []
        for rule_id, rule in camera.rules.items():
            spec = DwellRuleSpec(
                rule_id=rule_id,
                zone=zones[rule.zone],
                labels=frozenset(rule.labels),
                min_dwell_s=rule.min_dwell_s,
                min_count=rule.min_count,
                grace_s=rule.grace_s,
                cooldown_s=rule.cooldown_s,
                update_interval_s=rule.update_interval_s,
            )
            template = WorkOrderTemplate(rule.category_code, rule.category_name, rule.priority, camera.grid_cell, camera.address)
            rules.append((DwellRule(spec, camera_id, clock), template))
        tracker = ObjectTracker(
            frame_rate=camera.analysis_fps,
            lost_track_seconds=camera.tracker.lost_track_seconds,
            activation_threshold=camera.tracker.activation_threshold,
        )
        worker.pipelines.append(
            CameraPipeline(camera_id, _source_for(camera_id, camera, reporter), detectors[camera.model], tracker, rules, clock, worker.submit_order)
        )
    return worker
