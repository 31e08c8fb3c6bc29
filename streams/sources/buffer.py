"""The bounded hand-off between a source's reader thread and its consumer.

The policy is named, not implied by a queue size, because the two uses want
opposite things: a live camera must never make the decoder wait (a stale frame
is worthless, the freshest one is what matters), while an offline file run must
never lose a frame (the reader can simply wait for the consumer).
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropPolicy(str, enum.Enum):
    LATEST = "latest"  # keep only the freshest items; an unconsumed older one is dropped, counted
    BLOCK = "block"  # the producer waits for room; nothing is dropped


class FrameBuffer(Generic[T]):
    """Thread-safe bounded buffer with a :class:`DropPolicy` and an end-of-stream flag.

    ``close()`` marks end of stream: a blocked ``put`` returns False at once, and
    ``get`` still drains what is buffered (unless ``discard=True``) before returning None.
    """

    def __init__(self, policy: DropPolicy, capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.policy = DropPolicy(policy)
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0  # items discarded by the LATEST policy
        self.delivered = 0  # items handed to the consumer by get()

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Add ``item``; False if the buffer is closed (or BLOCK timed out) and it was not added."""
        with self._cond:
            if self.policy is DropPolicy.LATEST:
                if self._closed:
                    return False
                while len(self._items) >= self.capacity:
                    self._items.popleft()
                    self.dropped += 1
            else:
                deadline = None if timeout is None else time.monotonic() + timeout
                while len(self._items) >= self.capacity and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                if self._closed:
                    return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest buffered item, or None on timeout or once closed and drained."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if not self._items:
                return None
            item = self._items.popleft()
            self.delivered += 1
            self._cond.notify_all()  # wake a BLOCK producer waiting for room
            return item

    def close(self, discard: bool = False) -> None:
        with self._cond:
            self._closed = True
            if discard:
                self._items.clear()
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def exhausted(self) -> bool:
        """Closed and nothing left to read: the consumer has seen the end of the stream."""
        with self._cond:
            return self._closed and not self._items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
