"""The machine, its load, and the clips: the synthetic street clip re-encoded per camera
stream (1080p and 720p main streams, the 640x360 detect substream, a 1080p stream with a
key frame exactly every 2 s), cached under var/bench/ (or ``cache``)."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from throughput_parts.common import CACHE, KEYFRAME_GOP_S, VIDEO_FPS, log

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080), "360p": (640, 360)}
KEYFRAME_CLIP = "1080p-gop2s"
RECORD_CLIP = "1080p-record"  # the record stream, served over RTSP: no B-frames (the test server relays as is)


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001
        return None


def machine() -> dict:
    from gridsight.hardware import cpu_features, cpu_model

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
        "cpu_features": cpu_features(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "gpu": gpu,
        "cuda_available": bool(torch.cuda.is_available()),
        "tensorrt": _version("tensorrt"),
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": {m: _version(m) for m in ("torch", "ultralytics", "onnxruntime", "openvino", "av", "cv2",
                                              "numpy")},
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


def hardware_slug(info: dict) -> str:
    cpu = info["cpu"].lower()
    vendor = "amd-epyc" if "epyc" in cpu else re.sub(r"[^a-z0-9]+", "-", cpu).strip("-")[:30]
    slug = f"{vendor}-{info['logical_cpus']}cpu"
    vector = (info.get("cpu_features") or {}).get("vector_flags")
    if vector and "avx512f" not in vector:  # not comparable with an AVX-512 host's results: their own folder
        slug += "-avx2"
    if info["gpu"] != "none":
        slug += "-" + re.sub(r"[^a-z0-9]+", "-", info["gpu"].split(",")[0].lower()).strip("-")
    return slug


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _base_clip(cache: Path, smoke: bool) -> Path:
    """The scene every stream is encoded from: the rendered synthetic street clip (640x360, 25 fps,
    ~30 s), or in smoke runs a 6 s testsrc2 (nothing to render)."""
    base = cache / "base-640.mp4"
    if base.exists():
        return base
    if smoke:
        _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=640x360:rate={VIDEO_FPS}:duration=6", "-c:v", "libx264",
                "-preset", "veryfast", "-pix_fmt", "yuv420p", str(base))
    else:
        from gridsight.synth.clip import write_demo_clip

        log.info("rendering the synthetic street clip (640x360, 25 fps, ~30 s)")
        write_demo_clip(base, fps=VIDEO_FPS)
    return base


def _encode(base: Path, out: Path, size: tuple[int, int], extra: tuple[str, ...] = ()) -> None:
    if out.exists():
        return
    log.info("encoding %s", out.name)
    tmp = out.with_suffix(".partial.mp4")
    w, h = size
    _ffmpeg("-i", str(base), "-vf", f"scale={w}:{h}:flags=bicubic,noise=alls=6:allf=t", "-c:v", "libx264",
            "-preset", "veryfast", "-g", "50", "-keyint_min", "25", *extra, "-pix_fmt", "yuv420p", "-an", str(tmp))
    tmp.replace(out)


def _keyframe_clip(base: Path, cache: Path, seconds: float) -> Path:
    """benchmarks/keyframe_decode.py's 1080p clip with a key frame exactly every 2 s, from the same scene."""
    from keyframe_decode import render

    folder = cache / "gop"
    folder.mkdir(exist_ok=True)
    scene = folder / "street-640x360.mp4"  # the name render() encodes from
    if not scene.exists():
        shutil.copyfile(base, scene)
    return render(folder, KEYFRAME_GOP_S, seconds)


def _looped(clip: Path, loops: int) -> Path:
    """The clip repeated (stream copy): the unpaced naive loop must not run out within a point."""
    long = clip.with_name(clip.stem + "-long.mp4")
    if not long.exists():
        _ffmpeg("-stream_loop", str(loops), "-i", str(clip), "-c", "copy", str(long))
    return long


def phased(clip: Path, phases: int, period_s: float) -> list[Path]:
    """``clip`` (a looped clip) and copies of it starting ``k * period_s / phases`` seconds later
    (stream copy, so each starts at the key frame at or before that point), for k < phases: cameras
    given different copies reach the scene's events at different moments, as independent cameras
    do, instead of all in the same second."""
    duration = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                     str(clip)], capture_output=True, text=True, check=True).stdout.strip())
    period_s = min(period_s, duration / 2)  # smoke clips are shorter than a showing
    copies = [clip]
    for k in range(1, phases):
        offset = k * period_s / phases
        out = clip.with_name(f"{clip.stem}-at{offset:.0f}s.mp4")
        if not out.exists():
            tmp = out.with_suffix(".partial.mp4")
            _ffmpeg("-ss", f"{offset:.3f}", "-i", str(clip), "-c", "copy", "-avoid_negative_ts", "make_zero", str(tmp))
            tmp.replace(out)
        copies.append(out)
    return copies


def make_clips(resolutions: list[str], cache: Path | None = None, smoke: bool = False) -> dict[str, Path]:
    """One clip per name: "1080p", "720p", "360p" (x264 defaults: 3 B-frames; a 50-frame GOP with
    scene-cut key frames; light temporal noise so the bitrate is a camera's, ~2 Mbit/s at 1080p)
    and "1080p-gop2s" (a key frame exactly every 2 s, none at scene cuts, rendered by
    benchmarks/keyframe_decode.py), and "1080p-record" (no B-frames, not looped: the RTSP test
    server relays it as the record stream and loops it itself). Each is looped to ~2 min (5 min for the key-frame clip, which
    the naive loop reads at vid_stride 50)."""
    cache = Path(cache or CACHE) / ("smoke" if smoke else "")
    cache.mkdir(parents=True, exist_ok=True)
    base = _base_clip(cache, smoke)
    clips = {}
    for name in resolutions:
        if name == KEYFRAME_CLIP:
            clips[name] = _looped(_keyframe_clip(base, cache, 6.0 if smoke else 30.0), 9)
            continue
        if name == RECORD_CLIP:
            clips[name] = cache / "street-1920x1080-nobf.mp4"
            _encode(base, clips[name], RESOLUTIONS["1080p"], ("-bf", "0"))
            continue
        w, h = RESOLUTIONS[name]
        out = cache / f"street-{w}x{h}.mp4"
        _encode(base, out, (w, h))
        clips[name] = _looped(out, 3)
    return clips


def clip_info(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,r_frame_rate,bit_rate,nb_frames,has_b_frames,profile",
                          "-of", "json", str(path)], capture_output=True, text=True)
    info = json.loads(out.stdout)["streams"][0]
    info["file"] = path.name
    return info


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
