"""Register each camera with the API as this worker's config has it (issue 17):
grid cell, address, position when the config has one, and every zone with its
polygon, kind and the rules watching it, so the camera page and the zone editor
show what actually runs.

Upwards and downwards do not fight (api/crud/camera_registration.py applies it):
the config's values stand in the API until someone edits them there. A zone the
API holds with origin ``config`` is the file's; this worker registers it again
when the file changes, and the zone sync (streams/sync/zones.py) leaves such a
zone alone. A zone edited on the dashboard (origin ``dashboard``) is the API's:
registration does not move its polygon, and the zone sync pulls it down. A zone
deleted on the dashboard goes back to the file: the zone sync falls back to the
file's polygon and tells this registrar, which registers the camera again.

One background thread registers each camera when it first appears, whenever
its config changes (cluster mode: a new lease, a pushed config), again every
``refresh_s`` (an API whose database was reset learns it back), and retries
every ``interval_s`` while the API cannot be reached. A refusal (4xx) is logged
once and not retried until the config changes or ``refresh_s`` passes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from api.contract.wire import CameraRegistration, ZoneRegistration

log = logging.getLogger(__name__)
WARN_AFTER_FAILURES = 3


class RegistrationClient(Protocol):
    def put_camera_registration(self, camera_id: str, registration: dict): ...


def registration_for(camera_id: str, camera, worker: str) -> CameraRegistration:
    """The registration of one camera from its config (streams.config.CameraConfig)."""
    watching: dict[str, list[str]] = {}
    for rule_id, rule in camera.rules.items():
        watching.setdefault(rule.zone, []).append(rule_id)
    zones = tuple(
        ZoneRegistration(zone_id, tuple((float(x), float(y)) for x, y in zone.polygon), kind=zone.kind,
                         description=zone.description, rules=tuple(sorted(watching.get(zone_id, ()))))
        for zone_id, zone in sorted(camera.zones.items())
    )
    return CameraRegistration(camera_id, worker, zones, grid_cell=camera.grid_cell, address=camera.address,
                              latitude=camera.latitude, longitude=camera.longitude)


class CameraRegistrar:
    def __init__(self, client: RegistrationClient, pipelines: Callable[[], Iterable], worker: str, *,
                 interval_s: float = 5.0, refresh_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._pipelines = pipelines
        self._worker = worker
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        # camera id -> (what was registered, or refused, when, whether the API took it): re-sent when it
        # differs or grows old.
        self._done: dict[str, tuple[CameraRegistration, float, bool]] = {}
        self._failures: dict[str, int] = {}
        self.registered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera-registration", daemon=True)

    @classmethod
    def from_config(cls, config, client: RegistrationClient, pipelines: Callable[[], Iterable]) -> "CameraRegistrar":
        return cls(client, pipelines, config.worker.name)

    def invalidate(self, camera_id: str) -> None:
        """Register this camera again at the next pass (a zone of its config went missing in the API);
        a refused registration waits for its config to change or ``refresh_s``, as before."""
        with self._lock:
            done = self._done.get(camera_id)
            if done is not None and done[2]:
                del self._done[camera_id]

    def register_once(self) -> int:
        """One pass over every camera; returns how many registrations the API took."""
        sent = 0
        for pipeline in list(self._pipelines()):
            if self._stop.is_set():
                break
            camera = getattr(pipeline, "camera_config", None)
            if camera is not None:
                sent += self._register(registration_for(pipeline.camera_id, camera, self._worker))
        return sent

    def _due(self, registration: CameraRegistration, now: float) -> bool:
        with self._lock:
            done = self._done.get(registration.camera_id)
        return done is None or done[0] != registration or now - done[1] >= self.refresh_s

    def _register(self, registration: CameraRegistration) -> int:
        now, camera_id = self._clock(), registration.camera_id
        if not self._due(registration, now):
            return 0
        result = self._client.put_camera_registration(camera_id, registration.to_dict())
        if result.delivered or result.permanent_failure:
            with self._lock:
                self._done[camera_id] = (registration, now, result.delivered)
            if self._failures.pop(camera_id, 0) >= WARN_AFTER_FAILURES:
                log.info("camera %s: registered with the API again", camera_id)
        if result.delivered:
            self.registered += 1
            log.info("camera %s: registered with the API (%d zone(s): %s)", camera_id, len(registration.zones),
                     ", ".join(z.zone_id for z in registration.zones))
            return 1
        if result.permanent_failure:
            log.warning("camera %s: the API refused its registration (HTTP %s: %s); the pages will not show "
                        "its config's zones", camera_id, result.status_code, result.detail or "no detail")
            return 0
        failures = self._failures.get(camera_id, 0) + 1
        self._failures[camera_id] = failures
        if failures == WARN_AFTER_FAILURES:
            log.warning("camera %s: cannot register with the API (%s); retrying every %.0f s",
                        camera_id, result.detail or f"HTTP {result.status_code}", self.interval_s)
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.register_once()
            except Exception:  # one bad answer must not end the registration for good
                log.exception("camera registration failed")
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
