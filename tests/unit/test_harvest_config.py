"""The ``harvest`` config section (streams.config.harvest): off by default, one default per setting
shared with the sampler, per-camera overrides on top of the global section, one-line errors for a
misspelt key or a value out of bounds; and what the worker builds from it (streams.harvest.service)."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml

from inference.clock import FakeClock
from streams.config import ConfigError, parse_config
from streams.config.harvest import HarvestConfig, camera_harvest
from streams.harvest.camera import CameraHarvester
from streams.harvest.sampler import SamplerSettings
from streams.harvest.service import HarvestService
from tests.support.site_configs import DEMO


def demo(harvest=None, camera_harvest_section=None, second_camera=False):
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    if harvest is not None:
        raw["harvest"] = harvest
    if camera_harvest_section is not None:
        raw["cameras"]["street-01"]["harvest"] = camera_harvest_section
    if second_camera:
        raw["cameras"]["street-02"] = copy.deepcopy(raw["cameras"]["street-01"])
        raw["cameras"]["street-02"].pop("harvest", None)
    return parse_config(raw, DEMO)


def test_harvesting_is_off_by_default_and_builds_nothing():
    config = demo()
    assert config.harvest.enabled is False
    assert HarvestService.from_config(config) is None


def test_the_sampling_defaults_are_the_samplers_own():
    section = HarvestConfig()
    for f in dataclasses.fields(SamplerSettings):
        if f.name == "site_timezone":
            continue  # the worker's site_timezone
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        assert getattr(section, f.name) == default, f.name


def test_a_camera_overrides_only_what_it_names():
    config = demo({"enabled": True, "budget_per_day": 100, "min_spacing_s": 30},
                  {"budget_per_day": 5, "reason_caps": {"flicker": 2}}, second_camera=True)
    one = camera_harvest(config.harvest, config.cameras["street-01"].harvest)
    two = camera_harvest(config.harvest, config.cameras["street-02"].harvest)
    assert (one.budget_per_day, one.min_spacing_s, one.reason_caps["flicker"], one.reason_caps["uncertain"]) == \
        (5, 30, 2, 80)
    assert (two.budget_per_day, two.min_spacing_s, two.reason_caps["flicker"]) == (100, 30, 60)


def test_a_camera_may_harvest_alone_or_opt_out():
    config = demo(None, {"enabled": True}, second_camera=True)
    service = HarvestService.from_config(config)
    assert service is not None
    harvester = service.for_camera("street-01", config.cameras["street-01"], FakeClock())
    assert isinstance(harvester, CameraHarvester)
    assert harvester.default_floor == config.models["demo"].confidence
    assert harvester.sampler.settings.site_timezone == config.worker.site_timezone
    assert service.for_camera("street-02", config.cameras["street-02"], FakeClock()) is None
    service.stop()


@pytest.mark.parametrize(("section", "expected"), [
    ({"enabled": True, "budget_per_dya": 3}, r"harvest\.budget_per_dya: unknown field \(did you mean .budget_per_day.\?\)"),
    ({"uncertainty_margin": 0.9}, r"harvest\.uncertainty_margin"),
    ({"reason_caps": {"false_positive": 3}}, r"harvest\.reason_caps"),
    ({"batch_max_frames": 32}, r"harvest\.batch_max_frames"),
])
def test_a_bad_harvest_section_is_one_clear_error(section, expected):
    with pytest.raises(ConfigError, match=expected):
        demo(section)


def test_a_camera_section_takes_no_worker_wide_settings():
    with pytest.raises(ConfigError, match=r"street-01\.harvest\.spool_max_frames"):
        demo(None, {"spool_max_frames": 3})


def test_a_replay_harvests_nothing_whatever_the_site_config_says(tmp_path):
    from gridsight.ml.replay import _replay_config

    config = demo({"enabled": True}, {"enabled": True})
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    replayed = _replay_config(config, "street-01", clip, None)
    assert HarvestService.from_config(replayed) is None  # nothing leaves a replay's process
