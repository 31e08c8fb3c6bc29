"""Thread-safe counters a CameraSource exposes through ``stats()``.

Written by the reader thread, read by the worker's stats reporter; one lock,
held only for a few arithmetic operations.
"""

from __future__ import annotations

import math
import threading
from collections import deque

# Weight of the newest inter-frame interval in the input-rate EMA (~10-frame memory).
_EMA_ALPHA = 0.1


class CorruptWindow:
    """The share of decoded frames that were corrupt over the last ``window_s`` seconds.

    Counted in one-second buckets of the monotonic clock, so memory stays bounded
    (at most ``window_s + 1`` buckets) whatever the frame rate."""

    def __init__(self, window_s: float) -> None:
        if not window_s > 0:
            raise ValueError("window_s must be > 0")
        self.window_s = float(window_s)
        self._buckets: deque[list[int]] = deque()  # [second, frames, corrupt]

    def add(self, now_mono: float, corrupt: bool) -> None:
        second = math.floor(now_mono)
        if self._buckets and self._buckets[-1][0] == second:
            bucket = self._buckets[-1]
        else:
            bucket = [second, 0, 0]
            self._buckets.append(bucket)
        bucket[1] += 1
        bucket[2] += int(corrupt)
        self._expire(now_mono)

    def counts(self, now_mono: float) -> tuple[int, int]:
        """(corrupt, decoded) frames within the window ending at ``now_mono``."""
        self._expire(now_mono)
        return sum(b[2] for b in self._buckets), sum(b[1] for b in self._buckets)

    def _expire(self, now_mono: float) -> None:
        oldest = math.floor(now_mono - self.window_s)
        while self._buckets and self._buckets[0][0] < oldest:
            self._buckets.popleft()

    def clear(self) -> None:
        self._buckets.clear()


class SourceStats:
    def __init__(self, corrupt_window_s: float = 60.0) -> None:
        self._lock = threading.Lock()
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.reconnects = 0
        self.decode_errors = 0
        # Decoded frames not analysed because damaged: flagged corrupt by the decoder
        # (error concealment) or demuxer, or predicted from such a frame (until the next key frame).
        self.corrupt_frames = 0
        self.last_frame_at: float | None = None
        self._dt_ema: float | None = None  # seconds between decoded frames
        self._last_decoded: float | None = None  # monotonic
        self._window = CorruptWindow(corrupt_window_s)

    def decoded(self, now_mono: float, corrupt: bool = False) -> None:
        with self._lock:
            self.frames_decoded += 1
            if corrupt:
                self.corrupt_frames += 1
            self._window.add(now_mono, corrupt)
            if self._last_decoded is not None:
                dt = max(0.0, now_mono - self._last_decoded)
                self._dt_ema = dt if self._dt_ema is None else (
                    (1 - _EMA_ALPHA) * self._dt_ema + _EMA_ALPHA * dt)
            self._last_decoded = now_mono

    def corrupt_counts(self, now_mono: float) -> tuple[int, int]:
        """(corrupt, decoded) frames in the recent window (``corrupt_window_s``)."""
        with self._lock:
            return self._window.counts(now_mono)

    @property
    def corrupt_window_s(self) -> float:
        return self._window.window_s

    def sampled(self, captured_at: float) -> None:
        with self._lock:
            self.frames_sampled += 1
            self.last_frame_at = captured_at

    def decode_error(self, n: int = 1) -> None:
        with self._lock:
            self.decode_errors += n

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
                "corrupt_frames": self.corrupt_frames,
                "last_frame_at": self.last_frame_at,
                "fps_in": fps,
            }
