"""Ours end to end: one process, a CameraSource per camera paced in real time (loop; one decoder
thread), one shared model behind streams.batching.BatchingDetector, ByteTrack and zone rules
through streams.pipeline.CameraPipeline -- the worker's own pieces, instrumented from outside.

The rules come from configs/demo.yaml's camera, rewritten per scenario (:func:`bench_camera`):
"demo" (two 4 s dwell rules on the kerbs), "slow" (the exposed_garbage preset on both kerbs:
30 min of static dwell, a slow rule that needs no more than the key-frame rate) and "latency"
(the demo rules at emergency tier with no cooldown, so every showing of the clip files an order
at once, their dwell 8 s at the key-frame rate; see throughput_parts.latency)."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

import yaml

from throughput_parts.common import DEMO_CONFIG, TARGET_FPS, analysed_rate, is_sustained, pct, rss_mb

RULE_SETS = ("demo", "slow", "latency")


def bench_camera(rules: str = "demo", analysis_fps: float = TARGET_FPS):
    """configs/demo.yaml's camera with the scenario's rules and rate (a CameraConfig)."""
    from streams.config import load_config

    raw = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["models"]["demo"]["manifest"] = str((DEMO_CONFIG.parent / raw["models"]["demo"]["manifest"]).resolve())
    raw["worker"]["spool_dir"] = tempfile.gettempdir()
    camera = next(iter(raw["cameras"].values()))
    camera["analysis_fps"] = analysis_fps
    if rules == "slow":
        camera["rules"] = {f"{zone}-garbage": {"preset": "exposed_garbage", "zone": zone}
                           for zone in camera["zones"]}
    elif rules == "latency":
        for rule in camera["rules"].values():
            rule.update(priority="emergency", cooldown_s=0)
            if analysis_fps < 1:  # 3 analysed frames within the dwell (the rate the config asks of it)
                rule["min_dwell_s"] = 8
    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        config = load_config(path, check_models=False)
    return next(iter(config.cameras.values()))


class _Probe:
    """Per camera: lag after each processed frame, and latency of each rule event."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (wall time, lag s)
        self.event_latency: list[float] = []
        self.detect_latency: list[float] = []
        self.current = 0.0  # capture time of the frame being processed


class _NoEvidence:
    """Evidence off: the naive loop keeps no pre-roll, so the like-for-like configs do not either."""

    def observe(self, frame, tracked):
        return []

    def open(self, *args, **kwargs):
        return []

    def finish(self, event_id):
        return []

    overdue = flush = lambda self: []
    record = None  # CameraPipeline.run stops a record stream's capture when there is one


def _evidence(camera_id: str, evidence: bool, record_url: str | None):
    """The camera's evidence recorder: off, from the analysed frames, or with the record stream
    for its post window (streams.sources.record.RecordCapture, bounded as the worker bounds it)."""
    if not evidence:
        return _NoEvidence()
    from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
    from streams.sources.record import RecordCapture, RecordLimits
    from streams.sources.source import SourceOptions

    settings = EvidenceSettings()
    record = None
    if record_url is not None:
        options = SourceOptions(open_timeout_s=5.0, read_timeout_s=5.0, decode_threads=1)
        limits = RecordLimits(fps=TARGET_FPS, max_frames=int(TARGET_FPS * settings.post_s) + 5,
                              max_wall_s=options.open_timeout_s + settings.post_s + 2.0)
        record = RecordCapture(record_url, options, camera_id=camera_id, limits=limits)
    return EvidenceRecorder(settings, record=record)


class Discard:
    """Where a point's records go when nothing is measured downstream: nowhere (the worker's outbox
    interface: streams.runtime.WorkerRuntime's submit_order and submit_evidence_follow_up)."""

    def submit_order(self, key: str, payload: dict) -> None: ...

    def submit_evidence_follow_up(self, key: str, payload: dict) -> None: ...


def _instrumented_pipeline(camera_id, source, detector, tracker, rules, clock, probe: _Probe, evidence,
                           outbox, evidence_pool=None):
    from streams.pipeline import CameraPipeline

    class Pipeline(CameraPipeline):
        def process(self, frame):
            probe.current = frame.captured_at
            events = super().process(frame)
            now = time.time()
            probe.samples.append((now, now - frame.captured_at))
            if events:
                probe.event_latency.extend(now - frame.captured_at for _ in events)
            return events

    class TimedDetector:
        """Frame capture -> detections ready, per camera (the batching wait included)."""

        name, version = detector.name, detector.version

        def detect_timed(self, images):
            out = detector.detect_timed(images)
            probe.detect_latency.append(time.time() - probe.current)
            return out

    from streams.evidence_writer import EvidenceLane

    pipeline = Pipeline(camera_id, source, TimedDetector(), tracker, rules, clock, outbox.submit_order,
                        evidence=evidence, evidence_lane=EvidenceLane(evidence_pool, camera_id))
    pipeline.submit_evidence_follow_up = outbox.submit_evidence_follow_up  # as the worker wires it
    return pipeline


def _build(clip: Path | list[Path], cameras: int, detector, camera_cfg, analysis_fps: float, decode: str, evidence: bool,
           outbox, record_url: str | None = None, evidence_pool=None):
    from inference.clock import FrameClock
    from inference.tracking import ObjectTracker
    from streams.rule_factory import build_rules
    from streams.sources.source import CameraSource, SourceOptions

    clips = clip if isinstance(clip, list) else [clip]  # several: camera i reads clips[i % len]
    pipes, probes = [], []
    for i in range(cameras):
        clock = FrameClock()
        source = CameraSource(f"cam-{i}", str(clips[i % len(clips)]), analysis_fps=analysis_fps,
                              options=SourceOptions(realtime=True, loop=True, decode_threads=1, decode=decode))
        tracker = ObjectTracker(frame_rate=analysis_fps, lost_track_seconds=camera_cfg.tracker.lost_track_seconds,
                                activation_threshold=camera_cfg.tracker.activation_threshold,
                                high_confidence_threshold=camera_cfg.tracker.high_confidence_threshold)
        probe = _Probe()
        pipes.append(_instrumented_pipeline(f"cam-{i}", source, detector, tracker,
                                            build_rules(f"cam-{i}", camera_cfg, clock), clock, probe,
                                            _evidence(f"cam-{i}", evidence, record_url), outbox,
                                            evidence_pool))
        probes.append(probe)
    return pipes, probes


def _record_summary(pipes) -> dict:
    """How the cameras' record-stream captures went in this point (captures, failures, reasons)."""
    stats = [p.record_stream_state or {} for p in pipes]  # a property of CameraPipeline
    reasons = sorted({s["record_reason"] for s in stats if s.get("record_reason")})
    return {"captures": sum(s.get("record_captures", 0) for s in stats),
            "failures": sum(s.get("record_failures", 0) for s in stats), "reasons": reasons[:3]}


def _lag_growth(window: list[tuple[float, float]], start: float, end: float) -> float:
    """Median lag of the window's last third minus its first third's (inf: a third without frames)."""
    third = (end - start) / 3
    first = [lag for t, lag in window if t < start + third]
    last = [lag for t, lag in window if t > end - third]
    return statistics.median(last) - statistics.median(first) if first and last else float("inf")


def run_ours(clip: Path | list[Path], cameras: int, detector, seconds: float, warmup: float, evidence: bool = False, *,
             analysis_fps: float = TARGET_FPS, decode: str = "auto", rules: str = "demo",
             outbox=None, record_url: str | None = None, evidence_threads: int = 1) -> dict:
    """One point: ``cameras`` cameras for ``warmup`` + ``seconds``; sustained or not (common.is_sustained).
    ``outbox``: where orders and follow-ups go (``submit_order``, ``submit_evidence_follow_up``); None: :class:`Discard`.

    Long because the point is one story: build, start staggered, measure the window, stop, summarise."""
    from streams.evidence_writer import EvidencePool

    camera_cfg = bench_camera(rules, analysis_fps)
    stop = threading.Event()
    rss0 = rss_mb()
    # As the worker does (worker.evidence_threads, default 1): evidence files made off the cameras' threads.
    pool = EvidencePool(evidence_threads) if evidence and evidence_threads else None
    pipes, probes = _build(clip, cameras, detector, camera_cfg, analysis_fps, decode, evidence, outbox or Discard(),
                           record_url, pool)
    threads = []
    for pipe in pipes:
        # Staggered over one sampling period: real cameras' frames do not arrive in lockstep.
        time.sleep(1.0 / analysis_fps / cameras)
        t = threading.Thread(target=pipe.run, args=(stop,), daemon=True)
        t.start()
        threads.append(t)
    time.sleep(warmup)
    start = time.time()
    cpu_start = time.process_time()
    time.sleep(seconds)
    end = time.time()
    cpu = time.process_time() - cpu_start
    rss1 = rss_mb()
    decode_seen = sorted({str(p.source.stats()["decode"]) for p in pipes})
    stop.set()
    for t in threads:
        t.join(15)
    pool_stats = pool.stats() if pool is not None else None
    if pool is not None:
        pool.shutdown()
    rates, growth, lags, ev_lat, det_lat = [], [], [], [], []
    for probe in probes:
        window = [(t, lag) for t, lag in probe.samples if start <= t <= end]
        rates.append(analysed_rate([t for t, _lag in window]))
        growth.append(_lag_growth(window, start, end))
        lags += [lag for _t, lag in window]
        ev_lat += probe.event_latency
        det_lat += probe.detect_latency[len(probe.detect_latency) // 4:]
    stats = getattr(detector, "stats", lambda: {})()
    return {
        "cameras": cameras, "analysis_fps": analysis_fps, "decode": decode, "decode_seen": decode_seen,
        "rules": rules, "evidence": evidence, "evidence_pool": pool_stats, "record_stream": _record_summary(pipes) if record_url else None,
        "fps_per_camera_min": round(min(rates), 3),
        "fps_per_camera_mean": round(statistics.mean(rates), 3),
        "lag_growth_s_max": round(max(growth), 3),
        "lag_s_p50": pct(lags, 0.5), "lag_s_p95": pct(lags, 0.95), "lag_s_p99": pct(lags, 0.99),
        "detect_latency_s_p50": pct(det_lat, 0.5), "detect_latency_s_p95": pct(det_lat, 0.95),
        "events": len(ev_lat),
        "cpu_cores_used": round(cpu / (end - start), 2),
        "rss_mb_total": round(rss1, 1),
        "rss_mb_per_camera": round((rss1 - rss0) / cameras, 1),
        "frames_dropped": sum(p.source.stats()["frames_dropped"] for p in pipes),
        "batching": {k: stats.get(k) for k in ("mean_batch", "batch_size_histogram", "triggers", "wait_ms_p50",
                                               "wait_ms_p95")} if stats else None,
        "sustained": is_sustained(rates, growth, analysis_fps),
    }
