"""RouteGate (streams.actions.limits) with an injected clock: cooldown after a sent start,
min_interval_s per camera and zone, the end of a sent start always goes, the update or end of
a held-back start is held back too, and a flickering detection cannot machine-gun a device."""

from __future__ import annotations

import math

import pytest

from streams.actions.limits import COOLDOWN, NOT_STARTED, RATE_LIMITED, SENT, RouteGate


def test_a_second_start_inside_the_cooldown_is_held_back_and_goes_once_it_is_over():
    gate = RouteGate(min_interval_s=0, cooldown_s=10)
    assert gate.decide("cam", "car", "e1", "start", now=100.0) == SENT
    assert gate.decide("cam", "car", "e1", "end", now=101.0) == SENT
    assert gate.decide("cam", "car", "e2", "start", now=109.9) == COOLDOWN
    assert gate.decide("cam", "car", "e3", "start", now=110.0) == SENT


def test_the_cooldown_counts_from_the_sent_start_not_from_a_held_back_one():
    gate = RouteGate(min_interval_s=0, cooldown_s=10)
    assert gate.decide("cam", "car", "e1", "start", now=0.0) == SENT
    assert gate.decide("cam", "car", "e2", "start", now=9.0) == COOLDOWN
    # Had the held-back start at 9 s restarted the cooldown, this one would wait until 19 s.
    assert gate.decide("cam", "car", "e3", "start", now=10.0) == SENT


def test_the_cooldown_is_per_camera_and_zone():
    gate = RouteGate(min_interval_s=0, cooldown_s=10)
    assert gate.decide("cam", "car", "e1", "start", now=0.0) == SENT
    assert gate.decide("cam", "lobby", "e2", "start", now=1.0) == SENT
    assert gate.decide("cam-2", "car", "e3", "start", now=1.0) == SENT
    assert gate.decide("cam", "car", "e4", "start", now=1.0) == COOLDOWN


def test_min_interval_spaces_messages_per_camera_and_zone_and_leaves_other_zones_alone():
    gate = RouteGate(min_interval_s=1.0, cooldown_s=0)
    assert gate.decide("cam", "car", "e1", "start", now=0.0) == SENT
    assert gate.decide("cam", "car", "e1", "update", now=0.5) == RATE_LIMITED
    assert gate.decide("cam", "lobby", "e2", "start", now=0.5) == SENT  # another zone: its own interval
    assert gate.decide("cam", "car", "e1", "update", now=0.999) == RATE_LIMITED
    assert gate.decide("cam", "car", "e1", "update", now=1.0) == SENT
    assert gate.decide("cam", "car", "e3", "start", now=1.5) == RATE_LIMITED  # a new start in the car's interval
    assert gate.decide("cam", "car", "e3", "start", now=2.0) == SENT


def test_a_held_back_message_does_not_restart_the_interval():
    gate = RouteGate(min_interval_s=1.0, cooldown_s=0)
    assert gate.decide("cam", "car", "e1", "start", now=0.0) == SENT
    assert gate.decide("cam", "car", "e1", "update", now=0.9) == RATE_LIMITED
    assert gate.decide("cam", "car", "e1", "update", now=1.0) == SENT


def test_the_end_of_a_sent_start_always_goes_even_inside_the_interval():
    gate = RouteGate(min_interval_s=5.0, cooldown_s=60)
    assert gate.decide("cam", "car", "e1", "start", now=0.0) == SENT
    assert gate.decide("cam", "car", "e1", "update", now=0.1) == RATE_LIMITED
    assert gate.decide("cam", "car", "e1", "end", now=0.2) == SENT
    # Once ended, the event is closed: a repeated end has no start to close.
    assert gate.decide("cam", "car", "e1", "end", now=10.0) == NOT_STARTED


def test_updates_and_the_end_of_a_held_back_start_are_held_back_too():
    gate = RouteGate(min_interval_s=0, cooldown_s=10)
    assert gate.decide("cam", "car", "e1", "start", now=0.0) == SENT
    assert gate.decide("cam", "car", "e2", "start", now=1.0) == COOLDOWN
    # Long after the cooldown and the interval: the device never heard of e2, so no update or end either.
    assert gate.decide("cam", "car", "e2", "update", now=50.0) == NOT_STARTED
    assert gate.decide("cam", "car", "e2", "end", now=60.0) == NOT_STARTED
    # ... while e1, whose start went, still gets its update and end.
    assert gate.decide("cam", "car", "e1", "update", now=61.0) == SENT
    assert gate.decide("cam", "car", "e1", "end", now=61.1) == SENT


def test_an_update_or_end_never_seen_started_is_held_back():
    gate = RouteGate(min_interval_s=0, cooldown_s=0)
    assert gate.decide("cam", "car", "e9", "update", now=0.0) == NOT_STARTED
    assert gate.decide("cam", "car", "e9", "end", now=0.0) == NOT_STARTED


def test_a_route_without_starts_sends_its_updates_and_ends_spaced_by_the_interval_only():
    # "The zone is clear again" for a sign: ends only. There is no start the device must have heard.
    gate = RouteGate(min_interval_s=1.0, cooldown_s=10, sends_starts=False)
    assert gate.decide("cam", "car", "e1", "end", now=0.0) == SENT
    assert gate.decide("cam", "car", "e2", "end", now=0.5) == RATE_LIMITED
    assert gate.decide("cam", "lobby", "e3", "end", now=0.5) == SENT
    assert gate.decide("cam", "car", "e4", "update", now=1.0) == SENT
    assert gate.decide("cam", "car", "e5", "end", now=2.0) == SENT  # no cooldown: that is about starts


def test_zero_limits_send_everything():
    gate = RouteGate(min_interval_s=0, cooldown_s=0)
    decisions = [gate.decide("cam", "car", f"e{i}", phase, now=0.0) for i in range(5) for phase in ("start", "update", "end")]
    assert decisions == [SENT] * 15


def flicker(gate: RouteGate, *, step_s: float, duration_s: float) -> list[tuple[float, str, str]]:
    """A detection that flickers: start, end, start, end ... every ``step_s`` (each start a new
    event) for ``duration_s``; returns (time, phase, decision) per message. Times are counted in
    whole steps so no float drift decides a boundary."""
    steps = round(duration_s / step_s)
    out = []
    for i in range(steps):
        now = i * step_s
        phase = "start" if i % 2 == 0 else "end"
        out.append((now, phase, gate.decide("cam", "car", f"e{i // 2}", phase, now)))
    return out


def test_a_flickering_detection_sends_one_start_per_cooldown_and_only_their_ends():
    # Start/end every 0.2 s for 30 s: 75 starts and 75 ends offered. With a 10 s cooldown a start
    # goes at 0, 10 and 20 s: ceil(30 / 10) = 3 starts, and the 3 ends that close them (an end of
    # a sent start always goes, 0.2 s later, inside the 1 s interval). Nothing else.
    decisions = flicker(RouteGate(min_interval_s=1.0, cooldown_s=10.0), step_s=0.2, duration_s=30.0)
    assert len(decisions) == 150
    sent = [(round(t, 3), phase) for t, phase, d in decisions if d == SENT]
    assert sent == [(0.0, "start"), (0.2, "end"), (10.0, "start"), (10.2, "end"), (20.0, "start"), (20.2, "end")]
    assert len([1 for _t, phase, _d in decisions if phase == "start" and _d == SENT]) == math.ceil(30 / 10)
    held = [d for _t, _p, d in decisions if d != SENT]
    assert held.count(COOLDOWN) == 72 and held.count(NOT_STARTED) == 72 and held.count(RATE_LIMITED) == 0


def test_without_a_cooldown_the_interval_alone_bounds_the_flicker():
    # min_interval 1 s, no cooldown: start at 0, its end at 0.2 (always goes, and restarts the
    # interval), so the next start can go at the first start step >= 1.2 s: one start per 1.2 s,
    # ceil(30 / 1.2) = 25 starts and their 25 ends in 30 s.
    decisions = flicker(RouteGate(min_interval_s=1.0, cooldown_s=0.0), step_s=0.2, duration_s=30.0)
    starts = [round(t, 3) for t, phase, d in decisions if phase == "start" and d == SENT]
    ends = [round(t, 3) for t, phase, d in decisions if phase == "end" and d == SENT]
    assert len(starts) == math.ceil(30 / 1.2) == 25
    assert starts[:3] == [0.0, 1.2, 2.4] and starts[-1] == 28.8
    assert ends == [round(t + 0.2, 3) for t in starts]


@pytest.mark.parametrize(("min_interval_s", "cooldown_s", "step_s"), [(1.0, 10.0, 0.2), (0.5, 3.0, 0.1), (2.0, 0.0, 0.3),
                                                                       (0.0, 5.0, 0.2), (1.0, 1.0, 0.25)])
def test_the_gate_keeps_its_promises_on_any_flicker(min_interval_s, cooldown_s, step_s):
    decisions = flicker(RouteGate(min_interval_s, cooldown_s), step_s=step_s, duration_s=60.0)
    sent = [(t, phase) for t, phase, d in decisions if d == SENT]
    starts = [t for t, phase in sent if phase == "start"]
    # Starts: at least the cooldown and the interval apart (the end between them restarts the interval).
    assert all(b - a >= max(cooldown_s, min_interval_s) - 1e-9 for a, b in zip(starts, starts[1:]))
    # Every message but an end at least min_interval after the one before it.
    assert all(t - prev >= min_interval_s - 1e-9 for (prev, _), (t, phase) in zip(sent, sent[1:]) if phase != "end")
    # Every sent start gets its end; no end without a sent start.
    assert [phase for _t, phase in sent] == ["start", "end"] * len(starts)
    assert len(starts) <= math.ceil(60.0 / max(cooldown_s, min_interval_s + step_s))
