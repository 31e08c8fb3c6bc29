"""Config errors fail at start with the field and the problem named."""

import copy
from pathlib import Path

import pytest
import yaml

from gridsight.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo.yaml"


def demo_raw():
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def parse(raw):
    return parse_config(raw, DEMO)


def test_demo_config_is_valid_and_paths_resolve_against_it():
    config = parse(demo_raw())
    assert config.models["demo"].manifest == (REPO / "weights" / "gridsight-demo-v1.yaml").resolve()
    assert set(config.cameras["street-01"].rules) == {"west-litter", "east-litter"}


def mutate(fn):
    raw = copy.deepcopy(demo_raw())
    fn(raw)
    return raw


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda r: r["cameras"]["street-01"].update(fps=5), r"cameras\.street-01\.fps: unknown field"),
        (lambda r: r["cameras"]["street-01"].update(analysis_fps=0), r"cameras\.street-01\.analysis_fps: Input should be greater than 0"),
        (lambda r: r["cameras"]["street-01"]["rules"]["west-litter"].update(zone="nowhere"), r"rule 'west-litter' names zone 'nowhere'"),
        (lambda r: r["cameras"]["street-01"]["rules"]["west-litter"].update(labels=["rubbish"]), r"labels: unknown label\(s\) \['rubbish'\]"),
        (lambda r: r["cameras"]["street-01"].update(model="nope"), r"camera 'street-01' names model 'nope'"),
        (
            lambda r: r["cameras"]["street-01"]["zones"]["west-kerb"].update(polygon=[[0, 0], [1, 1], [1, 0], [0, 1]]),
            r"zones\.west-kerb\.polygon: polygon self-intersects",
        ),
        (
            lambda r: r["cameras"]["street-01"]["zones"]["west-kerb"].update(polygon=[[0, 0], [1.5, 0], [1, 1]]),
            r"zones\.west-kerb\.polygon: point 1 .* outside the frame",
        ),
        (lambda r: r["api"].update(url="ftp://x"), r"api\.url: String should match pattern"),
        (lambda r: r.pop("cameras"), r"cameras: Field required"),
        (lambda r: r["cameras"]["street-01"]["rules"]["west-litter"].update(priority="asap"), r"priority: Input should be 'normal', 'urgent' or 'emergency'"),
    ],
)
def test_bad_config_names_field_and_problem(change, expected):
    with pytest.raises(ConfigError, match=expected):
        parse(mutate(change))


def test_camera_url_never_in_error_or_repr(tmp_path):
    raw = mutate(lambda r: r["cameras"]["street-01"].update(url="rtsp://admin:hunter2@10.0.0.9/live", analysis_fps=-1))
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert "hunter2" not in str(err.value)
    ok = parse(mutate(lambda r: r["cameras"]["street-01"].update(url="rtsp://admin:hunter2@10.0.0.9/live")))
    assert "hunter2" not in repr(ok)


def test_load_config_reports_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_rule_label_the_model_cannot_produce_fails_at_start(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({
        "name": "people-only", "version": "1", "file": "m.pt", "sha256": None, "input_size": 320,
        "classes": ["person"], "canonical_labels": {"person": "person"},
    }))
    raw = mutate(lambda r: r["models"]["demo"].update(manifest=str(manifest)))
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"rules\.(west|east)-litter\.labels: model 'demo' does not map any class to \['garbage_bag', 'litter'\]"):
        load_config(path)
