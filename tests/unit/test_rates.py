"""Each rule's minimum analysis rate: declared by presets, derived from timings, enforced at
start (analysis_fps and worker.shed_min_fps), and kept by the shedder."""

from __future__ import annotations

import pytest

from streams.config import ConfigError, parse_config
from inference.rules.presets import PRESETS
from inference.rates import ABSOLUTE_MIN_FPS, rule_min_fps
from streams.shedding import FpsGovernor
from tests.support.site_configs import DEMO, camera, site


def test_presets_declare_the_rates_their_semantics_need():
    assert rule_min_fps("littering", PRESETS["littering"].params, "littering").fps == 1.0
    assert rule_min_fps("k_of_n", PRESETS["ebike_in_elevator"].params, "ebike_in_elevator").fps == 2.0
    # Slow presets run at the slowest tested rate: piled sundries has 30 minutes.
    assert rule_min_fps("dwell", PRESETS["piled_sundries"].params, "piled_sundries").fps == ABSOLUTE_MIN_FPS


@pytest.mark.parametrize("dwell, expected", [(1800, ABSOLUTE_MIN_FPS), (10, 0.3), (3, 1.0)])
def test_a_short_dwell_needs_three_looks(dwell, expected):
    low = rule_min_fps("dwell", {"min_dwell_s": dwell}, "piled_sundries")
    assert low.fps == pytest.approx(expected)
    if dwell < 10:
        assert f"{dwell} s dwell" in low.reason


def test_a_camera_analysed_below_a_rules_minimum_is_refused_naming_rule_and_minimum():
    with pytest.raises(ConfigError) as err:
        camera(site({"drop": {"preset": "littering", "zone": "kerb"}}, analysis_fps=0.5))
    text = str(err.value)
    assert "rule 'drop'" in text and "1 fps" in text and "analysis_fps is 0.5" in text


@pytest.mark.parametrize("fps", [0.2, 0.5, 1, 2, 8])
def test_slow_presets_are_accepted_at_every_rate_down_to_0_2(fps):
    cam = camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps=fps))
    assert cam.min_analysis_fps().fps == ABSOLUTE_MIN_FPS


def test_shed_min_fps_below_a_rules_minimum_is_refused():
    raw = site({"drop": {"preset": "littering", "zone": "kerb"}}, analysis_fps=2)
    raw["worker"] = {**(raw.get("worker") or {}), "shed_min_fps": 0.5}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, DEMO)
    text = str(err.value)
    assert "shed_min_fps 0.5" in text and "'drop'" in text and "1 fps" in text


def test_without_shed_min_fps_each_camera_sheds_to_its_own_minimum():
    raw = site({"drop": {"preset": "littering", "zone": "kerb"}}, analysis_fps=4)
    config = parse_config(raw, DEMO)
    assert config.worker.shed_min_fps is None
    assert config.cameras["street-01"].min_analysis_fps().fps == 1.0


def test_the_governor_never_sheds_below_its_floor_and_says_it_is_overloaded_there():
    now = [0.0]
    gov = FpsGovernor(4.0, 1.0, clock=lambda: now[0], warmup_samples=0)
    for _ in range(400):
        now[0] += 0.5
        gov.observe(2.0)  # 2 s of work per frame: far more than any rate allows
    assert gov.fps == pytest.approx(1.0) and gov.overloaded_at_floor


def test_a_preset_whose_labels_keep_none_of_its_own_is_refused():
    with pytest.raises(ConfigError) as err:
        camera(site({"vendor": {"preset": "roaming_vendor", "zone": "kerb", "labels": ["person"]}}))
    text = str(err.value)
    assert "roaming_vendor" in text and "['stall']" in text and "plain rule" in text


def test_a_preset_label_override_that_keeps_one_of_its_own_labels_is_accepted():
    cam = camera(site({"bikes": {"preset": "illegal_parking_nonmotor", "zone": "kerb", "labels": ["bicycle"]}}))
    assert cam.rules["bikes"].labels == ["bicycle"]


@pytest.mark.parametrize("fps", [0.2, 0.5, 1, 2, 5])
def test_a_dwell_survives_one_missed_detection_at_any_rate(fps):
    """At 0.5 fps one missed frame is a 4 s gap, longer than the 3 s grace: it must not reset the dwell."""
    import numpy as np

    from inference.clock import FrameClock
    from inference.detections import Detections
    from inference.tracking import ObjectTracker
    from streams.rule_factory import build_rules

    cam = camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb", "min_dwell_s": 60}}, analysis_fps=fps))
    clock = FrameClock()
    [(rule, _template)] = build_rules("street-01", cam, clock)
    tracker = ObjectTracker(frame_rate=fps)
    pile = Detections(np.array([[600, 400, 700, 480]], np.float32), np.array([0.8], np.float32),
                      np.array(["pile"], dtype=object))
    starts = []
    for i in range(int(120 * fps)):
        t = 1_800_000_000.0 + i / fps
        tracked = tracker.update(Detections.empty() if i % 3 == 2 else pile, t)
        clock.advance_to(t)
        starts += [e for e in rule.update(tracked, (1280, 720)) if e.phase.value == "start"]
    assert len(starts) == 1, (fps, starts)
    assert starts[0].at - 1_800_000_000.0 <= 60 + 3 / fps + 1e-6


def test_time_without_frames_is_not_dwell():
    """A 27 s stream outage while a car stood there: the END's dwell is what was seen, not the outage."""
    import numpy as np

    from inference.clock import FrameClock
    from inference.detections import Detections
    from inference.tracking import ObjectTracker
    from streams.rule_factory import build_rules

    cam = camera(site({"park": {"preset": "fire_lane_blocked", "zone": "kerb", "min_dwell_s": 5}}, analysis_fps=2,
                      zones={"kerb": {"polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]], "kind": "fire_lane"}}))
    clock = FrameClock()
    [(rule, _template)] = build_rules("street-01", cam, clock)
    tracker = ObjectTracker(frame_rate=2)
    car = Detections(np.array([[500, 300, 800, 500]], np.float32), np.array([0.9], np.float32),
                     np.array(["car"], dtype=object))
    t0, events = 1_800_000_000.0, []
    times = [t0 + i / 2 for i in range(40)] + [t0 + 20 + 27 + i / 2 for i in range(20)]  # 20 s, outage, 10 s empty
    for i, t in enumerate(times):
        tracked = tracker.update(car if i < 40 else Detections.empty(), t)
        clock.advance_to(t)
        events += rule.update(tracked, (1280, 720))
    [end] = [e for e in events if e.phase.value == "end"]
    assert end.dwell_s <= 20.0 + 1e-6, end.dwell_s
    assert end.at - t0 >= 47  # it is noticed on the first frame after the outage


def test_a_dwell_completes_after_the_shedder_slows_a_camera_from_5_to_0_2_fps():
    """The grace follows the rate the rule is actually shown, not the rate it started at."""
    import numpy as np

    from inference.clock import FrameClock
    from inference.detections import Detections
    from inference.tracking import ObjectTracker
    from streams.rule_factory import build_rules

    cam = camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb", "min_dwell_s": 60}}, analysis_fps=5))
    clock = FrameClock()
    [(rule, _template)] = build_rules("street-01", cam, clock)
    tracker = ObjectTracker(frame_rate=5)
    pile = Detections(np.array([[600, 400, 700, 480]], np.float32), np.array([0.8], np.float32),
                      np.array(["pile"], dtype=object))
    times = [i / 5 for i in range(50)] + [10 + 5 * i for i in range(30)]  # 10 s at 5 fps, then shed to 0.2
    starts = []
    for i, t in enumerate(times):
        tracked = tracker.update(Detections.empty() if i >= 50 and i % 4 == 3 else pile, 1_800_000_000.0 + t)
        clock.advance_to(1_800_000_000.0 + t)
        starts += [e for e in rule.update(tracked, (1280, 720)) if e.phase.value == "start"]
    assert len(starts) == 1, starts
