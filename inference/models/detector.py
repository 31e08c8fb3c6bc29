"""The model edge: the only module that runs models (inference.models.preflight only loads weights to check them).

PyTorch and TensorRT run through ultralytics' ``predict``; ONNX and OpenVINO exports through
inference.models.direct (ultralytics' letterbox and NMS semantics without its per-call predictor).

Everything it returns is :class:`Detections` with canonical labels; nothing
downstream knows a model exists.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from inference.detections import Detections
from inference.models.backend import Backend, BackendChoice, choose_backend
from inference.models.direct import DIRECT_BACKENDS, DirectRunner, FixedShapeExport
from inference.models.manifest import ManifestError, ModelManifest, load_manifest, verify_weights
from inference.models.preflight import NotAModelError, class_mismatch, load_failure

log = logging.getLogger(__name__)


class Detector(Protocol):
    name: str
    version: str

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """One Detections per BGR image, boxes in that image's pixels."""


def pin_openvino_f32() -> None:
    """Make ultralytics compile every OpenVINO model of this process with INFERENCE_PRECISION_HINT f32
    (predict and val alike; idempotent). The CPU plugin's default is bf16 on CPUs with AMX (Xeon
    Sapphire Rapids and later) and f32 elsewhere, so without it the FP32 IR would compute in bf16
    on some hosts only (measured on one: confidences off by up to 0.06, a box at IoU 0.82), and an
    INT8 IR's float layers likewise. Pinned, an export gives the results its parity check
    recorded, on every host."""
    from ultralytics.nn.backends.openvino import OpenVINOBackend

    if getattr(OpenVINOBackend, "gridsight_f32", False):
        return
    load = OpenVINOBackend.load_model

    def load_model(self, weight) -> None:
        load(self, weight)
        config = {**self.compile_model.keywords.get("config", {}), "INFERENCE_PRECISION_HINT": "f32"}
        self.compile_model = partial(self.compile_model, config=config)  # also used by its per-shape recompiles
        xml = Path(weight) if Path(weight).is_file() else next(Path(weight).glob("*.xml"))
        self.ov_compiled_model = self.compile_model(self.ov.Core().read_model(str(xml)))

    OpenVINOBackend.load_model = load_model
    OpenVINOBackend.gridsight_f32 = True


def open_yolo(path: str | Path, backend: str = "pytorch"):
    """An ultralytics YOLO on ``path`` (weights, an export file or an OpenVINO IR directory);
    OpenVINO compute pinned to f32 (see pin_openvino_f32)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never let ultralytics reach for the hub
    from ultralytics import YOLO

    path = Path(path)
    if backend.startswith("openvino") or (path.is_dir() and path.name.endswith("openvino_model")):
        pin_openvino_f32()
    return YOLO(str(path), task="detect")


class YoloDetector:
    def __init__(
        self,
        manifest: ModelManifest,
        weights_path: Path,
        *,
        confidence: float = 0.35,
        iou: float = 0.5,
        device: str = "cpu",
        input_size: int | None = None,
        backend: str = "pytorch",
        class_confidence: dict[str, float] | None = None,
        via_ultralytics: bool = False,
        cpu_threads: int | None = None,
    ) -> None:
        """``via_ultralytics`` runs an ONNX or OpenVINO export through ``model.predict`` like PyTorch and
        TensorRT, instead of inference.models.direct's runner (for parity checks against ultralytics); so
        does a device other than the CPU (choose_backend allows none for these exports). ``cpu_threads``:
        the threads an OpenVINO export runs on, unpinned (one copy of several running batches at once,
        see streams.shared_detector); None: the runtime's default."""
        self.manifest = manifest
        self.name = manifest.name
        self.version = manifest.version_label
        self._confidence = confidence
        self._iou = iou
        self._device = device
        self._imgsz = input_size or manifest.input_size
        self.backend = backend  # pytorch | onnx | tensorrt | openvino[-int8]: which copy weights_path is (an IR directory for openvino)
        # Per-label floors: the manifest's recommendations, overridden by the camera's model config.
        self.class_confidence = {**manifest.class_confidence, **(class_confidence or {})}
        self._floor = min([confidence, *self.class_confidence.values()])
        self._model = self._direct = None
        self._cpu_threads = cpu_threads
        try:
            if backend in DIRECT_BACKENDS and device == "cpu" and not via_ultralytics:  # the runner is CPU-only
                self._direct = self._open_direct(weights_path)
            if self._direct is None:
                self._model = open_yolo(weights_path, backend)
        except Exception as exc:  # one line for the operator, never ultralytics' double traceback
            raise NotAModelError(
                f"model {manifest.name}: {weights_path} is not a YOLO model ({load_failure(Path(weights_path), exc)})"
            ) from None
        names = (self._direct or self._model).names
        model_names = [str(names[i]) for i in sorted(names)]
        mismatch = class_mismatch(manifest, model_names)
        if mismatch:
            raise ManifestError(mismatch)
        # class id -> canonical label, or None where the manifest leaves a class unmapped.
        self._canonical = np.array([manifest.canonical_labels.get(c) for c in manifest.classes], dtype=object)

    @staticmethod
    def backend_choice(manifest_path: str | Path, *, backend: Backend = "auto", device: str = "cpu",
                       log_choice: bool = False) -> BackendChoice:
        """What :meth:`from_manifest` would run the manifest on, found without loading anything."""
        manifest, weights_path = load_manifest(manifest_path)
        return choose_backend(manifest, weights_path, Path(manifest_path).resolve().parent, device=device,
                              requested=backend, log_choice=log_choice)

    @classmethod
    def from_manifest(cls, manifest_path: str | Path, *, backend: Backend = "auto", **kwargs) -> "YoloDetector":
        """Load the manifest's weights, or the fastest verified export of them (see inference.models.backend)."""
        manifest, weights_path = load_manifest(manifest_path)
        verify_weights(manifest, weights_path, Path(manifest_path))
        choice = YoloDetector.backend_choice(manifest_path, backend=backend, device=str(kwargs.get("device", "cpu")),
                                             log_choice=True)
        return cls(manifest, choice.path, backend=choice.backend, **kwargs)

    def _open_direct(self, weights_path: Path) -> DirectRunner | None:
        """The direct runner on a dynamic-shape export; None (ultralytics' predict then) on a fixed-shape one,
        whose batches ultralytics splits to the export's batch size."""
        try:
            return DirectRunner(weights_path, self.backend, imgsz=self._imgsz, confidence=self._floor, iou=self._iou,
                                threads=self._cpu_threads if self.backend.startswith("openvino") else None)
        except FixedShapeExport as exc:
            log.info("model %s: %s; running it through ultralytics predict", self.name, exc)
            return None

    @property
    def direct_runner(self) -> DirectRunner | None:
        """The inference.models.direct runner detect() uses, or None where it goes through ultralytics' predict."""
        return self._direct

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        if not images:
            return []
        if self._direct is not None:
            return [self._to_detections(boxes) for boxes in self._direct(images)]
        results = self._model.predict(
            images, imgsz=self._imgsz, conf=self._floor, iou=self._iou, device=self._device, verbose=False
        )
        return [self._to_detections(r.boxes.data.cpu().numpy()) for r in results]

    def _to_detections(self, boxes: np.ndarray) -> Detections:
        """Canonical labels and per-label floors applied to (n, 6) rows of x1, y1, x2, y2, confidence, class id
        (ultralytics' ``boxes.data`` layout, which the direct runner returns too)."""
        if len(boxes) == 0:
            return Detections.empty()
        class_ids = boxes[:, 5].astype(np.int64)
        labels = self._canonical[class_ids]
        confidence = boxes[:, 4]
        keep = labels != None  # noqa: E711 - elementwise comparison on an object array
        if self.class_confidence:
            floors = np.array([self.class_confidence.get(label, self._confidence) for label in labels], dtype=np.float32)
            keep &= confidence >= floors
        return Detections(
            boxes[:, :4][keep],
            confidence[keep],
            labels[keep],
        )
