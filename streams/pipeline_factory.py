"""How one camera's pipeline is built from its config, around detectors shared by
every camera on the same model; the same in every mode (``gridsight worker``,
the cluster worker when it wins a lease or a camera's config changes, and
``gridsight replay``)."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from streams.config import CameraConfig, GridSightConfig
from inference.clock import FrameClock
from inference.tracking import ObjectTracker
from streams.sources.buffer import DropPolicy
from api.contract.wire import CameraStatusEvent
from streams.metrics import WorkerMetrics
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from streams.evidence_writer import EvidenceLane, EvidencePool
from streams.pipeline import CameraPipeline
from streams.rule_factory import build_rules
from streams.shared_detector import SharedDetector, load_model
from streams.shadow import ShadowLog, ShadowRunner
from streams.harvest.service import HarvestService
from streams.analysis_health import AnalysisWatch
from streams.shedding import FpsGovernor
from streams.sources.record import RecordCapture, RecordLimits
from streams.sources.source import LIVE_SCHEMES, CameraSource, SourceOptions

log = logging.getLogger(__name__)


def _with_config_hints(camera: CameraConfig, on_status):
    """Status events carrying the camera's configured grid cell and address (see CameraStatusEvent)."""
    if on_status is None or (camera.grid_cell is None and camera.address is None):
        return on_status

    def report(event: CameraStatusEvent) -> None:
        on_status(replace(event, grid_cell=camera.grid_cell, address=camera.address))

    return report


def _options_for(camera: CameraConfig) -> SourceOptions:
    src = camera.source
    return SourceOptions(
        open_timeout_s=src.open_timeout_s,
        read_timeout_s=src.read_timeout_s,
        backoff_initial_s=src.backoff_initial_s,
        backoff_max_s=src.backoff_max_s,
        offline_after_failures=src.offline_after_failures,
        realtime=src.realtime,
        loop=src.loop,
        max_corrupt_ratio=src.max_corrupt_ratio,
        corrupt_window_s=src.corrupt_window_s,
        decode=src.decode,
    )


def _source_for(camera_id: str, camera: CameraConfig, on_status) -> CameraSource:
    on_status = _with_config_hints(camera, on_status)
    return CameraSource(camera_id, camera.analysed_url(), analysis_fps=camera.analysis_fps,
                        options=_options_for(camera), on_status=on_status)


def _record_for(camera_id: str, camera: CameraConfig, settings: EvidenceSettings) -> RecordCapture | None:
    """The camera's record stream, opened around events (None: evidence from the analysed frames)."""
    url = camera.evidence_url()
    if url is None:
        return None
    if not camera.analysed_url().lower().startswith(LIVE_SCHEMES) and not camera.source.realtime:
        # Record frames are stamped on the wall clock; an unpaced file's frames are not.
        log.warning("camera %s: record stream not used: the analysed stream is a file read faster than real time "
                    "(source.realtime), so its frame times and the record stream's do not meet", camera_id)
        return None
    options = _options_for(camera)
    # Long enough to open the stream and take the post window; the evidence waits no longer.
    fps = min(max(camera.analysis_fps, 1.0), 10.0)  # the clip's rate; a key-frame camera's clip gets 1 fps
    limits = RecordLimits(fps=fps, max_frames=math.ceil(fps * settings.post_s) + 5,
                          max_wall_s=options.open_timeout_s + settings.post_s + 2.0)
    capture = RecordCapture(url, options, camera_id=camera_id, limits=limits)
    log.info("camera %s: evidence from the record stream %s, opened around events", camera_id, capture.display_url)
    return capture


def log_analysis_rate(camera_id: str, camera: CameraConfig) -> None:
    """One line per camera at build: the analysis rate, where it comes from, and the decode mode."""
    log.info("camera %s: analysing at %g fps (%s); decode %s", camera_id, camera.analysis_fps,
             camera.analysis_fps_why(), camera.source.decode)


class PipelineFactory:
    """Builds one camera's pipeline from its config around the shared detectors.

    Used once per camera at start (embedded mode) or whenever a lease is won or a
    camera's config changes (cluster mode). ``submit_order`` files a work order,
    ``submit_event_end`` a rule event's end, ``submit_evidence_follow_up`` an emergency order's clip
    sent after it (all three: the worker's outbox); ``actions``
    (streams.actions.ActionDispatcher, or None) sees every rule event as it fires."""

    def __init__(self, config: GridSightConfig, detectors: dict[str, SharedDetector], on_status, submit_order,
                 metrics: WorkerMetrics | None = None, *, submit_event_end=None, submit_evidence_follow_up=None,
                 actions=None) -> None:
        self.config = config
        self._actions = actions
        self.detectors = detectors
        self._on_status = on_status
        self._submit_order = submit_order
        self._submit_event_end = submit_event_end
        self._submit_evidence_follow_up = submit_evidence_follow_up
        self._metrics = metrics
        self._shadow_log: ShadowLog | None = None
        self.harvest = HarvestService.from_config(config)  # None: no camera harvests frames for labelling
        # One pool for every camera's evidence files (streams.evidence_writer); None: on each camera's thread.
        threads = config.worker.evidence_threads
        self.evidence_pool = EvidencePool(threads) if threads else None

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
        log_analysis_rate(camera_id, camera)
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
        settings = EvidenceSettings(site_zone=self.config.worker.zone)  # stamps on the site's clock
        pipeline = CameraPipeline(
            camera_id, source, self.detectors[camera.model], tracker, rules, clock, submit,
            governor=governor, observe_inference=observe_inference, watch=AnalysisWatch(low.fps, low.reason),
            on_rule_event=self._actions.fire if self._actions is not None else None,
            evidence=EvidenceRecorder(settings, record=_record_for(camera_id, camera, settings)),
            evidence_lane=EvidenceLane(self.evidence_pool, camera_id),
        )
        pipeline.submit_event_end = self._submit_event_end  # rule ENDs go through the outbox too (camera re-check)
        pipeline.submit_evidence_follow_up = self._submit_evidence_follow_up
        pipeline.camera_config = camera  # what streams.sync.registration registers with the API (issue 17)
        if self.harvest is not None:  # frames worth labelling, on the camera's stream clock (streams.harvest)
            pipeline.harvest = self.harvest.for_camera(camera_id, camera, clock)
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
    detectors = {}
    for model_id, model in config.models.items():
        if model_id not in set(model_ids):
            continue
        detectors[model_id] = load_model(model.manifest, model, f"model-{model_id}")  # batched when max_batch > 1
    return detectors
