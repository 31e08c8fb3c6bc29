"""ONNX Runtime and OpenVINO exports run without ultralytics' per-call predictor.

``model.predict`` builds a LetterBox, a list of padded copies, a stacked uint8
tensor, a permuted and flipped copy and a float copy on every call, then goes
through AutoBackend's wrappers. For a batch of camera frames that is several
full copies of the batch per call. Here a batch is letterboxed straight into one
float32 NCHW array that lives as long as the runner (grown only when a batch
needs more room), handed to the ONNX Runtime session or the compiled OpenVINO
model as it is, and the raw output goes through ultralytics' own
``non_max_suppression`` and ``scale_boxes``, so the boxes mean what
``predict`` would have returned: the preprocessing below copies ultralytics
8.4's ``LetterBox`` and ``BasePredictor.pre_transform`` for dynamic exports
(rectangle rounded to the stride when the batch shares one shape, the square
``imgsz`` otherwise; bilinear resize, padding 114, BGR to RGB, /255), and
tests/unit/test_direct_backend.py pins that against ``predict`` itself.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PAD_VALUE = 114  # ultralytics LetterBox padding_value
DIRECT_BACKENDS = ("onnx", "openvino", "openvino-int8")  # PyTorch and TensorRT stay on ultralytics' predict


class FixedShapeExport(ValueError):
    """The export has a fixed input shape (ultralytics splits and pads batches for those); run it through predict."""


@dataclass(frozen=True)
class Placement:
    """Where one source image lands in the network input: resized to ``size`` (w, h) at (``left``, ``top``)."""

    size: tuple[int, int]
    left: int
    top: int


def letterbox_shape(
    image_hw: tuple[int, int], imgsz: int, stride: int, rect: bool
) -> tuple[tuple[int, int], Placement]:
    """The network input (h, w) and the image's placement in it, as ultralytics' LetterBox computes them
    (``auto=rect``, centred, scale-up allowed)."""
    h, w = image_hw
    r = min(imgsz / h, imgsz / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = imgsz - new_w, imgsz - new_h
    if rect:  # minimum rectangle: pad only up to the next multiple of the stride
        dw, dh = dw % stride, dh % stride
    dw, dh = dw / 2, dh / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    return (new_h + top + bottom, new_w + left + right), Placement((new_w, new_h), left, top)


class InputBuffer:
    """One float32 NCHW batch array, reused across calls; reallocated only when a batch needs more elements
    than it holds. The same (n, h, w) gets the same array object back."""

    def __init__(self) -> None:
        self._flat = np.empty(0, dtype=np.float32)
        self._view: np.ndarray | None = None

    def batch(self, n: int, h: int, w: int) -> np.ndarray:
        if self._view is not None and self._view.shape == (n, 3, h, w):
            return self._view
        size = n * 3 * h * w
        if size > self._flat.size:
            self._flat = np.empty(size, dtype=np.float32)
        self._view = self._flat[:size].reshape(n, 3, h, w)  # contiguous: a prefix of the flat buffer
        return self._view

    def fill(self, images: list[np.ndarray], imgsz: int, stride: int, rect: bool) -> np.ndarray:
        """Letterbox BGR uint8 ``images`` into the buffer as RGB in [0, 1]; returns the (n, 3, h, w) batch."""
        rect = rect and len({im.shape for im in images}) == 1  # predictor: rectangle only for a same-shape batch
        shapes = [letterbox_shape(im.shape[:2], imgsz, stride, rect) for im in images]
        h, w = shapes[0][0] if rect else (imgsz, imgsz)
        out = self.batch(len(images), h, w)
        out.fill(np.float32(PAD_VALUE) / np.float32(255))
        for i, (image, (_, place)) in enumerate(zip(images, shapes)):
            resized = image if image.shape[1::-1] == place.size else cv2.resize(
                image, place.size, interpolation=cv2.INTER_LINEAR)
            (pw, ph), x, y = place.size, place.left, place.top
            # HWC BGR -> CHW RGB, divided in float32 like the predictor's float().div_(255)
            np.divide(resized[..., ::-1].transpose(2, 0, 1), np.float32(255), out=out[i, :, y : y + ph, x : x + pw])
        return out


def export_metadata(path: Path) -> dict:
    """The ultralytics metadata of an export (stride, names, args.dynamic), read the way AutoBackend reads it."""
    from ultralytics.nn.backends.base import BaseBackend

    meta = dict(BaseBackend.read_metadata(path))
    for key in ("names", "args", "imgsz"):
        if isinstance(meta.get(key), str):
            meta[key] = ast.literal_eval(meta[key])
    return meta


class _OnnxSession:
    """ONNX Runtime on the CPU provider with default session options, as ultralytics' ONNXBackend opens it."""

    static = False  # dynamic exports only (DirectRunner refuses fixed-shape ones)

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([self._output], {self._input: batch})[0]


def _amx_host() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.exists() and "amx_int8" in cpuinfo.read_text()


class _OpenVinoModel:
    """An OpenVINO IR compiled for the CPU with ultralytics' LATENCY hint and the f32 precision pin
    (see inference.models.detector.pin_openvino_f32 for why f32).

    ``static``: compile each input shape on its own instead of one dynamic model. By default what
    ultralytics decides: on AMX CPUs for an INT8 IR, whose dynamic form crashes the CPU plugin there
    (openvinotoolkit/openvino#37577); ultralytics then letterboxes to the square imgsz, and so does
    DirectRunner.

    ``threads``: run on that many threads, not pinned to cores, instead of the LATENCY hint's one
    thread per core pinned. For several copies of the model each running its own batch at once
    (streams.batching's inference streams): pinned, their threads would share the same cores
    (two one-thread copies measured 84 images/s on one core together, 147 on two unpinned)."""

    CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}

    def __init__(self, path: Path, static: bool | None = None, threads: int | None = None) -> None:
        import openvino as ov

        xml = path if path.is_file() else next(path.glob("*.xml"))
        self._core = ov.Core()
        self._model = self._core.read_model(str(xml))
        if static is None:
            static = (
                self._model.input().get_partial_shape().is_dynamic
                and any(op.get_type_name() == "FakeQuantize" for op in self._model.get_ops())
                and _amx_host()
            )
        self.static = static
        self.config = dict(self.CONFIG)
        if threads is not None:
            self.config.update(INFERENCE_NUM_THREADS=int(threads), ENABLE_CPU_PINNING=False)
        self._shape: tuple[int, ...] | None = None
        self._request = None if static else self._compile(self._model)

    @property
    def compiled(self):
        """The compiled model the last batch ran on (None before the first batch where shapes compile per call)."""
        return None if self._request is None else self._request.get_compiled_model()

    def _compile(self, model):
        return self._core.compile_model(model, "CPU", self.config).create_infer_request()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.static and batch.shape != self._shape:
            model = self._model.clone()
            model.reshape(list(batch.shape))
            self._request, self._shape = self._compile(model), batch.shape
        self._request.infer({0: batch}, share_inputs=True)  # reads the buffer in place, no copy
        return self._request.get_output_tensor(0).data  # valid until the next infer: NMS copies what it keeps


class DirectRunner:
    """Detections for a batch of BGR images straight from an ONNX or OpenVINO export: one letterbox pass into
    a reused buffer, the runtime, ultralytics' NMS and box scaling. Returns, per image, an (n, 6) float
    array of x1, y1, x2, y2 (image pixels), confidence, class id -- what ``predict`` puts in ``boxes.data``."""

    def __init__(self, path: str | Path, backend: str, *, imgsz: int, confidence: float, iou: float,
                 static: bool | None = None, threads: int | None = None) -> None:
        """``static`` (OpenVINO only): compile per input shape and letterbox square; None: as ultralytics would
        on this host (see _OpenVinoModel). ``threads`` (OpenVINO only): that many unpinned threads (see
        _OpenVinoModel); None: the runtime's default."""
        from ultralytics.cfg import get_cfg

        path = Path(path)
        meta = export_metadata(path)
        if not meta.get("args", {}).get("dynamic"):
            raise FixedShapeExport(f"{path.name} is a fixed-shape export; the direct runner needs a dynamic one")
        self.names: dict[int, str] = {int(k): str(v) for k, v in meta.get("names", {}).items()}
        self._stride = int(meta.get("stride", 32))
        self._imgsz, self._conf, self._iou = imgsz, confidence, iou
        defaults = get_cfg()  # predict()'s own defaults for what YoloDetector does not set
        self._max_det, self._agnostic = defaults.max_det, defaults.agnostic_nms
        # what a batch is handed to
        self.runtime = _OnnxSession(path) if backend == "onnx" else _OpenVinoModel(path, static, threads)
        self.buffer = InputBuffer()
        self._lock = threading.Lock()  # one batch at a time owns the buffer and the infer request

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        import torch
        from ultralytics.utils import ops

        with self._lock:
            batch = self.buffer.fill(images, self._imgsz, self._stride, rect=not self.runtime.static)
            raw = torch.from_numpy(self.runtime(batch))
            kept = non_max_suppression(raw, self._conf, self._iou, agnostic=self._agnostic, max_det=self._max_det)
        out = []
        for pred, image in zip(kept, images):
            pred[:, :4] = ops.scale_boxes(batch.shape[2:], pred[:, :4], image.shape)  # undoes the letterbox
            out.append(pred[:, :6].numpy())
        return out


def non_max_suppression(*args, **kwargs):
    """ultralytics' NMS, from ultralytics.utils.nms where this version has it (8.3.x and later), else ops."""
    try:
        from ultralytics.utils.nms import non_max_suppression as nms
    except ImportError:  # pragma: no cover - older ultralytics
        from ultralytics.utils.ops import non_max_suppression as nms
    return nms(*args, **kwargs)
