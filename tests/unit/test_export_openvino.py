"""gridsight export --format openvino [--int8]: parity with PyTorch, the manifest records, the detector's f32 pin."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.models.backend import choose_backend
from inference.models.detector import YoloDetector, open_yolo
from inference.models.manifest import ManifestError, load_manifest, sha256_path
from tests.support.models import copy_demo_v1

pytestmark = pytest.mark.slow  # the module fixture builds an FP32 and an INT8 IR of the demo model: ~30 s
pytest.importorskip("openvino")
pytest.importorskip("nncf")



@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from gridsight.ml.export import export_model, synthetic_frames

    d = copy_demo_v1(tmp_path_factory.mktemp("model"))
    frames = synthetic_frames(6)
    fp32 = export_model(d, "openvino", images=frames)
    # 16 calibration images keep the test short; the committed exports calibrate on 300.
    int8 = export_model(d, "openvino", images=frames, int8=True, calibration_images=16)
    return d, fp32, int8, frames


def test_fp32_ir_matches_pytorch_box_for_box_and_is_recorded(exported):
    manifest_path, fp32, _, _ = exported
    assert fp32.parity["passed"] and fp32.parity["unmatched"] == 0 and fp32.parity["boxes_compared"] > 0
    assert fp32.parity["tolerance"]["max_unmatched_fraction"] == 0.0
    ir = manifest_path.parent / fp32.file
    assert ir.is_dir() and fp32.file == "gridsight-demo-v1_openvino_model"
    assert sorted(fp32.files) == sorted(p.name for p in ir.iterdir()) and any(f.endswith(".xml") for f in fp32.files)
    assert fp32.sha256 == sha256_path(ir) and not fp32.int8
    assert set(fp32.latency_ms) == {"pytorch", "export"}


def test_int8_has_its_own_record_with_calibration_and_the_looser_tolerance(exported):
    from gridsight.ml.export import CALIBRATION_SEED, INT8_TOLERANCE

    manifest_path, _, int8, _ = exported
    manifest, _ = load_manifest(manifest_path)
    assert [(e.format, e.int8) for e in manifest.exports] == [("openvino", False), ("openvino", True)]
    assert int8.file == "gridsight-demo-v1_int8_openvino_model" and int8.parity["passed"]
    assert int8.calibration["seed"] == CALIBRATION_SEED and int8.calibration["images"] == 16
    assert int8.parity["tolerance"]["max_unmatched_fraction"] == INT8_TOLERANCE.max_unmatched_fraction > 0
    # The IR really is quantised: NNCF inserts FakeQuantize nodes; the FP32 IR has none.
    import openvino as ov

    def fake_quantize(record):
        xml = next((manifest_path.parent / record.file).glob("*.xml"))
        return sum(op.get_type_name() == "FakeQuantize" for op in ov.Core().read_model(str(xml)).get_ops())

    assert fake_quantize(int8) > 0 and fake_quantize(exported[1]) == 0


@pytest.mark.parametrize("via_ultralytics", [False, True], ids=["direct", "predict"])
@pytest.mark.parametrize("backend", ["openvino", "openvino-int8"])
def test_detector_runs_the_ir_at_f32_compute(exported, backend, via_ultralytics):
    import openvino as ov

    manifest_path, _, _, frames = exported
    det = YoloDetector.from_manifest(manifest_path, backend=backend, confidence=0.3, via_ultralytics=via_ultralytics)
    ref = YoloDetector.from_manifest(manifest_path, backend="pytorch", confidence=0.3)
    assert det.backend == backend and (det.direct_runner is None) == via_ultralytics
    out = det.detect(frames)
    compiled = (det._model.predictor.model.backend.ov_compiled_model if via_ultralytics
                else det.direct_runner.runtime.compiled)
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32  # not the CPU plugin's bf16 on AMX hosts
    same = [sorted(a.labels.tolist()) == sorted(b.labels.tolist()) for a, b in zip(ref.detect(frames), out)]
    assert all(same) if backend == "openvino" else sum(same) >= len(same) // 2


def _corrupt(ir: Path, dest: Path) -> Path:
    """A copy of the IR with its convolution weights perturbed: it loads and runs, but is not the model."""
    import openvino as ov
    from openvino import opset13

    dest.mkdir()
    shutil.copy(ir / "metadata.yaml", dest)
    xml = next(ir.glob("*.xml"))
    model = ov.Core().read_model(str(xml))  # memory-maps the .bin: write the copy elsewhere
    rng = np.random.default_rng(0)
    for op in model.get_ops():
        if op.get_type_name() == "Constant" and op.get_element_type() == ov.Type.f32 and op.get_output_size() == 1:
            data = op.get_data()
            if data.size > 1000:
                noisy = (data * rng.normal(1.0, 0.5, data.shape)).astype(np.float32)
                op.output(0).replace(opset13.constant(noisy).output(0))
    ov.save_model(model, str(dest / xml.name), compress_to_fp16=False)
    return dest


def test_parity_check_fails_on_a_corrupted_ir(exported, tmp_path):
    from gridsight.ml.export import INT8_TOLERANCE, parity_check

    manifest_path, fp32, _, frames = exported
    reference = open_yolo(manifest_path.parent / "gridsight-demo-v1.pt")
    bad = _corrupt(manifest_path.parent / fp32.file, tmp_path / "gridsight-demo-v1_openvino_model")
    for tol in ({}, {"tol": INT8_TOLERANCE}):
        result = parity_check(reference, open_yolo(bad), frames, imgsz=320, **tol)
        assert not result["passed"] and result["unmatched"] > 0
    good = parity_check(reference, open_yolo(manifest_path.parent / fp32.file), frames, imgsz=320)
    assert good["passed"]  # the same check on the intact IR


def test_a_tampered_ir_falls_back_and_an_explicit_request_is_refused(exported, tmp_path):
    manifest_path, fp32, _, _ = exported
    d = tmp_path / "m"
    shutil.copytree(manifest_path.parent, d)
    (d / fp32.file / "extra.txt").write_text("x")  # a file added to the IR directory changes its checksum
    manifest, weights = load_manifest(d / manifest_path.name)
    with pytest.raises(ManifestError, match="openvino.*does not match its recorded sha256"):
        choose_backend(manifest, weights, d, requested="openvino")
    assert choose_backend(manifest, weights, d, requested="openvino-int8").backend == "openvino-int8"
