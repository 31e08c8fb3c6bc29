"""What crosses the wire between a camera worker and the operations-centre API.

Defined once, imported by both sides: the worker builds these shapes and the API
reads them. Nothing else of :mod:`api` is imported by :mod:`streams`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
