"""Frames for the harvest tests (issue 18): street-like test images whose perceptual hashes
are far apart, their JPEGs, and HarvestFrames built with the wire contract itself."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

from api.contract.harvest import HarvestFrame
from api.harvest_store import NEAR_DUPLICATE_BITS, check_frame, hamming

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 at the site (Asia/Shanghai)


def scene(seed: int, width: int = 320, height: int = 192) -> np.ndarray:
    """A gradient, a few large blocks and a little texture (so its JPEG has some size)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    image = np.broadcast_to(ramp, (height, width, 3)).copy()
    for _ in range(5):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 40))
        image[y:y + int(rng.integers(30, 90)), x:x + int(rng.integers(40, 120))] = rng.integers(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def distinct_scenes(count: int, first_seed: int = 1) -> list[bytes]:
    """``count`` JPEGs whose dHashes are all well further apart than a near-duplicate."""
    chosen: list[bytes] = []
    seed = first_seed
    while len(chosen) < count:
        data = jpeg(scene(seed))
        if all(hamming(check_frame(data, 2**26).dhash, check_frame(c, 2**26).dhash) > NEAR_DUPLICATE_BITS + 4
               for c in chosen):
            chosen.append(data)
        seed += 1
    return chosen


def frame(data: bytes, *, camera: str = "cam-1", at: dt.datetime = T0, reasons=("uncertain",),
          boxes=(), detail=None) -> HarvestFrame:
    """A HarvestFrame of ``data`` (its size read from the JPEG) from model gridsight-demo v4."""
    height, width = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape[:2]
    return HarvestFrame(camera_id=camera, captured_at=at.timestamp(), model_name="gridsight-demo",
                        model_version="v4", reasons=tuple(reasons), jpeg=data, width=width, height=height,
                        boxes=tuple(boxes), detail=detail or {"uncertain_labels": ["garbage_bag"]})
