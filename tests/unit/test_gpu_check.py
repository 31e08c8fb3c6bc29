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


# -- the CUDA host's branches, on a host without a usable GPU: each must fall back, not fail ------------------
def test_the_gpu_install_asks_for_the_tensorrt_wheel_of_torchs_cuda_and_says_the_wheelhouse_lacks_it(
        tmp_path, monkeypatch):
    import torch

    install = gpucheck("install")
    if not torch.version.cuda:
        pytest.skip("a CPU-only torch build: no TensorRT wheel to ask for")
    asked = []
    monkeypatch.setattr(install, "pip_install", lambda reqs, *a, **k: asked.extend(reqs) or [])
    (tmp_path / "wheels").mkdir()
    result = install.install_step(wheelhouse=tmp_path / "wheels", gpu=True, dry=False, timeout_s=10)
    tensorrt = f"tensorrt-cu{torch.version.cuda.split('.')[0]}>=7.0.0,!=10.2.0"
    assert asked == []  # every project requirement is installed here; the wheelhouse has no TensorRT
    assert result.outcome == "fallback"
    assert result.details["lacking"] == [tensorrt]
    assert result.reason == f"the wheelhouse lacks {tensorrt}; the steps needing them fall back"


@pytest.mark.slow
def test_a_tensorrt_export_that_cannot_be_built_falls_back_to_a_parity_checked_onnx(tmp_path):
    steps = gpucheck("export_step")
    model = steps.ExportedModel(steps.scratch_manifest(tmp_path))
    result = steps.export_step(model, cuda=True, cpu_reason="unused")
    assert result.outcome == "fallback"
    assert result.reason.startswith("TensorRT export failed (ManifestError: cannot build a TensorRT engine here")
    assert result.reason.endswith(", exported onnx instead")
    assert result.details["export"]["format"] == "onnx" and result.details["export"]["parity"]["passed"]
    assert (model.backend, model.device) == ("pytorch", "cuda:0")  # the ONNX copy runs on the CPU only
    assert "format: onnx" in model.manifest.read_text()
    assert model.manifest.parent == tmp_path / "weights"


@pytest.fixture(scope="module")
def clip() -> Path:
    decode = gpucheck("decode_step")
    return decode.make_clip(REPO / "var" / "bench", 4.0)  # the dry run's clip, cached beside the benchmarks'


@pytest.mark.slow
def test_the_nvdec_branch_without_a_gpu_measures_the_software_decoder_and_says_why(clip):
    decode = gpucheck("decode_step")
    why = decode.nvdec_missing()
    if why is None:
        pytest.skip("NVDEC is usable here")
    result = decode.decode_step(clip, cuda=True, cpu_reason="unused", budget_s=30)
    assert result.outcome == "fallback"
    assert result.reason == f"{why}: NVDEC skipped, software decoder measured instead"
    assert all(r["video_fps"] > 0 for r in result.details["rates"])


@pytest.mark.slow
def test_the_gpu_only_decoders_get_as_far_as_opening_the_device(clip):
    """No GPU here, so they fail -- but at the device, not on a misused PyAV or ffmpeg API."""
    decode = gpucheck("decode_step")
    if decode.nvdec_missing() is None:
        pytest.skip("NVDEC is usable here")
    for row in (decode.optional_row("pyav", decode.pyav_on_gpu_rate, clip, 1.0),
                decode.optional_row("ffmpeg", decode.ffmpeg_rate, clip, True, 1.5)):
        assert "error" in row and "video_fps" not in row, row
        assert not row["error"].startswith(("TypeError", "AttributeError", "NameError", "ValueError")), row


def write_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel (one module), as ``pip wheel`` would leave it in a wheelhouse."""
    import zipfile

    module, info = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}.dist-info"
    files = {f"{module}.py": "VALUE = 1\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, content in files.items():
            wheel.writestr(member, content)
    return path


@pytest.mark.slow
def test_pip_installs_from_the_wheelhouse_only_and_names_the_wheel_it_could_not_install(tmp_path):
    install = gpucheck("install")
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    write_wheel(wheelhouse, "gridsight-probe", "1.0")
    (wheelhouse / "gridsight_broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True, timeout=120)
    python = str(tmp_path / "env" / "bin" / "python")
    failures = install.pip_install(["gridsight-probe==1.0", "gridsight-broken"], wheelhouse, 120, python=python)
    assert len(failures) == 1 and failures[0].startswith("gridsight-broken ("), failures
    version = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('gridsight-probe'))"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == "1.0", version.stderr


def test_the_script_is_shellcheck_clean():
    import shutil

    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    done = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_a_python_that_is_not_there_is_one_line_and_exit_1(tmp_path):
    env = {**os.environ, "GRIDSIGHT_PYTHON": str(tmp_path / "no-python")}
    done = subprocess.run(["bash", str(SCRIPT), "--dry"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr.strip().splitlines() == [
        f"gpu_check: GRIDSIGHT_PYTHON={tmp_path / 'no-python'} is not an executable"]


def test_an_export_over_its_budget_is_killed_and_failed_with_one_line(tmp_path):
    steps = gpucheck("export_step")
    model = steps.ExportedModel(steps.scratch_manifest(tmp_path))
    budget = gpucheck("budget")
    with pytest.raises(budget.StepFailed, match=r"^the export did not finish within its 1 s budget; killed$"):
        steps.export_step_bounded(model, cuda=False, cpu_reason="--dry", timeout_s=1)
    assert "exports" not in model.manifest.read_text()
