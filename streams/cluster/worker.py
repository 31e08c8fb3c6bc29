"""Cluster mode: many workers share the cameras through Redis.

Keys (``P`` is ``redis.key_prefix``)::

    P:workers          ZSET  worker id -> heartbeat expiry (ms, Redis server time)
    P:workers:info     HASH  worker id -> {"name", "host", "pid", "capacity", "cameras", "started_at"}
    P:lease:<camera>   STRING worker id, PX lease_ttl  (SET NX to take, Lua renew/release only if ours)
    P:cameras          HASH  camera id -> camera config JSON (same schema as a file camera)
    P:config-version   STRING bumped on every change of P:cameras (`gridsight cluster` does it)
    P:wake             PUB/SUB channel: "look now" after a release, a leave or a config change

Every ``heartbeat_interval_s`` a worker (1) writes its heartbeat and reads the
live workers, (2) renews the leases it holds in one script call, (3) reloads
camera config if the version moved, (4) reads who holds each camera's lease,
and (5) lets :class:`streams.cluster.assignment.Reconciler` decide what to take and
what to hand over. Pipelines start when a lease is won and stop when it is
released or lost; a handed-over camera is stopped *before* its lease is
released, so two workers never analyse it at once.

A worker killed with -9 stops renewing: its heartbeat and leases expire after
``lease_ttl_s`` and the others take its cameras at their next tick. A worker
told to stop (SIGTERM) stops its pipelines, releases its leases, leaves the
worker set and wakes the others at once, then flushes its spool.

Redis unreachable: the worker keeps running the cameras it holds (nobody else
can take a lease while Redis is down) and keeps orders in the on-disk spool.
When Redis returns, each lease is renewed, re-taken if it expired meanwhile,
or - if another worker got it - its pipeline is stopped at once. A worker cut
off from Redis while the others still reach it keeps analysing until it sees
Redis again: availability over strict exclusivity, documented in the README.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

import redis

from streams.config import CameraConfig, ConfigError, GridSightConfig, model_labels, parse_camera
from streams.analysis_health import analysis_problems
from streams.delivery.api_client import ApiClient
from streams.cluster.assignment import Reconciler, WorkerInfo
from streams.cluster.store import REDIS_ERRORS, ClusterStore
from streams.backoff import Backoff
from streams.delivery.bus import RedisPublisher, make_redis
from api.contract.wire import CameraStatusEvent
from streams.metrics import WorkerMetrics, pipeline_families
from streams.sources.source import damaged_video
from streams.delivery.outbox import DurableOutbox, OutboxPusher
from streams.pipeline import CameraPipeline
from api.contract.redact import redact_url
from streams.worker import PipelineFactory, StatusReporter, load_detectors, make_outbox_metrics, start_metrics_server

log = logging.getLogger(__name__)

@dataclass
class Slot:
    """One camera this worker holds a lease for, and its running pipeline."""

    camera_id: str
    config: CameraConfig
    pipeline: CameraPipeline
    thread: threading.Thread
    stop: threading.Event
    started_at: float
    forward_status: bool = True  # False once handing over: the next owner reports from now on
    died_at: float | None = None
    extra: dict = field(default_factory=dict)


def _restart_needed(old: CameraConfig, new: CameraConfig) -> bool:
    """Changes the running source or detector cannot take on the fly."""
    fields = ("url", "model", "analysis_fps", "source", "tracker")
    return any(getattr(old, f) != getattr(new, f) for f in fields)


class ClusterWorker:
    def __init__(
        self,
        config: GridSightConfig,
        store: ClusterStore,
        factory: PipelineFactory,
        reporter: StatusReporter,
        outbox: DurableOutbox,
        pusher: OutboxPusher,
        *,
        metrics: WorkerMetrics | None = None,
        worker_id: str | None = None,
        pubsub_client: redis.Redis | None = None,
    ) -> None:
        assert config.redis is not None
        self.config = config
        self.rc = config.redis
        self.store = store
        self.factory = factory
        self.reporter = reporter
        self.outbox = outbox
        self.pusher = pusher
        self.metrics = metrics
        self.worker_id = worker_id or f"{config.worker.name}-{uuid.uuid4().hex[:8]}"
        self._pubsub_client = pubsub_client
        self.reconciler = Reconciler(
            self.worker_id, self.rc.max_cameras, settle_s=self.rc.settle_s,
            orphan_grace_s=2 * self.rc.heartbeat_interval_s, clock=_Monotonic(),
        )
        self.slots: dict[str, Slot] = {}
        self.services: list = []  # background helpers with start()/stop() (snapshots, zone sync), as in embedded mode
        self.cameras: dict[str, CameraConfig] = {}  # every camera in the cluster's config, by id
        self._file_cameras = dict(config.cameras) if self.rc.cameras_from in ("file", "both") else {}
        self._provided = model_labels(config)
        self._bad_cameras: dict[str, str] = {}  # id -> why its Redis config was refused
        self._config_version: str | None = None
        self._redis_ok: bool | None = None
        self._live: dict[str, dict] = {}
        self._last_tick: float = time.monotonic()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.RLock()  # slots: tick thread vs. metrics scrapes
        self._started_at = time.time()
        self.cameras = dict(self._file_cameras)
        if metrics is not None:
            metrics.add_collector(lambda: pipeline_families([s.pipeline for s in self._slot_list()]))

    # -- public -----------------------------------------------------------------------
    def submit_order(self, idempotency_key: str, payload: dict) -> None:
        self.outbox.put(idempotency_key, payload)
        self.pusher.notify()

    def submit_event_end(self, idempotency_key: str, payload: dict) -> None:
        """A rule event ended: queued behind its START, published as kind event_end."""
        self.outbox.put(idempotency_key, payload, kind="event_end")
        self.pusher.notify()

    @property
    def pipelines(self) -> list[CameraPipeline]:
        return [s.pipeline for s in self._slot_list()]

    def health(self) -> dict:
        slots = self._slot_list()
        cameras = {s.camera_id: s.pipeline.source.state for s in slots}
        degraded = {}
        if self._redis_ok is False:
            degraded["redis"] = "unreachable: keeping held cameras, orders wait in the spool"
        bad = sorted(c for c, st in cameras.items() if st in ("error", "offline"))
        if bad:
            degraded["cameras"] = f"{len(bad)} camera(s) in error/offline: {', '.join(bad[:10])}"
        if self._bad_cameras:
            degraded["config"] = f"refused camera config(s): {', '.join(sorted(self._bad_cameras)[:10])}"
        pending = self.outbox.pending_count()
        if pending and self._redis_ok is False:
            degraded["spool"] = f"{pending} record(s) waiting for Redis"
        analysis = analysis_problems([s.pipeline for s in slots])
        if analysis:
            degraded["analysis"] = analysis
        if video := damaged_video([s.pipeline for s in slots]):
            degraded["video"] = video
        stuck = time.monotonic() - self._last_tick > max(30.0, 5 * self.rc.lease_ttl_s)
        status = "unhealthy" if stuck else ("degraded" if degraded else "ok")
        return {
            "status": status, "worker_id": self.worker_id, "degraded": degraded, "cameras": cameras,
            "spool_pending": pending, "live_workers": sorted(self._live),
        }

    def run(self, stop: threading.Event) -> None:
        log.info(
            "cluster worker %s starting: capacity %d camera(s), lease ttl %.1f s, redis %s, %d order(s) in the spool",
            self.worker_id, self.rc.max_cameras, self.rc.lease_ttl_s, redact_url(self.rc.url), self.outbox.pending_count(),
        )
        server = start_metrics_server(self.config, self.metrics, self.health)
        self.reporter.start()
        self.pusher.start()
        for service in self.services:
            service.start()
        threading.Thread(target=lambda: (stop.wait(), self._stop.set(), self._wake.set()), name="stop-watch", daemon=True).start()
        threading.Thread(target=self._listen, name="cluster-wake", daemon=True).start()
        next_stats = time.monotonic() + self.config.worker.stats_interval_s
        try:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:  # a bug in one round must not end the worker; the next round retries
                    log.exception("cluster tick failed")
                if time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + self.config.worker.stats_interval_s
                    for slot in self._slot_list():
                        log.info("stats %s", slot.pipeline.stats())
                # Jitter keeps a fleet that started together from ticking in lockstep.
                self._wake.wait(self.rc.heartbeat_interval_s * random.uniform(0.85, 1.0))
                self._wake.clear()
        finally:
            self.shutdown()
            if server is not None:
                server.stop()

    # -- one round ----------------------------------------------------------------------
    def tick(self) -> None:
        self._last_tick = time.monotonic()
        self._restart_dead_pipelines()
        try:
            self._live = self.store.heartbeat(self.worker_id, self._info())
            self._set_redis(True)
            self._reload_config()
            self._renew()
            ids = sorted(self.cameras)
            owners = self.store.owners(ids)
            live = [WorkerInfo(w, int(i.get("capacity", 0) or 0)) for w, i in self._live.items()]
            plan = self.reconciler.plan(ids, live, owners)
            if self.metrics is not None:
                self.metrics.cluster_workers.set(len(self._live))
                self.metrics.cameras_unassigned.set(len(plan.unassigned))
            if plan.release:
                # Stop them all at once (a handover must not hold up the other leases' renewal),
                # then release: the analysis is over before anyone else may start it.
                self._stop_slots(plan.release, "handing over", forward=False)
                released = self.store.release(self.worker_id, plan.release)
                self._count("released", released)
                log.info("handed over %s to %s", ", ".join(plan.release),
                         ", ".join(sorted({str(plan.desired.get(c)) for c in plan.release})))
                self.store.wake("released")
            for camera_id in self.store.acquire(self.worker_id, plan.acquire):
                self._count("acquired")
                self._start_slot(camera_id, "lease won")
            for camera_id, owner in owners.items():
                # Ours in Redis but not running here (a reply lost after SET, a release
                # that failed half-way): run it rather than leave it dark until it expires.
                if owner == self.worker_id and camera_id not in self.slots and camera_id not in plan.release:
                    self._start_slot(camera_id, "lease already ours")
        except REDIS_ERRORS as exc:
            self._set_redis(False, exc)
        except redis.RedisError as exc:  # e.g. a script error: log, keep going
            log.error("cluster tick failed: %s: %s", type(exc).__name__, exc)

    def _renew(self) -> None:
        held = sorted(self.slots)
        for camera_id, code in self.store.renew(self.worker_id, held).items():
            if code == 0:
                log.warning("camera %s: lease taken by another worker while we could not renew it; stopping", camera_id)
                self._stop_slot(camera_id, "lease lost", forward=False)
                self._count("lost")
            elif code == 2:
                log.info("camera %s: lease had expired (Redis was away); taken again", camera_id)
        for camera_id in list(self.slots):
            if camera_id not in self.cameras:
                self._stop_slot(camera_id, "camera removed from the config", forward=True)
                self.store.release(self.worker_id, [camera_id])
                self._count("released")

    # -- config ---------------------------------------------------------------------------
    def _reload_config(self, force: bool = False) -> None:
        if self.rc.cameras_from == "file":
            return
        version = self.store.config_version()
        if version == self._config_version and not force:
            return
        raw = self.store.cameras()
        merged = dict(self._file_cameras)
        bad: dict[str, str] = {}
        for camera_id, body in raw.items():
            previous = self.cameras.get(camera_id)
            try:
                if "__invalid__" in body:
                    raise ConfigError(body["__invalid__"])
                merged[camera_id] = parse_camera(camera_id, body, self.config, self._provided)
            except ConfigError as exc:
                bad[camera_id] = str(exc)
                if previous is not None:
                    merged[camera_id] = previous  # keep the last good config running
        for camera_id, why in bad.items():
            if self._bad_cameras.get(camera_id) != why:
                log.error("camera %s: config in Redis refused, %s: %s",
                          camera_id, "keeping the previous one" if camera_id in merged else "not running it", why)
        self._bad_cameras = bad
        if self._config_version is not None:
            log.info("camera config version %s -> %s: %d camera(s)", self._config_version, version, len(merged))
        self._config_version = version
        old = self.cameras
        self.cameras = merged
        for camera_id, slot in list(self.slots.items()):
            new = merged.get(camera_id)
            if new is None or new == slot.config:
                continue
            if _restart_needed(slot.config, new):
                log.info("camera %s: source/model settings changed; restarting its pipeline (lease kept)", camera_id)
                self._stop_slot(camera_id, "config changed", forward=False)
                self._start_slot(camera_id, "config changed")
                self._reloaded("restart")
            else:
                rules = self.factory.build_rules(camera_id, new, slot.pipeline.clock, slot.config, slot.pipeline.rules)
                slot.pipeline.replace_rules(rules)
                for service in self.services:  # zone sync: the new polygons are the config baseline now
                    if hasattr(service, "rebase"):
                        service.rebase(slot.pipeline)
                log.info("camera %s: zones/rules reloaded without restarting the stream (%d rule(s))", camera_id, len(rules))
                slot.config = new
                self._reloaded("rules")
        added = sorted(set(merged) - set(old))
        if added and old:
            log.info("new camera(s) in the config: %s", ", ".join(added))

    # -- slots -----------------------------------------------------------------------------
    def _start_slot(self, camera_id: str, why: str) -> None:
        camera = self.cameras.get(camera_id)
        if camera is None:
            self.store.release(self.worker_id, [camera_id])
            return
        stop = threading.Event()
        holder: dict = {}

        def on_status(event: CameraStatusEvent) -> None:
            slot = holder.get("slot")
            if slot is not None and not slot.forward_status:
                return
            self.reporter(replace(event, details={**event.details, "worker": self.worker_id}))

        try:
            pipeline = self.factory.build(camera_id, camera, on_status=on_status)
        except Exception:
            log.exception("camera %s: cannot build its pipeline; releasing the lease", camera_id)
            self.store.release(self.worker_id, [camera_id])
            return
        pipeline.submit_event_end = self.submit_event_end
        thread = threading.Thread(target=pipeline.run, args=(stop,), name=f"camera-{camera_id}", daemon=True)
        slot = Slot(camera_id, camera, pipeline, thread, stop, time.monotonic())
        holder["slot"] = slot
        with self._lock:
            self.slots[camera_id] = slot
        thread.start()
        log.info("camera %s: started on %s (%s)", camera_id, self.worker_id, why)

    def _stop_slot(self, camera_id: str, why: str, *, forward: bool, wait_s: float = 5.0) -> None:
        self._stop_slots([camera_id], why, forward=forward, wait_s=wait_s)

    def _stop_slots(self, camera_ids: list[str], why: str, *, forward: bool, wait_s: float = 5.0) -> None:
        """Signal every pipeline first, then wait (bounded, shared deadline) until each
        has finished analysing. Only the analysis must be over before a lease goes: the
        sources may take a little longer to close in the background."""
        stopping = []
        with self._lock:
            for camera_id in camera_ids:
                slot = self.slots.pop(camera_id, None)
                if slot is not None:
                    stopping.append(slot)
        for slot in stopping:
            slot.forward_status = forward
            if not forward:
                self.reporter.discard(slot.camera_id)
            slot.stop.set()
        deadline = time.monotonic() + wait_s
        for slot in stopping:
            if not slot.pipeline.analysis_stopped.wait(max(0.0, deadline - time.monotonic())):
                log.warning("camera %s: analysis did not stop within %.0f s; going on anyway", slot.camera_id, wait_s)
            log.info("camera %s: stopped on %s (%s)", slot.camera_id, self.worker_id, why)

    def _restart_dead_pipelines(self) -> None:
        for camera_id, slot in list(self.slots.items()):
            if slot.thread.is_alive():
                continue
            source = slot.pipeline.source
            if not source.is_live:
                continue  # a file that ended stays ended
            now = time.monotonic()
            if slot.died_at is None:
                slot.died_at = now
                log.error("camera %s: pipeline exited; restarting it in 5 s", camera_id)
            elif now - slot.died_at >= 5.0:
                with self._lock:
                    self.slots.pop(camera_id, None)
                self._start_slot(camera_id, "restart after the pipeline exited")

    # -- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Graceful stop: pipelines first, then leases and membership (others take over
        at once), then the spool is flushed to Redis."""
        started = time.monotonic()
        held = sorted(self.slots)
        self._stop_slots(held, "worker shutting down", forward=False, wait_s=3.0)
        released = 0
        try:
            released = self.store.release(self.worker_id, held)
            self.store.leave(self.worker_id)
            self.store.wake("leave")
            self._count("released", released)
        except REDIS_ERRORS as exc:
            log.warning("could not release leases (%s); they expire in %.0f s", type(exc).__name__, self.rc.lease_ttl_s)
        log.info("released %d lease(s) and left the cluster in %.2f s", released, time.monotonic() - started)
        for service in self.services:
            service.stop()
        self.pusher.stop(flush_timeout_s=10)
        self.reporter.stop()
        log.info(
            "worker stopped: published this run %s; %d record(s) still pending on disk, %d rejected",
            self.pusher.delivered_summary(merges_known=False), self.outbox.pending_count(), self.outbox.rejected_count(),
        )

    # -- helpers ------------------------------------------------------------------------------
    def _slot_list(self) -> list[Slot]:
        with self._lock:
            return list(self.slots.values())

    def _info(self) -> dict:
        return {
            "name": self.config.worker.name, "host": socket.gethostname(), "pid": os.getpid(),
            "capacity": self.rc.max_cameras, "cameras": len(self.slots), "started_at": self._started_at,
        }

    def _set_redis(self, ok: bool, exc: Exception | None = None) -> None:
        if self.metrics is not None:
            self.metrics.redis_up.set(1 if ok else 0)
        if ok and self._redis_ok is False:
            log.info("Redis reachable again; renewing %d lease(s)", len(self.slots))
        elif not ok and self._redis_ok is not False:
            log.warning("Redis unreachable (%s); keeping %d camera(s) running, orders stay in the spool",
                        type(exc).__name__ if exc else "?", len(self.slots))
        self._redis_ok = ok

    def _count(self, direction: str, n: int = 1) -> None:
        if self.metrics is not None and n:
            self.metrics.lease_moves.labels(direction).inc(n)

    def _reloaded(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.config_reloads.labels(kind).inc()

    def _listen(self) -> None:
        """Wake the tick loop when another worker releases or leaves, or the config changes."""
        client = self._pubsub_client
        if client is None:
            return
        while not self._stop.is_set():
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.store.wake_channel)
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        self._wake.set()
            except REDIS_ERRORS:
                self._stop.wait(2.0)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass


class _Monotonic:
    def now(self) -> float:
        return time.monotonic()


def build_cluster_worker(config: GridSightConfig) -> ClusterWorker:
    rc = config.redis
    assert rc is not None
    metrics = WorkerMetrics(config.worker.name) if config.worker.metrics_port is not None else None
    client = make_redis(rc.url, socket_timeout_s=rc.socket_timeout_s)
    # Pub/sub blocks on reads: its own client, without the command timeout.
    pubsub_client = redis.Redis.from_url(rc.url, decode_responses=True, socket_connect_timeout=rc.socket_timeout_s)
    store = ClusterStore(client, rc.key_prefix, rc.lease_ttl_s)
    api = ApiClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s)
    reporter = StatusReporter(api)
    outbox = DurableOutbox(config.worker.spool_dir)
    worker_id = f"{config.worker.name}-{uuid.uuid4().hex[:8]}"

    def observe(seconds: float, ok: bool) -> None:
        if metrics is not None:
            metrics.publish_seconds.labels("redis").observe(seconds)
            if not ok:
                metrics.publish_failures.labels("redis").inc()

    publisher = RedisPublisher(client, rc.stream, worker_id, observe=observe)
    pusher = OutboxPusher(
        outbox, publisher, Backoff(config.worker.retry_initial_s, config.worker.retry_max_s, 2.0, 0.3, random.Random()),
        on_delivered=make_outbox_metrics(metrics, outbox, "redis"),
    )
    detectors = load_detectors(config, set(config.models))
    holder: dict = {}
    factory = PipelineFactory(config, detectors, reporter, lambda k, p: holder["w"].submit_order(k, p), metrics)
    worker = ClusterWorker(config, store, factory, reporter, outbox, pusher, metrics=metrics, worker_id=worker_id,
                           pubsub_client=pubsub_client)
    holder["w"] = worker
    # Dashboard support, as in embedded mode: latest frames up, zones edited in the API down,
    # for whichever cameras this worker holds at the moment.
    from streams.sync.snapshots import SnapshotUploader
    from streams.sync.zones import ZoneSync

    worker.services = [s for s in (SnapshotUploader.from_config(config, api, lambda: worker.pipelines),
                                   ZoneSync.from_config(config, api, lambda: worker.pipelines)) if s is not None]
    return worker
