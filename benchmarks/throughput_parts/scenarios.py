"""Issue 16's scenarios, each a sweep of ours against the naive loop in one run:

a. main stream at 5 fps, 720p and 1080p: ours (the fastest of the ONNX/OpenVINO backends,
   batched) vs naive ``vid_stride=5``;
b. slow rules at key-frame rate: the 1080p clip with a key frame every 2 s, ours with
   ``decode="keyframes"`` at 0.5 fps and the exposed_garbage preset's rules, in steps of 8
   cameras up to 64, vs naive ``vid_stride=50`` (one frame per 2 s: the equivalent);
c. detect substream: ours analyses the 640x360 rendering of the same scene at 5 fps with evidence
   on and the 1080p record stream for it (streams.sources.record.RecordCapture, opened around each
   START for the post window, served over RTSP by the project's test server), vs naive on the 1080p
   stream (scenario a's 1080p naive sweep, the same measurement). Its cameras are spread over the
   scene's showing as the latency phase's are: every camera's record capture in the same second
   is a burst no street makes, and it measured the burst rather than the cameras;
d. condition met -> order stored through a real API, at each ours config's highest sustained count
   (throughput_parts.latency; once per config, not at every count, to keep the run short).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from throughput_parts.common import KEYFRAME_FPS, TARGET_FPS
from throughput_parts.media import KEYFRAME_CLIP, phased
from throughput_parts.models import fresh_metrics
from throughput_parts.naive import run_naive
from throughput_parts.ours import run_ours
from throughput_parts.sweep import sweep

# The scene's one showing (the rendered clip's 30 s, looped), and how many starting points the
# latency phase spreads its cameras over.
SCENE_PERIOD_S = 30.0
LATENCY_PHASES = 8
KEYFRAME_STEPS = [8, 16, 24, 32, 40, 48, 56, 64]
NAIVE_KEYFRAME_STEPS = [2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32]


@dataclass
class Plan:
    """What one run measures and how long each point is."""

    seconds: float
    warmup: float
    keyframe_seconds: float
    keyframe_warmup: float
    latency_seconds: float
    max_cameras: int
    steps: list[int] | None = None
    keyframe_steps: list[int] | None = None
    naive_keyframe_steps: list[int] | None = None


@dataclass
class Ours:
    detector: object
    backend: str
    max_batch: int


def _ours_point(ours: Ours, clip: Path | list[Path], plan: Plan, *, keyframes: bool = False, evidence: bool = False,
               record_url: str | None = None):
    def point(n: int) -> dict:
        fresh_metrics(ours.detector)
        if keyframes:
            return run_ours(clip, n, ours.detector, plan.keyframe_seconds, plan.keyframe_warmup, evidence,
                            analysis_fps=KEYFRAME_FPS, decode="keyframes", rules="slow")
        return run_ours(clip, n, ours.detector, plan.seconds, plan.warmup, evidence, record_url=record_url)

    return point


def latency_runner(ours: Ours, clip: Path, plan: Plan, keyframes: bool, record_clip: Path | None = None,
                   evidence_threads: int = 1):
    """run_point(cameras, seconds, outbox) for throughput_parts.latency. The cameras read
    LATENCY_PHASES copies of the clip started at different points of the scene's showing, so their
    events are spread over it as independent cameras' are; every camera at the same point (the
    sustained sweeps) puts all of a showing's events into the same second, a burst no street makes."""
    phases = phased(clip, LATENCY_PHASES, SCENE_PERIOD_S)

    def run_point(n: int, seconds: float, outbox) -> dict:
        fresh_metrics(ours.detector)
        fps, decode = (KEYFRAME_FPS, "keyframes") if keyframes else (TARGET_FPS, "auto")
        with record_stream(record_clip) as (record_url, _why):
            return run_ours(phases, n, ours.detector, seconds, 0.0, True, analysis_fps=fps, decode=decode,
                            rules="latency", outbox=outbox, record_url=record_url,
                            evidence_threads=evidence_threads)

    return run_point


def _start(limit: dict | None, fraction: float) -> int | None:
    return max(1, math.floor(fraction * limit["limit_cameras"])) if limit else None


def main_stream(res: str, clip: Path, ours: Ours, plan: Plan, weights: Path, imgsz: int, limit: dict | None):
    name = f"ours-{ours.backend}-batch{ours.max_batch}"
    configs = {
        "naive": lambda n: run_naive(clip, n, weights, imgsz, plan.seconds, plan.warmup, vid_stride=5),
        name: _ours_point(ours, clip, plan),
    }
    return sweep(configs, plan.max_cameras, plan.steps,
                 starts={"naive": _start(limit, 0.35), name: _start(limit, 0.85)})


def keyframe_mode(clip: Path, ours: Ours, plan: Plan, weights: Path, imgsz: int, naive_start: int = 8):
    """``naive_start``: where the naive sweep starts (it decodes every frame: about cores / a full decode's cost)."""
    name = f"ours-{ours.backend}-batch{ours.max_batch}-keyframes"
    ours_sweep = sweep({name: _ours_point(ours, clip, plan, keyframes=True)}, max(plan.keyframe_steps or
                                                                                   KEYFRAME_STEPS),
                       plan.keyframe_steps or KEYFRAME_STEPS, starts={name: 40})
    naive_sweep = sweep({"naive-vid_stride50": lambda n: run_naive(clip, n, weights, imgsz, plan.keyframe_seconds,
                                                                   plan.keyframe_warmup, vid_stride=50)},
                        max(plan.naive_keyframe_steps or NAIVE_KEYFRAME_STEPS),
                        plan.naive_keyframe_steps or NAIVE_KEYFRAME_STEPS, starts={"naive-vid_stride50": naive_start})
    return naive_sweep + ours_sweep


@contextmanager
def record_stream(clip: Path | None):
    """(rtsp url of the record stream, how it is served), or (None, why not) where it cannot be."""
    if clip is None:
        yield None, "none"
        return
    from tests.support.rtsp import RtspServer, rtsp_server_available

    if not rtsp_server_available():
        yield None, "not wired: no RTSP test server here (Debian python3 with gi + GstRtspServer)"
        return
    with RtspServer({"/record": clip}) as server:
        yield server.url("/record"), (f"RecordCapture on {clip.name} served over RTSP by gridsight/demo/rtsp_server.py "
                                      "(each session starts at the clip's beginning: the cost is measured, the "
                                      "frames' content is not the detect stream's moment)")


def substream(clip: Path, ours: Ours, plan: Plan, limit: dict | None, record_clip: Path | None):
    """The sweep and how the record stream was served."""
    name = f"ours-{ours.backend}-batch{ours.max_batch}-360p+evidence+record"
    phases = phased(clip, LATENCY_PHASES, SCENE_PERIOD_S)
    with record_stream(record_clip) as (record_url, how):
        rows = sweep({name: _ours_point(ours, phases, plan, evidence=True, record_url=record_url)}, plan.max_cameras,
                     plan.steps, starts={name: _start(limit, 0.85)})
    return rows, how


