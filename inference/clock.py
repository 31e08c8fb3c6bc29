"""Clocks injected into rules and workers, so tests run in simulated time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Unix seconds."""


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        self._now = float(when)


class FrameClock:
    """Stream time: advanced to each analysed frame's capture time.

    Rules measure dwell in the time the camera saw, so a clip processed
    faster than real time, or a stream that stalls, still measures honestly.
    """

    def __init__(self) -> None:
        self._now = float("-inf")

    def now(self) -> float:
        return self._now

    def advance_to(self, captured_at: float) -> None:
        # A camera whose clock steps backwards must not make dwell negative.
        self._now = max(self._now, float(captured_at))
