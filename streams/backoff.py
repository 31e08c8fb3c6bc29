"""Exponential reconnect backoff with jitter.

Jitter matters here: when a switch reboots, every camera behind it drops at the
same instant, and without jitter all their sources would hammer the NVR in lockstep.
"""

from __future__ import annotations

import random

# Growth and spread of every backoff; the delays themselves are the caller's policy
# (a source's reconnect, the outbox's retry: both set in the worker config).
MULTIPLIER = 2.0
JITTER_FRACTION = 0.3


class Backoff:
    """``initial_s * multiplier**n``, capped at ``max_s``, each delay scaled by a random
    factor in ``[1 - jitter_fraction, 1 + jitter_fraction]`` (and re-capped).

    Pass a seeded ``random.Random`` as ``rng`` for deterministic delays in tests.
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        multiplier: float = MULTIPLIER,
        jitter_fraction: float = JITTER_FRACTION,
        rng: random.Random | None = None,
    ) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError("need 0 < initial_s <= max_s")
        if multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= jitter_fraction < 1:
            raise ValueError("jitter_fraction must be in [0, 1)")
        self.initial_s = float(initial_s)
        self.max_s = float(max_s)
        self.multiplier = float(multiplier)
        self.jitter_fraction = float(jitter_fraction)
        self._rng = rng if rng is not None else random.Random()
        self._base = self.initial_s
        self.attempts = 0  # delays handed out since the last reset()

    def next_delay(self) -> float:
        """The delay before the next attempt; grows the base for the one after."""
        base = self._base
        self._base = min(self.max_s, self._base * self.multiplier)
        self.attempts += 1
        if self.jitter_fraction:
            base *= 1 + self._rng.uniform(-self.jitter_fraction, self.jitter_fraction)
        return min(self.max_s, base)

    def reset(self) -> None:
        """Back to ``initial_s``: call it once a connection has proven healthy."""
        self._base = self.initial_s
        self.attempts = 0
