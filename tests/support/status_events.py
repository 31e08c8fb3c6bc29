"""A camera source's status callback for tests: collects CameraStatusEvents from the reader
thread and lets a test wait on observable state instead of sleeping."""

from __future__ import annotations

import threading
import time
from typing import Callable

from api.contract.wire import CameraState, CameraStatusEvent


class StatusRecorder:
    def __init__(self) -> None:
        self.events: list[CameraStatusEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: CameraStatusEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_until(self, predicate: Callable[[list[CameraStatusEvent]], bool], timeout: float = 10.0) -> list[CameraStatusEvent]:
        """The events so far, once ``predicate(events)`` holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"not within {timeout} s: {[(e.state.value, e.attempt) for e in self.events]}")
                self._cond.wait(remaining)
            return list(self.events)

    def wait_for(self, state: CameraState, timeout: float, after: int = 0) -> CameraStatusEvent:
        """The first event in ``state`` from index ``after`` on."""
        events = self.wait_until(lambda evs: any(e.state is state for e in evs[after:]), timeout)
        return next(e for e in events[after:] if e.state is state)

    @property
    def states(self) -> list[str]:
        with self._cond:
            return [e.state.value for e in self.events]
