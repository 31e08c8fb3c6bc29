"""`gridsight demo`'s command line (issue 17, point 8 for the demo): every option says what it does
and its default; a kept state that cannot be used is one line on stderr, nothing started."""

from __future__ import annotations

import argparse
import sqlite3
import threading

from gridsight.cli import build_parser
from gridsight.demo import run_demo


def _demo_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["demo"]


def test_every_demo_option_has_a_description_and_its_default():
    options = [a for a in _demo_parser()._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"workdir", "api_port", "rtsp_port", "duration", "fresh"}
    for action in options:
        assert action.help and "(default: " in action.help, action.dest
    text = _demo_parser().format_help()
    assert "(default: var/demo)" in text and "(default: 8000)" in text and "(default: 8554)" in text


def test_fresh_reaches_the_demo():
    assert build_parser().parse_args(["demo", "--fresh"]).fresh is True
    assert build_parser().parse_args(["demo"]).fresh is False


def test_a_kept_database_with_missing_evidence_stops_the_demo_in_one_line(tmp_path, capsys):
    with sqlite3.connect(tmp_path / "gridsight.db") as db:
        db.execute("CREATE TABLE evidence (id INTEGER PRIMARY KEY, path TEXT)")
        db.execute("INSERT INTO evidence (path) VALUES ('1/snap.jpg')")
    assert run_demo(tmp_path, api_port=1, rtsp_port=1, duration_s=1, stop=threading.Event()) == 2
    out = capsys.readouterr()
    [line] = out.err.splitlines()
    assert line.startswith("error: the kept database") and "--fresh" in line
    assert not (tmp_path / "logs").exists(), "nothing was started"
