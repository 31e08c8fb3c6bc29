"""Cameras per machine: GridSight's batched pipeline against a naive ultralytics loop, side by side.

    .venv/bin/python benchmarks/throughput.py            # full run (~20 min on 2 CPU cores)
    .venv/bin/python benchmarks/throughput.py --quick    # ~6 min: 10 s windows, 1080p, fewer configs

Outside pytest; one command; needs ffmpeg. It

1. renders the synthetic street clip (gridsight.synth) and re-encodes it to 1280x720 and
   1920x1080 H.264 at 25 fps (x264 defaults: 3 B-frames; 50-frame GOP; light temporal
   noise so the bitrate is a camera's, ~2 Mbit/s at 1080p), cached under var/bench/;
2. exports the demo model to ONNX in a scratch copy of its manifest (never into weights/);
3. measures the decode-only ceiling (one decoder thread, 5 fps sampling, with and without
   skipping non-reference frames), the inference-only ceiling (batch sweep per backend),
4. then end to end, for growing camera counts, each point for a fixed wall time:
   * naive: one process per camera running ``YOLO(...).track(clip, stream=True, vid_stride=5)``
     (same weights, imgsz, thresholds and clip);
   * ours: one process, CameraSource per camera paced in real time (realtime=True, loop;
     one decoder thread, non-reference frames skipped), one shared model behind
     streams.batching.BatchingDetector (or the plain lock for max_batch 1), ByteTrack and the
     demo config's zone rules through streams.pipeline.CameraPipeline -- PyTorch and ONNX
     Runtime; "+evidence" also keeps the evidence pre-roll (JPEGs of every analysed frame)
     and builds each event's clip, as the production worker does;
   and finds the most cameras each sustains at 5 analysed fps without growing lag. Counts
   grow 1, 2, 3, ...; at each count every config still standing runs in rotating order (the
   CPU may be shared with other work: all configs meet the same background load), and a
   point that fails is tried once more;
5. prints a table and writes JSON, a PNG plot and the machine description under
   benchmarks/results/<hardware>/.

"Sustained" for ours: every camera analysed >= 95 % of 5 fps over the window and its lag
(wall clock minus the frame's capture time, after the frame is fully processed) grew
< 0.5 s between the first and last third of the window. The naive loop reads the file as
fast as it can, so for it "sustained" is: each camera processes >= 95 % of 5 frames per
second, i.e. keeps up with a live 25 fps camera (its lag would not grow).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np  # noqa: E402

CACHE = ROOT / "var" / "bench"
MANIFEST = ROOT / "weights" / "gridsight-demo-v1.yaml"
DEMO_CONFIG = ROOT / "configs" / "demo.yaml"
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
VIDEO_FPS = 25
TARGET_FPS = 5.0
CONFIDENCE, IOU = 0.2, 0.5  # configs/demo.yaml's model settings
SUSTAIN_FRACTION = 0.95
MAX_LAG_GROWTH_S = 0.5
CAMERA_STEPS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32]

log = logging.getLogger("benchmark")


# -- machine and inputs ------------------------------------------------------------------------
def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001
        return None


def machine() -> dict:
    from gridsight.hardware import cpu_model

    gpu = "none"
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True)
        gpu = out.stdout.strip() or f"nvidia-smi failed: {out.stderr.strip()[:200]}"
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    import torch

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "gpu": gpu,
        "cuda_available": bool(torch.cuda.is_available()),
        "tensorrt": _version("tensorrt"),
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": {m: _version(m) for m in ("torch", "ultralytics", "onnxruntime", "av", "cv2", "numpy")},
        "ffmpeg": ffmpeg,
    }


def cpu_load() -> dict:
    """Load average and the other CPU-heavy processes, since the CPU may be shared."""
    one, five, fifteen = os.getloadavg()
    busy = []
    out = subprocess.run(["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:6]:
        pid, pcpu, args = line.strip().split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) >= 20:
            busy.append({"pid": int(pid), "cpu_percent": float(pcpu), "command": args[:120]})
    return {"loadavg_1_5_15": [round(one, 2), round(five, 2), round(fifteen, 2)], "busy_processes": busy}


def make_clips(resolutions: list[str]) -> dict[str, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    base = CACHE / "base-640.mp4"
    if not base.exists():
        from gridsight.synth.clip import write_demo_clip

        log.info("rendering the synthetic street clip (640x360, 25 fps, ~30 s)")
        write_demo_clip(base, fps=VIDEO_FPS)
    clips = {}
    for name in resolutions:
        w, h = RESOLUTIONS[name]
        out = CACHE / f"street-{w}x{h}.mp4"
        if not out.exists():
            log.info("encoding %s", out.name)
            tmp = out.with_suffix(".partial.mp4")
            subprocess.run(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(base),
                 "-vf", f"scale={w}:{h}:flags=bicubic,noise=alls=6:allf=t",
                 "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "25", "-pix_fmt", "yuv420p",
                 "-an", str(tmp)], check=True)
            tmp.replace(out)
        long = out.with_name(out.stem + "-long.mp4")  # 2 min: the unpaced naive loop must not run out
        if not long.exists():
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "3", "-i", str(out),
                            "-c", "copy", str(long)], check=True)
        clips[name] = long
    return clips


def clip_info(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,r_frame_rate,bit_rate,nb_frames,has_b_frames,profile",
                          "-of", "json", str(path)], capture_output=True, text=True)
    info = json.loads(out.stdout)["streams"][0]
    info["file"] = path.name
    return info


def export_onnx(workdir: Path) -> Path:
    """A scratch copy of the demo manifest with a verified ONNX export recorded in it."""
    from gridsight.ml.export import export_model

    cached = CACHE / "weights"
    manifest = cached / MANIFEST.name
    onnx = cached / (MANIFEST.stem + ".onnx")
    if not (manifest.exists() and onnx.exists() and "onnx" in manifest.read_text()):
        cached.mkdir(parents=True, exist_ok=True)
        for f in (MANIFEST, MANIFEST.with_suffix(".pt")):
            shutil.copyfile(f, cached / f.name)
        log.info("exporting the demo model to ONNX (parity-checked against PyTorch)")
        export_model(manifest, "onnx")
    for f in cached.iterdir():
        shutil.copyfile(f, workdir / f.name)
    return workdir / MANIFEST.name


def load_detector(manifest: Path, backend: str):
    from inference.models.detector import YoloDetector

    det = YoloDetector.from_manifest(manifest, backend=backend, confidence=CONFIDENCE, iou=IOU, device="cpu")
    det.detect([np.zeros((360, 640, 3), np.uint8)])
    return det


def sample_frames(clip: Path, n: int) -> list[np.ndarray]:
    import av

    frames = []
    with av.open(str(clip)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % 5 == 0:
                frames.append(f.to_ndarray(format="bgr24"))
            if len(frames) >= n:
                break
    return frames


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values, q) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


# -- ceilings ------------------------------------------------------------------------------------
def decode_ceiling(clips: dict[str, Path], seconds: float) -> list[dict]:
    from streams.sources.source import CameraSource, SourceOptions

    rows = []
    for name, clip in clips.items():
        for skip in (False, True):
            src = CameraSource("decode", str(clip), analysis_fps=TARGET_FPS,
                               options=SourceOptions(skip_nonref=skip, decode_threads=1, loop=True, hwaccel=None))
            cpu0, t0 = time.process_time(), time.perf_counter()
            src.start()
            sampled = 0
            while time.perf_counter() - t0 < seconds:
                if src.read(timeout=5) is not None:
                    sampled += 1
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            stats = src.stats()
            src.stop()
            video_frames = stats["frames_decoded"] + stats["frames_skipped"]
            video_fps = video_frames / elapsed
            rows.append({
                "resolution": name, "skip_nonref": skip, "decode_threads": 1,
                "video_fps": round(video_fps, 1), "sampled_fps": round(sampled / elapsed, 1),
                "cpu_s_per_video_s": round(cpu / elapsed, 2),
                "skipped_fraction": round(stats["frames_skipped"] / max(1, video_frames), 2),
                "cameras_per_decode_thread": round(video_fps / VIDEO_FPS, 1),
            })
            log.info("decode %s skip_nonref=%s: %.0f video fps (%.1f cameras of 25 fps per thread)",
                     name, skip, video_fps, video_fps / VIDEO_FPS)
    return rows


def inference_ceiling(manifest: Path, frames: list[np.ndarray], backends: list[str], batches: list[int],
                      seconds: float) -> list[dict]:
    rows = []
    for backend in backends:
        det = load_detector(manifest, backend)
        for batch in batches:
            images = (frames * (batch // len(frames) + 1))[:batch]
            det.detect(images)
            t0, n, calls = time.perf_counter(), 0, []
            while time.perf_counter() - t0 < seconds or n < 2 * batch:
                t = time.perf_counter()
                det.detect(images)
                calls.append(time.perf_counter() - t)
                n += batch
            elapsed = time.perf_counter() - t0
            rows.append({"backend": backend, "batch": batch, "images_per_s": round(n / elapsed, 1),
                         "ms_per_batch_p50": round(1000 * statistics.median(calls), 1),
                         "ms_per_image": round(1000 * elapsed / n, 1)})
            log.info("inference %s batch %d: %.1f images/s", backend, batch, n / elapsed)
        del det
    return rows


# -- end to end: ours ----------------------------------------------------------------------------
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


def _instrumented_pipeline(camera_id, source, detector, tracker, rules, clock, probe: _Probe, evidence: bool):
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

    return Pipeline(camera_id, source, TimedDetector(), tracker, rules, clock, lambda key, payload: None,
                    evidence=None if evidence else _NoEvidence())


def run_ours(clip: Path, cameras: int, detector, seconds: float, warmup: float, evidence: bool = False) -> dict:
    from streams.config import load_config
    from inference.clock import FrameClock
    from inference.tracking import ObjectTracker
    from streams.rule_factory import build_rules
    from streams.sources.source import CameraSource, SourceOptions

    config = load_config(DEMO_CONFIG, check_models=False)
    camera_cfg = next(iter(config.cameras.values()))
    stop = threading.Event()
    pipes, probes, threads = [], [], []
    rss0 = rss_mb()
    for i in range(cameras):
        clock = FrameClock()
        source = CameraSource(f"cam-{i}", str(clip), analysis_fps=TARGET_FPS,
                              options=SourceOptions(realtime=True, loop=True, decode_threads=1))
        tracker = ObjectTracker(frame_rate=TARGET_FPS, lost_track_seconds=camera_cfg.tracker.lost_track_seconds,
                                activation_threshold=camera_cfg.tracker.activation_threshold,
                                high_confidence_threshold=camera_cfg.tracker.high_confidence_threshold)
        probe = _Probe()
        pipe = _instrumented_pipeline(f"cam-{i}", source, detector, tracker,
                                      build_rules(f"cam-{i}", camera_cfg, clock), clock, probe, evidence)
        pipes.append(pipe)
        probes.append(probe)
    cpu0, t0 = time.process_time(), time.time()
    for i, pipe in enumerate(pipes):
        # Staggered over one sampling period: real cameras' frames do not arrive in lockstep.
        time.sleep(1.0 / TARGET_FPS / cameras)
        t = threading.Thread(target=pipe.run, args=(stop,), daemon=True)
        t.start()
        threads.append(t)
    time.sleep(warmup)
    start, analysed0 = time.time(), [p.frames_analysed for p in pipes]
    cpu_start = time.process_time()
    time.sleep(seconds)
    end = time.time()
    cpu = time.process_time() - cpu_start
    analysed = [p.frames_analysed - a for p, a in zip(pipes, analysed0)]
    rss1 = rss_mb()
    stop.set()
    for t in threads:
        t.join(15)
    per_cam_fps, growth, lags, ev_lat, det_lat = [], [], [], [], []
    third = (end - start) / 3
    for n, probe in zip(analysed, probes):
        per_cam_fps.append(n / (end - start))
        window = [(t, lag) for t, lag in probe.samples if start <= t <= end]
        first = [lag for t, lag in window if t < start + third]
        last = [lag for t, lag in window if t > end - third]
        growth.append(statistics.median(last) - statistics.median(first) if first and last else float("inf"))
        lags += [lag for _t, lag in window]
        ev_lat += probe.event_latency
        det_lat += probe.detect_latency[len(probe.detect_latency) // 4:]
    stats = getattr(detector, "stats", lambda: {})()
    result = {
        "cameras": cameras,
        "fps_per_camera_min": round(min(per_cam_fps), 2),
        "fps_per_camera_mean": round(statistics.mean(per_cam_fps), 2),
        "lag_growth_s_max": round(max(growth), 3),
        "lag_s_p50": pct(lags, 0.5), "lag_s_p95": pct(lags, 0.95), "lag_s_p99": pct(lags, 0.99),
        "detect_latency_s_p50": pct(det_lat, 0.5), "detect_latency_s_p95": pct(det_lat, 0.95),
        "event_latency_s": [round(x, 3) for x in sorted(ev_lat)],
        "events": len(ev_lat),
        "cpu_cores_used": round(cpu / (end - start), 2),
        "rss_mb_total": round(rss1, 1),
        "rss_mb_per_camera": round((rss1 - rss0) / cameras, 1),
        "frames_dropped": sum(p.source.stats()["frames_dropped"] for p in pipes),
        "batching": {k: stats.get(k) for k in ("mean_batch", "batch_size_histogram", "triggers", "wait_ms_p50",
                                               "wait_ms_p95")} if stats else None,
    }
    result["sustained"] = (min(per_cam_fps) >= SUSTAIN_FRACTION * TARGET_FPS
                           and max(growth) < MAX_LAG_GROWTH_S)
    return result


def ours_detector(manifest: Path, backend: str, max_batch: int, deadline_ms: float):
    from streams.batching import BatchingDetector
    from streams.pipeline import SharedDetector

    det = load_detector(manifest, backend)
    if max_batch <= 1:
        return SharedDetector(det), lambda: None
    batching = BatchingDetector(det, max_batch=max_batch, batch_deadline_ms=deadline_ms, name=f"bench-{backend}")
    return batching, batching.close


def fresh_metrics(detector):
    """Reset a BatchingDetector's histograms between points (same model, new counts)."""
    if hasattr(detector, "batch_sizes"):
        detector.batch_sizes.clear()
        detector.triggers.clear()
        detector._waits_ms.clear()
        detector._inference_ms.clear()
        detector.batches = detector.images = 0


# -- end to end: naive ---------------------------------------------------------------------------
NAIVE_WORKER = r"""
import json, os, select, sys, time
os.environ.setdefault("YOLO_OFFLINE", "1")
from ultralytics import YOLO
weights, clip, imgsz = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = YOLO(weights, task="detect")
import numpy as np
model.predict(np.zeros((360, 640, 3), np.uint8), imgsz=imgsz, verbose=False)
print("READY", flush=True)
sys.stdin.readline()  # GO
stream = model.track(clip, stream=True, vid_stride=5, imgsz=imgsz, conf=float(sys.argv[4]), iou=float(sys.argv[5]),
                     persist=True, verbose=False)
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


def run_naive(clip: Path, cameras: int, weights: Path, imgsz: int, seconds: float, warmup: float) -> dict:
    procs = []
    for _ in range(cameras):
        procs.append(subprocess.Popen([sys.executable, "-c", NAIVE_WORKER, str(weights), str(clip), str(imgsz),
                                       str(CONFIDENCE), str(IOU)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, cwd=tempfile.gettempdir()))
    for p in procs:
        while True:
            line = p.stdout.readline()
            if not line or line.startswith("READY"):
                break
    for p in procs:
        p.stdin.write("GO\n")
        p.stdin.flush()
    time.sleep(warmup)
    start = time.time()
    cpu_start = [_proc_cpu(p.pid) for p in procs]
    time.sleep(seconds)
    end = time.time()
    cpu_end = [_proc_cpu(p.pid) for p in procs]
    results = []
    for p in procs:
        p.stdin.write("STOP\n")
        p.stdin.flush()
    for p in procs:
        out, _ = p.communicate(timeout=60)
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        results.append(json.loads(line[7:]) if line else None)
    per_cam_fps, frame_s = [], []
    for r in results:
        if r is None:
            per_cam_fps.append(0.0)
            continue
        window = [t for t in r["times"] if start <= t <= end]
        if r["times"] and r["times"][-1] < end - 1.0:  # the clip ran out before the window ended
            log.warning("naive camera finished the clip early; rate measured over its frames only")
        span = (min(end, r["times"][-1]) - start) if r["times"] else 0
        per_cam_fps.append(len(window) / span if span > 0 else 0.0)
        frame_s += [d for t, d in zip(r["times"], r["per_frame"]) if start <= t <= end]
    rss = [r["rss_mb"] for r in results if r]
    result = {
        "cameras": cameras,
        "fps_per_camera_min": round(min(per_cam_fps), 2),
        "fps_per_camera_mean": round(statistics.mean(per_cam_fps), 2),
        # Unpaced: a live camera's lag would grow by (1 - fps/5) seconds per second.
        "lag_growth_s_max": round(max(0.0, (1 - min(per_cam_fps) / TARGET_FPS) * (end - start) * 2 / 3), 3),
        "frame_time_s_p50": pct(frame_s, 0.5), "frame_time_s_p95": pct(frame_s, 0.95),
        "cpu_cores_used": round(sum(b - a for a, b in zip(cpu_start, cpu_end)) / (end - start), 2),
        "rss_mb_total": round(sum(rss), 1),
        "rss_mb_per_camera": round(sum(rss) / cameras, 1) if rss else None,
    }
    result["sustained"] = min(per_cam_fps) >= SUSTAIN_FRACTION * TARGET_FPS
    return result


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


# -- sweep -------------------------------------------------------------------------------------
def sweep(configs: dict, max_cameras: int) -> list[dict]:
    """Grow the camera count; at each count every config still standing runs once, in rotating
    order, so all of them meet the same background load. A point that is not sustained is tried
    once more (the CPU may be shared); a config drops out at its second failure at one count,
    and its last sustained count is the answer."""
    state = {name: {"config": name, "max_cameras_sustained": 0, "points": [], "alive": True} for name in configs}
    steps = [c for c in CAMERA_STEPS if c <= max_cameras]
    for k, n in enumerate(steps):
        alive = [name for name in configs if state[name]["alive"]]
        if not alive:
            break
        order = alive[k % len(alive):] + alive[:k % len(alive)]
        for name in order:
            for attempt in (1, 2):
                point = configs[name](n)
                point["load_1min"] = round(os.getloadavg()[0], 2)
                point["attempt"] = attempt
                state[name]["points"].append(point)
                log.info("%-26s %2d cameras (try %d): min %.2f fps/camera, lag growth %.2f s, %s, load %.1f",
                         name, n, attempt, point["fps_per_camera_min"], point["lag_growth_s_max"],
                         "sustained" if point["sustained"] else "NOT sustained", point["load_1min"])
                if point["sustained"]:
                    state[name]["max_cameras_sustained"] = n
                    break
            else:
                state[name]["alive"] = False
    for row in state.values():
        del row["alive"]
    return list(state.values())


def hardware_slug(info: dict) -> str:
    cpu = info["cpu"].lower()
    vendor = "amd-epyc" if "epyc" in cpu else re.sub(r"[^a-z0-9]+", "-", cpu).strip("-")[:30]
    slug = f"{vendor}-{info['logical_cpus']}cpu"
    if info["gpu"] != "none":
        slug += "-" + re.sub(r"[^a-z0-9]+", "-", info["gpu"].split(",")[0].lower()).strip("-")
    return slug


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    ax = axes[0]
    for res_name, configs in results["end_to_end"].items():
        for cfg in configs:
            xs = [p["cameras"] for p in cfg["points"]]
            ys = [p["fps_per_camera_min"] for p in cfg["points"]]
            ax.plot(xs, ys, marker="o", label=f"{res_name} {cfg['config']} (max {cfg['max_cameras_sustained']})")
    ax.axhline(TARGET_FPS * SUSTAIN_FRACTION, color="grey", ls="--", lw=1)
    ax.set_xlabel("cameras")
    ax.set_ylabel("analysed fps, slowest camera")
    ax.set_title("End to end: sustained at 5 fps?")
    ax.legend(fontsize=7)
    ax = axes[1]
    for res_name, configs in results["end_to_end"].items():
        for cfg in configs:
            xs = [p["cameras"] for p in cfg["points"]]
            ys = [min(p["lag_growth_s_max"], 20) for p in cfg["points"]]
            ax.plot(xs, ys, marker="o", label=f"{res_name} {cfg['config']}")
    ax.axhline(MAX_LAG_GROWTH_S, color="grey", ls="--", lw=1)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("cameras")
    ax.set_ylabel("lag growth over the window (s)")
    ax.set_title("Lag growth (naive: implied by its rate)")
    ax = axes[2]
    by_backend: dict[str, list] = {}
    for row in results["inference_ceiling"]:
        by_backend.setdefault(row["backend"], []).append(row)
    for backend, rows in by_backend.items():
        ax.plot([r["batch"] for r in rows], [r["images_per_s"] for r in rows], marker="o", label=backend)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / s")
    ax.set_title("Inference only (1080p frames, imgsz 320)")
    ax.legend()
    fig.suptitle(f"GridSight throughput on {results['machine']['cpu']} ({results['machine']['logical_cpus']} CPUs); "
                 f"load before {results['load_before']['loadavg_1_5_15'][0]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict) -> str:
    lines = ["", f"{'resolution':<10} {'config':<28} {'max cams @5fps':>14} {'x naive':>8} {'cores/cam':>9} "
                 f"{'RSS MB/cam':>10} {'lag p50/p95 s':>14} {'det p95 s':>9}"]
    for res_name, configs in results["end_to_end"].items():
        naive = next((c["max_cameras_sustained"] for c in configs if c["config"] == "naive"), None)
        for cfg in configs:
            pts = [p for p in cfg["points"] if p["sustained"]] or cfg["points"][:1]
            p = pts[-1]
            ratio = (f"{cfg['max_cameras_sustained'] / naive:.1f}" if naive else "n/a") if cfg["config"] != "naive" else "1.0"
            lag = (f"{p.get('lag_s_p50')}/{p.get('lag_s_p95')}" if "lag_s_p50" in p
                   else f"({p.get('frame_time_s_p50')}/{p.get('frame_time_s_p95')})")
            cores = p["cpu_cores_used"] / p["cameras"]
            lines.append(f"{res_name:<10} {cfg['config']:<28} {cfg['max_cameras_sustained']:>14} {ratio:>8} "
                         f"{cores:>9.2f} {p['rss_mb_per_camera'] or 0:>10.0f} {lag:>14} "
                         f"{p.get('detect_latency_s_p95') or '-':>9}")
    lines.append("(naive lag column: its per-frame processing time p50/p95; it reads the file unpaced)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 s windows, 1080p only, fewer configs (~6 min)")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured wall time per end-to-end point")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before each point's window opens")
    ap.add_argument("--resolutions", default="1080p,720p")
    ap.add_argument("--max-cameras", type=int, default=32)
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--deadline-ms", type=float, default=30.0)
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results/<hardware>)")
    ap.add_argument("--tag", default="", help="suffix for the result file names")
    ap.add_argument("--configs", type=lambda v: [c.strip() for c in v.split(",") if c.strip()], default=None,
                    help="end-to-end configs to run, e.g. naive,ours-pytorch-batch8,ours-onnx-batch8 (default: all at "
                         "the first resolution, naive and the two batched ones at the others)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("inference.models.backend", "streams.sources.source", "streams.pipeline", "ultralytics"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.quick:
        args.seconds, args.warmup, args.resolutions = 10.0, 2.0, "1080p"
    resolutions = [r.strip() for r in args.resolutions.split(",") if r.strip()]

    started = time.time()
    info = machine()
    results: dict = {"machine": info, "load_before": cpu_load(), "settings": {
        "target_fps": TARGET_FPS, "video_fps": VIDEO_FPS, "seconds_per_point": args.seconds, "warmup_s": args.warmup,
        "max_batch": args.max_batch, "batch_deadline_ms": args.deadline_ms, "confidence": CONFIDENCE, "iou": IOU,
        "sustained": f"every camera >= {SUSTAIN_FRACTION:.0%} of {TARGET_FPS} fps and lag growth < {MAX_LAG_GROWTH_S} s",
        "model": MANIFEST.name, "quick": args.quick}}
    log.info("machine: %s; load %s", info["cpu"], results["load_before"]["loadavg_1_5_15"])
    clips = make_clips(sorted(set(resolutions) | {"1080p"}))
    results["clips"] = {name: clip_info(path) for name, path in clips.items()}
    with tempfile.TemporaryDirectory(prefix="gridsight-bench-") as tmp:
        manifest = export_onnx(Path(tmp))
        from inference.models.manifest import load_manifest

        mf, weights = load_manifest(MANIFEST)
        backends = ["pytorch", "onnx"]
        results["decode_ceiling"] = decode_ceiling({r: clips[r] for r in resolutions}, 4.0 if args.quick else 8.0)
        frames = sample_frames(clips["1080p"], 16)
        results["inference_ceiling"] = inference_ceiling(
            manifest, frames, backends, [1, 2, 4, 8, 16], 2.0 if args.quick else 4.0)

        # End to end, per resolution, interleaved; each ours config keeps its model loaded across counts.
        variants = [("ours-pytorch-batch%d" % args.max_batch, "pytorch", args.max_batch, False),
                    ("ours-onnx-batch%d" % args.max_batch, "onnx", args.max_batch, False),
                    ("ours-onnx-batch%d+evidence" % args.max_batch, "onnx", args.max_batch, True),
                    ("ours-onnx-nobatch", "onnx", 1, False)]
        results["end_to_end"] = {}
        for k, res_name in enumerate(resolutions):
            clip = clips[res_name]
            chosen = variants if (k == 0 and not args.quick) else variants[:2]
            if args.configs:
                chosen = [v for v in variants if v[0] in args.configs]
            configs = {}
            if not args.configs or "naive" in args.configs:
                configs["naive"] = lambda n, clip=clip: run_naive(clip, n, weights, mf.input_size, args.seconds,
                                                                  args.warmup)
            closers = []
            for cfg_name, backend, max_batch, evidence in chosen:
                detector, close = ours_detector(manifest, backend, max_batch, args.deadline_ms)
                closers.append(close)

                def point(n, detector=detector, evidence=evidence, clip=clip):
                    fresh_metrics(detector)
                    return run_ours(clip, n, detector, args.seconds, args.warmup, evidence=evidence)

                configs[cfg_name] = point
            results["end_to_end"][res_name] = sweep(configs, args.max_cameras)
            for close in closers:
                close()
    results["load_after"] = cpu_load()
    results["duration_s"] = round(time.time() - started, 1)
    results["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    out = args.out or ROOT / "benchmarks" / "results" / hardware_slug(info)
    out.mkdir(parents=True, exist_ok=True)
    stem = "throughput" + (f"-{args.tag}" if args.tag else "")
    (out / f"{stem}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (out / "machine.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    plot(results, out / f"{stem}.png")
    text = table(results)
    print(text)
    print(f"\nload average before {results['load_before']['loadavg_1_5_15']}, after "
          f"{results['load_after']['loadavg_1_5_15']}; other busy processes: "
          f"{[p['command'][:60] for p in results['load_before']['busy_processes']]}")
    print(f"wrote {out / (stem + '.json')} and {stem}.png in {results['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
