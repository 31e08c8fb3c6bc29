"""Silence is a bug: a camera that analyses frames but can file nothing must say so.

A camera can decode, detect and run its rules every frame and still never produce an
event: its tracker confirms no track (the 28 silent minutes that a tracker-unit bug once
cost), it is analysed slower than its rules need, or it is overloaded with nothing left
to shed. :class:`AnalysisWatch` sees every analysed frame and names such a problem for
``/health`` (``degraded``) and the log. It runs on stream time (capture times), so a
stalled camera is the source's business (offline), not a false "silent tracker".
"""

from __future__ import annotations

from collections import deque

#: Boxes detected but no confirmed track for this long (stream seconds): the tracker is wrong.
SILENT_TRACKER_S = 60.0
#: The measured analysis rate is judged over this much stream time.
RATE_WINDOW_S = 60.0
#: Measured rate below this share of the rules' minimum: too slow for them.
RATE_SLACK = 0.8


class AnalysisWatch:
    def __init__(self, min_fps: float, min_fps_reason: str = "", *, silent_after_s: float = SILENT_TRACKER_S) -> None:
        self.min_fps = min_fps
        self.min_fps_reason = min_fps_reason
        self.silent_after_s = silent_after_s
        self._first_at: float | None = None
        self._last_confirmed_at: float | None = None
        self._boxes_unconfirmed = 0  # boxes detected since the last confirmed track
        self._times: deque[float] = deque()
        self._now: float | None = None

    def observe(self, at: float, detected: int, confirmed: int) -> None:
        """One analysed frame at stream time ``at``: boxes detected and boxes with a confirmed track."""
        if self._first_at is None:
            self._first_at = at
        self._now = at if self._now is None else max(self._now, at)
        if confirmed:
            self._last_confirmed_at = at
            self._boxes_unconfirmed = 0
        else:
            self._boxes_unconfirmed += detected
        self._times.append(at)
        while self._times and self._times[0] < self._now - RATE_WINDOW_S:
            self._times.popleft()

    def measured_fps(self) -> float | None:
        """Analysed frames per stream second over the window, once the window is mostly covered."""
        if self._first_at is None or self._now - self._first_at < RATE_WINDOW_S / 2 or len(self._times) < 2:
            return None
        span = self._now - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else None

    def problems(self, overloaded_at_floor: bool = False) -> dict[str, str]:
        """Problem kind (``silent_tracker``, ``too_slow``, ``overloaded``) -> what to tell an operator."""
        out = {}
        if self._now is not None:
            since = self._last_confirmed_at if self._last_confirmed_at is not None else self._first_at
            silent_s = self._now - since
            if silent_s >= self.silent_after_s and self._boxes_unconfirmed:
                out["silent_tracker"] = (
                    f"tracker confirmed no track for {silent_s:.0f} s while the detector found "
                    f"{self._boxes_unconfirmed} box(es): no rule can fire (check the tracker settings "
                    f"against the analysis rate)"
                )
        fps = self.measured_fps()
        if fps is not None and fps < self.min_fps * RATE_SLACK:
            out["too_slow"] = (f"analysed at {fps:.2f} fps, below the {self.min_fps:g} fps its rules need"
                               + (f" ({self.min_fps_reason})" if self.min_fps_reason else ""))
        if overloaded_at_floor:
            out["overloaded"] = (f"overloaded at its rules' minimum of {self.min_fps:g} fps: nothing left to shed, "
                                 f"frames are dropped")
        return out


def analysis_problems(pipelines) -> str | None:
    """One line for ``/health``'s ``degraded``: each camera that cannot file events, and why."""
    lines = [f"{p.camera_id}: {'; '.join(problems)}" for p in pipelines if (problems := p.health_problems())]
    return " | ".join(lines) if lines else None
