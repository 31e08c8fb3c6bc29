"""A camera's connection state, reported as CameraStatusEvents on change only.

Kept apart from the reader so the rules live in one place: one event per
transition (callers may force one, e.g. each reconnect attempt), nothing after
``stopped``, and a listener that raises is logged, never allowed to kill the reader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from inference.clock import Clock
from streams.frames import CameraState, CameraStatusEvent

# Logged under the source's name: operators filter camera logs by one logger.
log = logging.getLogger("streams.source")

_QUIET_STATES = (CameraState.CONNECTING, CameraState.ONLINE, CameraState.STOPPED)


class StatusTracker:
    def __init__(self, camera_id: str, display_url: str,
                 on_status: Callable[[CameraStatusEvent], None] | None, clock: Clock,
                 redact: Callable[[str], str]) -> None:
        self.camera_id = camera_id
        self.display_url = display_url  # already redacted
        self._on_status = on_status
        self._clock = clock
        self._redact = redact
        self._lock = threading.RLock()  # keeps events in order across reader and stop()
        self._stopping = False
        self.state: CameraState | None = None
        self.reason: str | None = None

    def stopping(self) -> None:
        """From now on only ``stopped`` is reported (a slow reader may still be failing)."""
        with self._lock:
            self._stopping = True

    def set(self, state: CameraState, reason: str | None = None, *, attempt: int = 0,
            retry_in_s: float | None = None, force: bool = False) -> bool:
        """Report ``state`` if it differs from the current one (or ``force``); True if sent."""
        with self._lock:
            if self.state is CameraState.STOPPED:
                return False
            if self._stopping and state is not CameraState.STOPPED:
                return False
            if not force and state is self.state and reason == self.reason:
                return False
            self.state, self.reason = state, reason
            event = CameraStatusEvent(self.camera_id, state, self._clock.now(), reason,
                                      attempt=attempt, retry_in_s=retry_in_s,
                                      details={"url": self.display_url})
            retry = f" (attempt {attempt}, retry in {retry_in_s:.2f} s)" if retry_in_s else ""
            log.log(logging.INFO if state in _QUIET_STATES else logging.WARNING,
                    "camera %s %s: %s%s", self.camera_id, state.value, reason or "-", retry)
            if self._on_status is not None:
                try:
                    self._on_status(event)
                except Exception as exc:
                    log.error("camera %s: on_status callback failed: %s", self.camera_id,
                              self._redact(repr(exc)))
            return True
