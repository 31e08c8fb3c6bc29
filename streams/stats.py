"""Thread-safe counters a CameraSource exposes through ``stats()``.

Written by the reader thread, read by the worker's stats reporter; one lock,
held only for a few arithmetic operations.
"""

from __future__ import annotations

import threading

# Weight of the newest inter-frame interval in the input-rate EMA (~10-frame memory).
_EMA_ALPHA = 0.1


class SourceStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.reconnects = 0
        self.decode_errors = 0
        self.last_frame_at: float | None = None
        self._dt_ema: float | None = None  # seconds between decoded frames
        self._last_decoded: float | None = None  # monotonic

    def decoded(self, now_mono: float) -> None:
        with self._lock:
            self.frames_decoded += 1
            if self._last_decoded is not None:
                dt = max(0.0, now_mono - self._last_decoded)
                self._dt_ema = dt if self._dt_ema is None else (
                    (1 - _EMA_ALPHA) * self._dt_ema + _EMA_ALPHA * dt)
            self._last_decoded = now_mono

    def sampled(self, captured_at: float) -> None:
        with self._lock:
            self.frames_sampled += 1
            self.last_frame_at = captured_at

    def decode_error(self) -> None:
        with self._lock:
            self.decode_errors += 1

    def reconnect(self) -> None:
        with self._lock:
            self.reconnects += 1
            # The old rate says nothing about the next connection; don't report a
            # healthy fps_in for a camera that is down.
            self._dt_ema = None
            self._last_decoded = None

    def snapshot(self) -> dict:
        with self._lock:
            fps = 1.0 / self._dt_ema if self._dt_ema else 0.0
            return {
                "frames_decoded": self.frames_decoded,
                "frames_sampled": self.frames_sampled,
                "reconnects": self.reconnects,
                "decode_errors": self.decode_errors,
                "last_frame_at": self.last_frame_at,
                "fps_in": fps,
            }
