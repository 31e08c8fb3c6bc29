"""Config errors fail at start with the field and the problem named."""

import copy
from pathlib import Path

import pytest
import yaml

from streams.config import ConfigError, load_config, parse_config

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
        (lambda r: r["cameras"]["street-01"].update(analysis_fps=0), r"cameras\.street-01\.analysis_fps: analysis_fps must be a number > 0 and <= 60, or auto; got 0"),
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


def test_redis_section_cluster_mode_and_bounds():
    raw = mutate(lambda r: r.update(redis={"url": "redis://redis:6379/0", "max_cameras": 16}))
    config = parse(raw)
    assert config.redis.max_cameras == 16 and config.redis.lease_ttl_s == 8.0 and config.redis.stream == "gridsight:orders"
    assert "redis://redis" not in repr(config.redis), "the URL may carry a password: not in repr"
    raw = mutate(lambda r: (r.pop("cameras"), r.update(redis={"url": "redis://x:6379"})))
    assert parse(raw).cameras == {}, "cameras may all come from Redis"
    for redis, expected in [
        ({"url": "http://x"}, r"redis\.url: String should match pattern"),
        ({"url": "redis://x", "lease_ttl_s": 4, "heartbeat_interval_s": 2}, r"must be less than half of lease_ttl_s"),
        ({"url": "redis://x", "max_cameras": 0}, r"redis\.max_cameras: Input should be greater than or equal to 1"),
        ({"url": "redis://x", "leases": 1}, r"redis\.leases: unknown field"),
        ({"url": "redis://x", "cameras_from": "file"}, None),
    ]:
        raw = mutate(lambda r, redis=redis: r.update(redis=redis))
        if expected is None:
            parse(raw)
            continue
        with pytest.raises(ConfigError, match=expected):
            parse(raw)
    with pytest.raises(ConfigError, match="at least one camera"):
        parse(mutate(lambda r: (r.update(cameras={}), r.update(redis={"url": "redis://x", "cameras_from": "file"}))))


def test_environment_overrides_for_containers(tmp_path):
    from streams.config import apply_env

    raw = apply_env(demo_raw(), {"GRIDSIGHT_REDIS_URL": "redis://r:6379/0", "GRIDSIGHT_WORKER_NAME": "pod-7",
                                 "GRIDSIGHT_MAX_CAMERAS": "12", "GRIDSIGHT_METRICS_PORT": "9100", "GRIDSIGHT_API_URL": ""})
    config = parse(raw)
    assert (config.redis.url, config.redis.max_cameras, config.worker.name, config.worker.metrics_port) == (
        "redis://r:6379/0", 12, "pod-7", 9100)
    assert config.api.url == demo_raw()["api"]["url"], "empty variables change nothing"
    with pytest.raises(ConfigError, match=r"redis\.url: Field required"):
        parse(apply_env(demo_raw(), {"GRIDSIGHT_MAX_CAMERAS": "3"}))
