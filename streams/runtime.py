"""What every worker process runs, whichever cameras it holds.

:class:`WorkerRuntime` owns the parts both modes share: the durable outbox and
the sender that drains it (HTTP to the API, or the Redis Stream in cluster
mode), the camera status reporter, the metrics with their ``/health`` server,
and the health report itself. :class:`Worker` runs a runtime with one camera
strategy -- :class:`streams.worker.StaticCameras` (every camera in the config:
``gridsight worker``) or :class:`streams.cluster.leased.LeasedCameras` (the
cameras this worker leases through Redis) -- and the dashboard services
(snapshots up, edited zones down) over whichever pipelines run.

Work orders go through the durable outbox, so an API outage or a restart
loses nothing. Camera status changes are logged and reported to the API on a
best-effort basis (the latest state wins; an old status is worth nothing).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily

from streams.actions import ActionDispatcher
from streams.actions import from_config as actions_from_config
from streams.actions.metrics import action_families
from streams.analysis_health import analysis_problems
from streams.backoff import Backoff
from streams.config import GridSightConfig
from streams.delivery.outbox import DurableOutbox, OutboxPusher, Sender
from streams.delivery.status import StatusReporter
from streams.harvest.service import harvest_problem, harvest_stats
from streams.metrics import MetricsServer, WorkerMetrics, pipeline_families
from streams.pipeline import CameraPipeline
from streams.sources.source import damaged_video
from streams.sync.snapshots import SnapshotUploader
from streams.sync.registration import CameraRegistrar
from streams.sync.models import ModelSync
from streams.sync.zones import ZoneSync

log = logging.getLogger(__name__)

# /health's degraded entries, in this order: the mode's link (cluster: redis), the cameras,
# the mode's config (cluster: refused Redis configs), the spool, the edge actions' sinks, assigned models
# not loaded (streams.sync.models), then the analysis, the video, the record streams and harvesting.
DEGRADED_ORDER = ("redis", "cameras", "config", "spool", "actions", "model", "analysis", "video", "record", "harvest")


@dataclass(frozen=True)
class Transport:
    """Where the outbox's records go, as the runtime counts and reports them."""

    label: str  # the metrics' transport label
    peer: str  # what the spool waits for while the sender fails
    verb: str  # the last log line: "<verb> this run ..."
    merges_known: bool  # the API tells a repeat merged into an open order from a new one; a stream cannot
    flush_timeout_s: float  # the last flush of the spool at shutdown


HTTP = Transport("http", "the API", "delivered", True, 5.0)
REDIS = Transport("redis", "Redis", "published", False, 10.0)


class WorkerRuntime:
    """The outbox and its sender, the status reporter, the metrics and their server.

    ``sender_down()`` says whether the spool is stuck behind its transport (default:
    the pusher is retrying; cluster mode: Redis was unreachable at the last tick)."""

    def __init__(self, outbox: DurableOutbox, pusher: OutboxPusher, reporter: StatusReporter | None, *,
                 transport: Transport = HTTP, metrics: WorkerMetrics | None = None,
                 metrics_address: tuple[str, int] | None = None,
                 sender_down: Callable[[], bool] | None = None, actions: ActionDispatcher | None = None) -> None:
        self.outbox = outbox
        self.actions = actions  # edge actions (streams.actions), or None: the config routes none
        self.pusher = pusher
        self.reporter = reporter
        self.transport = transport
        self.metrics = metrics
        self._metrics_address = metrics_address
        self._sender_down = sender_down or (lambda: bool(self.pusher.retries))
        self._server: MetricsServer | None = None
        if actions is not None and metrics is not None:
            metrics.add_collector(lambda: action_families(actions))

    def submit_order(self, idempotency_key: str, payload: dict) -> None:
        self.outbox.put(idempotency_key, payload)
        self.pusher.notify()

    def submit_event_end(self, idempotency_key: str, payload: dict) -> None:
        """A rule event ended: queued behind its START in the same durable outbox."""
        self.outbox.put(idempotency_key, payload, kind="event_end")
        self.pusher.notify()

    def submit_evidence_follow_up(self, idempotency_key: str, payload: dict) -> None:
        """Files of an order made after it (its clip): queued behind the order in the same outbox."""
        self.outbox.put(idempotency_key, payload, kind="evidence_follow_up")
        self.pusher.notify()

    def start(self, health: Callable[[], dict]) -> None:
        if self.actions is not None:
            self.actions.start()  # before the cameras: the first event already has somewhere to go
        if self.metrics is not None and self._metrics_address is not None:
            host, port = self._metrics_address
            self._server = MetricsServer(host, port, self.metrics, health).start()
            log.info("metrics and health on http://%s:%d/metrics", host, self._server.port)
        self.reporter.start()
        self.pusher.start()

    def stop(self) -> None:
        """Flush the spool (bounded) and the last statuses, then say what this run sent."""
        self.pusher.stop(flush_timeout_s=self.transport.flush_timeout_s)
        if self.actions is not None:
            self.actions.stop()
        self.reporter.stop()
        if self._server is not None:
            self._server.stop()
        log.info(
            "worker stopped: %s this run %s; %d record(s) still pending on disk, %d rejected",
            self.transport.verb, self.pusher.delivered_summary(merges_known=self.transport.merges_known),
            self.outbox.pending_count(), self.outbox.rejected_count(),
        )

    def health(self, pipelines: list[CameraPipeline], problems: Mapping[str, str]) -> dict:
        """The report both modes share; ``problems``: the mode's own degraded entries."""
        cameras = {p.camera_id: p.source.state for p in pipelines}
        pending = self.outbox.pending_count()
        found = dict(problems)
        bad = sorted(c for c, st in cameras.items() if st in ("error", "offline"))
        if bad:
            found["cameras"] = f"{len(bad)} camera(s) in error/offline: {', '.join(bad[:10])}"
        if pending and self._sender_down():
            found["spool"] = f"{pending} record(s) waiting for {self.transport.peer}"
        if self.actions is not None and (actions := self.actions.problem()):
            found["actions"] = actions
        if analysis := analysis_problems(pipelines):
            found["analysis"] = analysis
        if video := damaged_video(pipelines):
            found["video"] = video
        records = {p.camera_id: state for p in pipelines if (state := getattr(p, "record_stream_state", None))}
        if record := failed_record_streams(records):
            found["record"] = record
        if harvest := harvest_problem(pipelines):  # harvesting is on but the API refuses (or cannot take) it
            found["harvest"] = harvest
        degraded = {key: found[key] for key in DEGRADED_ORDER if key in found}
        report = {"status": "degraded" if degraded else "ok", "degraded": degraded, "cameras": cameras,
                  "spool_pending": pending, "analysis_rates": {p.camera_id: analysis_rate(p) for p in pipelines}}
        if self.actions is not None:
            report["actions"] = self.actions.stats()
        if (evidence := evidence_stats(pipelines)) is not None:  # the shared pool making evidence files
            report["evidence"] = evidence
        if records:  # cameras with a record_url: last capture ok / failed, and why
            report["record_streams"] = records
        if (harvested := harvest_stats(pipelines)) is not None:  # frames for labelling: sent, dropped, per camera
            report["harvest"] = harvested
        return report


def evidence_stats(pipelines: list[CameraPipeline]) -> dict | None:
    """The worker's evidence pool (streams.evidence_writer): threads, jobs queued now, jobs, waits for room
    and failures, with the events pending per camera; None when evidence is made on the cameras' threads."""
    lanes = [lane for p in pipelines if (lane := getattr(p, "evidence_lane", None)) is not None and lane.pool]
    if not lanes:
        return None
    return {**lanes[0].pool.stats(), "pending": {lane.camera_id: lane.pending for lane in lanes}}


def failed_record_streams(states: dict[str, dict]) -> str | None:
    """One line for ``/health``'s ``record`` from each camera's record stream state (camera id -> state):
    each camera whose last capture failed, and why (its events then carry evidence at the analysed
    stream's resolution)."""
    lines = [f"{camera}: record stream: {state['record_reason']}" for camera, state in states.items()
             if state["record_stream"] == "failed"]
    return " | ".join(lines) if lines else None


def analysis_rate(pipeline: CameraPipeline) -> dict:
    """How often a camera is analysed and why, and what it decodes for that (/health's "analysis_rates"):
    a rate that follows its rules (analysis_fps: auto) says which rule sets it."""
    camera = getattr(pipeline, "camera_config", None)
    source = pipeline.source.stats() if hasattr(pipeline.source, "stats") else {}
    governor = getattr(pipeline, "governor", None)  # shedding may run it below its configured rate
    fps = governor.fps if governor is not None else (camera.analysis_fps if camera is not None else None)
    return {"fps": fps, "why": camera.analysis_fps_why() if camera is not None else None,
            "decode": source.get("decode"), "gop_s": source.get("gop_s")}


class CameraStrategy(Protocol):
    """Which cameras a worker runs, and how they come and go."""

    def pipelines(self) -> list[CameraPipeline]: ...

    def announce(self, pending: int) -> None: ...  # the "starting" log line

    def start(self, stop: threading.Event) -> None: ...

    def tick(self) -> bool: ...  # one round; False once there is nothing left to run

    def wait(self, stop: threading.Event) -> None: ...  # until the next round

    def stop(self) -> None: ...  # every pipeline stopped (cluster: its leases released)

    def problems(self) -> dict[str, str]: ...  # the mode's own degraded entries

    def health(self, report: dict) -> dict: ...  # the shared report with the mode's own fields


class Worker:
    """A worker process: the runtime, one camera strategy, the dashboard services."""

    def __init__(self, runtime: WorkerRuntime, cameras: CameraStrategy, *, services: Iterable = (),
                 stats_interval_s: float = 60.0) -> None:
        self.runtime = runtime
        self.cameras = cameras
        # Background helpers with start()/stop() (snapshots, zone sync, model sync); one may add problems()
        # (degraded entries) and health_fields() to /health.
        self.services = list(services)
        self.stats_interval_s = stats_interval_s
        if runtime.metrics is not None:
            runtime.metrics.add_collector(lambda: pipeline_families(self.cameras.pipelines()))

    @property
    def pipelines(self) -> list[CameraPipeline]:
        return self.cameras.pipelines()

    def health(self) -> dict:
        """The runtime's report with the strategy's and the services' problems and fields (model sync)."""
        problems = dict(self.cameras.problems())
        for service in self.services:
            problems.update(getattr(service, "problems", dict)())
        report = self.runtime.health(self.cameras.pipelines(), problems)
        for service in self.services:
            report.update(getattr(service, "health_fields", dict)())
        return self.cameras.health(report)

    def run(self, stop: threading.Event) -> None:
        """Run the cameras until ``stop`` is set (or, files only, every one has ended);
        returns after a clean shutdown."""
        self.cameras.announce(self.runtime.outbox.pending_count())
        self.runtime.start(self.health)
        for service in self.services:
            service.start()
        self.cameras.start(stop)
        next_stats = time.monotonic() + self.stats_interval_s
        try:
            while not stop.is_set():
                if time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + self.stats_interval_s
                    for pipeline in self.cameras.pipelines():
                        log.info("stats %s", pipeline.stats())
                if not self.cameras.tick():
                    log.info("every camera source has ended")
                    break
                self.cameras.wait(stop)
        finally:
            stop.set()
            self.cameras.stop()
            for service in self.services:
                service.stop()
            self.runtime.stop()


def build_runtime(config: GridSightConfig, sender: Sender, reporter: StatusReporter, *, transport: Transport,
                  metrics: WorkerMetrics | None, sender_down: Callable[[], bool] | None = None) -> WorkerRuntime:
    """The runtime of a worker from its config: the spool, a pusher to ``sender``, metrics, edge actions."""
    outbox = DurableOutbox(config.worker.spool_dir)
    pusher = OutboxPusher(
        outbox, sender, Backoff(config.worker.retry_initial_s, config.worker.retry_max_s, rng=random.Random()),
        on_delivered=_spool_metrics(metrics, outbox, transport.label),
    )
    address = (config.worker.metrics_host, config.worker.metrics_port) if config.worker.metrics_port is not None else None
    observe = metrics.action_seconds.labels if metrics is not None else None
    actions = actions_from_config(config.actions, config.worker.name,
                                  observe_latency=(lambda sink, s: observe(sink).observe(s)) if observe else None)
    return WorkerRuntime(outbox, pusher, reporter, transport=transport, metrics=metrics, metrics_address=address,
                         sender_down=sender_down, actions=actions)


def worker_metrics(config: GridSightConfig) -> WorkerMetrics | None:
    """The worker's metrics, when ``worker.metrics_port`` asks for them."""
    return WorkerMetrics(config.worker.name) if config.worker.metrics_port is not None else None


def model_sync_service(config: GridSightConfig, pipelines: Callable[[], list], config_detectors: Mapping,
                       metrics: WorkerMetrics | None) -> list:
    """The registry's assigned models swapped in (streams.sync.models); [] when model_sync is off."""
    sync = ModelSync.from_config(config, pipelines, config_detectors, metrics=metrics)
    return [sync] if sync is not None else []


def dashboard_services(config: GridSightConfig, client, pipelines: Callable[[], list]) -> list:
    """Dashboard support: each camera and its config's zones registered up (always), latest frames up,
    edited zones down (each off when its interval is 0), for whichever cameras ``pipelines()`` returns."""
    registrar = CameraRegistrar.from_config(config, client, pipelines)
    zone_sync = ZoneSync.from_config(config, client, pipelines, on_config_zone_missing=registrar.invalidate)
    return [s for s in (registrar, SnapshotUploader.from_config(config, client, pipelines), zone_sync) if s is not None]


def _spool_metrics(metrics: WorkerMetrics | None, outbox: DurableOutbox, transport: str):
    """The spool gauges, read at scrape time; returns the pusher's on_delivered hook."""
    if metrics is None:
        return None

    def spool():
        pending = GaugeMetricFamily("gridsight_worker_spool_pending", "Records on disk waiting for delivery")
        pending.add_metric([], outbox.pending_count())
        rejected = GaugeMetricFamily("gridsight_worker_spool_rejected", "Records refused permanently (kept for a person)")
        rejected.add_metric([], outbox.rejected_count())
        return [pending, rejected]

    metrics.add_collector(spool)
    delivered = metrics.orders_delivered.labels(transport)
    return lambda _item, _result: delivered.inc()
