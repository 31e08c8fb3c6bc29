"""inference.models.direct: ONNX and OpenVINO exports run without ultralytics' predictor give what predict gives.

Parity is checked against ``model.predict`` on the same export (``via_ultralytics=True``), on rendered scenes
at camera sizes and an odd one, batches of 1 and 4; the letterbox is checked value for value against
ultralytics' own LetterBox and predictor normalisation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.models.detector import YoloDetector
from inference.models.direct import DirectRunner, InputBuffer, _OpenVinoModel
from inference.models.manifest import load_manifest

pytestmark = pytest.mark.slow  # an ONNX export of demo v4 and renders at 1080p: ~30 s

REPO = Path(__file__).resolve().parents[2]
V4 = REPO / "weights" / "gridsight-demo-v4.yaml"
OPENVINO = {"openvino": REPO / "weights" / "gridsight-demo-v4_openvino_model",
            "openvino-int8": REPO / "weights" / "gridsight-demo-v4_int8_openvino_model"}
SIZES = [(1920, 1080), (1280, 720), (640, 360), (500, 375)]  # (w, h); the last not 16:9 and not a stride multiple


@pytest.fixture(scope="module")
def frames() -> dict[tuple[int, int], list[np.ndarray]]:
    """Four rendered street/corridor scenes per size (BGR), objects of the demo classes in each."""
    from gridsight.synth.dataset import render_dataset_image

    return {size: [render_dataset_image(11, "val", i, size)[0] for i in range(4)] for size in SIZES}


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory) -> Path:
    """Demo v4 exported to ONNX (dynamic shapes, as gridsight export builds it) in a temporary folder."""
    pytest.importorskip("onnxruntime")
    from gridsight.ml.export import export_model, synthetic_frames

    folder = tmp_path_factory.mktemp("v4")
    for name in ("gridsight-demo-v4.pt", "gridsight-demo-v4.yaml"):
        shutil.copy(REPO / "weights" / name, folder)
    record = export_model(folder / V4.name, "onnx", images=synthetic_frames(3))
    return folder / record.file


def _pair(backend: str, path: Path) -> tuple[YoloDetector, YoloDetector]:
    manifest, _ = load_manifest(V4)
    direct = YoloDetector(manifest, path, backend=backend)
    predict = YoloDetector(manifest, path, backend=backend, via_ultralytics=True)
    assert direct.direct_runner is not None and predict.direct_runner is None
    return direct, predict


@pytest.fixture(scope="module")
def detectors(onnx_export) -> dict[str, tuple[YoloDetector, YoloDetector]]:
    pytest.importorskip("openvino")
    return {"onnx": _pair("onnx", onnx_export), "openvino": _pair("openvino", OPENVINO["openvino"])}


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of each box in ``a`` (n, 4) with each in ``b`` (m, 4)."""
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _matched(ours, theirs) -> list[tuple[int, int, float]]:
    """(our index, their index, IoU): each of our boxes with their same-label box it overlaps most."""
    iou = _iou(ours.xyxy, theirs.xyxy)
    iou[ours.labels[:, None] != theirs.labels[None, :]] = 0.0
    return [(i, int(j), float(iou[i, j])) for i, j in enumerate(iou.argmax(axis=1))] if len(theirs) else []


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_direct_path_gives_what_predict_gives(detectors, frames, backend, size, batch):
    direct, predict = detectors[backend]
    images = frames[size][:batch]
    ours, theirs = direct.detect(images), predict.detect(images)
    assert len(ours) == len(theirs) == batch
    assert sum(len(d) for d in theirs) > 0, "the rendered scenes should give boxes to compare"
    for a, b in zip(ours, theirs):
        assert len(a) == len(b)
        assert sorted(a.labels.tolist()) == sorted(b.labels.tolist())
        for i, j, iou in _matched(a, b):
            assert iou >= 0.99 and np.abs(a.xyxy[i] - b.xyxy[j]).max() <= 1.0, (a.xyxy[i], b.xyxy[j])
            assert abs(float(a.confidence[i]) - float(b.confidence[j])) <= 1e-3
        assert len({j for _, j, _ in _matched(a, b)}) == len(b)  # one to one, nothing of theirs left over


def test_int8_direct_path_runs_and_roughly_matches_predict(frames):
    pytest.importorskip("openvino")
    direct, predict = _pair("openvino-int8", OPENVINO["openvino-int8"])
    images = frames[(1280, 720)]
    ours, theirs = direct.detect(images), predict.detect(images)
    total = sum(len(d) for d in theirs)
    assert total > 0
    close = sum(iou >= 0.9 for a, b in zip(ours, theirs) for _, _, iou in _matched(a, b))
    assert close >= 0.9 * total and abs(sum(len(d) for d in ours) - total) <= 0.1 * total


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_letterbox_matches_ultralytics_value_for_value(frames, size):
    """Same batch as LetterBox(auto=True, stride 32) + the predictor's BGR->RGB and /255 (a dynamic export's
    same-shape batch), and the square imgsz letterbox for a batch of mixed shapes."""
    from ultralytics.data.augment import LetterBox

    images = frames[size][:2]
    ours = InputBuffer().fill(images, 320, 32, rect=True)
    expected = np.stack([LetterBox(320, auto=True, stride=32)(image=im) for im in images])
    expected = (expected[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255))
    assert ours.shape == expected.shape and ours.shape[2] % 32 == 0 and ours.shape[3] % 32 == 0
    np.testing.assert_array_equal(ours, expected)

    mixed = [images[0], frames[(500, 375)][0] if size != (500, 375) else frames[(640, 360)][0]]
    square = InputBuffer().fill(mixed, 320, 32, rect=True)
    expected = np.stack([LetterBox(320, auto=False, stride=32)(image=im) for im in mixed])
    expected = expected[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(square, expected)


def test_input_buffer_is_reused_and_grows_only_for_a_bigger_batch(frames):
    images = frames[(1280, 720)]
    buffer = InputBuffer()
    first = buffer.fill(images[:2], 320, 32, rect=True)
    again = buffer.fill(images[2:], 320, 32, rect=True)
    assert again is first  # same shape: the very same array, refilled
    bigger = buffer.fill(images * 2, 320, 32, rect=True)  # batch 8: more than the buffer holds
    assert bigger.shape[0] == 8 and not np.shares_memory(bigger, first)
    smaller = buffer.fill(images[:1], 320, 32, rect=True)
    assert np.shares_memory(smaller, bigger)  # a smaller batch lives in the grown buffer, no new allocation
    assert smaller.flags.c_contiguous


def test_detector_batches_go_through_one_buffer(detectors, frames):
    direct, _ = detectors["openvino"]
    buffer = direct.direct_runner.buffer
    images = frames[(640, 360)]
    direct.detect(images[:2])
    held = buffer.batch(2, 192, 320)  # 640x360 letterboxes to 320x192
    direct.detect(images[2:])
    assert buffer.batch(2, 192, 320) is held  # the second batch reused it...
    np.testing.assert_array_equal(held, InputBuffer().fill(images[2:], 320, 32, rect=True))  # ...and was what ran


def test_static_openvino_compiles_each_shape_and_letterboxes_square(frames):
    """The AMX INT8 mode (ultralytics' workaround for openvino#37577), forced on the FP32 IR on any host:
    the square imgsz input, a static compile per batch shape, and the same objects as the dynamic model."""
    pytest.importorskip("openvino")
    options = dict(imgsz=320, confidence=0.25, iou=0.5)
    static = DirectRunner(OPENVINO["openvino"], "openvino", static=True, **options)
    dynamic = DirectRunner(OPENVINO["openvino"], "openvino", static=False, **options)
    images = frames[(1280, 720)]
    square, rect = static(images[:2]), dynamic(images[:2])
    assert static.runtime.compiled.input().get_partial_shape().to_shape() == [2, 3, 320, 320]
    assert dynamic.runtime.compiled.input().get_partial_shape().is_dynamic
    static(images)
    assert static.runtime.compiled.input().get_partial_shape().to_shape() == [4, 3, 320, 320]
    assert sum(len(b) for b in rect) > 0
    for a, b in zip(square, rect):  # another letterbox moves boxes a little, not the objects found
        assert abs(len(a) - len(b)) <= max(1, len(b) // 5)


def test_a_fixed_shape_export_runs_through_predict(tmp_path, frames):
    """ultralytics splits and pads batches for a fixed-shape export; the direct runner does not, so such an
    export stays on predict (and still detects)."""
    pytest.importorskip("onnxruntime")
    from ultralytics import YOLO

    shutil.copy(REPO / "weights" / "gridsight-demo-v4.pt", tmp_path)
    fixed = YOLO(str(tmp_path / "gridsight-demo-v4.pt"), task="detect").export(
        format="onnx", imgsz=320, dynamic=False, simplify=True)
    manifest, _ = load_manifest(V4)
    detector = YoloDetector(manifest, Path(fixed), backend="onnx")
    assert detector.direct_runner is None
    assert sum(len(d) for d in detector.detect(frames[(640, 360)])) > 0


def test_an_openvino_copy_given_threads_runs_on_that_many_unpinned_and_finds_the_same_objects(frames):
    """Inference streams' copies (streams.shared_detector.load_shared): pinned, copies' threads would
    share cores (measured: two one-thread copies ran on one core); the property is read back from
    the compiled model, not from what was asked."""
    pytest.importorskip("openvino")
    options = dict(imgsz=320, confidence=0.25, iou=0.5)
    one = DirectRunner(OPENVINO["openvino"], "openvino", threads=1, **options)
    default = DirectRunner(OPENVINO["openvino"], "openvino", **options)
    images = frames[(1280, 720)]
    mine, theirs = one(images), default(images)
    compiled = one.runtime.compiled
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert str(compiled.get_property("ENABLE_CPU_PINNING")).lower() in ("false", "0")
    assert default.runtime.config == _OpenVinoModel.CONFIG  # no threads: the runtime's own choice, as before
    for a, b in zip(mine, theirs):
        assert len(a) == len(b) and np.allclose(a, b, atol=1e-2)
