"""Decode cost per camera: every frame vs non-reference frames skipped vs key frames only.

Renders the synthetic street clip at 1080p25 H.264 per GOP (x264 defaults, B-frames included,
sensor-like noise: the throughput benchmark's camera clip, ~2 Mbit/s; ``-g`` sets the GOP, no
scene-cut key frames) and reads it
through the worker's own :class:`streams.sources.source.CameraSource` (one decoder thread,
software, as fast as the CPU allows) at an analysis rate slower than the GOP, in three modes:

* ``all``: ``decode: all`` with non-reference skipping off (every frame decoded),
* ``nonref``: ``decode: all`` (non-reference B-frames skipped: what cameras got before),
* ``keyframes``: ``decode: keyframes`` (key frames only).

The cost is the process CPU time (user + system) per second of video, i.e. cores per camera,
median of interleaved repeats; the sampled frames' BGR conversion is included (it is the
same few frames in every mode). Ratios are against ``all`` measured in the same run. PyAV
alone (demux + decode, nothing converted) with ``skip_frame`` DEFAULT and NONKEY gives the
milliseconds per decoded frame and per key frame.

    .venv/bin/python benchmarks/keyframe_decode.py [--gops 1 2] [--fps 0.5] [--seconds 20] [--repeats 3]

Writes ``benchmarks/results/<machine>/keyframe_decode.json`` with the machine and the load
average before, during (per run) and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from scenario_eval import machine, results_dir  # noqa: E402
from streams.sources.source import CameraSource, SourceOptions  # noqa: E402

FPS = 25
MODES = {
    "all": dict(decode="all", skip_nonref=False),
    "nonref": dict(decode="all", skip_nonref=True),
    "keyframes": dict(decode="keyframes"),
}


def render(clips: Path, gop_s: float, seconds: float) -> Path:
    """The synthetic street clip scaled to 1080p with sensor-like noise, as benchmarks/throughput.py
    encodes it (~2 Mbit/s), but with a key frame exactly every ``gop_s``."""
    base = clips / "street-640x360.mp4"
    if not base.exists():
        from gridsight.synth.clip import write_demo_clip

        write_demo_clip(base, fps=FPS)
    path = clips / f"street-1080p-gop{gop_s:g}s-{seconds:g}s.mp4"
    if not path.exists():
        gop = str(int(round(gop_s * FPS)))
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(base), "-t", f"{seconds:g}",
                        "-vf", "scale=1920:1080:flags=bicubic,noise=alls=6:allf=t", "-c:v", "libx264",
                        "-preset", "veryfast", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
                        "-pix_fmt", "yuv420p", "-an", str(path)], check=True)
    return path


def one_run(path: Path, fps: float, mode: str) -> dict:
    options = SourceOptions(decode_threads=1, hwaccel=None, **MODES[mode])
    src = CameraSource("bench", str(path), analysis_fps=fps, options=options)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    src.start()
    frames = 0
    while src.read(timeout=30) is not None:
        frames += 1
    src.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stats = src.stats()
    return {"cpu_s": cpu, "wall_s": wall, "frames_decoded": stats["frames_decoded"],
            "frames_skipped": stats["frames_skipped"], "frames_analysed": frames, "decode": stats["decode"],
            "load_1min": os.getloadavg()[0]}


def raw_decode(path: Path, skip_frame: str) -> dict:
    """PyAV alone, nothing converted: demux + decode with ``skip_frame`` (CPU s, frames out)."""
    import av

    cpu0 = time.process_time()
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        stream.codec_context.skip_frame = skip_frame
        for packet in container.demux(stream):
            frames += len(packet.decode())
    return {"cpu_s": time.process_time() - cpu0, "frames": frames}


def measure(path: Path, gop_s: float, fps: float, seconds: float, repeats: int) -> dict:
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    raw: dict[str, list[dict]] = {"DEFAULT": [], "NONKEY": []}
    for _ in range(repeats):
        for mode in MODES:  # interleaved: a load change hits every mode alike
            runs[mode].append(one_run(path, fps, mode))
        for skip in raw:
            raw[skip].append(raw_decode(path, skip))
    out = {}
    for mode, rs in runs.items():
        cpu = statistics.median(r["cpu_s"] for r in rs)
        out[mode] = {"cpu_s_median": round(cpu, 3), "cores_per_camera": round(cpu / seconds, 4),
                     "cameras_per_core": round(seconds / cpu, 1) if cpu else None,
                     "ms_per_decoded_frame": round(1000 * cpu / rs[0]["frames_decoded"], 2),
                     "frames_decoded": rs[0]["frames_decoded"], "frames_analysed": rs[0]["frames_analysed"],
                     "decode_reported": rs[0]["decode"], "runs": rs}
    base = out["all"]["cpu_s_median"]
    for mode in MODES:
        out[mode]["ratio_vs_baseline"] = round(base / out[mode]["cpu_s_median"], 2)  # x fewer cores than "all"
    decoder_only = {}
    for skip, rs in raw.items():
        cpu = statistics.median(r["cpu_s"] for r in rs)
        decoder_only[skip] = {"cpu_s_median": round(cpu, 3), "frames": rs[0]["frames"],
                              "ms_per_frame": round(1000 * cpu / rs[0]["frames"], 2)}
    return {"gop_s": gop_s, "analysis_fps": fps, "video_seconds": seconds, "modes": out,
            "pyav_decode_only": decoder_only}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gops", type=float, nargs="+", default=[1.0, 2.0], help="GOPs in seconds")
    ap.add_argument("--fps", type=float, default=0.5, help="analysis rate (interval >= every GOP measured)")
    ap.add_argument("--seconds", type=float, default=20.0, help="clip length (the street clip is 30 s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clips", help="where to keep the rendered clips (default: a temporary folder)")
    ap.add_argument("--out", help="JSON path (default benchmarks/results/<machine>/keyframe_decode.json)")
    args = ap.parse_args(argv)

    info = machine("cpu")
    clips = Path(args.clips or tempfile.mkdtemp(prefix="keyframe-decode-"))
    clips.mkdir(parents=True, exist_ok=True)
    results = []
    for gop_s in args.gops:
        path = render(clips, gop_s, args.seconds)
        result = measure(path, gop_s, args.fps, args.seconds, args.repeats)
        result["clip_bytes"] = path.stat().st_size
        results.append(result)
        for mode, r in result["modes"].items():
            print(f"GOP {gop_s:g} s, {args.fps:g} fps, {mode:9s}: {r['cores_per_camera']:.4f} cores/camera "
                  f"({r['frames_decoded']} frames decoded, {r['ratio_vs_baseline']:.1f}x fewer cores than all)",
                  flush=True)
        for skip, r in result["pyav_decode_only"].items():
            print(f"GOP {gop_s:g} s, PyAV alone, skip_frame={skip}: {r['ms_per_frame']:.2f} ms per decoded frame "
                  f"({r['frames']} frames)", flush=True)
    info["load_average_at_end"] = os.getloadavg()
    report = {"benchmark": "keyframe_decode", "machine": info, "resolution": "1920x1080", "video_fps": FPS,
              "clip_bytes_per_s": {r["gop_s"]: r["clip_bytes"] / args.seconds for r in results},
              "decoder": "software, 1 thread (SourceOptions(decode_threads=1, hwaccel=None))",
              "measured": "process CPU s (user+system) per video second; median of interleaved repeats",
              "repeats": args.repeats, "results": results}
    out = Path(args.out) if args.out else results_dir(info) / "keyframe_decode.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
