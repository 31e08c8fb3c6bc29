"""benchmarks/gpu_check.sh: the GPU readiness check, here in its CPU dry mode (CI has no GPU),
plus its step-budget rule and its wheelhouse plan."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
STEPS = ["install", "clip", "export", "decode", "end_to_end"]


def gpucheck(module: str):
    """A module of benchmarks/gpucheck (benchmarks/ is a scripts folder, not an installed package)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module(f"gpucheck.{module}")


def run_script(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDSIGHT_PYTHON": sys.executable, "YOLO_OFFLINE": "1"}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=REPO)


def weights_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "weights").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_dry_run_takes_every_fallback_on_the_cpu_and_records_it(tmp_path):
    before = weights_digest()
    done = run_script("--dry", "--out", str(tmp_path), "--wheelhouse", str(tmp_path / "no-wheelhouse"), timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    results = json.loads((tmp_path / "gpu_check-dry.json").read_text())
    assert results["mode"] == "dry" and results["cuda"] is False and results["clean"] is True
    steps = {s["step"]: s for s in results["steps"]}
    assert list(steps) == STEPS
    for step in steps.values():
        assert step["outcome"] in ("ok", "fallback"), step
        assert step["outcome"] == "ok" or step["reason"], step
        assert f"[{step['step']}] {step['outcome']}" in done.stdout
    assert steps["install"]["would_install"] == [] and steps["install"]["lacking"] == []
    export = steps["export"]
    assert export["outcome"] == "fallback"
    assert export["reason"] == "--dry: TensorRT skipped, exported onnx instead"
    assert export["export"]["format"] == "onnx" and export["export"]["parity"]["passed"] is True
    assert export["export"]["parity"]["boxes_compared"] > 0
    decode = steps["decode"]
    assert decode["outcome"] == "fallback" and "NVDEC skipped" in decode["reason"]
    assert [r["path"] for r in decode["rates"]] == ["streams.sources.CameraSource", "ffmpeg (software)"]
    assert all(r["video_fps"] > 0 for r in decode["rates"])
    assert decode["rates"][0]["hwaccel_used"] == ["None"]
    e2e = steps["end_to_end"]
    assert e2e["outcome"] == "fallback" and e2e["backend"] == "onnx" and e2e["device"] == "cpu"
    assert e2e["points"] and e2e["points"][0]["cameras"] == 1
    assert all(p["fps_per_camera_mean"] > 0 for p in e2e["points"])
    assert results["machine"]["gpu"] == "none" and "loadavg_1_5_15" in results["load_before"]
    assert weights_digest() == before, "the check must export into a scratch copy, never into weights/"


@pytest.mark.slow
def test_a_budget_too_small_skips_steps_and_exits_nonzero_with_one_line(tmp_path):
    done = run_script("--dry", "--out", str(tmp_path), "--budget-s", "30", timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("gpu_check not ready: ") and "export skipped (over budget" in last
    steps = {s["step"]: s for s in json.loads((tmp_path / "gpu_check-dry.json").read_text())["steps"]}
    assert list(steps) == STEPS
    assert steps["export"]["outcome"] == "skipped" and steps["end_to_end"]["outcome"] == "skipped"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_step_over_the_time_left_is_skipped_with_a_reason_and_the_next_gets_what_is_left():
    budget = gpucheck("budget")
    clock = FakeClock()
    runner = budget.StepRunner(100, clock=clock)
    given = {}

    def slow(budget_s):
        given["slow"] = budget_s
        clock.now += 80
        return budget.ok(done=True)

    def never(budget_s):
        raise AssertionError("a skipped step must not run")

    def short(budget_s):
        given["short"] = budget_s
        return budget.fallback("cpu only")

    assert runner.run("slow", slow, budget_s=60, min_s=5).outcome == "ok"
    skipped = runner.run("big", never, budget_s=120, min_s=30)
    assert runner.run("short", short, budget_s=50, min_s=5).outcome == "fallback"
    assert given == {"slow": 60, "short": 20}
    assert skipped.outcome == "skipped"
    assert skipped.reason == "over budget: needs at least 30 s, 20 s left of the 100 s total"
    slow_record, big_record, short_record = runner.records
    assert slow_record["overran_s"] == 20 and slow_record["done"] is True
    assert big_record["outcome"] == "skipped" and big_record["seconds"] == 0
    assert short_record["reason"] == "cpu only" and "overran_s" not in short_record
    assert runner.clean() is False and runner.summary().startswith("big skipped (over budget")


def test_a_raising_step_is_failed_with_one_line_and_the_run_goes_on():
    budget = gpucheck("budget")
    runner = budget.StepRunner(100, clock=FakeClock())

    def broken(budget_s):
        raise ValueError("engine build failed\nwith a long second line")

    result = runner.run("export", broken, budget_s=10, min_s=1)
    assert (result.outcome, result.reason) == ("failed", "ValueError: engine build failed")
    assert runner.run("next", lambda b: budget.ok(), budget_s=10, min_s=1).outcome == "ok"
    assert runner.summary() == "export failed (ValueError: engine build failed)"


def test_the_wheelhouse_plan_installs_only_what_is_missing_and_names_what_it_lacks(tmp_path, monkeypatch, caplog):
    install = gpucheck("install")
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    (wheelhouse / "gridsight_fake_dep-1.2.0-py3-none-any.whl").write_bytes(b"")
    (wheelhouse / "gridsight_old_dep-0.1.0-py3-none-any.whl").write_bytes(b"")
    (wheelhouse / "notes.txt").write_text("not a wheel")
    wanted = ["numpy>=1.0", "gridsight-fake-dep>=1.0", "gridsight-old-dep>=2", "gridsight-absent-dep"]
    plan = install.plan(wanted, wheelhouse)
    assert plan.present == ["numpy>=1.0"]
    assert plan.to_install == ["gridsight-fake-dep>=1.0"]
    assert plan.lacking == ["gridsight-old-dep>=2", "gridsight-absent-dep"]

    monkeypatch.setattr(install, "project_requirements", lambda: wanted)
    monkeypatch.setattr(install, "pip_install", lambda *a, **k: pytest.fail("a dry run installs nothing"))
    with caplog.at_level(logging.WARNING, logger="gpu_check"):
        result = install.install_step(wheelhouse=wheelhouse, gpu=False, dry=True, timeout_s=10)
    assert result.outcome == "fallback"
    assert result.reason == "dry run: would install 1 from the wheelhouse; it lacks 2"
    assert result.details["would_install"] == ["gridsight-fake-dep>=1.0"]
    lines = [r.getMessage() for r in caplog.records if r.name == "gpu_check"]
    assert lines == [f"the wheelhouse {wheelhouse} lacks gridsight-old-dep>=2, gridsight-absent-dep; "
                     "carrying on without them"]


def test_an_installed_environment_needs_nothing_from_a_missing_wheelhouse(tmp_path):
    install = gpucheck("install")
    result = install.install_step(wheelhouse=tmp_path / "absent", gpu=False, dry=False, timeout_s=10)
    assert result.outcome == "ok", result.reason
    assert result.details["installed"] == [] and result.details["wheelhouse_found"] is False
