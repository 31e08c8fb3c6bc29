"""Pick up zones edited in the API (the dashboard's zone editor) without a
restart: embedded mode (no Redis).

Every ``worker.zone_sync_interval_s`` one background thread asks the API for
each camera's zones (``GET /api/v1/cameras/{id}/zones``). Zone ids are the
same in the API and the worker config; a zone the API holds and a rule of
this camera watches replaces that rule's polygon in place (the source keeps
running, the rule keeps its state). Zones the API holds but no rule watches
are ignored. The config file's polygons are the starting point; once a zone
was made or edited in the API (origin ``dashboard``) the API's version wins,
and if the API's zone is deleted the rule goes back to the config file's
polygon. A zone the API holds with origin ``config`` is this worker's file
registered upwards (streams/sync/registration.py): the file's polygon stays, so
a stale registration never moves a rule; when a zone of the file is missing in
the API (deleted on the dashboard, or a fresh database) ``on_config_zone_missing``
asks the registrar to register the camera again. A polygon the worker cannot use
(which the API's validation should already refuse) is logged and skipped, and
when the API cannot be asked the current zones stay as they are."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

from inference.zones import PolygonZone, ZoneGeometryError

log = logging.getLogger(__name__)
WARN_AFTER_FAILURES = 3


class ZoneClient(Protocol):
    def get_camera_zones(self, camera_id: str) -> list[dict] | None: ...


def same_polygon(a: np.ndarray, b) -> bool:
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=1e-9))


class ZoneSync:
    def __init__(self, client: ZoneClient, pipelines: Callable[[], Iterable], interval_s: float, *,
                 on_config_zone_missing: Callable[[str], None] | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0 (0 means: do not build a zone sync)")
        self._client = client
        self._on_missing = on_config_zone_missing
        self._pipelines = pipelines
        self.interval_s = interval_s
        # Per pipeline object: the zones it started with (from the config file).
        self._initial: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._failures: dict[str, int] = {}
        self._rejected: dict[tuple[str, str], str] = {}
        self.updates = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zone-sync", daemon=True)

    @classmethod
    def from_config(cls, config, client: ZoneClient, pipelines: Callable[[], Iterable], *,
                    on_config_zone_missing: Callable[[str], None] | None = None) -> "ZoneSync | None":
        interval = getattr(config.worker, "zone_sync_interval_s", 0)
        if not interval or interval <= 0:
            return None
        return cls(client, pipelines, interval, on_config_zone_missing=on_config_zone_missing)

    def rebase(self, pipeline) -> None:
        """The pipeline's zones were rebuilt from new config (cluster mode: the Redis camera
        config changed): its current zones become the config baseline a deleted API zone
        falls back to."""
        self._initial.pop(pipeline, None)

    def sync_once(self) -> int:
        """One pass over every camera; returns how many zones changed."""
        changed = 0
        for pipeline in list(self._pipelines()):
            if self._stop.is_set():
                break
            changed += self._sync_camera(pipeline)
        return changed

    def _sync_camera(self, pipeline) -> int:
        in_use: dict[str, PolygonZone] = pipeline.zones_in_use()
        if not in_use:
            return 0
        initial = self._initial.get(pipeline)
        if initial is None:
            initial = {zid: zone.polygon.copy() for zid, zone in in_use.items()}
            self._initial[pipeline] = initial
        camera_id = pipeline.camera_id
        remote = self._client.get_camera_zones(camera_id)
        if remote is None:
            failures = self._failures.get(camera_id, 0) + 1
            self._failures[camera_id] = failures
            if failures == WARN_AFTER_FAILURES:
                log.warning("camera %s: cannot read its zones from the API (unreachable, or the token may not "
                            "read zones); keeping the current ones", camera_id)
            return 0
        if self._failures.pop(camera_id, 0) >= WARN_AFTER_FAILURES:
            log.info("camera %s: zones readable from the API again", camera_id)
        from_api, listed = self._dashboard_zones(remote)
        if self._on_missing is not None and set(in_use) - listed:
            self._on_missing(camera_id)  # a zone of the file is not in the API: register the camera again
        changed = 0
        for zone_id, current in in_use.items():
            source = "from the API" if zone_id in from_api else "back to the config file's polygon"
            target = from_api.get(zone_id, initial.get(zone_id))
            if target is None:
                continue
            try:
                if same_polygon(current.polygon, target):
                    continue
                zone = PolygonZone.from_points(zone_id, target)
            except (ZoneGeometryError, TypeError, ValueError) as exc:
                key = (camera_id, zone_id)
                if self._rejected.get(key) != str(exc):
                    log.warning("camera %s: zone %s from the API not used: %s", camera_id, zone_id, exc)
                    self._rejected[key] = str(exc)
                continue
            self._rejected.pop((camera_id, zone_id), None)
            rules = pipeline.replace_zone(zone)
            if rules:
                changed += 1
                self.updates += 1
                log.info("camera %s: zone %s updated %s (%d points; rules %s), without a restart",
                         camera_id, zone_id, source, len(zone.polygon), ", ".join(rules))
        return changed

    @staticmethod
    def _dashboard_zones(remote: list) -> tuple[dict, set[str]]:
        """(the polygons the API wins for, every zone id it lists). A zone without an origin comes from an
        API older than registration: made there, so the API's."""
        from_api, listed = {}, set()
        for item in remote:
            if isinstance(item, dict) and isinstance(item.get("zone_id"), str) and "polygon" in item:
                listed.add(item["zone_id"])
                if item.get("origin", "dashboard") != "config":
                    from_api[item["zone_id"]] = item["polygon"]
        return from_api, listed

    def _run(self) -> None:
        # A first pass at once: zones edited while the worker was down apply from the start.
        while not self._stop.is_set():
            try:
                self.sync_once()
            except Exception:  # one bad answer must not end the sync for good
                log.exception("zone sync failed")
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        log.info("syncing zones from the API every %.0f s", self.interval_s)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
