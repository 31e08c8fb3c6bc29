"""streams.thread_priority: the nice value it raises is the calling thread's alone (Linux)."""

import sys
import threading

import pytest

from streams.thread_priority import MAX_NICE, current_thread_nice, lower_current_thread

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def _in_thread(fn):
    out = {}
    t = threading.Thread(target=lambda: out.update(result=fn()))
    t.start()
    t.join(10)
    return out["result"]


@linux_only
def test_lowering_a_thread_changes_that_thread_and_not_the_process():
    before = current_thread_nice()

    def lower_and_read():
        start = current_thread_nice()
        changed = lower_current_thread(5)
        child = _in_thread(current_thread_nice)  # threads it starts inherit its value
        return start, changed, current_thread_nice(), child

    start, changed, after, child = _in_thread(lower_and_read)
    assert start == before  # a new thread starts at its creator's value
    assert changed and after == min(MAX_NICE, before + 5) and child == after
    assert current_thread_nice() == before  # the main thread, and so the cameras' threads, keep theirs
    assert _in_thread(current_thread_nice) == before  # and so does the next thread started here


@linux_only
def test_the_nice_value_is_capped_and_nothing_is_done_for_zero_steps():
    before = current_thread_nice()
    assert _in_thread(lambda: (lower_current_thread(0), current_thread_nice())) == (False, before)
    assert _in_thread(lambda: (lower_current_thread(50), current_thread_nice()))[1] == MAX_NICE


def test_off_linux_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert lower_current_thread(5) is False and current_thread_nice() is None
