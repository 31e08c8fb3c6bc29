"""The frozen envelope a decoded frame travels in.

A source never fabricates a frame: when a read fails it emits a camera status
event (:mod:`api.contract.wire`) instead, so downstream stages can tell "the
street is empty" from "the camera is down".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VideoFrame:
    image: np.ndarray  # HxWx3 uint8, BGR (OpenCV order, what ultralytics expects)
    frame_id: int  # monotonically increasing per camera, counts every decoded frame
    captured_at: float  # unix seconds: wall clock for live sources, open time + pts for files
    camera_id: str

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
