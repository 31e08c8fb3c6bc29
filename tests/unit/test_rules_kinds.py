"""The k-of-n, co-occurrence and littering rules in simulated time, with the
negatives each must not fire on."""

import pytest

from inference.clock import FakeClock
from inference.rules import (
    CoOccurrenceRule, CoOccurrenceRuleSpec, EventPhase, KOfNRule, KOfNRuleSpec, LitteringRule, LitteringRuleSpec,
)
from inference.zones import PolygonZone
from tests.support.rule_driving import frame, phases, run

FRAME = (200, 100)
WHOLE = PolygonZone.from_points("view", [[0, 0], [1, 0], [1, 1], [0, 1]])
CAR = PolygonZone.from_points("car", [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]])
EBIKE = ("ebike", 1, (20, 60, 60, 90))


def feed(rule, clock, frames, step=0.5):
    """frames: one tuple of objects per analysed frame."""
    events = []
    for objects in frames:
        clock.advance(step)
        events += rule.update(frame(*objects), FRAME)
    return events


# --- k of n: an e-bike in the lift ----------------------------------------------------------------------------------


def elevator_rule(**overrides):
    clock = FakeClock(1000.0)
    spec = KOfNRuleSpec(rule_id="ebike-lift", zone=CAR, labels=frozenset({"ebike"}), k=3, n=5, grace_s=2,
                        cooldown_s=60, exclude_labels=frozenset({"wheelchair", "stroller"}), **overrides)
    return KOfNRule(spec, "lift-2", clock), clock


def test_three_of_five_frames_fire_two_do_not():
    rule, clock = elevator_rule()
    assert feed(rule, clock, [(EBIKE,), (), (EBIKE,), (), (), (EBIKE,), (), ()]) == []  # never 3 in any 5
    events = feed(rule, clock, [(EBIKE,), (EBIKE,)])  # now 3 of the last 5
    assert phases(events) == [EventPhase.START]
    assert events[0].labels == ("ebike",) and events[0].track_ids == (1,)


def test_untracked_boxes_count_for_k_of_n():
    rule, clock = elevator_rule()
    assert phases(feed(rule, clock, [(("ebike", -1, EBIKE[2]),)] * 3)) == [EventPhase.START]


@pytest.mark.parametrize("excluder", ["wheelchair", "stroller"])
def test_ebike_box_on_a_wheelchair_or_stroller_does_not_count(excluder):
    rule, clock = elevator_rule()
    # A powered wheelchair that the detector also calls an e-bike: the boxes overlap.
    both = (EBIKE, (excluder, 2, (18, 55, 62, 92)))
    assert feed(rule, clock, [both] * 20) == []
    # The same excluded object in the other half of the car does not excuse an e-bike.
    apart = (EBIKE, (excluder, 2, (120, 55, 160, 92)))
    assert phases(feed(rule, clock, [apart] * 3)) == [EventPhase.START]


def test_k_of_n_ends_after_grace_and_restarts_after_cooldown():
    rule, clock = elevator_rule()
    start = feed(rule, clock, [(EBIKE,)] * 10)[0]
    events = feed(rule, clock, [()] * 10)
    assert phases(events) == [EventPhase.END] and events[0].event_id == start.event_id
    assert feed(rule, clock, [(EBIKE,)] * 20) == []  # within the 60 s cooldown
    clock.advance(60)
    assert phases(feed(rule, clock, [(EBIKE,)] * 3)) == [EventPhase.START]


# --- co-occurrence: an e-bike charging ------------------------------------------------------------------------------


def charging_rule():
    clock = FakeClock(1000.0)
    spec = CoOccurrenceRuleSpec(rule_id="charging", zone=WHOLE, labels=frozenset({"ebike"}),
                                companion_labels=frozenset({"cable", "power_strip"}), max_distance=1.0,
                                min_dwell_s=300, grace_s=10)
    return CoOccurrenceRule(spec, "corridor-1", clock), clock


def test_ebike_with_a_cable_next_to_it_for_five_minutes_fires():
    rule, clock = charging_rule()
    cable = ("cable", 7, (62, 40, 70, 88))
    assert run(rule, clock, 299, EBIKE, cable, step=1.0) == []
    events = run(rule, clock, 2, EBIKE, cable, step=1.0)
    assert phases(events) == [EventPhase.START]
    assert events[0].labels == ("cable", "ebike") and events[0].track_ids == (1,)
    assert sorted(events[0].detections.labels.tolist()) == ["cable", "ebike"]


def test_flickering_cable_within_grace_keeps_the_timer():
    rule, clock = charging_rule()
    cable = ("power_strip", 7, (62, 80, 70, 88))
    events = []
    for _ in range(40):  # the thin cable is detected 2 s in every 8
        events += run(rule, clock, 2, EBIKE, cable, step=1.0) + run(rule, clock, 6, EBIKE, step=1.0)
    assert phases(events)[:1] == [EventPhase.START]


def test_ebike_without_a_cable_nearby_never_fires():
    rule, clock = charging_rule()
    far_cable = ("cable", 7, (180, 10, 190, 30))  # across the corridor: more than one e-bike length away
    assert run(rule, clock, 900, EBIKE, far_cable, step=1.0) == []
    assert run(rule, clock, 900, EBIKE, step=1.0) == []


# --- littering ------------------------------------------------------------------------------------------------------


def littering_rule(**overrides):
    clock = FakeClock(1000.0)
    spec = LitteringRuleSpec(rule_id="littering", zone=WHOLE, labels=frozenset({"litter", "garbage_bag"}),
                             grace_s=2, min_dwell_s=10, **overrides)
    return LitteringRule(spec, "street-01", clock), clock


def person(x, track_id=1):
    return ("person", track_id, (x - 10, 20, x + 10, 80))  # 60 px tall, feet at (x, 80)


BOTTLE = ("litter", 9, (47, 72, 53, 80))  # lying at (50, 80)


def walk(rule, clock, x_from, x_to, *also, track_id=1, step_px=10):
    frames = [(person(x, track_id), *also) for x in range(x_from, x_to, step_px if x_to > x_from else -step_px)]
    return feed(rule, clock, frames)


def test_dropped_and_walked_away_fires_with_the_person_and_before_time():
    rule, clock = littering_rule()
    assert walk(rule, clock, 0, 50) == []  # walks in along the pavement
    before = clock.now()
    assert walk(rule, clock, 50, 60, BOTTLE) == []  # the bottle appears at their feet
    dropped_at = clock.now()
    events = walk(rule, clock, 60, 200, BOTTLE)  # walks on: 90 px (1.5 heights) away after ~4.5 s
    events += feed(rule, clock, [(BOTTLE,)] * 30)
    assert phases(events) == [EventPhase.START]
    start = events[0]
    assert start.actor_track_ids == (1,) and start.track_ids == (9,)
    assert start.started_at == dropped_at and start.before_at == before
    assert start.dwell_s >= 10


def test_person_who_leaves_view_counts_as_gone():
    rule, clock = littering_rule(leave_after_s=3)
    walk(rule, clock, 0, 50)
    feed(rule, clock, [(person(50), BOTTLE)] * 4)
    events = feed(rule, clock, [(BOTTLE,)] * 25)  # the person vanishes (went into a shop) next to it
    assert phases(events) == [EventPhase.START] and events[0].actor_track_ids == (1,)


def test_person_who_keeps_their_bag_never_fires():
    rule, clock = littering_rule()
    frames = []
    for x in range(0, 200, 5):
        bag = ("garbage_bag", 9, (x + 8, 50, x + 20, 70))  # swinging in their hand
        frames.append((person(x), bag))
    frames += [(person(195), ("garbage_bag", 9, (203, 50, 215, 70)))] * 30  # stands and waits, still holding it
    assert feed(rule, clock, frames) == []


def test_person_standing_by_their_litter_has_not_left_yet():
    rule, clock = littering_rule()
    walk(rule, clock, 0, 50)
    assert feed(rule, clock, [(person(55), BOTTLE)] * 120) == []  # smoking next to it for a minute


def test_litter_already_lying_there_is_not_the_passers_by():
    rule, clock = littering_rule()
    assert feed(rule, clock, [(BOTTLE,)] * 10) == []  # there before anyone came
    events = walk(rule, clock, 0, 200, BOTTLE)  # someone walks right past it ...
    events += feed(rule, clock, [(BOTTLE,)] * 40)  # ... and away
    assert events == []


def test_old_litter_re_detected_under_a_new_id_as_someone_passes_is_not_a_drop():
    rule, clock = littering_rule()
    feed(rule, clock, [(BOTTLE,)] * 10)
    feed(rule, clock, [()] * 20)  # missed for 10 s (glare)
    walk(rule, clock, 0, 50)
    events = walk(rule, clock, 50, 200, ("litter", 33, BOTTLE[2])) + feed(rule, clock, [(("litter", 33, BOTTLE[2]),)] * 40)
    assert events == []


def test_tracker_renaming_the_person_standing_by_it_does_not_make_them_gone():
    rule, clock = littering_rule()
    walk(rule, clock, 0, 50)
    feed(rule, clock, [(person(55), BOTTLE)] * 10)
    assert feed(rule, clock, [(person(56, track_id=2), BOTTLE)] * 60) == []  # same person, new id, still there
    events = walk(rule, clock, 60, 200, BOTTLE, track_id=2) + feed(rule, clock, [(BOTTLE,)] * 30)
    assert phases(events) == [EventPhase.START] and events[0].actor_track_ids == (2,)
