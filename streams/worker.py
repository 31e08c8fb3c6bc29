"""The camera worker process (``gridsight worker``): reads the config, wires one
pipeline per camera around shared detectors, and runs until told to stop.

:func:`build_worker` is the entry point for both modes: without a ``redis``
section every configured camera runs here (:class:`StaticCameras`, orders to
the API over HTTP); with one, the cluster worker is built instead
(:mod:`streams.cluster.worker`: cameras leased through Redis). The parts both
share -- outbox, sender, status reporter, health, metrics -- are
:class:`streams.runtime.WorkerRuntime`.
"""

from __future__ import annotations

import logging
import threading

from streams.config import GridSightConfig
from streams.cluster.worker import build_cluster_worker
from streams.delivery.api_client import ApiClient
from streams.delivery.status import StatusReporter
from streams.pipeline import CameraPipeline
from streams.pipeline_factory import PipelineFactory, load_detectors, shadow_models
from streams.preflight import PreflightError, preflight_config
from streams.runtime import HTTP, Worker, build_runtime, dashboard_services, model_sync_service, worker_metrics

log = logging.getLogger(__name__)


class StaticCameras:
    """Embedded mode: every configured camera, each in its own thread, from start to stop.

    ``poll_s``: how often the worker looks whether every camera has ended (files)."""

    def __init__(self, pipelines: list[CameraPipeline], *, poll_s: float = 60.0) -> None:
        self._pipelines = list(pipelines)
        self.poll_s = poll_s
        self._threads: list[threading.Thread] = []

    def pipelines(self) -> list[CameraPipeline]:
        return self._pipelines

    def announce(self, pending: int) -> None:
        log.info("worker starting %d camera(s); %d work order(s) waiting in the outbox", len(self._pipelines), pending)

    def start(self, stop: threading.Event) -> None:
        for pipeline in self._pipelines:
            t = threading.Thread(target=pipeline.run, args=(stop,), name=f"camera-{pipeline.camera_id}", daemon=True)
            t.start()
            self._threads.append(t)

    def tick(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.poll_s)

    def stop(self) -> None:
        """The worker has set ``stop``: wait for each camera to finish (bounded)."""
        for t in self._threads:
            t.join(timeout=15)

    def problems(self) -> dict[str, str]:
        return {}

    def health(self, report: dict) -> dict:
        return report


def build_worker(config: GridSightConfig, *, checked: bool = False) -> Worker:
    """Factory: reads config, loads and verifies each model once, wires every camera.

    First the start-up checks ``gridsight check-config`` runs (streams.preflight; skipped
    when the caller has just run them, ``checked``): every problem in one PreflightError.
    With a ``redis`` section the cluster worker (streams.cluster.worker) is built instead."""
    if not checked:
        report = preflight_config(config)
        if report.errors:
            raise PreflightError(report.errors)
    if config.redis is not None:
        return build_cluster_worker(config)
    metrics = worker_metrics(config)
    client = ApiClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s)
    reporter = StatusReporter(client)
    runtime = build_runtime(config, client, reporter, transport=HTTP, metrics=metrics)
    detectors = load_detectors(config, {c.model for c in config.cameras.values()} | shadow_models(config))
    factory = PipelineFactory(config, detectors, reporter, runtime.submit_order, metrics,
                              submit_event_end=runtime.submit_event_end,
                              submit_evidence_follow_up=runtime.submit_evidence_follow_up, actions=runtime.actions)
    cameras = StaticCameras([factory.build(camera_id, camera) for camera_id, camera in config.cameras.items()],
                            poll_s=config.worker.stats_interval_s)
    services = [*dashboard_services(config, client, cameras.pipelines),
                *model_sync_service(config, cameras.pipelines, factory.detectors, metrics),
                *([factory.harvest] if factory.harvest is not None else [])]  # stopped after the cameras: a last flush
    return Worker(runtime, cameras, services=services, stats_interval_s=config.worker.stats_interval_s)
