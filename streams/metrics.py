"""Prometheus metrics of a worker, served with a /health on ``worker.metrics_port``.

Latencies (decode, inference, publish) are histograms observed as they
happen; everything a pipeline or the outbox already counts (frames decoded,
analysed, dropped, queue depths, reconnects, spool size, ...) is read at
scrape time by a collector, so there is one source of truth and no
double bookkeeping. Each worker has its own registry (tests run several).

Metric names start with ``gridsight_worker_``; per-camera series carry a
``camera`` label and disappear when the camera moves to another worker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from api.contract.wire import CameraState

log = logging.getLogger(__name__)

CAMERA_STATES = tuple(state.value for state in CameraState)  # the wire contract's states, in its order
ANALYSIS_PROBLEMS = ("silent_tracker", "too_slow", "overloaded")  # streams.analysis_health
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class WorkerMetrics:
    def __init__(self, worker_name: str) -> None:
        self.worker_name = worker_name
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.decode_seconds = Histogram(
            "gridsight_worker_decode_seconds", "Time to decode one packet", ["camera"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.inference_seconds = Histogram(
            "gridsight_worker_inference_seconds", "Detector time per analysed frame", ["camera"], buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.publish_seconds = Histogram(
            "gridsight_worker_publish_seconds", "Time to hand one order to the API or the Redis Stream", ["transport"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.action_seconds = Histogram(
            "gridsight_worker_action_seconds",
            "Edge actions: rule fired to the broker's acknowledgement or the hook's 2xx", ["sink"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.orders_submitted = Counter(
            "gridsight_worker_orders_submitted", "Work orders written to the spool", ["camera"], registry=r
        )
        self.orders_delivered = Counter(
            "gridsight_worker_orders_delivered", "Spooled orders acknowledged by the API or Redis", ["transport"], registry=r
        )
        self.publish_failures = Counter(
            "gridsight_worker_publish_failures", "Failed deliveries (the order stays in the spool)", ["transport"], registry=r
        )
        self.lease_moves = Counter(
            "gridsight_worker_lease_moves",
            "Camera leases acquired, released (handed over / shutdown) or lost (taken while we were away)",
            ["direction"], registry=r,
        )
        self.redis_up = Gauge("gridsight_worker_redis_up", "1 when the last Redis call succeeded", registry=r)
        self.cluster_workers = Gauge("gridsight_worker_cluster_workers", "Live workers this worker sees", registry=r)
        self.cameras_unassigned = Gauge(
            "gridsight_worker_cameras_unassigned", "Cameras no live worker has room for", registry=r
        )
        self.config_reloads = Counter(
            "gridsight_worker_config_reloads", "Camera config changes applied without a restart", ["kind"], registry=r
        )
        self.model_swaps = Counter(
            "gridsight_worker_model_swaps", "Models the registry assigned, swapped in without a restart", ["camera"],
            registry=r,
        )
        self.model_load_failures = Counter(
            "gridsight_worker_model_load_failures",
            "Assigned models not loaded (checksum, corrupt weights, labels, fetch); the camera kept its model",
            ["camera"], registry=r,
        )
        self._sources: list[Callable[[], list]] = []
        r.register(_Collector(self))

    def add_collector(self, fn: Callable[[], list]) -> None:
        """``fn()`` returns metric families, read at every scrape."""
        self._sources.append(fn)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Collector:
    def __init__(self, metrics: WorkerMetrics) -> None:
        self._metrics = metrics

    def describe(self):
        return []

    def collect(self):
        for fn in self._metrics._sources:
            try:
                yield from fn()
            except Exception:  # a scrape must never take the worker down
                log.exception("metrics collector failed")


# Per-camera counters read from ``CameraPipeline.stats()``: stats key -> (metric name, help).
_COUNTERS = {
    "frames_decoded": ("gridsight_worker_frames_decoded", "Frames decoded (every frame of the stream)"),
    "frames_sampled": ("gridsight_worker_frames_sampled", "Frames sampled for analysis"),
    "frames_analysed": ("gridsight_worker_frames_analysed", "Frames run through detector, tracker and rules"),
    "frames_dropped": ("gridsight_worker_frames_dropped", "Sampled frames dropped by the hand-off's drop policy"),
    "reconnects": ("gridsight_worker_reconnects", "Reconnect attempts of the camera source"),
    "decode_errors": ("gridsight_worker_decode_errors", "Undecodable packets"),
    "corrupt_frames": ("gridsight_worker_corrupt_frames",
                       "Decoded frames not analysed because damaged (flagged corrupt, or predicted from such a frame)"),
    "events_started": ("gridsight_worker_events_started", "Rule events started (each files one order)"),
    "confirmed_boxes": ("gridsight_worker_confirmed_track_boxes",
                        "Analysed boxes carrying a confirmed track id (0 while boxes are detected: no rule can fire)"),
    "rule_evaluations": ("gridsight_worker_rule_evaluations", "Rule updates run (one per rule per analysed frame)"),
    "record_captures": ("gridsight_worker_record_captures",
                        "Captures of the camera's record stream (record_url), opened around events"),
    "record_failures": ("gridsight_worker_record_failures",
                        "Record stream captures that failed (their events' evidence is the analysed frames)"),
    "record_fallbacks": ("gridsight_worker_record_fallbacks",
                         "Events whose evidence came from the analysed frames: the record stream gave none"),
}
# The other per-camera families, in exposition order: key -> (kind, metric name, help, labels).
_OTHERS = {
    "fps_in": ("gauge", "gridsight_worker_fps_in", "Decoded frames per second", ["camera"]),
    "fps_analysed": ("gauge", "gridsight_worker_fps_analysed", "Analysed frames per second", ["camera"]),
    "analysis_fps": ("gauge", "gridsight_worker_analysis_fps",
                     "Effective analysis fps (lower than configured while shedding)", ["camera"]),
    "queue_depth": ("gauge", "gridsight_worker_queue_depth", "Frames waiting in the hand-off buffer", ["camera", "stage"]),
    "queue_capacity": ("gauge", "gridsight_worker_queue_capacity", "Capacity of the hand-off buffer", ["camera", "stage"]),
    "lag": ("gauge", "gridsight_worker_stream_lag_seconds",
            "Wall clock minus the capture time of the newest analysed frame", ["camera"]),
    "state": ("gauge", "gridsight_worker_camera_state", "1 for the camera's current state", ["camera", "state"]),
    "sheds": ("counter", "gridsight_worker_fps_sheds", "Times the analysis fps was lowered for load", ["camera"]),
    "tracks": ("gauge", "gridsight_worker_confirmed_tracks", "Confirmed tracks on the newest analysed frame", ["camera"]),
    "problems": ("gauge", "gridsight_worker_analysis_problems",
                 "1 while the camera analyses frames but cannot file events, by reason", ["camera", "reason"]),
    "corrupt_ratio": ("gauge", "gridsight_worker_corrupt_ratio",
                      "Share of the frames decoded lately (the source's corrupt_window_s) that were corrupt", ["camera"]),
    "damaged": ("gauge", "gridsight_worker_video_damaged",
                "1 while the camera's corrupt share is above its max_corrupt_ratio", ["camera"]),
    "evidence_pending": ("gauge", "gridsight_worker_evidence_pending",
                         "Events whose evidence files are being made off the analysis thread", ["camera"]),
    "model": ("gauge", "gridsight_worker_model_info", "1 for the model (name and version) the camera runs now",
              ["camera", "model"]),
}


def pipeline_families(pipelines) -> list:
    """Per-camera families from running pipelines (``CameraPipeline.stats()`` and friends)."""
    fams = {k: CounterMetricFamily(name, doc, labels=["camera", "policy"] if k == "frames_dropped" else ["camera"])
            for k, (name, doc) in _COUNTERS.items()}
    others = {k: (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, doc, labels=labels)
              for k, (kind, name, doc, labels) in _OTHERS.items()}
    now = time.time()
    for p in pipelines:
        st = p.stats()
        cam = p.camera_id
        for key, fam in fams.items():
            if key == "frames_dropped":
                fam.add_metric([cam, st.get("policy", "")], st.get(key, 0) or 0)
            else:
                fam.add_metric([cam], st.get(key, 0) or 0)
        _add_camera(others, p, st, now)
    return [*fams.values(), *others.values(), *harvest_families(pipelines)]


def harvest_families(pipelines) -> list:
    """Harvesting (streams.harvest): frames picked per camera and reason, and the uploader's
    sent, dropped (by why) and failed posts; nothing while no camera harvests."""
    harvesters = [(p.camera_id, h) for p in pipelines if (h := getattr(p, "harvest", None)) is not None]
    if not harvesters:
        return []
    picked = CounterMetricFamily("gridsight_worker_harvest_frames", "Frames picked for labelling, by reason",
                                 labels=["camera", "reason"])
    for camera, harvester in harvesters:
        for reason, count in list(harvester.sampler.picked.items()):  # a copy: the camera thread adds reasons
            picked.add_metric([camera, reason], count)
    uploader = harvesters[0][1].uploader  # one per worker
    sent = CounterMetricFamily("gridsight_worker_harvest_sent", "Harvested frames the API acknowledged")
    sent.add_metric([], uploader.sent)
    dropped = CounterMetricFamily("gridsight_worker_harvest_dropped",
                                  "Harvested frames dropped (queue_full, spool_full: drop_oldest; refused; invalid)",
                                  labels=["why"])
    for why, count in list(uploader.dropped.items()):
        dropped.add_metric([why], count)
    failed = CounterMetricFamily("gridsight_worker_harvest_failed", "Posts of harvested frames the API did not take "
                                 "(no answer or a retryable status; retried)")
    failed.add_metric([], uploader.failed_attempts)
    return [picked, sent, dropped, failed]


def _add_camera(fams: dict, p, st: dict, now: float) -> None:
    cam = p.camera_id
    fams["fps_in"].add_metric([cam], st.get("fps_in", 0.0) or 0.0)
    fams["fps_analysed"].add_metric([cam], p.fps_analysed)
    if p.governor is not None:
        fams["analysis_fps"].add_metric([cam], p.governor.fps)
        fams["sheds"].add_metric([cam], p.governor.sheds)
    fams["queue_depth"].add_metric([cam, "decode_to_analysis"], st.get("queue_depth", 0) or 0)
    fams["queue_capacity"].add_metric([cam, "decode_to_analysis"], st.get("queue_capacity", 0) or 0)
    if p.last_captured_at is not None:
        fams["lag"].add_metric([cam], max(0.0, now - p.last_captured_at))
    for s in CAMERA_STATES:
        fams["state"].add_metric([cam, s], 1.0 if st.get("state") == s else 0.0)
    fams["corrupt_ratio"].add_metric([cam], st.get("corrupt_ratio", 0.0) or 0.0)
    fams["damaged"].add_metric([cam], 1.0 if st.get("degraded") else 0.0)
    fams["tracks"].add_metric([cam], st.get("confirmed_tracks", 0) or 0)
    fams["evidence_pending"].add_metric([cam], st.get("evidence_pending", 0) or 0)
    if st.get("model"):
        fams["model"].add_metric([cam, st["model"]], 1.0)
    problems = getattr(p, "problem_kinds", lambda: [])()
    for reason in ANALYSIS_PROBLEMS:
        fams["problems"].add_metric([cam, reason], 1.0 if reason in problems else 0.0)


class MetricsServer:
    """GET /metrics (Prometheus text) and GET /health (JSON; 503 when unhealthy)."""

    def __init__(self, host: str, port: int, metrics: WorkerMetrics, health: Callable[[], dict]) -> None:
        metrics_ref, health_ref = metrics, health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, ctype, code = metrics_ref.exposition(), CONTENT_TYPE_LATEST, 200
                elif path in ("/health", "/healthz"):
                    report = health_ref()
                    code = 503 if report.get("status") == "unhealthy" else 200
                    body, ctype = json.dumps(report).encode(), "application/json"
                else:
                    body, ctype, code = b"not found\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):  # scrapes every few seconds would flood the log
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    def start(self) -> "MetricsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
