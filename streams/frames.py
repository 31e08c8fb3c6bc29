"""The frozen envelope a decoded frame travels in, and the camera status events.

A source never fabricates a frame: when a read fails it emits a
:class:`CameraStatusEvent` instead, so downstream stages can tell "the street
is empty" from "the camera is down".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

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


class CameraState(str, enum.Enum):
    CONNECTING = "connecting"
    ONLINE = "online"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CameraStatusEvent:
    camera_id: str
    state: CameraState
    at: float  # unix seconds
    reason: str | None = None  # already credential-redacted
    attempt: int = 0  # consecutive failed connection attempts
    retry_in_s: float | None = None
    details: dict = field(default_factory=dict)
    last_frame_at: float | None = None  # unix seconds of the newest frame (the API's last_seen_at)
    # The camera's config (grid cell, address): the API shows them for a camera nobody registered.
    grid_cell: str | None = None
    address: str | None = None

    def to_dict(self) -> dict:
        hints = {k: v for k, v in (("grid_cell", self.grid_cell), ("address", self.address)) if v is not None}
        return {**hints,
            "camera_id": self.camera_id,
            "state": self.state.value,
            "at": self.at,
            "reason": self.reason,
            "attempt": self.attempt,
            "retry_in_s": self.retry_in_s,
            "details": dict(self.details),
            "last_frame_at": self.last_frame_at,
        }
