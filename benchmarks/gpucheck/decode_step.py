"""Step 3: the decode ceiling -- NVDEC on a CUDA host, the software decoder otherwise.

Two measurements on the rendered 1080p25 clip (benchmarks/keyframe_decode.py's ``render``:
the throughput benchmark's street clip, 2 s GOP, camera-like noise):

* the worker's own path: N :class:`streams.sources.source.CameraSource` readers (one decoder
  thread each, every frame decoded, frames sampled at 5 fps and converted to BGR in host
  memory), with ``hwaccel="cuda"`` (PyAV's ``HWAccel``, software fallback allowed: each
  source's ``stats()["hwaccel"]`` says whether NVDEC really decoded) or in software;
* the decoder alone, frames left on the GPU: ``ffmpeg -hwaccel cuda -hwaccel_output_format
  cuda`` into the null muxer, and PyAV with ``HWAccel(..., is_hw_owned=True)`` (no download to
  host memory); in software, plain ``ffmpeg``.

Rates are video frames per second; ``cameras_at_25fps`` is that over 25.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

from gpucheck.budget import Outcome, StepFailed, fallback, ok, one_line

VIDEO_FPS = 25
SAMPLE_FPS = 5.0
GPU_STREAM_COUNTS = (1, 8, 32)  # NVDEC sessions run concurrently; the aggregate is the ceiling


def make_clip(cache: Path, seconds: float) -> Path:
    """The 1080p25 street clip, rendered once and cached."""
    from keyframe_decode import render

    cache.mkdir(parents=True, exist_ok=True)
    return render(cache, 2.0, seconds)


def sources_rate(clip: Path, streams: int, hwaccel: str | None, seconds: float) -> dict:
    """Aggregate decode rate of ``streams`` concurrent worker sources, each drained by its own thread."""
    from streams.sources.source import CameraSource, SourceOptions

    options = SourceOptions(decode_threads=1, loop=True, skip_nonref=False, decode="all", hwaccel=hwaccel)
    sources = [CameraSource(f"decode-{i}", str(clip), analysis_fps=SAMPLE_FPS, options=options) for i in range(streams)]
    stop = threading.Event()

    def drain(source) -> None:
        while not stop.is_set():
            source.read(timeout=1.0)

    drains = [threading.Thread(target=drain, args=(s.start(),), daemon=True) for s in sources]
    for thread in drains:
        thread.start()
    time.sleep(min(1.0, seconds / 4))  # opening and the first GOP are not the steady rate
    first = [s.stats()["frames_decoded"] for s in sources]
    t0 = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - t0
    stats = [s.stats() for s in sources]
    stop.set()
    for source in sources:
        source.stop()
    frames = sum(st["frames_decoded"] for st in stats) - sum(first)
    return {"path": "streams.sources.CameraSource", "streams": streams, "hwaccel_asked": hwaccel,
            "hwaccel_used": sorted({str(st["hwaccel"]) for st in stats}),
            "video_fps": round(frames / elapsed, 1), "cameras_at_25fps": round(frames / elapsed / VIDEO_FPS, 1),
            "seconds": round(elapsed, 1)}


FFMPEG_STARTUP_S = 15.0  # how long ffmpeg may take to report its first decoded frame (a loaded CI host: seconds)


def ffmpeg_rate(clip: Path, cuda: bool, seconds: float) -> dict:
    """ffmpeg decoding the looped clip into the null muxer for ``seconds`` after its first decoded frame
    (start-up, which a loaded host stretches, is neither in the window nor in the rate); the rate between
    its first and last progress reports."""
    hw = ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"] if cuda else []
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-stats_period", "0.5",
           *hw, "-stream_loop", "-1", "-i", str(clip), "-f", "null", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reports: list[tuple[float, int]] = []

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("frame="):
                reports.append((time.perf_counter(), int(line.split("=", 1)[1])))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.perf_counter()
    deadline = started + FFMPEG_STARTUP_S + seconds
    while time.perf_counter() < deadline and proc.poll() is None:
        first = next((t for t, frame in list(reports) if frame > 0), None)
        if first is not None:
            deadline = min(deadline, first + seconds + 0.6)  # + one stats period, for a last report
        time.sleep(0.1)
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    reader.join(5)
    steady = [r for r in reports if r[1] > 0]
    if len(steady) < 2:
        raise StepFailed(f"ffmpeg {'-hwaccel cuda ' if cuda else ''}decoded nothing: "
                         f"{(err.strip().splitlines() or ['no output'])[-1][:200]}")
    (t0, f0), (t1, f1) = steady[0], steady[-1]
    fps = (f1 - f0) / max(t1 - t0, 1e-6)
    return {"path": "ffmpeg -hwaccel cuda -hwaccel_output_format cuda" if cuda else "ffmpeg (software)",
            "video_fps": round(fps, 1), "cameras_at_25fps": round(fps / VIDEO_FPS, 1), "seconds": round(t1 - t0, 1)}


def pyav_on_gpu_rate(clip: Path, seconds: float) -> dict:
    """PyAV decoding on NVDEC with the frames left in GPU memory (``HWAccel(is_hw_owned=True)``, no
    download): what a GPU-resident pipeline could decode, one stream, as fast as it goes."""
    import av
    from av.codec.hwaccel import HWAccel

    hwaccel = HWAccel(device_type="cuda", allow_software_fallback=False, is_hw_owned=True)
    frames, formats, t0 = 0, set(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        with av.open(str(clip), hwaccel=hwaccel) as container:
            for frame in container.decode(video=0):
                frames += 1
                formats.add(frame.format.name)
                if time.perf_counter() - t0 >= seconds:
                    break
    elapsed = time.perf_counter() - t0
    return {"path": "PyAV HWAccel(cuda, is_hw_owned=True)", "frame_formats": sorted(formats),
            "video_fps": round(frames / elapsed, 1), "cameras_at_25fps": round(frames / elapsed / VIDEO_FPS, 1),
            "seconds": round(elapsed, 1)}


def optional_row(path: str, measure, *args) -> dict:
    """A decoder-alone rate, or why it could not be measured (the worker's own path is the verdict)."""
    try:
        return measure(*args)
    except Exception as exc:  # noqa: BLE001 -- recorded in the row
        return {"path": path, "error": one_line(exc)}


def nvdec_missing() -> str | None:
    """Why NVDEC cannot be used from the worker's PyAV here, or None."""
    from streams.sources.opener import _hwaccel_missing

    return _hwaccel_missing("cuda")


def decode_step(clip: Path, *, cuda: bool, cpu_reason: str, budget_s: float) -> Outcome:
    if not shutil.which("ffmpeg"):
        raise StepFailed("ffmpeg is not on PATH")
    missing = nvdec_missing() if cuda else cpu_reason
    if missing:
        seconds = 2.0
        rows = [sources_rate(clip, 1, None, seconds),
                optional_row("ffmpeg (software)", ffmpeg_rate, clip, False, seconds)]
        return fallback(f"{missing}: NVDEC skipped, software decoder measured instead", rates=rows)
    seconds = max(2.0, min(6.0, budget_s / (len(GPU_STREAM_COUNTS) + 4)))
    rows = [sources_rate(clip, n, "cuda", seconds) for n in GPU_STREAM_COUNTS]
    software = [r for r in rows if r["hwaccel_used"] != ["cuda"]]
    rows.append(optional_row("ffmpeg -hwaccel cuda", ffmpeg_rate, clip, True, seconds))
    rows.append(optional_row("PyAV HWAccel(cuda, is_hw_owned=True)", pyav_on_gpu_rate, clip, seconds))
    if software:
        return fallback(f"PyAV's NVDEC did not open for {len(software)} of {len(GPU_STREAM_COUNTS)} points "
                        "(decoded in software; see the log)", rates=rows)
    return ok(rates=rows)
