"""What a sink holds while it is slow or away: one message type and a bounded queue with a
named drop policy, every drop counted (never a silent loss, never an unbounded memory).

``drop_oldest``: the incoming message goes in and the oldest waiting one is dropped (the
newest news wins: a lift wants to hear about the e-bike in it now, not the one an hour ago);
``drop_newest``: the incoming message is dropped and the queue keeps what it had.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DROP_OLDEST = "drop_oldest"
DROP_NEWEST = "drop_newest"
DROP_POLICIES = (DROP_OLDEST, DROP_NEWEST)

# A message's outcomes, as counted by its sink (and shown by `gridsight actions test`).
DELIVERED = "delivered"  # the broker acknowledged it (QoS 1), it left the socket (QoS 0) or the hook answered 2xx
FAILED = "failed"  # the hook refused it or every retry failed
DROPPED = "dropped"  # the queue was full (drop policy) or the worker stopped before it went
LOGGED = "logged"  # dry run: logged instead of sent


@dataclass
class ActionMessage:
    """One message for one sink: what goes where, and what became of it."""

    sink: str  # "mqtt" or "hook:<name>"
    target: str  # the topic, or the hook's name (for logs; never a credential)
    body: bytes
    event_id: str = ""
    phase: str = ""
    route: str = ""
    qos: int = 1
    retain: bool = False
    fired_at: float = field(default_factory=time.monotonic)  # when the rule fired (monotonic)
    outcome: str | None = None
    detail: str = ""  # why it failed, for the log and `actions test`
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def finish(self, outcome: str, detail: str = "") -> None:
        self.outcome, self.detail = outcome, detail
        self.done.set()


class BoundedQueue:
    """Thread-safe FIFO of at most ``size`` messages; ``put`` never blocks.

    ``on_drop``: called with every message the policy drops (by ``put`` or ``put_back``), after
    it is finished, so its owner counts every drop, whichever side made it."""

    def __init__(self, size: int, policy: str = DROP_OLDEST) -> None:
        if size < 1:
            raise ValueError("queue size must be at least 1")
        if policy not in DROP_POLICIES:
            raise ValueError(f"unknown drop policy {policy!r} (known: {', '.join(DROP_POLICIES)})")
        self.size = size
        self.policy = policy
        self._items: deque[ActionMessage] = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.on_drop: Callable[[ActionMessage], None] | None = None

    def put(self, message: ActionMessage) -> ActionMessage | None:
        """Enqueue; returns the message the policy dropped to make room (already finished), or None."""
        with self._cond:
            victim = None
            if len(self._items) >= self.size:
                if self.policy == DROP_NEWEST:
                    victim = message
                else:
                    victim = self._items.popleft()
                    self._items.append(message)
                self.dropped += 1
            else:
                self._items.append(message)
            self._cond.notify()
        self._dropped(victim)
        return victim

    def put_back(self, message: ActionMessage) -> ActionMessage | None:
        """Return a message its sender could not send to the head of the queue (it keeps its place);
        if that overfills the queue, the policy still decides who goes (returned, as by ``put``)."""
        with self._cond:
            self._items.appendleft(message)
            victim = None
            if len(self._items) > self.size:
                self.dropped += 1
                victim = self._items.pop() if self.policy == DROP_NEWEST else self._items.popleft()
            self._cond.notify()
        self._dropped(victim)
        return victim

    def _dropped(self, victim: ActionMessage | None) -> None:
        if victim is not None:
            victim.finish(DROPPED, f"queue full ({self.size}, {self.policy})")
            if self.on_drop is not None:
                self.on_drop(victim)

    def get(self, timeout: float) -> ActionMessage | None:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    def drain(self) -> list[ActionMessage]:
        with self._cond:
            items = list(self._items)
            self._items.clear()
            return items

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
