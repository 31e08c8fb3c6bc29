"""Shedding analysis fps when inference cannot keep up: one camera at a time.

A live camera's hand-off buffer already bounds memory (the ``latest`` policy
drops stale frames), but a worker whose detector is saturated would still
decode and convert frames only to drop them, and every camera on it would
see its effective rate jitter. The governor measures how long each analysed
frame keeps the pipeline busy (waiting for the shared detector included), and
when ``busy x fps`` says the camera wants more than the worker can give it,
lowers that camera's sampling rate to what fits, never below ``min_fps``. It
raises it again in steps once the measured load leaves room, back up to the
configured ``analysis_fps``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

OVERLOADED = 0.95  # utilisation above which the camera is shed
RELAXED = 0.6  # utilisation below which it is restored a step
HEADROOM = 0.8  # shed to this fraction of what the measured cost allows
RESTORE_STEP = 1.25
EMA_ALPHA = 0.3


class FpsGovernor:
    def __init__(
        self, target_fps: float, min_fps: float, *, min_interval_s: float = 2.0, min_samples: int = 3,
        warmup_samples: int = 2, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if target_fps <= 0 or min_fps <= 0:
            raise ValueError("fps must be > 0")
        self.target_fps = float(target_fps)
        self.min_fps = min(float(min_fps), self.target_fps)
        self.fps = self.target_fps  # the effective analysis rate now
        self.min_interval_s = min_interval_s
        self.min_samples = min_samples
        self._clock = clock
        self.busy_s: float | None = None  # EMA of seconds per analysed frame
        self._samples = 0
        self._changed_at = clock()
        self.overloaded_at_floor = False  # overloaded with nothing left to shed (see observe)
        self.sheds = 0  # times the rate was lowered
        self.restores = 0  # times it was raised
        self._warmup = warmup_samples  # the first frames pay for lazy model set-up: not load

    @property
    def utilisation(self) -> float:
        return (self.busy_s or 0.0) * self.fps

    def observe(self, busy_s: float) -> float | None:
        """Record one analysed frame's busy time; returns the new fps when it changes."""
        busy_s = max(0.0, float(busy_s))
        if self._warmup > 0:
            self._warmup -= 1
            return None
        self.busy_s = busy_s if self.busy_s is None else (1 - EMA_ALPHA) * self.busy_s + EMA_ALPHA * busy_s
        self._samples += 1
        now = self._clock()
        if self._samples < self.min_samples or now - self._changed_at < self.min_interval_s:
            return None
        load = self.utilisation
        # At the floor and still overloaded: the rules' minimum is kept and frames queue or drop
        # instead; health says so (the camera is degraded, not silently slower than its rules).
        self.overloaded_at_floor = load > OVERLOADED and self.fps <= self.min_fps + 1e-9
        new = self.fps
        if load > OVERLOADED and self.fps > self.min_fps:
            fits = HEADROOM / self.busy_s if self.busy_s else self.fps
            new = max(self.min_fps, min(fits, self.fps * 0.9))
        elif load < RELAXED and self.fps < self.target_fps:
            new = min(self.target_fps, self.fps * RESTORE_STEP)
        if abs(new - self.fps) < 1e-9:
            return None
        if new < self.fps:
            self.sheds += 1
        else:
            self.restores += 1
        self.fps = new
        self._changed_at = now
        self._samples = 0
        return new
