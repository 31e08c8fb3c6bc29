"""BoundedQueue (streams.actions.queue): which message each drop policy drops, that it is
finished as "dropped" and counted (by the queue and by the sink that owns it, whichever side
dropped it), put_back keeps the order, and two producers and a consumer lose nothing."""

from __future__ import annotations

import threading

import pytest

from streams.actions.queue import DROP_NEWEST, DROP_OLDEST, DROPPED, ActionMessage, BoundedQueue
from streams.actions.sink import LogSink


def message(n: int) -> ActionMessage:
    return ActionMessage("mqtt", f"t/{n}", str(n).encode(), event_id=f"e{n}")


def ids(items) -> list[str]:
    return [m.event_id for m in items]


def test_drop_oldest_lets_the_newest_in_and_drops_the_oldest_waiting():
    queue = BoundedQueue(3, DROP_OLDEST)
    sent = [message(i) for i in range(5)]
    victims = [queue.put(m) for m in sent]
    assert victims[:3] == [None, None, None]
    assert victims[3] is sent[0] and victims[4] is sent[1]
    assert sent[0].outcome == DROPPED and sent[0].done.is_set() and "queue full (3, drop_oldest)" in sent[0].detail
    assert sent[2].outcome is None and not sent[2].done.is_set()
    assert queue.dropped == 2 and len(queue) == 3
    assert ids(queue.drain()) == ["e2", "e3", "e4"]


def test_drop_newest_keeps_what_it_had_and_drops_the_incoming():
    queue = BoundedQueue(3, DROP_NEWEST)
    sent = [message(i) for i in range(5)]
    victims = [queue.put(m) for m in sent]
    assert victims[3] is sent[3] and victims[4] is sent[4]
    assert sent[4].outcome == DROPPED and "drop_newest" in sent[4].detail
    assert queue.dropped == 2
    assert ids(queue.drain()) == ["e0", "e1", "e2"]


def test_put_back_returns_a_message_to_the_head_and_keeps_the_order():
    queue = BoundedQueue(5)
    for i in range(3):
        queue.put(message(i))
    first = queue.get(timeout=0)
    assert first.event_id == "e0"
    queue.put_back(first)
    assert ids([queue.get(timeout=0) for _ in range(3)]) == ["e0", "e1", "e2"]
    assert queue.get(timeout=0) is None


@pytest.mark.parametrize(("policy", "dropped", "kept"), [(DROP_OLDEST, "e0", ["e1", "e2", "e3"]),
                                                         (DROP_NEWEST, "e3", ["e0", "e1", "e2"])])
def test_put_back_into_a_full_queue_lets_the_policy_decide(policy, dropped, kept):
    # The sender took e0, the camera filled the queue meanwhile, the send failed: e0 goes back first.
    queue = BoundedQueue(3, policy)
    queue.put(message(0))
    taken = queue.get(timeout=0)
    for i in (1, 2, 3):
        queue.put(message(i))
    victim = queue.put_back(taken)
    assert victim is not None and victim.event_id == dropped and victim.outcome == DROPPED
    assert queue.dropped == 1
    assert ids(queue.drain()) == kept


def test_the_sink_counts_every_drop_whichever_side_made_it():
    sink = LogSink("mqtt", BoundedQueue(2, DROP_OLDEST))
    for i in range(3):
        sink.submit(message(i))  # the camera's side: one dropped
    taken = sink.queue.get(timeout=0)
    sink.submit(message(3))
    sink.queue.put_back(taken)  # the sender's side: one more
    assert sink.queue.dropped == 2
    assert sink.stats()["dropped"] == 2 and sink.stats()["queued"] == 2


def test_get_waits_for_a_put_from_another_thread():
    queue = BoundedQueue(2)
    got: list = []
    consumer = threading.Thread(target=lambda: got.append(queue.get(timeout=10)))
    consumer.start()
    queue.put(message(7))
    consumer.join(timeout=10)
    assert ids(got) == ["e7"]


def test_bad_size_or_policy_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        BoundedQueue(0)
    with pytest.raises(ValueError, match="unknown drop policy 'drop_random'"):
        BoundedQueue(5, "drop_random")


@pytest.mark.parametrize("policy", [DROP_OLDEST, DROP_NEWEST])
def test_two_producers_and_one_consumer_account_for_every_message(policy):
    queue = BoundedQueue(50, policy)
    per_producer = 5000
    consumed: list[ActionMessage] = []
    producers_done = threading.Event()

    def produce(tag: str) -> None:
        for i in range(per_producer):
            queue.put(ActionMessage("mqtt", tag, b"", event_id=f"{tag}{i}"))

    def consume() -> None:
        while True:
            item = queue.get(timeout=0.05)
            if item is not None:
                consumed.append(item)
            elif producers_done.is_set() and not len(queue):
                return

    consumer = threading.Thread(target=consume)
    producers = [threading.Thread(target=produce, args=(tag,)) for tag in ("a", "b")]
    consumer.start()
    for p in producers:
        p.start()
    for p in producers:
        p.join(timeout=60)
    producers_done.set()
    consumer.join(timeout=60)
    assert not consumer.is_alive()
    assert len(consumed) + queue.dropped == 2 * per_producer
    assert len({m.event_id for m in consumed}) == len(consumed)  # nothing twice
    assert not any(m.outcome == DROPPED for m in consumed)
    for tag in ("a", "b"):  # each producer's messages come out in the order it put them
        numbers = [int(m.event_id[1:]) for m in consumed if m.target == tag]
        assert numbers == sorted(numbers)
