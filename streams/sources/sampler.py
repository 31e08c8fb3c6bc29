"""Pick frames at the analysis rate from a faster decoded stream.

Sampling goes by the frames' own timestamps, not by arrival time: a camera that
bursts a second of buffered frames after a stall, or a file decoded as fast as
the CPU allows, must still be sampled at even steps of *video* time.
"""

from __future__ import annotations


class FrameSampler:
    """``should_sample(ts)`` is True for about ``fps`` frames per second of video time.

    ``fps`` None or 0 samples every frame. The next due time advances by exactly one
    period per sample (so 15 fps -> 4 fps gives 4 per second, not 3.75 or 5), and is
    re-anchored after a gap or when timestamps go backwards (reconnect, file loop).
    """

    # Timestamps come from rational pts; allow for float rounding at exact multiples.
    TOLERANCE_S = 1e-3

    def __init__(self, fps: float | None) -> None:
        if fps is not None and fps < 0:
            raise ValueError("analysis fps must be >= 0 or None")
        self.period = 1.0 / fps if fps else 0.0
        self._next_due: float | None = None
        self._last_ts: float | None = None

    def set_fps(self, fps: float | None) -> None:
        """Change the rate on the fly (load shedding); the next due time keeps its anchor."""
        if fps is not None and fps < 0:
            raise ValueError("analysis fps must be >= 0 or None")
        self.period = 1.0 / fps if fps else 0.0

    def reset(self) -> None:
        """Forget the timeline; the next frame is sampled. Call after a reconnect."""
        self._next_due = None
        self._last_ts = None

    def should_sample(self, ts: float) -> bool:
        if not self.period:
            return True
        went_backwards = self._last_ts is not None and ts < self._last_ts - self.TOLERANCE_S
        self._last_ts = ts
        if self._next_due is None or went_backwards:
            self._next_due = ts + self.period
            return True
        if ts + self.TOLERANCE_S < self._next_due:
            return False
        self._next_due += self.period
        if self._next_due + self.TOLERANCE_S <= ts:
            # A gap longer than a period: re-anchor rather than sampling a burst to catch up.
            self._next_due = ts + self.period
        return True
