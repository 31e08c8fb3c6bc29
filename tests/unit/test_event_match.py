"""Event-level matching: hand-built STARTs and incidents, hand-checked counts and delays."""

from __future__ import annotations

import pytest

from gridsight.ml.scenario_eval.matching import (
    DetectedStart,
    GroundTruthEvent,
    family_of,
    format_table,
    match_events,
    summarise,
)


def gt(rule, start, end, clip="c1", preset=None, zone="z"):
    return GroundTruthEvent(clip, rule, preset or rule, zone, start, end)


def det(rule, at, clip="c1", preset=None, zone="z", dwell=4.0):
    return DetectedStart(clip, rule, preset or rule, zone, at, dwell)


def test_start_inside_the_window_matches_and_delay_includes_the_dwell():
    result = match_events([gt("littering", 5.0, 18.0)], [det("littering", 10.0, dwell=4.0)])
    assert len(result.matches) == 1 and not result.false_positives and not result.false_negatives
    m = result.matches[0]
    assert m.delay_s == pytest.approx(5.0)
    assert m.delay_beyond_dwell_s == pytest.approx(1.0)


def test_window_edges_and_tolerance():
    truth = [gt("r", 2.0, 8.0)]
    assert len(match_events(truth, [det("r", 2.0)]).matches) == 1  # at the start itself
    assert len(match_events(truth, [det("r", 11.0)], tolerance_s=3.0).matches) == 1  # end + tolerance
    late = match_events(truth, [det("r", 11.5)], tolerance_s=3.0)
    assert not late.matches and len(late.false_positives) == 1 and len(late.false_negatives) == 1
    early = match_events(truth, [det("r", 1.9)])  # before the incident began: not caused by it
    assert not early.matches and len(early.false_positives) == 1


def test_rule_zone_and_clip_must_agree():
    truth = [gt("r", 0.0, 10.0, zone="a")]
    for wrong in (det("r", 5.0, zone="b"), det("other", 5.0, zone="a"), det("r", 5.0, clip="c2", zone="a")):
        result = match_events(truth, [wrong])
        assert not result.matches and len(result.false_positives) == 1 and len(result.false_negatives) == 1


def test_one_to_one_a_second_order_for_one_incident_is_a_false_positive():
    truth = [gt("r", 0.0, 20.0), gt("r", 30.0, 40.0)]
    result = match_events(truth, [det("r", 5.0), det("r", 9.0), det("r", 34.0)])
    assert [(m.truth.start_s, m.detected.at_s) for m in result.matches] == [(0.0, 5.0), (30.0, 34.0)]
    assert [d.at_s for d in result.false_positives] == [9.0]
    assert not result.false_negatives


def test_summary_per_rule_and_family_hand_checked():
    truth = [
        gt("littering", 5.0, 18.0),
        gt("garbage", 4.0, 18.0, preset="exposed_garbage"),
        gt("garbage", 0.0, 14.0, clip="c2", preset="exposed_garbage"),
        gt("lift", 2.0, 10.0, clip="c3", preset="ebike_in_elevator"),
    ]
    detected = [
        det("littering", 10.0, dwell=4.0),  # TP, delay 5 (1 beyond dwell)
        det("garbage", 11.0, preset="exposed_garbage", dwell=5.0),  # TP, delay 7 (2 beyond)
        det("littering", 3.0, clip="c4", dwell=4.0),  # FP on a negative clip
        det("lift", 3.0, clip="c3", preset="ebike_in_elevator", dwell=1.0),  # TP, delay 1 (0 beyond)
    ]
    summary = summarise(match_events(truth, detected), presets=["littering", "exposed_garbage", "ebike_in_elevator", "roaming_vendor"])
    rules, fams = summary["rules"], summary["families"]
    assert (rules["littering"]["tp"], rules["littering"]["fp"], rules["littering"]["fn"]) == (1, 1, 0)
    assert rules["littering"]["precision"] == 0.5 and rules["littering"]["recall"] == 1.0
    assert (rules["exposed_garbage"]["tp"], rules["exposed_garbage"]["fn"]) == (1, 1)
    assert rules["exposed_garbage"]["recall"] == 0.5 and rules["exposed_garbage"]["mean_delay_s"] == 7.0
    # A preset run only on negatives that stayed quiet: nothing wrong, nothing missed.
    assert rules["roaming_vendor"] == {**rules["roaming_vendor"], "tp": 0, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
    lit = fams["littering"]
    assert (lit["tp"], lit["fp"], lit["fn"]) == (2, 1, 1)
    assert lit["precision"] == pytest.approx(0.667, abs=1e-3) and lit["recall"] == pytest.approx(0.667, abs=1e-3)
    assert lit["mean_delay_s"] == 6.0 and lit["max_delay_s"] == 7.0
    assert lit["mean_delay_beyond_dwell_s"] == 1.5 and lit["max_delay_beyond_dwell_s"] == 2.0
    assert fams["ebike"]["precision"] == 1.0 and fams["ebike"]["mean_delay_beyond_dwell_s"] == 0.0
    assert summary["overall"]["tp"] == 3 and summary["overall"]["fp"] == 1 and summary["overall"]["fn"] == 1
    table = format_table(summary)
    assert "family littering" in table and "roaming_vendor" in table


def test_a_bad_detector_fails_the_bar():
    """Late, duplicated and spurious STARTs must push a family under 0.9 (the CI bar)."""
    truth = [gt("r", 0.0, 10.0, clip=f"c{i}", preset="littering") for i in range(5)]
    detected = [det("r", 30.0, clip="c0", preset="littering")]  # far too late: FP and FN
    detected += [det("r", 5.0, clip=f"c{i}", preset="littering") for i in range(1, 5)]
    detected += [det("r", 6.0, clip="c1", preset="littering")]  # a second order for one incident
    fam = summarise(match_events(truth, detected))["families"]["littering"]
    assert (fam["tp"], fam["fp"], fam["fn"]) == (4, 2, 1)
    assert fam["precision"] < 0.9 and fam["recall"] < 0.9


def test_families_cover_every_preset_once():
    assert family_of("littering") == "littering" and family_of("flying_wire") == "ebike"
    assert family_of("scrap_collecting") == "street" and family_of("made_up") == "other"
