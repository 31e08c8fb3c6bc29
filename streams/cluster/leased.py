"""Cluster mode's camera strategy: the cameras this worker leases through Redis.

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
Redis again: availability over strict exclusivity, documented in docs/cluster.md.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time

import redis

from api.contract.redact import redact_url
from streams.cluster.assignment import Reconciler, WorkerInfo
from streams.cluster.catalog import CameraCatalog
from streams.cluster.slots import Slots
from streams.cluster.store import REDIS_ERRORS, ClusterStore
from streams.cluster.wake import WakeListener
from streams.config import CameraConfig, GridSightConfig
from streams.metrics import WorkerMetrics
from streams.pipeline import CameraPipeline

log = logging.getLogger(__name__)


class RedisLink:
    """Whether Redis answered the last tick; logs and gauges each change."""

    def __init__(self, metrics: WorkerMetrics | None = None) -> None:
        self._metrics = metrics
        self.ok: bool | None = None  # None: not asked yet

    def down(self) -> bool:
        return self.ok is False

    def set(self, ok: bool, held: int, exc: Exception | None = None) -> None:
        if self._metrics is not None:
            self._metrics.redis_up.set(1 if ok else 0)
        if ok and self.ok is False:
            log.info("Redis reachable again; renewing %d lease(s)", held)
        elif not ok and self.ok is not False:
            log.warning("Redis unreachable (%s); keeping %d camera(s) running, orders stay in the spool",
                        type(exc).__name__ if exc else "?", held)
        self.ok = ok


def restart_needed(old: CameraConfig, new: CameraConfig) -> bool:
    """Changes the running source or detector cannot take on the fly."""
    fields = ("url", "model", "analysis_fps", "source", "tracker")
    return any(getattr(old, f) != getattr(new, f) for f in fields)


class LeasedCameras:
    """The cameras leased through Redis, ticked every heartbeat (see the module docstring).

    ``zone_sync`` (optional): told when a camera's rules are rebuilt from new config, so
    the new polygons become the baseline a deleted API zone falls back to."""

    def __init__(self, config: GridSightConfig, store: ClusterStore, slots: Slots, catalog: CameraCatalog,
                 link: RedisLink, *, metrics: WorkerMetrics | None = None, zone_sync=None,
                 pubsub_client: redis.Redis | None = None) -> None:
        assert config.redis is not None
        self.config = config
        self.rc = config.redis
        self.store = store
        self.slots = slots
        self.catalog = catalog
        self.link = link
        self.metrics = metrics
        self.worker_id = slots.worker_id
        self._zone_sync = zone_sync
        self.reconciler = Reconciler(
            self.worker_id, self.rc.max_cameras, settle_s=self.rc.settle_s,
            orphan_grace_s=2 * self.rc.heartbeat_interval_s, clock=_Monotonic(),
        )
        self._live: dict[str, dict] = {}
        self._last_tick = time.monotonic()
        self._started_at = time.time()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._listener = WakeListener(pubsub_client, store.wake_channel, self._wake, self._stop)

    # -- the strategy -----------------------------------------------------------------
    def pipelines(self) -> list[CameraPipeline]:
        return self.slots.pipelines()

    def announce(self, pending: int) -> None:
        log.info(
            "cluster worker %s starting: capacity %d camera(s), lease ttl %.1f s, redis %s, %d order(s) in the spool",
            self.worker_id, self.rc.max_cameras, self.rc.lease_ttl_s, redact_url(self.rc.url), pending,
        )

    def start(self, stop: threading.Event) -> None:
        threading.Thread(target=lambda: (stop.wait(), self._stop.set(), self._wake.set()), name="stop-watch",
                         daemon=True).start()
        self._listener.start()

    def tick(self) -> bool:
        try:
            self._round()
        except Exception:  # a bug in one round must not end the worker; the next round retries
            log.exception("cluster tick failed")
        return True

    def wait(self, stop: threading.Event) -> None:
        # Jitter keeps a fleet that started together from ticking in lockstep.
        self._wake.wait(self.rc.heartbeat_interval_s * random.uniform(0.85, 1.0))
        self._wake.clear()

    def stop(self) -> None:
        """Graceful stop: pipelines first, then leases and membership (others take over
        at once); the runtime flushes the spool afterwards."""
        started = time.monotonic()
        held = self.slots.ids()
        self.slots.stop(held, "worker shutting down", forward=False, wait_s=3.0)
        released = 0
        try:
            released = self.store.release(self.worker_id, held)
            self.store.leave(self.worker_id)
            self.store.wake("leave")
            self._count("released", released)
        except REDIS_ERRORS as exc:
            log.warning("could not release leases (%s); they expire in %.0f s", type(exc).__name__, self.rc.lease_ttl_s)
        log.info("released %d lease(s) and left the cluster in %.2f s", released, time.monotonic() - started)

    def problems(self) -> dict[str, str]:
        found = {}
        if self.link.down():
            found["redis"] = "unreachable: keeping held cameras, orders wait in the spool"
        if self.catalog.refused:
            found["config"] = f"refused camera config(s): {', '.join(sorted(self.catalog.refused)[:10])}"
        return found

    def health(self, report: dict) -> dict:
        stuck = time.monotonic() - self._last_tick > max(30.0, 5 * self.rc.lease_ttl_s)
        return {"status": "unhealthy" if stuck else report["status"], "worker_id": self.worker_id,
                **{k: v for k, v in report.items() if k != "status"}, "live_workers": sorted(self._live)}

    # -- one round ----------------------------------------------------------------------
    def _round(self) -> None:
        self._last_tick = time.monotonic()
        for camera_id in self.slots.dead():
            self._start(camera_id, "restart after the pipeline exited")
        try:
            self._live = self.store.heartbeat(self.worker_id, self._info())
            self.link.set(True, len(self.slots))
            if self.catalog.reload():
                self._apply_config()
            self._renew()
            self._reconcile()
        except REDIS_ERRORS as exc:
            self.link.set(False, len(self.slots), exc)
        except redis.RedisError as exc:  # e.g. a script error: log, keep going
            log.error("cluster tick failed: %s: %s", type(exc).__name__, exc)

    def _reconcile(self) -> None:
        ids = sorted(self.catalog.cameras)
        owners = self.store.owners(ids)
        live = [WorkerInfo(w, int(i.get("capacity", 0) or 0)) for w, i in self._live.items()]
        plan = self.reconciler.plan(ids, live, owners)
        if self.metrics is not None:
            self.metrics.cluster_workers.set(len(self._live))
            self.metrics.cameras_unassigned.set(len(plan.unassigned))
        if plan.release:
            # Stop them all at once (a handover must not hold up the other leases' renewal),
            # then release: the analysis is over before anyone else may start it.
            self.slots.stop(plan.release, "handing over", forward=False)
            self._count("released", self.store.release(self.worker_id, plan.release))
            log.info("handed over %s to %s", ", ".join(plan.release),
                     ", ".join(sorted({str(plan.desired.get(c)) for c in plan.release})))
            self.store.wake("released")
        for camera_id in self.store.acquire(self.worker_id, plan.acquire):
            self._count("acquired")
            self._start(camera_id, "lease won")
        for camera_id, owner in owners.items():
            # Ours in Redis but not running here (a reply lost after SET, a release
            # that failed half-way): run it rather than leave it dark until it expires.
            if owner == self.worker_id and camera_id not in self.slots and camera_id not in plan.release:
                self._start(camera_id, "lease already ours")

    def _renew(self) -> None:
        for camera_id, code in self.store.renew(self.worker_id, self.slots.ids()).items():
            if code == 0:
                log.warning("camera %s: lease taken by another worker while we could not renew it; stopping", camera_id)
                self.slots.stop([camera_id], "lease lost", forward=False)
                self._count("lost")
            elif code == 2:
                log.info("camera %s: lease had expired (Redis was away); taken again", camera_id)
        for camera_id in self.slots.ids():
            if camera_id not in self.catalog.cameras:
                self.slots.stop([camera_id], "camera removed from the config", forward=True)
                self.store.release(self.worker_id, [camera_id])
                self._count("released")

    def _apply_config(self) -> None:
        """The catalog changed: restart the pipelines whose source or model changed, and
        swap the rules of the others in place (the stream keeps running)."""
        for slot in self.slots.items():
            camera_id = slot.camera_id
            new = self.catalog.cameras.get(camera_id)
            if new is None or new == slot.config:
                continue
            if restart_needed(slot.config, new):
                log.info("camera %s: source/model settings changed; restarting its pipeline (lease kept)", camera_id)
                self.slots.stop([camera_id], "config changed", forward=False)
                self._start(camera_id, "config changed")
                self._reloaded("restart")
                continue
            rules = self.slots.factory.build_rules(camera_id, new, slot.pipeline.clock, slot.config, slot.pipeline.rules)
            slot.pipeline.replace_rules(rules)
            if self._zone_sync is not None:  # the new polygons are the config baseline now
                self._zone_sync.rebase(slot.pipeline)
            log.info("camera %s: zones/rules reloaded without restarting the stream (%d rule(s))", camera_id, len(rules))
            slot.config = new
            self._reloaded("rules")

    def _start(self, camera_id: str, why: str) -> None:
        """Run a camera we hold the lease of; release the lease if it cannot run."""
        camera = self.catalog.cameras.get(camera_id)
        if camera is None or not self.slots.start(camera_id, camera, why):
            self.store.release(self.worker_id, [camera_id])

    # -- helpers ------------------------------------------------------------------------
    def _info(self) -> dict:
        return {
            "name": self.config.worker.name, "host": socket.gethostname(), "pid": os.getpid(),
            "capacity": self.rc.max_cameras, "cameras": len(self.slots), "started_at": self._started_at,
        }

    def _count(self, direction: str, n: int = 1) -> None:
        if self.metrics is not None and n:
            self.metrics.lease_moves.labels(direction).inc(n)

    def _reloaded(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.config_reloads.labels(kind).inc()


class _Monotonic:
    def now(self) -> float:
        return time.monotonic()
