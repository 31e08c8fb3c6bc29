"""Which backend ``auto`` takes among verified exports (by their recorded ms/frame), what happens when a runtime
is missing, and that the config's backend field and inference.models.backend name the same backends.
No model runs here: the choice reads the manifest and checksums files, which is all it needs."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import get_args

import pytest
import yaml

from inference.models import backend as backend_mod
from inference.models.backend import BACKENDS, choose_backend
from inference.models.manifest import ManifestError, load_manifest, sha256_path

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
PASSED = {"passed": True, "frames": 1, "boxes_compared": 1, "unmatched": 0}


def _manifest(tmp_path: Path, ms: dict[str, float], pytorch_ms: float = 30.0) -> Path:
    """A copy of the v1 manifest with fake exports (files that checksum as recorded) timed as ``ms``."""
    shutil.copy(WEIGHTS / "gridsight-demo-v1.yaml", tmp_path)
    raw = yaml.safe_load((tmp_path / "gridsight-demo-v1.yaml").read_text())
    exports = []
    for backend, export_ms in ms.items():
        fmt, int8 = {"onnx": ("onnx", False), "openvino": ("openvino", False), "openvino-int8": ("openvino", True)}[backend]
        if fmt == "onnx":
            path = tmp_path / "m.onnx"
            path.write_bytes(b"onnx")
        else:
            path = tmp_path / f"m{'_int8' if int8 else ''}_openvino_model"
            path.mkdir()
            (path / "m.xml").write_text(backend)
            (path / "m.bin").write_bytes(b"\0" * 8)
        exports.append({"format": fmt, "int8": int8, "file": path.name, "sha256": sha256_path(path), "imgsz": 320,
                        "parity": PASSED, "latency_ms": {"pytorch": pytorch_ms, "export": export_ms}})
    raw["exports"] = exports
    (tmp_path / "gridsight-demo-v1.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return tmp_path / "gridsight-demo-v1.yaml"


def _choose(path: Path, **kw):
    manifest, weights = load_manifest(path)
    return choose_backend(manifest, weights, path.parent, device="cpu", log_choice=False, **kw)


@pytest.mark.parametrize(("ms", "expected"), [
    ({"onnx": 15.0, "openvino": 11.0, "openvino-int8": 7.0}, "openvino"),  # INT8 only when asked for
    ({"onnx": 15.0, "openvino": 11.0, "openvino-int8": 12.0}, "openvino"),
    ({"onnx": 9.0, "openvino": 11.0, "openvino-int8": 12.0}, "onnx"),
    ({"openvino": 31.0, "openvino-int8": 40.0}, "pytorch"),  # no export faster than PyTorch when exported
])
def test_auto_takes_the_fastest_verified_export(tmp_path, ms, expected):
    pytest.importorskip("openvino")
    choice = _choose(_manifest(tmp_path, ms))
    assert choice.backend == expected, choice.reason
    if expected != "pytorch":
        assert f"{ms[expected]:.1f} ms/frame" in choice.reason


def test_auto_never_picks_int8_by_itself_but_a_request_runs_it(tmp_path):
    """INT8's parity tolerance is looser: trading accuracy for speed is the engineer's call, not auto's."""
    pytest.importorskip("openvino")
    path = _manifest(tmp_path, {"openvino-int8": 7.0})
    choice = _choose(path)
    assert choice.backend == "pytorch" and "openvino-int8: only when asked for" in choice.reason, choice.reason
    assert _choose(path, requested="openvino-int8").backend == "openvino-int8"


def test_auto_skips_an_export_that_failed_parity(tmp_path):
    pytest.importorskip("openvino")
    path = _manifest(tmp_path, {"onnx": 15.0, "openvino": 11.0})
    raw = yaml.safe_load(path.read_text())
    raw["exports"][1]["parity"] = {**PASSED, "passed": False}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert _choose(path).backend == "onnx"


def test_without_the_openvino_package_auto_falls_back_and_a_request_is_one_line(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(backend_mod.importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    path = _manifest(tmp_path, {"onnx": 15.0, "openvino": 11.0, "openvino-int8": 7.0})
    choice = _choose(path)
    assert choice.backend == "onnx", choice.reason
    for requested in ("openvino", "openvino-int8"):
        with pytest.raises(ManifestError, match=r"backend openvino.* cannot run: the openvino package is not installed") as exc:
            _choose(path, requested=requested)
        assert "\n" not in str(exc.value)
    (tmp_path / "b").mkdir()
    only_ov = _manifest(tmp_path / "b", {"openvino": 11.0})
    fallback = _choose(only_ov)
    assert fallback.backend == "pytorch" and "openvino: the openvino package is not installed" in fallback.reason


def test_openvino_on_a_gpu_device_is_refused(tmp_path):
    pytest.importorskip("openvino")
    manifest, weights = load_manifest(_manifest(tmp_path, {"openvino": 11.0}))
    with pytest.raises(ManifestError, match="OpenVINO export runs on the CPU only"):
        choose_backend(manifest, weights, tmp_path, device="cuda:0", requested="openvino")


def test_an_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="unknown backend 'openvino-fp16'; choose from auto, pytorch"):
        _choose(_manifest(tmp_path, {}), requested="openvino-fp16")


def test_the_config_field_accepts_exactly_the_backends_choose_backend_knows():
    from pydantic import ValidationError

    from streams.config.camera import ModelConfig

    assert get_args(ModelConfig.model_fields["backend"].annotation) == BACKENDS
    assert ModelConfig(manifest="m.yaml", backend="openvino-int8").backend == "openvino-int8"
    with pytest.raises(ValidationError):
        ModelConfig(manifest="m.yaml", backend="openvino_int8")


def test_sha256_path_of_a_directory_changes_with_any_file(tmp_path):
    d = tmp_path / "ir"
    d.mkdir()
    (d / "a.xml").write_text("a")
    (d / "a.bin").write_bytes(b"1")
    first = sha256_path(d)
    (d / "a.bin").write_bytes(b"2")
    second = sha256_path(d)
    (d / "extra").write_text("")
    third = sha256_path(d)
    (d / "a.bin").rename(d / "b.bin")
    assert len({first, second, third, sha256_path(d)}) == 4
    assert sha256_path(d / "a.xml") != sha256_path(d)  # a file hashes as its bytes


def test_export_refuses_int8_for_other_formats_and_openvino_without_its_package(monkeypatch):
    from gridsight.ml import export

    with pytest.raises(ManifestError, match="--int8 is an OpenVINO export option, not onnx"):
        export._device_and_half("onnx", None, None, int8=True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a))
    with pytest.raises(ManifestError, match="cannot build an OpenVINO INT8 export here: the nncf package is not installed"):
        export._device_and_half("openvino", None, None, int8=True)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(ManifestError, match="cannot build an OpenVINO export here: the openvino package is not installed"):
        export._device_and_half("openvino", None, None)


def test_the_cli_refuses_int8_for_onnx_in_one_line(capsys):
    from gridsight.cli import main

    assert main(["export", str(WEIGHTS / "gridsight-demo-v1.yaml"), "--format", "onnx", "--int8"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("--int8 is an OpenVINO export option, not onnx") and "\n" not in err
