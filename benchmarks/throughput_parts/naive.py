"""The naive baseline: one process per camera running ``YOLO(...).track(clip, stream=True,
vid_stride=N)`` (same weights, imgsz, thresholds and clip), reading the file as fast as it can.
For it "sustained" is: each camera processes >= 95 % of the analysis rate (25 / vid_stride
frames per second), i.e. it keeps up with a live 25 fps camera (its lag would not grow)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput_parts.common import CONFIDENCE, IOU, SUSTAIN_FRACTION, VIDEO_FPS, analysed_rate, log, pct

NAIVE_WORKER = r"""
import json, os, select, sys, time
os.environ.setdefault("YOLO_OFFLINE", "1")
from ultralytics import YOLO
weights, clip, imgsz, stride = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[6])
model = YOLO(weights, task="detect")
import numpy as np
model.predict(np.zeros((360, 640, 3), np.uint8), imgsz=imgsz, verbose=False)
print("READY", flush=True)
sys.stdin.readline()  # GO
stream = model.track(clip, stream=True, vid_stride=stride, imgsz=imgsz, conf=float(sys.argv[4]),
                     iou=float(sys.argv[5]), persist=True, verbose=False)
times, per_frame, t_prev = [], [], time.time()
for _ in stream:
    now = time.time()
    times.append(now)
    per_frame.append(now - t_prev)
    t_prev = now
    if select.select([sys.stdin], [], [], 0)[0]:
        break
rss = [int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmRSS")][0]
print("RESULT " + json.dumps({"times": times, "per_frame": per_frame, "rss_mb": rss,
      "cpu_s": time.process_time()}), flush=True)
"""


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _start(clip: Path, cameras: int, weights: Path, imgsz: int, vid_stride: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", NAIVE_WORKER, str(weights), str(clip), str(imgsz),
                               str(CONFIDENCE), str(IOU), str(vid_stride)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tempfile.gettempdir())
             for _ in range(cameras)]
    for p in procs:
        while True:
            line = p.stdout.readline()
            if not line or line.startswith("READY"):
                break
    return procs


def _stop(procs: list[subprocess.Popen]) -> list[dict | None]:
    for p in procs:
        try:
            p.stdin.write("STOP\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        results.append(json.loads(line[7:]) if line else None)
    return results


# Resident memory of one naive process (torch + ultralytics + the decoder at 1080p): ~935 MB measured.
NAIVE_PROCESS_MB = 1000.0
MEMORY_HEADROOM = 0.85  # of MemAvailable: the benchmark's own process and the rest of the machine


def _available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable"):
            return int(line.split()[1]) / 1024
    return float("inf")


def memory_bound(cameras: int, available_mb: float) -> str | None:
    """Why ``cameras`` naive processes cannot run here (they would not fit in memory), or None."""
    need = cameras * NAIVE_PROCESS_MB
    if need <= MEMORY_HEADROOM * available_mb:
        return None
    return (f"not run: {cameras} naive processes x ~{NAIVE_PROCESS_MB:.0f} MB would not fit in "
            f"{MEMORY_HEADROOM:.0%} of the {available_mb:.0f} MB available (the naive loop is memory-bound here)")


def run_naive(clip: Path, cameras: int, weights: Path, imgsz: int, seconds: float, warmup: float,
              vid_stride: int = 5) -> dict:
    target_fps = VIDEO_FPS / vid_stride
    why_not = memory_bound(cameras, _available_mb())
    if why_not:
        log.warning("naive %d cameras: %s", cameras, why_not)
        return {"cameras": cameras, "vid_stride": vid_stride, "analysis_fps": target_fps, "not_run": why_not,
                "fps_per_camera_min": 0.0, "fps_per_camera_mean": 0.0, "lag_growth_s_max": float("inf"),
                "cpu_cores_used": 0.0, "rss_mb_per_camera": None, "sustained": False}
    procs = _start(clip, cameras, weights, imgsz, vid_stride)
    for p in procs:
        p.stdin.write("GO\n")
        p.stdin.flush()
    time.sleep(warmup)
    start = time.time()
    cpu_start = [_proc_cpu(p.pid) for p in procs]
    time.sleep(seconds)
    end = time.time()
    cpu_end = [_proc_cpu(p.pid) for p in procs]
    results = _stop(procs)
    rates, frame_s = [], []
    for r in results:
        window = [t for t in (r or {}).get("times", []) if start <= t <= end]
        if r and r["times"] and r["times"][-1] < end - 1.0:  # the clip ran out before the window ended
            log.warning("naive camera finished the clip early; rate measured over its frames only")
        rates.append(analysed_rate(window))
        frame_s += [d for t, d in zip(r["times"], r["per_frame"]) if start <= t <= end] if r else []
    rss = [r["rss_mb"] for r in results if r]
    return {
        "cameras": cameras, "vid_stride": vid_stride, "analysis_fps": target_fps,
        "fps_per_camera_min": round(min(rates), 3),
        "fps_per_camera_mean": round(statistics.mean(rates), 3),
        # Unpaced: a live camera's lag would grow by (1 - fps/target) seconds per second.
        "lag_growth_s_max": round(max(0.0, (1 - min(rates) / target_fps) * (end - start) * 2 / 3), 3),
        "frame_time_s_p50": pct(frame_s, 0.5), "frame_time_s_p95": pct(frame_s, 0.95),
        "cpu_cores_used": round(sum(b - a for a, b in zip(cpu_start, cpu_end)) / (end - start), 2),
        "rss_mb_total": round(sum(rss), 1),
        "rss_mb_per_camera": round(sum(rss) / cameras, 1) if rss else None,
        "sustained": min(rates) >= SUSTAIN_FRACTION * target_fps,
    }
