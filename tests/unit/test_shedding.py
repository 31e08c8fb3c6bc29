"""Analysis-fps shedding: lower under load, restore when it recovers (fake clock)."""

from __future__ import annotations

import pytest

from streams.sources.sampler import FrameSampler
from streams.shedding import FpsGovernor


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def drive(gov: FpsGovernor, clock: Clock, busy_s: float, seconds: float) -> list[float]:
    changes = []
    end = clock.t + seconds
    while clock.t < end:
        clock.t += 1.0 / gov.fps
        new = gov.observe(busy_s)
        if new is not None:
            changes.append(new)
    return changes


def test_sheds_to_what_fits_and_restores_in_steps():
    clock = Clock()
    gov = FpsGovernor(5.0, 0.2, clock=clock)
    changes = drive(gov, clock, busy_s=0.5, seconds=20)  # 0.5 s per frame: at most 2 fps fit
    assert changes and changes[0] < 5.0
    assert gov.fps == pytest.approx(1.6, rel=0.05), "shed to 80 % of what the measured cost allows"
    assert gov.utilisation <= 0.95 and gov.sheds >= 1
    drive(gov, clock, busy_s=0.02, seconds=60)  # load gone
    assert gov.fps == 5.0 and gov.restores >= 3


def test_never_below_the_floor_and_steady_when_it_fits():
    clock = Clock()
    gov = FpsGovernor(5.0, 0.5, clock=clock)
    drive(gov, clock, busy_s=10.0, seconds=120)
    assert gov.fps == 0.5
    clock2 = Clock()
    calm = FpsGovernor(5.0, 0.5, clock=clock2)
    assert drive(calm, clock2, busy_s=0.1, seconds=30) == []  # 50 % busy: nothing to do


def test_sampler_follows_a_new_rate():
    sampler = FrameSampler(10)
    picked = [t / 30 for t in range(90) if sampler.should_sample(t / 30)]
    assert len(picked) == 30
    sampler.set_fps(2)
    picked = [t / 30 for t in range(90, 180) if sampler.should_sample(t / 30)]
    assert len(picked) == 6
