"""The outbox keeps its pending list in memory: draining a large backlog stays
linear, order is kept, and files another process drops in are still sent."""

from __future__ import annotations

import threading
import time

from streams.delivery.outbox import DurableOutbox


def drain(outbox: DurableOutbox) -> list[int]:
    seen = []
    while (item := outbox.peek()) is not None:
        seen.append(item.payload["i"])
        outbox.ack(item)
    return seen


def test_large_backlog_drains_in_order_and_fast(tmp_path):
    outbox = DurableOutbox(tmp_path)
    for i in range(1000):
        outbox.put(f"key-{i:05d}", {"i": i})
    started = time.perf_counter()
    assert drain(outbox) == list(range(1000))
    assert time.perf_counter() - started < 10, "linear, not a directory listing per record"
    assert outbox.pending_count() == 0


def test_puts_during_a_drain_and_files_from_another_process(tmp_path):
    outbox = DurableOutbox(tmp_path)
    for i in range(10):
        outbox.put(f"key-{i:05d}", {"i": i})
    first = outbox.peek()
    outbox.ack(first)
    outbox.put("key-late", {"i": 10})  # while the in-memory list is non-empty
    DurableOutbox(tmp_path).put("key-other", {"i": 11})  # another instance (process) on the same spool
    seen = drain(outbox)
    assert seen[:10] == list(range(1, 11))
    assert sorted(seen) == list(range(1, 12)), "the other instance's file is sent once the list runs empty"


def test_concurrent_puts_are_all_sent_once(tmp_path):
    outbox = DurableOutbox(tmp_path)
    sent: list[int] = []
    stop = threading.Event()

    def pusher():
        while not stop.is_set() or outbox.pending_count():
            item = outbox.peek()
            if item is None:
                time.sleep(0.001)
                continue
            sent.append(item.payload["i"])
            outbox.ack(item)

    t = threading.Thread(target=pusher)
    t.start()
    writers = [threading.Thread(target=lambda b=b: [outbox.put(f"k-{b}-{i}", {"i": b * 1000 + i}) for i in range(100)])
               for b in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    t.join(30)
    assert sorted(sent) == sorted(b * 1000 + i for b in range(4) for i in range(100))
