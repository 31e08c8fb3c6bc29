"""The dwell rule in simulated time: enter, leave, re-enter, cooldown, id
switches, static objects, counts, schedules, the merge window."""

import datetime as dt

import pytest

from inference.clock import FakeClock
from inference.rules import DwellRule, DwellRuleSpec, EventPhase, Schedule, TimeWindow
from inference.zones import PolygonZone
from tests.support.rule_driving import FRAME, frame, phases, run

ZONE = PolygonZone.from_points("kerb", [[0, 0.5], [1, 0.5], [1, 1], [0, 1]])
IN_ZONE = (10, 60, 20, 80)
OUT_OF_ZONE = (10, 10, 20, 30)


def make_rule(**overrides):
    clock = FakeClock(1000.0)
    spec = DwellRuleSpec(
        rule_id="litter",
        zone=ZONE,
        labels=overrides.pop("labels", frozenset({"litter", "garbage_bag"})),
        min_dwell_s=overrides.pop("min_dwell_s", 10),
        grace_s=overrides.pop("grace_s", 2),
        cooldown_s=overrides.pop("cooldown_s", 60),
        update_interval_s=overrides.pop("update_interval_s", 30),
        **overrides,
    )
    return DwellRule(spec, "cam-1", clock), clock


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


# --- presence across tracker id switches, static objects, counts -----------------------------------------------


def test_new_track_id_at_the_same_spot_inherits_dwell():
    rule, clock = make_rule()
    run(rule, clock, 6, ("garbage_bag", 1, IN_ZONE))
    run(rule, clock, 1.0)  # a bus passes in front: the tracker loses track 1 ...
    events = run(rule, clock, 3.5, ("garbage_bag", 2, (11, 61, 21, 81)))  # ... and calls it 2 afterwards
    assert phases(events) == [EventPhase.START], "the dwell timer must not restart at an id switch"
    assert events[0].track_ids == (2,) and abs(events[0].started_at - 1000.5) < 1e-6


@pytest.mark.parametrize("label, box", [("garbage_bag", (60, 60, 70, 80)), ("person", IN_ZONE)])
def test_new_track_far_away_or_of_another_kind_starts_afresh(label, box):
    rule, clock = make_rule(labels=frozenset({"garbage_bag", "person"}))
    run(rule, clock, 6, ("garbage_bag", 1, IN_ZONE))
    run(rule, clock, 1.0)
    assert run(rule, clock, 8, (label, 2, box)) == [], "a different object: its own dwell from zero"
    assert phases(run(rule, clock, 2.5, (label, 2, box))) == [EventPhase.START]


def test_require_static_counts_only_from_when_the_object_stopped():
    rule, clock = make_rule(require_static=True)
    for i in range(30):  # a cart pushed slowly along the kerb for 15 s: never static
        clock.advance(0.5)
        assert rule.update(frame(("garbage_bag", 1, (i * 3, 60, i * 3 + 10, 80))), FRAME) == []
    stopped = (90, 60, 100, 80)
    assert run(rule, clock, 9.5, ("garbage_bag", 1, stopped)) == []
    events = run(rule, clock, 1.0, ("garbage_bag", 1, stopped))
    assert phases(events) == [EventPhase.START]
    # Jitter of a pixel or two is still "static".
    assert run(rule, clock, 20, ("garbage_bag", 1, (91, 60, 101, 81))) == []


def test_three_bikes_needed_for_a_non_motor_pile_up():
    rule, clock = make_rule(labels=frozenset({"bicycle", "ebike"}), min_count=3)
    two = [("bicycle", 1, (0, 60, 10, 80)), ("ebike", 2, (30, 60, 40, 80))]
    assert run(rule, clock, 30, *two) == []
    events = run(rule, clock, 11, *two, ("bicycle", 3, (60, 60, 70, 80)))
    assert phases(events) == [EventPhase.START] and events[0].track_ids == (1, 2, 3)


# --- schedules, merge window, never re-alerting -------------------------------------------------------------------

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(*ymdhm):
    return dt.datetime(*ymdhm, tzinfo=SHANGHAI).timestamp()


def weekday_daytime(timezone="Asia/Shanghai"):
    window = TimeWindow(frozenset(range(5)), dt.time(8, 0), dt.time(20, 0))
    return Schedule((window,), timezone)


@pytest.mark.parametrize(
    "start, timezone, fires",
    [
        (at(2026, 11, 30, 10, 0), "Asia/Shanghai", True),  # Monday 10:00 in Shanghai
        (at(2026, 12, 5, 10, 0), "Asia/Shanghai", False),  # Saturday
        (at(2026, 11, 30, 7, 0), "Asia/Shanghai", False),  # Monday, before 08:00
        (at(2026, 11, 30, 10, 0), "UTC", False),  # the same instant is 02:00 for a camera in UTC
    ],
)
def test_outside_the_schedule_nothing_starts(start, timezone, fires):
    rule, clock = make_rule(schedule=weekday_daytime(timezone))
    clock.set(start)
    events = run(rule, clock, 15, ("litter", 1, IN_ZONE))
    assert phases(events) == ([EventPhase.START] if fires else [])


def test_overnight_window_belongs_to_the_evening_it_starts():
    night = Schedule((TimeWindow(frozenset({4}), dt.time(22, 0), dt.time(6, 0)),))  # Friday night
    assert night.is_active(at(2026, 12, 4, 23, 0)) and night.is_active(at(2026, 12, 5, 5, 59))
    assert not night.is_active(at(2026, 12, 5, 23, 0)) and not night.is_active(at(2026, 12, 4, 5, 0))


def test_repeat_within_merge_window_reopens_the_same_event():
    rule, clock = make_rule(cooldown_s=30, merge_window_s=600)
    start = run(rule, clock, 11, ("litter", 1, IN_ZONE))[0]
    end = run(rule, clock, 3)[0]
    assert end.phase is EventPhase.END
    events = run(rule, clock, 60, ("litter", 2, IN_ZONE))  # dumped again a minute later
    assert phases(events)[0] is EventPhase.UPDATE and events[0].reopened
    assert {e.event_id for e in events} == {start.event_id}
    assert EventPhase.START not in phases(events), "a reopened event never files a second work order"
    assert phases(run(rule, clock, 3)) == [EventPhase.END]
    clock.advance(700)  # past the merge window: a new incident
    events = run(rule, clock, 11, ("litter", 3, IN_ZONE))
    assert phases(events) == [EventPhase.START] and events[0].event_id != start.event_id


def test_an_object_that_stays_never_realerts_even_across_an_id_switch():
    rule, clock = make_rule(cooldown_s=0, grace_s=1)
    assert phases(run(rule, clock, 11, ("litter", 1, IN_ZONE))) == [EventPhase.START]
    assert phases(run(rule, clock, 2)) == [EventPhase.END]  # occluded past the grace period
    # The same object, now track 5, at the same spot: it already had its work order.
    assert run(rule, clock, 120, ("litter", 5, IN_ZONE)) == []


def test_grace_after_the_object_left_does_not_count_as_dwell():
    # Seen for 8.5 s, then gone: the 2 s of grace that keep it "present" must not carry it
    # over the 10 s dwell (a pile carried away after a few seconds is not exposed garbage).
    rule, clock = make_rule(min_dwell_s=10, grace_s=2)
    pile = ("garbage_bag", 7, IN_ZONE)
    assert run(rule, clock, 9.0, pile) == []
    assert run(rule, clock, 5.0) == []
    assert not rule.active
