"""A camera's connection state, reported as CameraStatusEvents on change only.

Kept apart from the reader so the rules live in one place: one event per
transition (callers may force one, e.g. each reconnect attempt, so the status
always carries the current attempt and next retry), nothing after ``stopped``
or after a *final* state (a file that could not be read ends in ``error`` and
stays there, even when the pipeline stops the source afterwards), and a
listener that raises is logged, never allowed to kill the reader.

Repeats of one state (reconnect attempts) are all reported, but logged at a
bounded rate: attempts 1 to ``LOG_EVERY_ATTEMPT_UNTIL`` each, then at most one
line per ``REPEAT_LOG_INTERVAL_S`` (each line says the attempt number and how
many attempts went unlogged since the previous line).

:meth:`StatusTracker.heartbeat` re-sends the current state, at most every
``heartbeat_s``, with the time of the newest frame (``last_frame_at``): the API's
``last_seen_at`` moves while a camera delivers, without one event per frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from inference.clock import Clock
from api.contract.wire import CameraState, CameraStatusEvent

# Logged under the source's name: operators filter camera logs by one logger.
log = logging.getLogger("streams.sources.source")

_QUIET_STATES = (CameraState.CONNECTING, CameraState.ONLINE, CameraState.STOPPED)
LOG_EVERY_ATTEMPT_UNTIL = 5  # repeats up to this attempt are each logged
REPEAT_LOG_INTERVAL_S = 60.0  # then at most one line per this many seconds
HEARTBEAT_S = 15.0  # default: re-send the current state with the newest frame time at most this often


class StatusTracker:
    def __init__(self, camera_id: str, display_url: str,
                 on_status: Callable[[CameraStatusEvent], None] | None, clock: Clock,
                 redact: Callable[[str], str], *, details: Callable[[], dict] | None = None,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.camera_id = camera_id
        self.display_url = display_url  # already redacted
        self._on_status = on_status
        self._clock = clock
        self._redact = redact
        self._details = details  # extra details for each event (counters), read when it is sent
        self.heartbeat_s = heartbeat_s
        self._lock = threading.RLock()  # keeps events in order across reader and stop()
        self._stopping = False
        self._final = False  # a terminal state was reported: nothing more (stop() included)
        self.state: CameraState | None = None
        self.reason: str | None = None
        self.attempt = 0
        self.retry_in_s: float | None = None
        self.last_frame_at: float | None = None  # unix seconds of the newest frame
        self._event: CameraStatusEvent | None = None  # the last one sent
        self._last_heartbeat: float | None = None
        self._last_logged: float | None = None  # when a repeat of the current state was last logged
        self._unlogged = 0  # repeats not logged since then

    @property
    def final(self) -> bool:
        return self._final or self.state is CameraState.STOPPED

    def stopping(self) -> None:
        """From now on only ``stopped`` is reported (a slow reader may still be failing)."""
        with self._lock:
            self._stopping = True

    def set(self, state: CameraState, reason: str | None = None, *, attempt: int = 0,
            retry_in_s: float | None = None, force: bool = False, final: bool = False) -> bool:
        """Report ``state`` if it differs from the current one (or ``force``); True if sent.

        ``final``: the source has ended in this state; later calls (``stop()``'s
        ``stopped by request`` included) change nothing."""
        with self._lock:
            if self.final:
                return False
            if self._stopping and state is not CameraState.STOPPED:
                return False
            if not force and state is self.state and reason == self.reason:
                return False
            repeat = state is self.state and reason == self.reason
            self.state, self.reason = state, reason
            self.attempt, self.retry_in_s = attempt, retry_in_s
            self._final = final
            event = self._make_event()
            self._log(event, repeat)
            self._send(event)
            return True

    def frame(self, at: float) -> bool:
        """A frame arrived at ``at`` (unix seconds); re-sends the current state (a heartbeat)
        when the last event is ``heartbeat_s`` old. True if one was sent."""
        with self._lock:
            self.last_frame_at = at
            if self.final or self._stopping or self._event is None or not self.heartbeat_s:
                return False
            last = self._last_heartbeat if self._last_heartbeat is not None else self._event.at
            if at - last < self.heartbeat_s:
                return False
            self._last_heartbeat = at
            # Same state, same ``at`` (when it was entered): the API only moves last_seen_at.
            self._send(replace(self._event, last_frame_at=at, details=self._details_now()))
            return True

    def _details_now(self) -> dict:
        details = {"url": self.display_url}
        if self._details is not None:
            try:
                details.update(self._details())
            except Exception as exc:  # counters must never stop a status
                log.debug("camera %s: status details failed: %r", self.camera_id, exc)
        return details

    def _make_event(self) -> CameraStatusEvent:
        now = self._clock.now()
        self._last_heartbeat = now
        self._event = CameraStatusEvent(self.camera_id, self.state, now, self.reason,
                                        attempt=self.attempt, retry_in_s=self.retry_in_s,
                                        details=self._details_now(), last_frame_at=self.last_frame_at)
        return self._event

    def _log(self, event: CameraStatusEvent, repeat: bool) -> None:
        if repeat and event.attempt > LOG_EVERY_ATTEMPT_UNTIL:
            if self._last_logged is not None and event.at - self._last_logged < REPEAT_LOG_INTERVAL_S:
                self._unlogged += 1
                return
        self._last_logged = event.at
        state, reason = event.state, event.reason
        retry = f" (attempt {event.attempt}, retry in {event.retry_in_s:.2f} s)" if event.retry_in_s else ""
        if self._unlogged and repeat:
            retry += f" [{self._unlogged} earlier attempt(s) not logged]"
        self._unlogged = 0
        # An online camera with a reason (a damaged stream) is worth a warning too.
        quiet = state in _QUIET_STATES and not (state is CameraState.ONLINE and reason)
        log.log(logging.INFO if quiet else logging.WARNING,
                "camera %s %s: %s%s", self.camera_id, state.value, reason or "-", retry)

    def _send(self, event: CameraStatusEvent) -> None:
        if self._on_status is not None:
            try:
                self._on_status(event)
            except Exception as exc:
                log.error("camera %s: on_status callback failed: %s", self.camera_id,
                          self._redact(repr(exc)))
