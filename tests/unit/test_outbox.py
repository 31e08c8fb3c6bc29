"""The durable outbox: nothing lost while the API is down, order kept, bad orders set aside."""

import random
import threading

from streams.backoff import Backoff
from streams.delivery.outbox import DurableOutbox, OutboxPusher, SendResult


class FlakyApi:
    """Fake sender: down until told otherwise; records what it accepted by key."""

    def __init__(self):
        self.up = False
        self.accepted: dict[str, dict] = {}
        self.calls = 0
        self.lock = threading.Lock()
        self.reject_keys: set[str] = set()

    def send_work_order(self, payload, idempotency_key):
        with self.lock:
            self.calls += 1
            if not self.up:
                return SendResult(None, "ConnectError: connection refused")
            if idempotency_key in self.reject_keys:
                return SendResult(422, "labels: field required")
            self.accepted.setdefault(idempotency_key, payload)
            return SendResult(201)


def pusher_for(outbox, api):
    return OutboxPusher(outbox, api, Backoff(0.01, 0.05, 2.0, 0.0, random.Random(0)), idle_poll_s=0.01)


def test_orders_wait_on_disk_while_api_down_and_arrive_in_order(tmp_path):
    outbox = DurableOutbox(tmp_path)
    api = FlakyApi()
    pusher = pusher_for(outbox, api)
    for i in range(5):
        outbox.put(f"key-{i}", {"n": i})
    assert pusher.drain_once() > 0 and pusher.retries == 1
    assert outbox.pending_count() == 5 and api.accepted == {}
    api.up = True
    pusher.drain_once()
    assert outbox.pending_count() == 0
    assert list(api.accepted) == [f"key-{i}" for i in range(5)]


def test_outbox_survives_a_restart(tmp_path):
    first = DurableOutbox(tmp_path)
    first.put("aaa-1", {"n": 1})
    first.put("aaa-2", {"n": 2})
    (first.pending_dir / "000000000099-half.tmp").write_text("{")  # a crash mid-write
    second = DurableOutbox(tmp_path)  # as after a worker restart
    assert second.pending_count() == 2
    assert not list(second.pending_dir.glob("*.tmp"))
    second.put("aaa-3", {"n": 3})
    api = FlakyApi()
    api.up = True
    pusher_for(second, api).drain_once()
    assert [p["n"] for p in api.accepted.values()] == [1, 2, 3]


def test_permanent_rejection_is_kept_aside_and_queue_moves_on(tmp_path):
    outbox = DurableOutbox(tmp_path)
    api = FlakyApi()
    api.up = True
    api.reject_keys = {"bad-1"}
    outbox.put("bad-1", {"n": 1})
    outbox.put("good-2", {"n": 2})
    pusher_for(outbox, api).drain_once()
    assert list(api.accepted) == ["good-2"]
    assert outbox.pending_count() == 0 and outbox.rejected_count() == 1
    reason = next(outbox.rejected_dir.glob("*.reason.txt")).read_text()
    assert "422" in reason and "labels" in reason


def test_background_pusher_delivers_after_api_returns(tmp_path):
    outbox = DurableOutbox(tmp_path)
    api = FlakyApi()
    pusher = pusher_for(outbox, api)
    pusher.start()
    try:
        outbox.put("k-1", {"n": 1})
        pusher.notify()
        threading.Event().wait(0.2)
        assert api.accepted == {} and outbox.pending_count() == 1
        api.up = True
        for _ in range(100):
            if outbox.pending_count() == 0:
                break
            threading.Event().wait(0.05)
        assert list(api.accepted) == ["k-1"]
    finally:
        pusher.stop(flush_timeout_s=1)


def test_keys_are_validated(tmp_path):
    import pytest

    with pytest.raises(ValueError):
        DurableOutbox(tmp_path).put("../../etc/passwd", {})


def test_new_records_do_not_cut_a_backoff_short(tmp_path):
    """An outage must not turn every new order into another doomed attempt."""
    outbox = DurableOutbox(tmp_path)
    api = FlakyApi()
    pusher = OutboxPusher(outbox, api, Backoff(0.5, 1.0, 2.0, 0.0, random.Random(0)), idle_poll_s=0.01)
    pusher.start()
    try:
        outbox.put("first-0", {"n": 0})
        pusher.notify()
        for _ in range(100):
            if api.calls:
                break
            threading.Event().wait(0.01)
        calls_at_outage = api.calls
        for i in range(1, 30):
            outbox.put(f"more-{i}", {"n": i})
            pusher.notify()
            threading.Event().wait(0.005)
        assert api.calls == calls_at_outage == 1, api.calls
        api.up = True
        for _ in range(300):
            if outbox.pending_count() == 0:
                break
            threading.Event().wait(0.01)
        assert [p["n"] for p in api.accepted.values()] == list(range(30))
    finally:
        pusher.stop(flush_timeout_s=1)
