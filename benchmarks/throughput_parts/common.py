"""Constants and the small pure pieces every part shares: percentiles, the analysed rate
of a list of completion times, and the "sustained" criterion."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

CACHE = ROOT / "var" / "bench"
MANIFEST = ROOT / "weights" / "gridsight-demo-v4.yaml"
DEMO_CONFIG = ROOT / "configs" / "demo.yaml"
VIDEO_FPS = 25
TARGET_FPS = 5.0
KEYFRAME_FPS = 0.5  # one analysed frame per key frame of a 2 s GOP
KEYFRAME_GOP_S = 2.0
CONFIDENCE, IOU = 0.2, 0.5  # configs/demo.yaml's model settings
SUSTAIN_FRACTION = 0.95
MAX_LAG_GROWTH_S = 0.5
CAMERA_STEPS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32]

log = logging.getLogger("benchmark")


def pct(values, q) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def analysed_rate(times: list[float]) -> float:
    """Frames per second from the completion times of one camera's frames in the window:
    (n - 1) intervals over the span from the first to the last. A window holding few frames
    (key-frame rate: 0.5 fps, 8 in 16 s) is then not judged by where its edges fall, which a
    count over the window's length would be (7 or 8 frames: 88 % or 100 %)."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else 0.0


def is_sustained(rates: list[float], lag_growths: list[float], target_fps: float) -> bool:
    """Every camera analysed at >= 95 % of ``target_fps`` and no camera's lag grew by 0.5 s or more
    between the first and the last third of the window."""
    if not rates:
        return False
    return min(rates) >= SUSTAIN_FRACTION * target_fps and max(lag_growths, default=0.0) < MAX_LAG_GROWTH_S
