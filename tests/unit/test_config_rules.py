"""Rules in the worker config: preset one-liners with overrides, zone kinds,
timezones and schedules, every rule kind, the messages bad input fails with,
and what the factory builds from it."""

import datetime as dt
import logging

import pytest
import yaml

from streams.config import ConfigError, load_config
from inference.clock import FakeClock
from inference.rules import DwellRule, EventPhase, KOfNRule
from streams.rule_factory import build_rules
from tests.support.rule_driving import frame
from tests.support.site_configs import COCO, DEMO, SQUARE, camera, site



def test_preset_one_liner_with_an_override():
    cam = camera(site({"lift": {"preset": "ebike_in_elevator", "zone": "car", "grace_s": 4}}))
    rule = cam.rules["lift"]
    assert (rule.kind, rule.k, rule.n, rule.priority, rule.grace_s) == ("k_of_n", 3, 5, "emergency", 4.0)
    assert rule.category_code == "X-EBIKE-ELEVATOR" and set(rule.exclude_labels) == {"wheelchair", "stroller"}
    [(built, template)] = build_rules("street-01", cam, FakeClock())
    assert isinstance(built, KOfNRule) and built.spec.grace_s == 4.0 and template.priority == "emergency"


def test_overrides_of_labels_code_and_dwell():
    cam = camera(site({"bikes": {"preset": "illegal_parking_nonmotor", "zone": "kerb", "labels": ["bicycle"],
                                 "min_dwell_s": 20, "min_count": 4, "category_code": "09010-sz"}}))
    rule = cam.rules["bikes"]
    assert (rule.labels, rule.min_dwell_s, rule.min_count, rule.category_code) == (["bicycle"], 20, 4, "09010-sz")
    assert rule.require_static and rule.category_name.startswith("非机动车乱停放")


def test_full_kind_forms_still_work_and_demo_is_unchanged():
    demo = load_config(DEMO)
    assert {type(r).__name__ for r in demo.cameras["street-01"].rules.values()} == {"DwellRuleConfig"}
    assert demo.cameras["street-01"].timezone == "Asia/Shanghai"
    assert all(z.kind == "any" for z in demo.cameras["street-01"].zones.values())
    code = {"category_code": "L1", "category_name": "local"}
    cam = camera(site({
        "a": {"kind": "dwell", "zone": "kerb", "labels": ["car"], "min_dwell_s": 5, "require_static": True, **code},
        "b": {"kind": "k_of_n", "zone": "car", "labels": ["ebike"], "k": 2, "n": 4, **code},
        "c": {"kind": "co_occurrence", "zone": "kerb", "labels": ["ebike"], "companion_labels": ["cable"],
              "min_dwell_s": 60, **code},
        "d": {"kind": "littering", "zone": "kerb", "labels": ["litter"], "leave_after_s": 8, **code},
    }))
    kinds = [type(rule).__name__ for rule, _t in build_rules("street-01", cam, FakeClock())]
    assert kinds == ["DwellRule", "KOfNRule", "CoOccurrenceRule", "LitteringRule"]


def test_schedule_is_read_in_the_camera_timezone():
    window = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "20:00"}]
    for timezone, fires in (("Asia/Shanghai", True), ("Europe/London", False)):
        raw = site({"cars": {"preset": "illegal_parking_motor", "zone": "kerb", "min_dwell_s": 1, "schedule": window}},
                   timezone=timezone)
        [(rule, _t)] = build_rules("street-01", camera(raw), clock := FakeClock())
        clock.set(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())  # Mon 10:00 CST
        events = []
        for _ in range(10):
            clock.advance(0.5)
            events += rule.update(frame(("car", 1, (20, 40, 60, 80))), (100, 100))
        assert [e.phase for e in events] == ([EventPhase.START] if fires else []), timezone


LIFT = {"preset": "ebike_in_elevator", "zone": "car"}


@pytest.mark.parametrize(
    "rules, zones, expected",
    [
        ({"r": {**LIFT, "preset": "ebike_in_lift"}}, None,
         r"rules\.r: unknown preset 'ebike_in_lift'; known presets: .*ebike_in_elevator, .*umbrella_on_road"),
        ({"r": {**LIFT, "labels": ["e-bike"]}}, None, r"rules\.r\.labels: unknown label\(s\) \['e-bike'\]"),
        ({"r": {**LIFT, "exclude_labels": ["pram"]}}, None, r"rules\.r\.exclude_labels: unknown label\(s\) \['pram'\]"),
        ({"r": {"preset": "ebike_charging", "zone": "kerb", "companion_labels": ["charger"]}}, None,
         r"rules\.r\.companion_labels: unknown label\(s\) \['charger'\]"),
        ({"r": {**LIFT, "zone": "lobby"}}, None, r"rule 'r' names zone 'lobby', which is not defined \(zones: \['car', 'kerb'\]\)"),
        ({"r": {**LIFT, "zone": "kerb"}}, None,
         r"rule 'r': preset 'ebike_in_elevator' applies to zones of kind \['elevator'\] \(or any\); zone 'kerb' is kind 'pavement'"),
        ({"r": LIFT}, {"car": {"polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]}},
         r"zones\.car\.polygon: polygon self-intersects: edge 0-1 crosses edge 2-3"),
        ({"r": LIFT}, {"car": {"polygon": [[0, 0], [1.2, 0], [1, 1]]}}, r"zones\.car\.polygon: point 1 .* outside the frame"),
        ({"r": LIFT}, {"car": {"polygon": [[0, 0], [0.5, 0], [0.5, 0], [0.5, 0.5]]}},
         r"zones\.car\.polygon: point 2 \[0\.5, 0\.0\] repeats the point before it"),
        ({"r": LIFT}, {"car": {"polygon": SQUARE, "kind": "lift"}}, r"zones\.car\.kind: Input should be 'any', 'elevator'"),
        ({"r": {**LIFT, "min_dwell_s": 20}}, None, r"rules\.r\.min_dwell_s: unknown field"),
        ({"r": {**LIFT, "kind": "dwell"}}, None, r"preset 'ebike_in_elevator' is a k_of_n rule; kind 'dwell' contradicts it"),
        ({"r": {**LIFT, "k": 6}}, None, r"rules\.r: k \(6\) must not exceed n \(5\)"),
        ({"r": {**LIFT, "schedule": [{"start": "8:00", "end": "20:00"}]}}, None, r"schedule\.0\.start: String should match"),
        ({"r": {**LIFT, "schedule": [{"days": ["monday"], "start": "08:00", "end": "20:00"}]}}, None,
         r"schedule\.0\.days\.0: Input should be 'mon'"),
    ],
)
def test_bad_rule_config_names_the_problem(rules, zones, expected):
    with pytest.raises(ConfigError, match=expected):
        camera(site(rules, zones=zones))


def test_unknown_timezone_fails():
    with pytest.raises(ConfigError, match=r"street-01\.timezone: unknown time zone 'Asia/Beijing'"):
        camera(site({"r": LIFT}, timezone="Asia/Beijing"))


def write_coco_site(tmp_path, rules, zones=None):
    raw = site(rules, zones)
    raw["models"]["demo"]["manifest"] = str(COCO)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_coco_map_covers_the_street_presets(tmp_path, caplog):
    rules = {
        "cars": {"preset": "illegal_parking_motor", "zone": "kerb"},
        "bikes": {"preset": "shared_bike_disorder", "zone": "kerb"},
        "parasol": {"preset": "umbrella_on_road", "zone": "kerb"},
        "pavement-bikes": {"preset": "illegal_parking_nonmotor", "zone": "kerb"},
        "drop": {"preset": "littering", "zone": "kerb"},
    }
    with caplog.at_level(logging.WARNING, logger="streams.config"):
        load_config(write_coco_site(tmp_path, rules))
    warned = caplog.text
    # Preset labels the model lacks are a warning while others still count ...
    assert "rules.pavement-bikes.labels: model 'demo' does not map any class to ['ebike']" in warned
    assert "rules.drop.labels: model 'demo' does not map any class to ['garbage_bag']" in warned
    assert "rules.cars" not in warned and "rules.bikes" not in warned


@pytest.mark.parametrize(
    "rule, expected",
    [
        # ... labels a person wrote are an error,
        ({"preset": "illegal_parking_nonmotor", "zone": "kerb", "labels": ["ebike", "bicycle"]},
         r"rules\.r\.labels: model 'demo' does not map any class to \['ebike'\]; it provides .*override labels"),
        # an exclusion the model cannot see could never work,
        (LIFT, r"rules\.r\.exclude_labels: model 'demo' does not map any class to \['stroller', 'wheelchair'\], "
               r"so the exclusion could never work"),
        # and a preset none of whose companions the model provides could never fire.
        ({"preset": "ebike_charging", "zone": "kerb"},
         r"rules\.r\.companion_labels: model 'demo' does not map any class to \['cable', 'power_strip'\]"),
        ({"preset": "exposed_garbage", "zone": "kerb"}, r"rules\.r\.labels: .*\['garbage_bag', 'garbage_pile'\]"),
        ({"preset": "littering", "zone": "kerb", "actor_labels": ["person", "stroller"]},
         r"rules\.r\.actor_labels: model 'demo' does not map any class to \['stroller'\]"),
    ],
)
def test_labels_the_model_cannot_produce_fail_at_start(tmp_path, rule, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write_coco_site(tmp_path, {"r": rule}))


def test_lift_preset_runs_on_coco_once_the_exclusion_is_waived(tmp_path):
    config = load_config(write_coco_site(tmp_path, {"r": {**LIFT, "exclude_labels": []}}))
    assert config.cameras["street-01"].rules["r"].labels == ["ebike", "motorcycle"]


def test_unchanged_rules_keep_their_state_when_the_config_is_reloaded():
    old = camera(site({"a": {"preset": "illegal_parking_motor", "zone": "kerb"},
                       "b": {"preset": "piled_sundries", "zone": "kerb"}}))
    running = build_rules("street-01", old, FakeClock())
    new = camera(site({"a": {"preset": "illegal_parking_motor", "zone": "kerb", "priority": "urgent"},
                       "b": {"preset": "piled_sundries", "zone": "kerb", "min_dwell_s": 30}}))
    rebuilt = build_rules("street-01", new, FakeClock(), old, running)
    assert rebuilt[0][0] is running[0][0] and rebuilt[0][1].priority == "urgent", "template change only: state kept"
    assert rebuilt[1][0] is not running[1][0] and isinstance(rebuilt[1][0], DwellRule)
