"""Test clips made with the system ffmpeg, cached so a test session encodes each once.

Clips are H.264 in mp4 with a closed GOP of 2 s (``-g 2*fps -bf 0``) and no
B-frames, so pts == dts and the RTSP server can relay them without re-encoding.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"

# One cache per test process tree; clips are tiny (tens of KiB).
_CACHE_DIR = Path(tempfile.gettempdir()) / f"gridsight-test-media-{os.getuid()}"


def make_test_clip(
    path: str | os.PathLike | None = None,
    seconds: float = 4.0,
    fps: int = 15,
    size: tuple[int, int] = (320, 240),
) -> Path:
    """Encode a ``testsrc2`` clip; with ``path=None`` it is cached by its parameters."""
    width, height = size
    if path is None:
        _CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path = _CACHE_DIR / f"testsrc2_{seconds:g}s_{fps}fps_{width}x{height}.mp4"
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Encode to a temp name and rename, so a killed run never leaves a half clip in the cache.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part.mp4")
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", str(2 * fps), "-keyint_min", str(2 * fps), "-sc_threshold", "0", "-bf", "0",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        str(tmp),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    tmp.replace(path)
    return path


def make_corrupt_file(path: str | os.PathLike, size: int = 64 * 1024, seed: int = 1234) -> Path:
    """Bytes that no demuxer accepts: an mp4 ``ftyp`` box followed by noise.

    The ftyp header makes ffmpeg probe it as mp4 (so the failure is "invalid
    data", not "unknown format"), and the noise means there is no moov atom.
    """
    import random

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    path.write_bytes(ftyp + rng.randbytes(size))
    return path


def make_h264_clip(path: str | os.PathLike, *, frames: int = 60, fps: int = 15, gop: int = 30,
                   size: tuple[int, int] = (320, 240), container_options: dict | None = None) -> Path:
    """A moving-gradient H.264 clip encoded with PyAV: one slice per frame (as most cameras send;
    FFmpeg flags concealed frames of those whatever the decoder threading), key frames every
    ``gop`` frames, no B-frames. mp4 gets its index first (``faststart``), so a cut file still opens."""
    import av
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    if container_options is None:
        container_options = {"movflags": "faststart"} if path.suffix == ".mp4" else {}
    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w", options=container_options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bf": "0",
                          "preset": "ultrafast", "threads": "1"}
        for i in range(frames):
            img = np.empty((height, width, 3), np.uint8)
            img[..., 0] = (xx + 4 * i) % 256
            img[..., 1] = (2 * yy + i) % 256
            img[..., 2] = ((xx ^ yy) + 8 * i) % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def video_packets(path: str | os.PathLike) -> list[tuple[int, int, bool]]:
    """(byte offset in the file, size, key frame) of each video packet, in file order."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pos, p.size, p.is_keyframe) for p in container.demux(stream) if p.size]


def damage_packet(src: str | os.PathLike, dst: str | os.PathLike, index: int, *, length: int = 32,
                  seed: int = 7) -> Path:
    """Copy ``src`` with ``length`` random bytes written over the middle of video packet ``index``:
    its slice header survives, its macroblocks do not (FFmpeg conceals them, "error while decoding MB")."""
    import random

    pos, size, _key = video_packets(src)[index]
    data = bytearray(Path(src).read_bytes())
    rng = random.Random(seed)
    start = pos + size // 2
    data[start:start + length] = rng.randbytes(length)
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


def truncate_in_packet(src: str | os.PathLike, dst: str | os.PathLike, index: int) -> Path:
    """Copy ``src`` cut off halfway through video packet ``index`` (a download or copy that died)."""
    pos, size, _key = video_packets(src)[index]
    dst = Path(dst)
    dst.write_bytes(Path(src).read_bytes()[:pos + size // 2])
    return dst
