"""Shadow mode on the demo clip: the candidate's events are logged and compared, and never
become work orders, even where the live model files nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gridsight.cli import main
from streams.config import ConfigError, load_config
from gridsight.ml.replay import replay_clip
from streams.shadow import shadow_report

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, live_confidence: float, shadow: dict) -> Path:
    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    manifest = str(ROOT / "weights" / "gridsight-demo-v1.yaml")
    raw["models"] = {
        "demo": {"manifest": manifest, "confidence": live_confidence},
        "candidate": {"manifest": manifest, "confidence": 0.2},
    }
    raw["worker"]["spool_dir"] = str(tmp_path / "spool")
    raw["shadow"] = shadow
    path = tmp_path / "shadow.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def test_candidate_events_are_logged_and_never_filed(demo_clip, tmp_path, capsys):
    # The live model at 0.99 sees (almost) nothing; the candidate at 0.2 sees the demo's litter.
    log_dir = tmp_path / "shadow-log"
    config = load_config(_config(tmp_path, 0.99, {"model": "candidate", "cameras": ["street-01"], "log_dir": str(log_dir)}))
    result = replay_clip(config, "street-01", demo_clip)

    lines = [json.loads(x) for x in (log_dir / "street-01.jsonl").read_text().splitlines()]
    shadow_starts = [x for x in lines if x["side"] == "shadow" and x["phase"] == "start"]
    live_starts = [x for x in lines if x["side"] == "live" and x["phase"] == "start"]
    assert sorted(x["rule_id"] for x in shadow_starts) == ["east-litter", "west-litter"]
    # Only the live side can file, and it filed exactly what it logged.
    assert len(result.orders) == len(live_starts) < len(shadow_starts)
    assert {o["rule_id"] for o in result.orders} == {x["rule_id"] for x in live_starts}

    rows = {r.rule_id: r for r in shadow_report(log_dir)}
    assert rows["west-litter"].shadow == 1 and rows["west-litter"].shadow_only == 1 - rows["west-litter"].both
    assert main(["shadow-report", str(log_dir)]) == 0
    assert "west-litter" in capsys.readouterr().out


def test_same_model_on_both_sides_agrees(demo_clip, tmp_path):
    log_dir = tmp_path / "same"
    config = load_config(_config(tmp_path, 0.2, {"model": "candidate", "log_dir": str(log_dir)}))
    result = replay_clip(config, "street-01", demo_clip)
    assert len(result.orders) == 2
    rows = shadow_report(log_dir)
    assert [(r.rule_id, r.live, r.shadow, r.agreement) for r in rows] == [
        ("east-litter", 1, 1, 1.0), ("west-litter", 1, 1, 1.0)]


def test_bad_shadow_config_is_refused_with_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="shadow names model 'nope'"):
        load_config(_config(tmp_path, 0.2, {"model": "nope"}))
    with pytest.raises(ConfigError, match=r"shadow names camera\(s\) \['street-99'\]"):
        load_config(_config(tmp_path, 0.2, {"model": "candidate", "cameras": ["street-99"]}))
