"""The preset registry: the names other parts of the system write, the codes
the operations centres file under, and that every preset expands into a
rule the worker can build."""

import pytest

from streams.config import GridSightConfig
from inference.clock import FakeClock
from inference.labels import CANONICAL_LABELS
from inference.rules.presets import PRESETS, RULE_KINDS, ZONE_KINDS, UnknownPresetError, get_preset
from inference.rules import CoOccurrenceRule, DwellRule, KOfNRule, LitteringRule
from streams.rule_factory import build_rules

STREET_15 = {
    "out_of_store_trading": "09005", "occupy_road_trading": "09006", "roaming_vendor": "09001",
    "umbrella_on_road": "09006", "open_air_barbecue": "06029", "piled_sundries": "06036", "hanging_laundry": "06007",
    "illegal_small_ads": "07001", "illegal_outdoor_ads": "07003", "illegal_parking_motor": "09009",
    "illegal_parking_nonmotor": "09010", "shared_bike_disorder": "09011", "fire_lane_blocked": "09012",
    "construction_occupying_road": "08002", "scrap_collecting": "09004",
}
LITTERING = {"littering": "06012", "exposed_garbage": "06010", "overflowing_bin": "06042"}
EBIKE = {"ebike_in_elevator", "ebike_in_corridor", "ebike_charging", "flying_wire"}
KIND_CLASS = {"dwell": DwellRule, "k_of_n": KOfNRule, "co_occurrence": CoOccurrenceRule, "littering": LitteringRule}


def test_exactly_the_agreed_names_with_their_codes():
    assert set(PRESETS) == set(STREET_15) | set(LITTERING) | EBIKE
    for name, code in {**STREET_15, **LITTERING}.items():
        assert PRESETS[name].category_code == code, name
    for name in EBIKE:
        assert PRESETS[name].category_code.startswith("X-"), "no standard code: a local one"
    assert {p.family for p in PRESETS.values()} == {"littering", "ebike", "street"}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_consistent_and_builds(name):
    preset = PRESETS[name]
    fields = preset.rule_fields()
    for key in ("labels", "companion_labels", "exclude_labels", "actor_labels"):
        assert set(fields.get(key, [])) <= CANONICAL_LABELS, f"{name}.{key}"
    assert preset.kind in RULE_KINDS and preset.zone_kinds and preset.zone_kinds <= set(ZONE_KINDS) - {"any"}
    assert preset.priority in ("normal", "urgent", "emergency") and preset.name_zh and preset.name_en
    zone_kind = sorted(preset.zone_kinds)[0]
    config = GridSightConfig.model_validate({
        "models": {"m": {"manifest": "m.yaml"}},
        "cameras": {"cam": {"url": "x.mp4", "model": "m",
                            "zones": {"z": {"polygon": [[0, 0], [1, 0], [1, 1]], "kind": zone_kind}},
                            "rules": {"r": {"preset": name, "zone": "z"}}}},
    })
    [(rule, template)] = build_rules("cam", config.cameras["cam"], FakeClock())
    assert type(rule) is KIND_CLASS[preset.kind]
    assert (template.category_code, template.category_name, template.priority) == (
        preset.category_code, preset.category_name, preset.priority)


def test_rule_shapes_from_the_domain():
    lift = PRESETS["ebike_in_elevator"].params
    assert (lift["k"], lift["n"], set(lift["exclude_labels"])) == (3, 5, {"wheelchair", "stroller"})
    assert PRESETS["ebike_in_elevator"].priority == "emergency" and PRESETS["ebike_in_elevator"].zone_kinds == {"elevator"}
    assert PRESETS["exposed_garbage"].params["min_dwell_s"] == 1800
    assert PRESETS["overflowing_bin"].params["labels"] == ("bin_full",) and PRESETS["overflowing_bin"].params["min_dwell_s"] == 600
    assert PRESETS["illegal_parking_nonmotor"].params["min_count"] >= 3
    assert PRESETS["illegal_parking_nonmotor"].params["min_dwell_s"] == 600
    assert PRESETS["illegal_parking_motor"].params["min_dwell_s"] == 300
    assert PRESETS["fire_lane_blocked"].params["min_dwell_s"] == 120
    charging = PRESETS["ebike_charging"]
    assert charging.kind == "co_occurrence" and charging.priority == "urgent" and charging.params["min_dwell_s"] == 300
    assert set(charging.params["companion_labels"]) == {"cable", "power_strip"}
    assert PRESETS["flying_wire"].zone_kinds == {"facade"} and PRESETS["flying_wire"].priority == "urgent"
    assert PRESETS["roaming_vendor"].params["require_static"] and PRESETS["umbrella_on_road"].params["require_static"]
    assert PRESETS["littering"].kind == "littering"


def test_zone_kind_any_is_accepted_by_every_preset():
    assert all(p.allows_zone("any") for p in PRESETS.values())
    assert not PRESETS["ebike_in_elevator"].allows_zone("road")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(UnknownPresetError, match=r"unknown preset 'ebike_in_lift'; known presets: .*ebike_in_elevator"):
        get_preset("ebike_in_lift")
