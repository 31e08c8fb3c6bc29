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
from dataclasses import replace

from streams.config import CameraConfig, GridSightConfig
from inference.clock import FrameClock
from inference.models.detector import YoloDetector
from inference.tracking import ObjectTracker
from streams.delivery.api_client import ApiClient
from streams.backoff import Backoff
from streams.batching import BatchingDetector, resolve_device
from streams.sources.buffer import DropPolicy
from api.contract.wire import CameraStatusEvent
from streams.metrics import MetricsServer, WorkerMetrics, pipeline_families
from streams.delivery.outbox import DurableOutbox, OutboxPusher
from streams.pipeline import CameraPipeline, SharedDetector
from streams.rule_factory import build_rules
from streams.sync.snapshots import SnapshotUploader
from streams.shadow import ShadowLog, ShadowRunner
from streams.analysis_health import AnalysisWatch, analysis_problems
from streams.shedding import FpsGovernor
from streams.sources.source import CameraSource, SourceOptions, damaged_video
from streams.sync.zones import ZoneSync

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

    def discard(self, camera_id: str) -> None:
        """Drop a camera's unsent status (cluster mode: it moved, its next owner reports now)."""
        with self._lock:
            self._latest.pop(camera_id, None)

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


def _with_config_hints(camera: CameraConfig, on_status):
    """Status events carrying the camera's configured grid cell and address (see CameraStatusEvent)."""
    if on_status is None or (camera.grid_cell is None and camera.address is None):
        return on_status

    def report(event: CameraStatusEvent) -> None:
        on_status(replace(event, grid_cell=camera.grid_cell, address=camera.address))

    return report


def _source_for(camera_id: str, camera: CameraConfig, on_status) -> CameraSource:
    on_status = _with_config_hints(camera, on_status)
    src = camera.source
    options = SourceOptions(
        open_timeout_s=src.open_timeout_s,
        read_timeout_s=src.read_timeout_s,
        backoff_initial_s=src.backoff_initial_s,
        backoff_max_s=src.backoff_max_s,
        offline_after_failures=src.offline_after_failures,
        realtime=src.realtime,
        loop=src.loop,
        max_corrupt_ratio=src.max_corrupt_ratio,
        corrupt_window_s=src.corrupt_window_s,
    )
    return CameraSource(camera_id, camera.url, analysis_fps=camera.analysis_fps, options=options, on_status=on_status)


class Worker:
    """Embedded mode: runs every configured camera itself, orders go over HTTP."""

    def __init__(self, pipelines: list[CameraPipeline], pusher: OutboxPusher, reporter: StatusReporter, outbox: DurableOutbox,
                 stats_interval_s: float, *, metrics: WorkerMetrics | None = None, config: GridSightConfig | None = None) -> None:
        self.pipelines = pipelines
        self._pusher = pusher
        self._reporter = reporter
        self._outbox = outbox
        self._stats_interval_s = stats_interval_s
        self._threads: list[threading.Thread] = []
        self.services: list = []  # background helpers with start()/stop() (snapshots, zone sync)
        self.metrics = metrics
        self._config = config
        if metrics is not None:
            metrics.add_collector(lambda: pipeline_families(self.pipelines))

    def health(self) -> dict:
        cameras = {p.camera_id: p.source.state for p in self.pipelines}
        pending = self._outbox.pending_count()
        bad = sorted(c for c, st in cameras.items() if st in ("error", "offline"))
        degraded = {}
        if bad:
            degraded["cameras"] = f"{len(bad)} camera(s) in error/offline: {', '.join(bad[:10])}"
        if self._pusher.retries and pending:
            degraded["spool"] = f"{pending} record(s) waiting for the API"
        analysis = analysis_problems(self.pipelines)
        if analysis:
            degraded["analysis"] = analysis
        if video := damaged_video(self.pipelines):
            degraded["video"] = video
        return {"status": "degraded" if degraded else "ok", "degraded": degraded, "cameras": cameras, "spool_pending": pending}

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
        server = start_metrics_server(self._config, self.metrics, self.health) if self._config is not None else None
        self._reporter.start()
        self._pusher.start()
        for service in self.services:
            service.start()
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
            for service in self.services:
                service.stop()
            self._pusher.stop(flush_timeout_s=5)
            self._reporter.stop()
            if server is not None:
                server.stop()
            log.info(
                "worker stopped: delivered this run %s; %d record(s) still pending on disk, %d rejected",
                self._pusher.delivered_summary(), self._outbox.pending_count(), self._outbox.rejected_count(),
            )


class PipelineFactory:
    """Builds one camera's pipeline from its config around the shared detectors.

    Used once per camera at start (embedded mode) or whenever a lease is won or a
    camera's config changes (cluster mode)."""

    def __init__(self, config: GridSightConfig, detectors: dict[str, SharedDetector], on_status, submit_order,
                 metrics: WorkerMetrics | None = None) -> None:
        self.config = config
        self.detectors = detectors
        self._on_status = on_status
        self._submit_order = submit_order
        self._metrics = metrics
        self._shadow_log: ShadowLog | None = None

    # One rule builder for every mode (streams.rule_factory); cluster mode passes the
    # previous config and running rules so unchanged rules keep their state.
    build_rules = staticmethod(build_rules)

    def _tracker_for(self, camera: CameraConfig, model_id: str | None = None) -> ObjectTracker:
        detector = self.detectors[model_id or camera.model]
        return ObjectTracker(
            frame_rate=camera.analysis_fps,
            lost_track_seconds=camera.tracker.lost_track_seconds,
            activation_threshold=camera.tracker.activation_threshold,
            high_confidence_threshold=camera.tracker.high_confidence_threshold,
            label_thresholds=getattr(detector, "class_confidence", None),
        )

    def build(self, camera_id: str, camera: CameraConfig, on_status=None) -> CameraPipeline:
        clock = FrameClock()
        rules = self.build_rules(camera_id, camera, clock)
        tracker = self._tracker_for(camera)
        source = _source_for(camera_id, camera, on_status or self._on_status)
        submit = self._submit_order
        observe_inference = None
        if self._metrics is not None:
            source.observe_decode = self._metrics.decode_seconds.labels(camera_id).observe
            observe_inference = self._metrics.inference_seconds.labels(camera_id).observe
            submitted = self._metrics.orders_submitted.labels(camera_id)

            def submit(key: str, payload: dict, _inner=self._submit_order) -> None:
                _inner(key, payload)
                submitted.inc()

        governor = None
        if source.policy is DropPolicy.LATEST:  # live: shed fps under load; files (block) never drop
            # Never below the rules' own minimum (config refuses a shed_min_fps under it).
            floor = max(self.config.worker.shed_min_fps or 0.0, camera.min_analysis_fps().fps)
            governor = FpsGovernor(camera.analysis_fps, min(floor, camera.analysis_fps))
        low = camera.min_analysis_fps()
        pipeline = CameraPipeline(
            camera_id, source, self.detectors[camera.model], tracker, rules, clock, submit,
            governor=governor, observe_inference=observe_inference, watch=AnalysisWatch(low.fps, low.reason),
        )
        if self.config.shadows(camera_id):
            pipeline.shadow = self._shadow_runner(camera_id, camera)
        return pipeline

    def _shadow_runner(self, camera_id: str, camera: CameraConfig) -> ShadowRunner:
        """The candidate side: its own tracker, clock and copy of the rules; no outbox."""
        if self._shadow_log is None:
            self._shadow_log = ShadowLog(self.config.shadow.log_dir)
        clock = FrameClock()
        live = self.detectors[camera.model]
        runner = ShadowRunner(
            camera_id, self.detectors[self.config.shadow.model], self._tracker_for(camera, self.config.shadow.model),
            build_rules(camera_id, camera, clock), clock, self._shadow_log, f"{live.name} {live.version}",
        )
        log.info("camera %s: shadowing %s with candidate %s (events logged to %s, never filed)",
                 camera_id, runner.model, self.config.shadow.model, self._shadow_log.path(camera_id))
        return runner


def shadow_models(config: GridSightConfig) -> set[str]:
    return {config.shadow.model} if config.shadow is not None else set()


def load_detectors(config: GridSightConfig, model_ids) -> dict[str, SharedDetector]:
    """Load and verify each model once; every camera on it shares the instance.

    One inference on a blank frame warms each model up, so a camera's first real
    frame (at start, or right after a takeover) is not the slow one."""
    import numpy as np

    detectors = {}
    for model_id, model in config.models.items():
        if model_id not in set(model_ids):
            continue
        detector = YoloDetector.from_manifest(model.manifest, backend=model.backend, confidence=model.confidence,
                                              iou=model.iou, device=resolve_device(model.device),
                                              class_confidence=dict(model.class_confidence))
        detector.detect([np.zeros((240, 320, 3), np.uint8)])
        if model.max_batch > 1:  # cameras' frames batched into one inference (streams.batching)
            detectors[model_id] = BatchingDetector(detector, max_batch=model.max_batch,
                                                   batch_deadline_ms=model.batch_deadline_ms, name=f"model-{model_id}")
        else:
            detectors[model_id] = SharedDetector(detector)
    return detectors


def make_outbox_metrics(metrics: WorkerMetrics | None, outbox: DurableOutbox, transport: str):
    """The spool gauges, read at scrape time; returns the pusher's on_delivered hook."""
    if metrics is None:
        return None
    from prometheus_client.core import GaugeMetricFamily

    def spool():
        pending = GaugeMetricFamily("gridsight_worker_spool_pending", "Records on disk waiting for delivery")
        pending.add_metric([], outbox.pending_count())
        rejected = GaugeMetricFamily("gridsight_worker_spool_rejected", "Records refused permanently (kept for a person)")
        rejected.add_metric([], outbox.rejected_count())
        return [pending, rejected]

    metrics.add_collector(spool)
    delivered = metrics.orders_delivered.labels(transport)
    return lambda _item, _result: delivered.inc()


def start_metrics_server(config: GridSightConfig, metrics: WorkerMetrics | None, health) -> MetricsServer | None:
    if metrics is None:
        return None
    server = MetricsServer(config.worker.metrics_host, config.worker.metrics_port, metrics, health).start()
    log.info("metrics and health on http://%s:%d/metrics", config.worker.metrics_host, server.port)
    return server


def build_worker(config: GridSightConfig, *, checked: bool = False):
    """Factory: reads config, loads and verifies each model once, wires every camera.

    First the start-up checks ``gridsight check-config`` runs (streams.preflight; skipped
    when the caller has just run them, ``checked``): every problem in one PreflightError.
    With a ``redis`` section the cluster worker (streams.cluster.worker) is built instead."""
    if not checked:
        from streams.preflight import PreflightError, preflight_config

        report = preflight_config(config)
        if report.errors:
            raise PreflightError(report.errors)
    if config.redis is not None:
        from streams.cluster.worker import build_cluster_worker

        return build_cluster_worker(config)
    metrics = WorkerMetrics(config.worker.name) if config.worker.metrics_port is not None else None
    client = ApiClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s)
    reporter = StatusReporter(client)
    outbox = DurableOutbox(config.worker.spool_dir)
    pusher = OutboxPusher(
        outbox, client, Backoff(config.worker.retry_initial_s, config.worker.retry_max_s, 2.0, 0.3, random.Random()),
        on_delivered=make_outbox_metrics(metrics, outbox, "http"),
    )
    detectors = load_detectors(config, {c.model for c in config.cameras.values()} | shadow_models(config))
    worker = Worker([], pusher, reporter, outbox, config.worker.stats_interval_s, metrics=metrics, config=config)
    factory = PipelineFactory(config, detectors, reporter, worker.submit_order, metrics)
    for camera_id, camera in config.cameras.items():
        worker.pipelines.append(factory.build(camera_id, camera))
    # Dashboard support: latest frames up, edited zones down (each off when its interval is 0).
    worker.services = [s for s in (SnapshotUploader.from_config(config, client, lambda: worker.pipelines),
                                   ZoneSync.from_config(config, client, lambda: worker.pipelines)) if s is not None]
    return worker
