"""The model edge: the only module that runs ultralytics (inference.models.preflight only loads weights to check them).

Everything it returns is :class:`Detections` with canonical labels; nothing
downstream knows a model exists.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from inference.detections import Detections
from inference.models.backend import Backend, choose_backend
from inference.models.manifest import ManifestError, ModelManifest, load_manifest, verify_weights
from inference.models.preflight import NotAModelError, class_mismatch, load_failure

log = logging.getLogger(__name__)


class Detector(Protocol):
    name: str
    version: str

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """One Detections per BGR image, boxes in that image's pixels."""


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
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")  # never let ultralytics reach for the hub
        from ultralytics import YOLO

        self.manifest = manifest
        self.name = manifest.name
        self.version = manifest.version_label
        self._confidence = confidence
        self._iou = iou
        self._device = device
        self._imgsz = input_size or manifest.input_size
        self.backend = backend  # pytorch | onnx | tensorrt: which copy of the weights weights_path is
        # Per-label floors: the manifest's recommendations, overridden by the camera's model config.
        self.class_confidence = {**manifest.class_confidence, **(class_confidence or {})}
        self._floor = min([confidence, *self.class_confidence.values()])
        try:
            self._model = YOLO(str(weights_path), task="detect")
        except Exception as exc:  # one line for the operator, never ultralytics' double traceback
            raise NotAModelError(
                f"model {manifest.name}: {weights_path} is not a YOLO model ({load_failure(Path(weights_path), exc)})"
            ) from None
        model_names = [str(self._model.names[i]) for i in sorted(self._model.names)]
        mismatch = class_mismatch(manifest, model_names)
        if mismatch:
            raise ManifestError(mismatch)
        # class id -> canonical label, or None where the manifest leaves a class unmapped.
        self._canonical = np.array([manifest.canonical_labels.get(c) for c in manifest.classes], dtype=object)

    @classmethod
    def from_manifest(cls, manifest_path: str | Path, *, backend: Backend = "auto", **kwargs) -> "YoloDetector":
        """Load the manifest's weights, or the fastest verified export of them (see inference.models.backend)."""
        manifest, weights_path = load_manifest(manifest_path)
        verify_weights(manifest, weights_path, Path(manifest_path))
        choice = choose_backend(
            manifest, weights_path, Path(manifest_path).resolve().parent,
            device=str(kwargs.get("device", "cpu")), requested=backend,
        )
        return cls(manifest, choice.path, backend=choice.backend, **kwargs)

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        if not images:
            return []
        results = self._model.predict(
            images, imgsz=self._imgsz, conf=self._floor, iou=self._iou, device=self._device, verbose=False
        )
        return [self._to_detections(r) for r in results]

    def _to_detections(self, result) -> Detections:
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return Detections.empty()
        class_ids = boxes.cls.cpu().numpy().astype(np.int64)
        labels = self._canonical[class_ids]
        confidence = boxes.conf.cpu().numpy()
        keep = labels != None  # noqa: E711 - elementwise comparison on an object array
        if self.class_confidence:
            floors = np.array([self.class_confidence.get(label, self._confidence) for label in labels], dtype=np.float32)
            keep &= confidence >= floors
        return Detections(
            boxes.xyxy.cpu().numpy()[keep],
            confidence[keep],
            labels[keep],
        )
