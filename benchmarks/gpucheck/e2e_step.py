"""Step 4: cameras end to end at 5 analysed fps -- a short, budget-bounded sweep.

Each point is benchmarks/throughput.py's ``run_ours``: N CameraSources paced in real time on
the 1080p clip (``hwaccel`` "auto": NVDEC where present), one shared detector behind
streams.batching.BatchingDetector, ByteTrack and the demo config's zone rules; "sustained"
is its verdict (every camera >= 95 % of 5 fps, lag not growing). The detector is the export
step's choice: the TensorRT engine on cuda:0, PyTorch on cuda:0 where the engine could not be
built, ONNX on the CPU without CUDA. Counts grow until a point is not sustained or the next
one would not fit in the budget.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from gpucheck.budget import Outcome, StepFailed, fallback, ok
from gpucheck.export_step import ExportedModel

GPU_COUNTS = (8, 32, 64, 100, 150, 200)  # issue 6's target: >= 150 1080p25 cameras on an H100-class GPU
CPU_COUNTS = (1, 2)
GPU_POINT = {"seconds": 10.0, "warmup": 3.0, "max_batch": 32}
CPU_POINT = {"seconds": 3.0, "warmup": 1.0, "max_batch": 4}
SETUP_S = 5.0  # opening N sources and joining their threads, beyond the measured window
BATCH_DEADLINE_MS = 30.0  # the throughput benchmark's default


def _detector(model: ExportedModel):
    from throughput import CONFIDENCE, IOU

    from inference.models.detector import YoloDetector

    return YoloDetector.from_manifest(model.manifest, backend=model.backend, confidence=CONFIDENCE, iou=IOU,
                                      device=model.device)


def _point(clip: Path, cameras: int, detector, settings: dict) -> dict:
    from throughput import run_ours

    from streams.batching import BatchingDetector

    batching = BatchingDetector(detector, max_batch=settings["max_batch"], batch_deadline_ms=BATCH_DEADLINE_MS,
                                name="gpu-check")
    try:
        point = run_ours(clip, cameras, batching, settings["seconds"], settings["warmup"])
    finally:
        batching.close()
    return {k: point.get(k) for k in ("cameras", "sustained", "fps_per_camera_min", "fps_per_camera_mean",
                                      "lag_growth_s_max", "lag_s_p50", "lag_s_p95", "detect_latency_s_p95",
                                      "cpu_cores_used", "rss_mb_total", "frames_dropped", "batching")}


def e2e_step(clip: Path, model: ExportedModel, *, cuda: bool, cpu_reason: str, budget_s: float,
             clock=time.monotonic) -> Outcome:
    counts, settings = (GPU_COUNTS, GPU_POINT) if cuda else (CPU_COUNTS, CPU_POINT)
    started = clock()
    detector = _detector(model)
    detector.detect([np.zeros((1080, 1920, 3), np.uint8)])  # warm-up: graph build, allocations
    points, cut = [], None
    for cameras in counts:
        if budget_s - (clock() - started) < settings["seconds"] + settings["warmup"] + SETUP_S:
            cut = f"sweep stopped before {cameras} cameras: the step's {budget_s:.0f} s budget"
            break
        points.append(_point(clip, cameras, detector, settings))
        if not points[-1]["sustained"]:
            break
    if not points:
        raise StepFailed(cut or "no point measured")
    best = max((p["cameras"] for p in points if p["sustained"]), default=0)
    details = {"backend": model.backend, "device": model.device, "settings": settings,
               "max_cameras_sustained": best, "points": points, "cut": cut}
    if not cuda:
        return fallback(f"{cpu_reason}: {len(points)} point(s) of {'/'.join(map(str, counts))} cameras on the CPU "
                        f"({model.backend})", **details)
    if model.backend != "tensorrt":
        return fallback(f"no TensorRT engine: measured {model.backend} on {model.device}", **details)
    return ok(**details)
