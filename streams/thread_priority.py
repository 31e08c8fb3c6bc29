"""Lowering one thread's CPU priority, so background work yields to the cameras' analysis.

On Linux a thread is a schedulable task of its own: ``setpriority(PRIO_PROCESS, tid, ...)`` with
the thread's native id changes that thread's nice value alone (sched(7), setpriority(2): "the
nice value is a per-thread attribute"), and threads it starts inherit it. Elsewhere the same call
would change the whole process, so there it is not made. Raising nice needs no privilege;
lowering it back would, which is why this is only ever done on a thread about to do background
work and end.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

MAX_NICE = 19


def lower_current_thread(steps: int) -> bool:
    """Raise the calling thread's nice value by ``steps`` (capped at 19). True if it was changed;
    False where threads have no nice value of their own (not Linux) or the call was refused."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(MAX_NICE, current + steps))
    except OSError as exc:  # a sandbox may forbid it: the work runs at normal priority, said once
        log.info("thread %s keeps its priority: %s", threading.current_thread().name, exc)
        return False
    return True


def current_thread_nice() -> int | None:
    """The calling thread's nice value (None where threads have none of their own)."""
    if not sys.platform.startswith("linux"):
        return None
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
