"""Run the model the API's registry assigns each camera, swapped in without a restart (issue 18).

Every ``model_sync.interval_s`` one background thread asks
``GET /api/v1/models/assignments?cameras=<this worker's cameras>``. For a camera whose
``assignment_id`` differs from the one its pipeline runs, the model version's files are
fetched into the cache and checked (streams.model_loader), the manifest is read and the
camera's rules checked against the labels it provides (a model that cannot produce them
would file nothing, and silence is a bug: refused), the model is loaded with the camera's
model settings and warmed up, and only then handed to the pipeline, which swaps it in
between two frames (:meth:`streams.pipeline.CameraPipeline.replace_detector`). Cameras on
the same assigned model and the same model config share one loaded instance, as at start.
A camera whose assigned model already is the one it runs (same name and version) adopts the
assignment without loading anything. Each outcome goes to ``POST /api/v1/models/load-reports``.

A failed load keeps the old model; ``/health`` says ``model: <camera>: assigned <name>
<version> not loaded: <why>`` until a new assignment arrives. A failure that could pass later
(the network, a 5xx) is tried again at the next pass; one that cannot (a checksum, corrupt
weights, missing labels, a 404) is not tried again for that assignment. A camera the registry
no longer assigns anything (a rollback past the first promotion) goes back to its config's
model. While the API cannot be asked, the cameras keep what they run and the sync retries
with a backoff (streams.backoff); the log says so once when it stops answering and once when
it answers again. In cluster mode a camera whose pipeline is rebuilt (a new lease) starts on
its config's model and gets its assignment back at the next pass, from the loaded instance.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from api.contract.models import ModelAssignment, ModelLoadReport
from streams.backoff import Backoff
from streams.model_loader import ModelFiles, ModelLoadError, load_detector, missing_labels, read_manifest
from streams.sync.model_client import ModelRegistryClient, RegistryUnavailable

log = logging.getLogger(__name__)
FIRST_RETRY_S = 1.0


@dataclass(frozen=True)
class CameraModel:
    """What became of one camera's assignment: ``loaded`` or ``failed`` (with the reason)."""

    assignment: ModelAssignment
    state: str
    reason: str | None = None
    retry: bool = False

    @property
    def assigned(self) -> str:
        return f"{self.assignment.model_name} {self.assignment.model_version}"


@dataclass
class _Loaded:
    detector: object
    provides: frozenset[str]
    unused_passes: int = 0


class ModelSync:
    """The model sync service (see the module docstring): ``start()``/``stop()``, ``sync_once()``,
    and ``problems()``/``health_fields()`` for the worker's ``/health``.

    ``config_detectors``: the detectors loaded at start, by model id (a camera goes back to its own
    when no model is assigned); ``models``: the model configs, by id (backend, device, batching)."""

    def __init__(self, client: ModelRegistryClient, pipelines: Callable[[], Iterable],
                 config_detectors: Mapping[str, object], models: Mapping[str, object], files: ModelFiles, *,
                 worker: str, interval_s: float = 30.0, retry_max_s: float = 120.0, metrics=None,
                 load: Callable = load_detector, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._pipelines = pipelines
        self._config_detectors = config_detectors
        self._models = models
        self._files = files
        self._worker = worker
        self.interval_s = interval_s
        self._backoff = Backoff(min(FIRST_RETRY_S, retry_max_s), retry_max_s, rng=random.Random())
        self._metrics = metrics
        self._load = load
        self._clock = clock
        self._lock = threading.Lock()  # _state is read by /health's thread
        self._state: dict[str, CameraModel] = {}
        self._loaded: dict[tuple[str, str, str], _Loaded] = {}  # (name, version, model id) -> instance
        self._unsent: dict[str, ModelLoadReport] = {}  # camera -> its latest report not yet delivered
        self._unreachable: str | None = None  # why the last ask failed; None: it answered
        self.swaps = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-sync", daemon=True)

    @classmethod
    def from_config(cls, config, pipelines: Callable[[], Iterable], config_detectors: Mapping[str, object], *,
                    metrics=None, transport=None) -> "ModelSync | None":
        sync = config.model_sync
        if not sync.enabled:
            return None
        client = ModelRegistryClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s,
                                     transport=transport)
        files = ModelFiles(sync.cache_dir, client.fetch_file, max_bytes=sync.max_model_mb * 2**20)
        return cls(client, pipelines, config_detectors, config.models, files, worker=config.worker.name,
                   interval_s=sync.interval_s, retry_max_s=sync.retry_max_s, metrics=metrics)

    # -- one pass -------------------------------------------------------------------------
    def sync_once(self) -> bool:
        """Ask for the assignments and apply them; False when the API could not be asked."""
        pipelines = [p for p in self._pipelines() if getattr(p, "camera_config", None) is not None]
        if not pipelines:
            return True
        try:
            assignments = self._client.assignments([p.camera_id for p in pipelines])
        except RegistryUnavailable as exc:
            self._set_reachable(str(exc))
            return False
        self._set_reachable(None)
        groups: dict[tuple[str, str, str], list] = {}
        for pipeline in pipelines:
            assignment = assignments.for_camera(pipeline.camera_id)
            if assignment is None:
                self._back_to_config(pipeline)
            elif self._due(pipeline, assignment):
                key = (assignment.model_name, assignment.model_version, pipeline.camera_config.model)
                groups.setdefault(key, []).append((pipeline, assignment))
        for key, members in groups.items():
            if self._stop.is_set():
                break
            self._apply(key, members)
        self._retire_unused(pipelines)
        self._send_unsent()
        return True

    def _due(self, pipeline, assignment: ModelAssignment) -> bool:
        with self._lock:
            known = self._state.get(pipeline.camera_id)
        if pipeline.model_assignment_id == assignment.assignment_id:
            if known is None or known.assignment.assignment_id != assignment.assignment_id:
                # Back to the assignment it runs (a failed one rolled back): that failure is over.
                self._record(pipeline.camera_id, CameraModel(assignment, "loaded"))
            return False
        # A failure that cannot pass is not tried again until the registry assigns something new.
        return not (known is not None and known.state == "failed" and not known.retry
                    and known.assignment.assignment_id == assignment.assignment_id)

    def _apply(self, key: tuple[str, str, str], members: list) -> None:
        """Load (or reuse) the model of one group of cameras, check each camera's labels, swap it in."""
        name, version, model_id = key
        config_detector = self._config_detectors.get(model_id)
        if config_detector is not None and (config_detector.name, config_detector.version) == (name, version):
            for pipeline, assignment in members:  # it already runs the assigned model: nothing to load
                self._swap(pipeline, assignment, config_detector)
            return
        try:
            provides = self._loaded[key].provides if key in self._loaded else self._fetch_manifest(key, members[0][1])
        except ModelLoadError as exc:
            for pipeline, assignment in members:
                self._fail(pipeline, assignment, str(exc), retry=exc.retry)
            return
        ready = []
        for pipeline, assignment in members:  # before loading: a model no camera can use is not loaded at all
            why = missing_labels(pipeline.camera_config, f"{name} {version}", provides)
            if why is not None:
                self._fail(pipeline, assignment, f"its rules need labels the model does not provide: {why}")
            else:
                ready.append((pipeline, assignment))
        if not ready:
            return
        try:
            loaded = self._loaded.get(key) or self._load_model(key, ready[0][1], provides)
        except ModelLoadError as exc:
            for pipeline, assignment in ready:
                self._fail(pipeline, assignment, str(exc), retry=exc.retry)
            return
        for pipeline, assignment in ready:
            self._swap(pipeline, assignment, loaded.detector)

    def _fetch_manifest(self, key: tuple[str, str, str], assignment: ModelAssignment) -> frozenset[str]:
        """The files fetched and checked, the manifest read; returns the labels the model provides."""
        manifest = read_manifest(self._files.ensure(assignment))
        if (manifest.name, manifest.version_label) != key[:2]:
            raise ModelLoadError(f"the manifest describes {manifest.name} {manifest.version_label}, "
                                 f"not the assigned {key[0]} {key[1]}")
        return manifest.provides()

    def _load_model(self, key: tuple[str, str, str], assignment: ModelAssignment, provides: frozenset[str]) -> _Loaded:
        name, version, model_id = key
        model = self._models.get(model_id)
        if model is None:
            raise ModelLoadError(f"the camera's model config {model_id!r} is not in this worker's config")
        started = time.monotonic()
        manifest_path = self._files.ensure(assignment)  # checked again: nothing changed it since
        loaded = _Loaded(self._load(manifest_path, model, f"model-{name}-{version}"), provides)
        self._loaded[key] = loaded
        log.info("model %s %s loaded and warmed up in %.1f s (settings of model %s)", name, version,
                 time.monotonic() - started, model_id)
        return loaded

    # -- outcomes ---------------------------------------------------------------------------
    def _swap(self, pipeline, assignment: ModelAssignment, detector) -> None:
        before = pipeline.model_version
        pipeline.replace_detector(detector, assignment.assignment_id)
        self._record(pipeline.camera_id, CameraModel(assignment, "loaded"))
        if before != pipeline.model_version:
            self.swaps += 1
            if self._metrics is not None:
                self._metrics.model_swaps.labels(pipeline.camera_id).inc()
        log.info("camera %s: now running model %s (assignment %d, scope %s; was %s), without a restart",
                 pipeline.camera_id, pipeline.model_version, assignment.assignment_id, assignment.scope, before)
        self._report(pipeline, assignment, "loaded", None)

    def _fail(self, pipeline, assignment: ModelAssignment, reason: str, *, retry: bool = False) -> None:
        with self._lock:
            known = self._state.get(pipeline.camera_id)
        self._record(pipeline.camera_id, CameraModel(assignment, "failed", reason, retry))
        if known is not None and known.state == "failed" and known.reason == reason \
                and known.assignment.assignment_id == assignment.assignment_id:
            return  # the same failure again (a retry): counted, logged and reported once
        self.failures += 1
        if self._metrics is not None:
            self._metrics.model_load_failures.labels(pipeline.camera_id).inc()
        log.warning("camera %s: assigned model %s %s not loaded, keeping %s: %s", pipeline.camera_id,
                    assignment.model_name, assignment.model_version, pipeline.model_version, reason)
        self._report(pipeline, assignment, "failed", reason)

    def _back_to_config(self, pipeline) -> None:
        """No assignment for this camera (any more): its config's model, as at start."""
        with self._lock:
            self._state.pop(pipeline.camera_id, None)
        if pipeline.model_assignment_id is None:
            return
        detector = self._config_detectors.get(pipeline.camera_config.model)
        if detector is None:
            return
        before = pipeline.model_version
        pipeline.replace_detector(detector, None)
        log.info("camera %s: the registry assigns it no model any more; back to its config's model %s (was %s)",
                 pipeline.camera_id, pipeline.model_version, before)

    def _record(self, camera_id: str, outcome: CameraModel) -> None:
        with self._lock:
            self._state[camera_id] = outcome

    def _report(self, pipeline, assignment: ModelAssignment, state: str, reason: str | None) -> None:
        running = pipeline.detector.version
        report = ModelLoadReport(
            camera_id=pipeline.camera_id, worker=self._worker, assignment_id=assignment.assignment_id,
            model_name=assignment.model_name, model_version=assignment.model_version, state=state,
            at=self._clock(), running_version=str(running)[:64], reason=reason,
        )
        self._unsent[pipeline.camera_id] = report
        self._send_unsent()

    def _send_unsent(self) -> None:
        for camera_id, report in list(self._unsent.items()):
            status = self._client.send_report(report)
            if status is None or status >= 500:
                return  # the API is away: the next pass sends them
            if status >= 300:
                log.warning("camera %s: the API refused its model load report (HTTP %d)", camera_id, status)
            self._unsent.pop(camera_id, None)

    def _retire_unused(self, pipelines: list) -> None:
        """Stop a loaded model no camera has run for two passes (a batching model's thread with it)."""
        running = {id(p.detector) for p in pipelines}
        for key, loaded in list(self._loaded.items()):
            loaded.unused_passes = 0 if id(loaded.detector) in running else loaded.unused_passes + 1
            if loaded.unused_passes >= 2:
                del self._loaded[key]
                getattr(loaded.detector, "close", lambda: None)()
                log.info("model %s %s unloaded: no camera runs it", key[0], key[1])

    def _set_reachable(self, problem: str | None) -> None:
        if problem is not None and self._unreachable is None:
            log.warning("model registry: cannot read the cameras' assignments (%s); they keep their models, "
                        "retrying with backoff up to %.0f s", problem, self._backoff.max_s)
        elif problem is None and self._unreachable is not None:
            log.info("model registry: assignments readable again")
        self._unreachable = problem

    # -- health -----------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """``/health``'s ``model`` entry: each camera whose assigned model is not running, and why."""
        cameras = {p.camera_id for p in self._pipelines()}
        with self._lock:
            failed = [(c, m) for c, m in sorted(self._state.items()) if m.state == "failed" and c in cameras]
        if not failed:
            return {}
        return {"model": " | ".join(f"{c}: assigned {m.assigned} not loaded: {m.reason}" for c, m in failed)}

    def health_fields(self) -> dict:
        """``/health``'s ``models``: per camera what runs, what is assigned, and how its load went."""
        with self._lock:
            state = dict(self._state)
        out = {}
        for p in self._pipelines():
            known = state.get(p.camera_id)
            out[p.camera_id] = {"running": p.model_version, "assignment_id": p.model_assignment_id,
                                "assigned": known.assigned if known else None,
                                "assigned_id": known.assignment.assignment_id if known else None,
                                "state": known.state if known else "config", "reason": known.reason if known else None}
        return {"models": out, "model_registry": "reachable" if self._unreachable is None else self._unreachable}

    # -- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        # A first pass at once: a model promoted while the worker was down runs from the start.
        while not self._stop.is_set():
            try:
                answered = self.sync_once()
            except Exception:  # one bad answer must not end the sync for good
                log.exception("model sync failed")
                answered = False
            if answered:
                self._backoff.reset()
            self._stop.wait(self.interval_s if answered else self._backoff.next_delay())

    def start(self) -> None:
        log.info("asking the model registry for the cameras' models every %.0f s", self.interval_s)
        self._thread.start()

    def stop(self) -> None:
        """After the cameras have stopped (streams.runtime.Worker): the thread, the loaded models, the client."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for loaded in self._loaded.values():
            getattr(loaded.detector, "close", lambda: None)()
        self._client.close()
