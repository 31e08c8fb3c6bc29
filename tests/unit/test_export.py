"""gridsight export: ONNX parity with PyTorch, the manifest record, and backend choice at load time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from inference.models.backend import choose_backend
from inference.models.detector import YoloDetector
from inference.models.manifest import ManifestError, load_manifest
from tests.support.models import copy_demo_v1

pytestmark = pytest.mark.slow  # its module fixture exports the demo model to ONNX: ~5 s

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from gridsight.ml.export import export_model, synthetic_frames

    d = copy_demo_v1(tmp_path_factory.mktemp("model"))
    frames = synthetic_frames(6)
    record = export_model(d, "onnx", images=frames)
    return d, record, frames


def test_onnx_export_matches_pytorch_and_is_recorded(exported):
    manifest_path, record, _ = exported
    assert record.parity["passed"] and record.parity["boxes_compared"] > 0
    assert record.parity["unmatched"] == 0
    assert record.parity["max_conf_diff"] <= 0.05 and record.parity["min_iou"] >= 0.9
    manifest, _ = load_manifest(manifest_path)
    assert [e.format for e in manifest.exports] == ["onnx"]
    assert (manifest_path.parent / manifest.exports[0].file).is_file()
    assert set(manifest.exports[0].latency_ms) == {"pytorch", "export"}


def test_detector_on_the_onnx_export_gives_the_same_detections(exported):
    manifest_path, _, frames = exported
    torch_det = YoloDetector.from_manifest(manifest_path, backend="pytorch", confidence=0.3)
    onnx_det = YoloDetector.from_manifest(manifest_path, backend="onnx", confidence=0.3)
    assert (torch_det.backend, onnx_det.backend) == ("pytorch", "onnx")
    for a, b in zip(torch_det.detect(frames), onnx_det.detect(frames)):
        assert sorted(a.labels.tolist()) == sorted(b.labels.tolist())


def _with_latency(manifest_path: Path, export_ms: float, pytorch_ms: float) -> Path:
    raw = yaml.safe_load(manifest_path.read_text())
    raw["exports"][0]["latency_ms"] = {"pytorch": pytorch_ms, "export": export_ms}
    out = manifest_path.with_name("timed.yaml")
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def test_auto_takes_the_export_only_when_it_was_faster(exported):
    manifest_path = exported[0]
    for export_ms, expected in ((10.0, "onnx"), (50.0, "pytorch")):
        manifest, weights = load_manifest(_with_latency(manifest_path, export_ms, 30.0))
        choice = choose_backend(manifest, weights, manifest_path.parent, device="cpu")
        assert choice.backend == expected, choice.reason


def test_tampered_export_falls_back_to_pytorch_and_says_why(exported, tmp_path):
    manifest_path = exported[0]
    d = tmp_path / "m"
    shutil.copytree(manifest_path.parent, d)
    timed = _with_latency(d / manifest_path.name, 1.0, 30.0)
    (d / "gridsight-demo-v1.onnx").write_bytes(b"not a model")
    manifest, weights = load_manifest(timed)
    choice = choose_backend(manifest, weights, d, device="cpu")
    assert choice.backend == "pytorch" and "sha256" in choice.reason
    with pytest.raises(ManifestError, match="sha256"):
        choose_backend(manifest, weights, d, device="cpu", requested="onnx")


def test_tensorrt_request_on_cpu_is_a_clear_error(exported):
    manifest, weights = load_manifest(exported[0])
    with pytest.raises(ManifestError, match="tensorrt.*(no tensorrt export|TensorRT needs a CUDA)"):
        choose_backend(manifest, weights, exported[0].parent, device="cpu", requested="tensorrt")


def test_parity_check_fails_for_a_different_model(exported):
    from ultralytics import YOLO

    from gridsight.ml.export import parity_check

    manifest_path, _, frames = exported
    reference = YOLO(str(manifest_path.parent / "gridsight-demo-v1.pt"), task="detect")
    untrained = YOLO("yolo11n.yaml", task="detect")
    result = parity_check(reference, untrained, frames, imgsz=320)
    assert not result["passed"] and result["unmatched"] > 0
