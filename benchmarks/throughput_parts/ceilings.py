"""The two ceilings measured in the run and the limit computed from them.

* Decode only: one camera's stream read through streams' own CameraSource (one decoder thread,
  software, unpaced, sampling at the analysis rate so the decoder skips what ours skips), CPU
  seconds per second of video = cores one camera's decoding costs.
* Inference only: images/s at each batch size per backend, alone on the machine, with the CPU
  seconds it used (the backend's threads), so images/s per core is known.

The computed limit: cameras the machine could sustain if decoding and inference were the
only work, every core busy:

    c = decode_core_s_per_video_s + fps * inference_cores / inference_images_per_s   (cores per camera)
    limit_cameras = os.cpu_count() / c

decode runs in parallel across cores (a decoder thread per camera); inference_cores is what
the backend kept busy at its best batch (its threads), so ``inference_images_per_s /
inference_cores`` is images/s per core.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np

from throughput_parts.common import KEYFRAME_FPS, TARGET_FPS, VIDEO_FPS, log
from throughput_parts.media import KEYFRAME_CLIP

LIMIT_FORMULA = ("limit_cameras = cpu_count / (decode_core_s_per_video_s + analysis_fps * inference_cores / "
                 "inference_images_per_s)")


def decode_modes(name: str) -> list[tuple[str, float, dict]]:
    """(label, analysis fps, SourceOptions fields) measured for one clip: ours' decoding at its
    analysis rate, and every frame decoded for reference."""
    if name == KEYFRAME_CLIP:
        return [("keyframes", KEYFRAME_FPS, {"decode": "keyframes"}),
                ("nonref", KEYFRAME_FPS, {"decode": "all", "skip_nonref": True})]
    return [("nonref", TARGET_FPS, {"decode": "all", "skip_nonref": True}),
            ("all", TARGET_FPS, {"decode": "all", "skip_nonref": False})]


def _decode_one(clip: Path, fps: float, fields: dict, seconds: float) -> dict:
    from streams.sources.source import CameraSource, SourceOptions

    src = CameraSource("decode", str(clip), analysis_fps=fps,
                       options=SourceOptions(decode_threads=1, loop=True, hwaccel=None, **fields))
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
    return {"elapsed": elapsed, "cpu": cpu, "sampled": sampled, "video_frames": video_frames,
            "skipped": stats["frames_skipped"], "decode_reported": stats["decode"]}


def decode_ceiling(clips: dict[str, Path], seconds: float) -> list[dict]:
    rows = []
    for name, clip in clips.items():
        for label, fps, fields in decode_modes(name):
            r = _decode_one(clip, fps, fields, seconds)
            video_s = r["video_frames"] / VIDEO_FPS
            rows.append({
                "resolution": name, "mode": label, "analysis_fps": fps, "decode_threads": 1,
                "skip_nonref": fields.get("skip_nonref", False), "decode_reported": r["decode_reported"],
                "video_fps": round(r["video_frames"] / r["elapsed"], 1),
                "sampled_fps": round(r["sampled"] / r["elapsed"], 1),
                "cpu_s_per_wall_s": round(r["cpu"] / r["elapsed"], 2),
                "decode_core_s_per_video_s": round(r["cpu"] / video_s, 4) if video_s else None,
                "skipped_fraction": round(r["skipped"] / max(1, r["video_frames"]), 2),
                "cameras_per_core": round(video_s / r["cpu"], 1) if r["cpu"] else None,
            })
            log.info("decode %s %s at %g fps: %.4f core per camera (%.0f video fps on one thread)", name, label, fps,
                     rows[-1]["decode_core_s_per_video_s"] or 0, rows[-1]["video_fps"])
    return rows


def _timed(copies: list, images: list[np.ndarray], seconds: float) -> dict:
    """Each copy of the model detecting ``images`` over and over in a thread of its own, all at once,
    for ``seconds`` (and at least two batches each), after one warm-up batch each."""
    import threading

    for copy in copies:
        copy.detect(images)
    batch = len(images)
    counts, calls = [0] * len(copies), []
    cpu0, t0 = time.process_time(), time.perf_counter()

    def run(i: int) -> None:
        while time.perf_counter() - t0 < seconds or counts[i] < 2 * batch:
            t = time.perf_counter()
            copies[i].detect(images)
            calls.append(time.perf_counter() - t)
            counts[i] += batch

    workers = [threading.Thread(target=run, args=(i,)) for i in range(len(copies))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed, cpu, n = time.perf_counter() - t0, time.process_time() - cpu0, sum(counts)
    return {"batch": batch, "streams": len(copies), "images_per_s": round(n / elapsed, 1),
            "ms_per_batch_p50": round(1000 * statistics.median(calls), 1), "ms_per_image": round(1000 * elapsed / n, 1),
            "inference_cores": round(cpu / elapsed, 2)}


def inference_ceiling(manifest: Path, frames: list[np.ndarray], backends: list[str], batches: list[int],
                      seconds: float) -> list[dict]:
    """Images per second of each backend at each batch size, one copy; for OpenVINO also two copies at
    once on half the cores each at the largest batch (ours' inference streams: streams.shared_detector),
    so the limit is the better of the two ways, not ours' alone."""
    from throughput_parts.models import load_detector

    rows = []
    for backend in backends:
        single = [load_detector(manifest, backend)]
        runs = [(single, batch) for batch in batches]
        if backend.startswith("openvino") and (os.cpu_count() or 1) >= 2:
            threads = max(1, (os.cpu_count() or 1) // 2)
            runs.append(([load_detector(manifest, backend, cpu_threads=threads) for _ in range(2)], max(batches)))
        for copies, batch in runs:
            row = {"backend": backend, **_timed(copies, (frames * (batch // len(frames) + 1))[:batch], seconds)}
            rows.append(row)
            log.info("inference %s batch %d, %d copies: %.1f images/s on %.2f cores", backend, batch, row["streams"],
                     row["images_per_s"], row["inference_cores"])
        del runs
    return rows


def computed_limit(decode_core_s_per_video_s: float, images_per_s: float, inference_cores: float, fps: float,
                   cpu_count: int) -> dict:
    """Cameras ``cpu_count`` cores could sustain at ``fps`` if decoding and inference were the only
    work (see the module docstring). inference_cores is clamped to [1, cpu_count]."""
    cores = min(max(1.0, inference_cores), float(cpu_count))
    inference_core_s_per_image = cores / images_per_s
    per_camera = decode_core_s_per_video_s + fps * inference_core_s_per_image
    return {
        "formula": LIMIT_FORMULA,
        "cpu_count": cpu_count, "analysis_fps": fps,
        "decode_core_s_per_video_s": round(decode_core_s_per_video_s, 4),
        "inference_images_per_s": round(images_per_s, 1), "inference_cores": round(cores, 2),
        "inference_core_s_per_image": round(inference_core_s_per_image, 5),
        "cores_per_camera": round(per_camera, 4),
        "limit_cameras": round(cpu_count / per_camera, 1),
    }


def limit_for(decode_rows: list[dict], inference_rows: list[dict], clip: str, mode: str, backend: str,
              fps: float) -> dict | None:
    """The computed limit for one scenario from this run's ceilings (the backend's best batch)."""
    decode = next((r for r in decode_rows if r["resolution"] == clip and r["mode"] == mode), None)
    rows = [r for r in inference_rows if r["backend"] == backend]
    if decode is None or not rows or not decode["decode_core_s_per_video_s"]:
        return None
    best = max(rows, key=lambda r: r["images_per_s"])
    out = computed_limit(decode["decode_core_s_per_video_s"], best["images_per_s"], best["inference_cores"], fps,
                         os.cpu_count() or 1)
    out.update(clip=clip, decode_mode=mode, backend=backend, best_batch=best["batch"],
               best_streams=best.get("streams", 1))
    return out
