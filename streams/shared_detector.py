"""One model instance shared by the cameras on it: :class:`SharedDetector` (one camera's
frame at a time, under a lock) or :class:`streams.batching.BatchingDetector` (cameras' frames
batched into one call), chosen by the model config's ``max_batch``. :func:`load_model` is the one
way a worker loads a model: at start (streams.pipeline_factory.load_detectors) and when the
registry assigns one while it runs (streams.model_loader)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from inference.models.detector import Detector, YoloDetector
from streams.batching import BatchingDetector, resolve_device

log = logging.getLogger(__name__)

# The frame a freshly loaded model is warmed up on: the first real frame is then not the slow one.
WARM_UP_FRAME_SHAPE = (240, 320, 3)


class SharedDetector:
    """One model instance shared by every camera on the worker; the lock
    serialises calls because an ultralytics predictor is not thread-safe."""

    def __init__(self, detector: Detector) -> None:
        self._detector = detector
        self._lock = threading.Lock()
        self.name = detector.name
        self.version = detector.version
        self.class_confidence = dict(getattr(detector, "class_confidence", {}) or {})

    def detect(self, images):
        with self._lock:
            return self._detector.detect(images)

    def detect_timed(self, images):
        """(detections, inference seconds, seconds spent waiting for the other cameras)."""
        asked = time.perf_counter()
        with self._lock:
            started = time.perf_counter()
            result = self._detector.detect(images)
            return result, time.perf_counter() - started, started - asked

    def close(self) -> None:
        """Nothing to stop (no thread of its own); here so either wrapper can be retired alike."""


def warm_up(detector: Detector) -> None:
    """One inference on a blank frame (raises what the model raises)."""
    detector.detect([np.zeros(WARM_UP_FRAME_SHAPE, np.uint8)])


def share(detector: Detector, model, name: str) -> SharedDetector | BatchingDetector:
    """The wrapper the cameras on ``detector`` call, as its model config (``max_batch``,
    ``batch_deadline_ms``) asks: batched across cameras, or one frame at a time."""
    if model.max_batch > 1:
        return BatchingDetector(detector, max_batch=model.max_batch, batch_deadline_ms=model.batch_deadline_ms,
                                name=name)
    return SharedDetector(detector)


def inference_streams(model, backend: str | None, cpu_count: int) -> int:
    """How many batches of ``model`` run at once (its ``inference_streams``; see BatchingDetector):
    one unless it batches on an OpenVINO backend, whose copies can share out the CPU's threads."""
    if model.max_batch <= 1 or not str(backend or "").startswith("openvino"):
        return 1
    wanted = model.inference_streams
    return (2 if cpu_count >= 2 else 1) if wanted == "auto" else int(wanted)


def load_shared(load: Callable[[int | None], Detector], model, name: str, backend: str) -> SharedDetector | BatchingDetector:
    """``load(cpu_threads)`` -> a loaded, warmed-up detector (None: the runtime's own threads) on
    ``backend`` (what choose_backend picks for it: whether inference streams apply). The wrapper the
    cameras call: one copy, or one copy per inference stream, each on its share of the cores, behind
    one BatchingDetector."""
    cpu_count = os.cpu_count() or 1
    streams = inference_streams(model, backend, cpu_count)
    if streams == 1:
        if model.inference_streams not in ("auto", 1) and model.max_batch > 1:
            log.info("model %s: inference_streams %s applies to OpenVINO only; %s runs one batch at a time",
                     name, model.inference_streams, backend)
        return share(load(None), model, name)
    threads = max(1, cpu_count // streams)
    copies = [load(threads) for _ in range(streams)]
    log.info("model %s: %d inference streams of %d thread(s) each", name, streams, threads)
    return BatchingDetector(copies, max_batch=model.max_batch, batch_deadline_ms=model.batch_deadline_ms, name=name)


def load_model(manifest_path: str | Path, model, name: str) -> SharedDetector | BatchingDetector:
    """The model at ``manifest_path`` with a model config's settings (streams.config.ModelConfig:
    backend, device, thresholds, batching), each copy warmed up, wrapped for the cameras on it.
    The backend is chosen from the manifest first (no copy is loaded to find it out); raises what
    the manifest check and the runtime raise."""
    device = resolve_device(model.device)
    backend = YoloDetector.backend_choice(manifest_path, backend=model.backend, device=device).backend

    def load(cpu_threads: int | None) -> Detector:
        detector = YoloDetector.from_manifest(manifest_path, backend=model.backend, confidence=model.confidence,
                                              iou=model.iou, device=device,
                                              class_confidence=dict(model.class_confidence), cpu_threads=cpu_threads)
        warm_up(detector)
        return detector

    return load_shared(load, model, name, backend)
