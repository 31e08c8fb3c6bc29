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
