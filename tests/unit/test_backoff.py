import random

import pytest

from streams.backoff import Backoff


def test_grows_exponentially_without_jitter():
    b = Backoff(0.5, 30, 2, 0.0)
    assert [b.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert b.attempts == 5


def test_capped_at_max():
    b = Backoff(1, 5, 3, 0.0)
    assert [b.next_delay() for _ in range(5)] == [1, 3, 5, 5, 5]


def test_jitter_stays_within_bounds_and_under_cap():
    b = Backoff(1, 8, 2, 0.3, rng=random.Random(7))
    bases = [1, 2, 4, 8, 8, 8, 8, 8]
    for base in bases:
        d = b.next_delay()
        assert base * 0.7 - 1e-9 <= d <= min(8, base * 1.3) + 1e-9


def test_jitter_actually_varies():
    b = Backoff(1, 1, 2, 0.3, rng=random.Random(1))
    delays = {round(b.next_delay(), 6) for _ in range(20)}
    assert len(delays) > 10


def test_reset_returns_to_initial():
    b = Backoff(0.5, 30, 2, 0.0)
    for _ in range(4):
        b.next_delay()
    b.reset()
    assert b.attempts == 0
    assert b.next_delay() == 0.5


def test_deterministic_with_seeded_rng():
    a = Backoff(0.5, 30, 2, 0.3, rng=random.Random(42))
    b = Backoff(0.5, 30, 2, 0.3, rng=random.Random(42))
    assert [a.next_delay() for _ in range(10)] == [b.next_delay() for _ in range(10)]


@pytest.mark.parametrize(
    "kwargs",
    [dict(initial_s=0), dict(initial_s=5, max_s=1), dict(multiplier=0.5), dict(jitter_fraction=1.0)],
)
def test_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        Backoff(**{"initial_s": 0.5, "max_s": 30.0, **kwargs})


def test_delays_are_the_callers_policy():
    """Backoff has no delays of its own: the source's reconnect and the outbox's retry
    each bring theirs (streams.sources.source.SourceOptions, the worker config)."""
    with pytest.raises(TypeError):
        Backoff()  # type: ignore[call-arg]
