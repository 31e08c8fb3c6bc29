"""Issue 17, point 8 and point 3 below the browser: readable track numbers on the
snapshot, a category's name in the stats, "did you mean" for unknown config keys,
and command options that say what they do and their defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from inference.evidence import track_numbers
from streams.config import ConfigError, load_config
from tests.support.orders import order_body, post_order

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


def test_tracks_are_numbered_one_two_three_in_the_events_order_not_by_tracker_id() -> None:
    assert track_numbers(np.array([2000000, 1999990, 2000000, -1, 5])) == [1, 2, 1, None, 3]
    assert track_numbers(np.array([], dtype=int)) == []


def test_the_summary_names_every_category_it_counts(client: TestClient) -> None:
    for i, (code, name) in enumerate([("06010", "暴露垃圾 exposed garbage"), ("09012", "占用消防通道 fire lane")]):
        body = order_body(event_id=f"cat-{i}", category_code=code, category_name=name)
        assert post_order(client, body, f"key-cat-{i}").status_code == 201, body
    summary = client.get("/api/v1/stats/summary").json()
    assert summary["by_category"] == {"06010": 1, "09012": 1}
    assert summary["category_names"] == {"06010": "暴露垃圾 exposed garbage", "09012": "占用消防通道 fire lane"}


def write_demo_with(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["cameras"]["street-01"].update(analysis_fsp=5), "cameras.street-01.analysis_fsp: unknown field (did you mean 'analysis_fps'?)"),
    (lambda r: r["cameras"]["street-01"]["zones"]["west-kerb"].update(kidn="any"), "west-kerb.kidn: unknown field (did you mean 'kind'?)"),
    (lambda r: r["cameras"]["street-01"]["rules"]["west-litter"].update(min_dwel_s=4), "rules.west-litter.min_dwel_s: unknown field (did you mean 'min_dwell_s'?)"),
    (lambda r: r.update(workr={}), "workr: unknown field (did you mean 'worker'?)"),
    (lambda r: r["worker"].update(zzz=1), "worker.zzz: unknown field (this section takes: "),
])
def test_an_unknown_key_names_the_closest_known_one(tmp_path: Path, change, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write_demo_with(tmp_path, change), check_models=False)
    assert expected in str(err.value)
    assert "Traceback" not in str(err.value)


def subcommand(name: str) -> argparse.ArgumentParser:
    from gridsight.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("name", ["check-config", "demo", "serve", "worker", "db"])
def test_every_option_says_what_it_does_and_its_default(name: str) -> None:
    parser = subcommand(name)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.dest}: no help text"
        takes_value = action.nargs != 0 and not action.required and not action.option_strings == []
        if takes_value and action.default is not None:
            assert "default" in action.help, f"{name} {action.dest}: default {action.default!r} not shown"
    text = parser.format_help()
    if name == "check-config":
        assert "closest known one" in text and "Exit status" in text
