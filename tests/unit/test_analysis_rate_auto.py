"""``analysis_fps: auto`` follows the camera's rules (inference.rates); absent, a camera keeps
its old 5 fps; ``source.decode`` takes only the three modes, each with one-line errors."""

from __future__ import annotations

import logging

import pytest

from streams.config import ConfigError, parse_config
from streams.pipeline_factory import _source_for, log_analysis_rate
from tests.support.site_configs import DEMO, camera, site


def test_auto_takes_the_fastest_rules_minimum_and_says_which_rule():
    cam = camera(site({"drop": {"preset": "littering", "zone": "kerb"},
                       "pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps="auto"))
    assert cam.analysis_fps == 1.0  # littering's minimum; piled sundries needs only 0.2
    assert cam.analysis_fps_why().startswith("auto: rule 'drop' needs 1 fps")


def test_auto_on_slow_rules_only_goes_down_to_their_minimum():
    cam = camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps="auto"))
    assert cam.analysis_fps == pytest.approx(0.2)
    assert "rule 'pile'" in cam.analysis_fps_why()


def test_absent_analysis_fps_still_means_5_fps():
    raw = site({"pile": {"preset": "piled_sundries", "zone": "kerb"}})
    raw["cameras"]["street-01"].pop("analysis_fps", None)
    cam = camera(raw)
    assert cam.analysis_fps == 5.0 and cam.analysis_fps_why() == "configured"


@pytest.mark.parametrize("value, expected", [
    (0, "got 0"),
    (61, "got 61"),
    ("fast", "got 'fast'"),
    (None, "got None"),
])
def test_bad_analysis_fps_is_one_line(value, expected):
    with pytest.raises(ConfigError) as err:
        camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps=value))
    problems = [line for line in str(err.value).splitlines() if line.strip().startswith("- ")]
    assert problems == [f"  - cameras.street-01.analysis_fps: analysis_fps must be a number > 0 and <= 60, "
                        f"or auto; {expected}"]


@pytest.mark.parametrize("mode", ["auto", "all", "keyframes"])
def test_decode_modes_reach_the_source(mode):
    raw = site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps="auto",
               source={"decode": mode})
    src = _source_for("street-01", parse_config(raw, DEMO).cameras["street-01"], None)
    assert src.options.decode == mode


def test_unknown_decode_mode_is_refused():
    with pytest.raises(ConfigError) as err:
        camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, source={"decode": "iframes"}))
    assert "decode" in str(err.value) and "keyframes" in str(err.value)


def test_the_factory_logs_the_rate_chosen_and_why(caplog):
    cam = camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps="auto"))
    with caplog.at_level(logging.INFO, logger="streams.pipeline_factory"):
        log_analysis_rate("street-01", cam)
    assert "camera street-01: analysing at 0.2 fps (auto: rule 'pile' needs 0.2 fps" in caplog.text
    assert "decode auto" in caplog.text


def test_health_says_each_cameras_rate_why_and_what_it_decodes():
    """Silence is a bug: /health shows the rate a camera runs at and the rule that set it, so a
    camera analysed at 0.2 fps is visibly so, with its decode mode and the GOP it measured."""
    from types import SimpleNamespace

    from streams.runtime import analysis_rate

    cam = camera(site({"pile": {"preset": "piled_sundries", "zone": "kerb"}}, analysis_fps="auto"))
    source = SimpleNamespace(stats=lambda: {"decode": "keyframes", "gop_s": 2.0})
    steady = SimpleNamespace(camera_id="street-01", camera_config=cam, source=source, governor=None)
    assert analysis_rate(steady) == {"fps": pytest.approx(0.2), "why": cam.analysis_fps_why(),
                                     "decode": "keyframes", "gop_s": 2.0}
    assert "rule 'pile'" in analysis_rate(steady)["why"]
    shed = SimpleNamespace(camera_id="street-01", camera_config=cam, source=source, governor=SimpleNamespace(fps=0.1))
    assert analysis_rate(shed)["fps"] == 0.1  # what it runs at now, not what it was configured to
