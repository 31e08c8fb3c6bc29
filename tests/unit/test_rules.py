"""The dwell rule in simulated time: enter, leave, re-enter, cooldown."""

import numpy as np

from inference.clock import FakeClock
from inference.detections import Detections
from inference.rules import DwellRule, DwellRuleSpec, EventPhase
from inference.zones import PolygonZone

FRAME = (100, 100)
ZONE = PolygonZone.from_points("kerb", [[0, 0.5], [1, 0.5], [1, 1], [0, 1]])
IN_ZONE = (10, 60, 20, 80)
OUT_OF_ZONE = (10, 10, 20, 30)


def make_rule(**overrides):
    clock = FakeClock(1000.0)
    spec = DwellRuleSpec(
        rule_id="litter",
        zone=ZONE,
        labels=frozenset({"litter", "garbage_bag"}),
        min_dwell_s=overrides.pop("min_dwell_s", 10),
        grace_s=overrides.pop("grace_s", 2),
        cooldown_s=overrides.pop("cooldown_s", 60),
        update_interval_s=overrides.pop("update_interval_s", 30),
        **overrides,
    )
    return DwellRule(spec, "cam-1", clock), clock


def frame(*objects):
    """objects: (label, track_id, box)"""
    if not objects:
        return Detections.empty()
    labels, ids, boxes = zip(*objects)
    return Detections(np.array(boxes, np.float32), np.full(len(objects), 0.8), np.array(labels, dtype=object), np.array(ids))


def run(rule, clock, seconds, *objects, step=0.5):
    events = []
    end = clock.now() + seconds
    while clock.now() < end - 1e-9:
        clock.advance(step)
        events += rule.update(frame(*objects), FRAME)
    return events


def phases(events):
    return [e.phase for e in events]


def test_fires_once_after_min_dwell_and_ends_after_grace():
    rule, clock = make_rule()
    bag = ("garbage_bag", 7, IN_ZONE)
    assert run(rule, clock, 9.5, bag) == []  # 9.5 s after the first sighting... first sighting at +0.5
    events = run(rule, clock, 1.0, bag)
    assert phases(events) == [EventPhase.START]
    start = events[0]
    assert start.labels == ("garbage_bag",) and start.track_ids == (7,) and start.zone_id == "kerb"
    assert abs(start.dwell_s - 10.0) < 1e-6
    assert len(start.detections) == 1
    # Stays for a long time: one update per interval, never a second START.
    events = run(rule, clock, 100, bag)
    assert EventPhase.START not in phases(events)
    assert phases(events).count(EventPhase.UPDATE) == 3
    # Leaves: END only after the grace period.
    assert run(rule, clock, 2.0) == []
    events = run(rule, clock, 1.0)
    assert phases(events) == [EventPhase.END]
    assert events[0].event_id == start.event_id
    assert not rule.active


def test_leaving_before_min_dwell_resets_the_timer():
    rule, clock = make_rule()
    bag = ("garbage_bag", 1, IN_ZONE)
    assert run(rule, clock, 8, bag) == []
    assert run(rule, clock, 3) == []  # gone longer than grace: presence forgotten
    assert run(rule, clock, 9, bag) == []  # re-entered: dwell counts from zero
    assert phases(run(rule, clock, 1.5, bag)) == [EventPhase.START]


def test_short_gap_within_grace_keeps_dwell():
    rule, clock = make_rule()
    bag = ("garbage_bag", 1, IN_ZONE)
    run(rule, clock, 6, bag)
    run(rule, clock, 1.5)  # missed detections shorter than grace
    assert phases(run(rule, clock, 3, bag)) == [EventPhase.START]


def test_cooldown_suppresses_realert_then_allows_it():
    rule, clock = make_rule(cooldown_s=60)
    bag = ("garbage_bag", 1, IN_ZONE)
    assert phases(run(rule, clock, 11, bag)) == [EventPhase.START]
    assert phases(run(rule, clock, 3)) == [EventPhase.END]
    # Back within the cooldown: qualifies again, but stays quiet.
    assert run(rule, clock, 30, ("garbage_bag", 2, IN_ZONE)) == []
    # Still there when the cooldown expires: a new event with a new id.
    events = run(rule, clock, 40, ("garbage_bag", 2, IN_ZONE))
    assert phases(events)[0] is EventPhase.START


def test_other_labels_and_objects_outside_the_zone_never_fire():
    rule, clock = make_rule()
    assert run(rule, clock, 100, ("person", 1, IN_ZONE), ("litter", 2, OUT_OF_ZONE)) == []


def test_untracked_boxes_do_not_count():
    rule, clock = make_rule()
    assert run(rule, clock, 30, ("litter", -1, IN_ZONE)) == []


def test_min_count_requires_objects_at_once():
    rule, clock = make_rule(min_count=2)
    assert run(rule, clock, 20, ("litter", 1, IN_ZONE)) == []
    events = run(rule, clock, 11, ("litter", 1, IN_ZONE), ("garbage_bag", 2, (50, 60, 60, 90)))
    assert phases(events) == [EventPhase.START]
    assert events[0].labels == ("garbage_bag", "litter")


def test_idempotency_key_is_stable_per_event_and_phase():
    rule, clock = make_rule()
    start = run(rule, clock, 11, ("litter", 1, IN_ZONE))[0]
    assert start.idempotency_key() == start.idempotency_key()
    end = run(rule, clock, 3)[0]
    assert end.idempotency_key() != start.idempotency_key()
