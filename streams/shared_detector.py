"""One model instance shared by the cameras on it: :class:`SharedDetector` (one camera's
frame at a time, under a lock) or :class:`streams.batching.BatchingDetector` (cameras' frames
batched into one call), chosen by the model config's ``max_batch``. The same wrapping for a
model loaded at start (streams.pipeline_factory.load_detectors) and for one the registry
assigns while the worker runs (streams.model_loader)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import numpy as np

from inference.models.detector import Detector
from streams.batching import BatchingDetector

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


def load_shared(load: Callable[[int | None], Detector], model, name: str) -> SharedDetector | BatchingDetector:
    """``load(cpu_threads)`` -> a loaded, warmed-up detector (None: the runtime's own threads). The
    wrapper the cameras call: one copy, or one copy per inference stream, each on its share of the
    cores, behind one BatchingDetector."""
    detector = load(None)  # which backend the model runs on decides whether streams apply
    cpu_count = os.cpu_count() or 1
    streams = inference_streams(model, getattr(detector, "backend", None), cpu_count)
    if streams == 1:
        if model.inference_streams not in ("auto", 1) and model.max_batch > 1:
            log.info("model %s: inference_streams %s applies to OpenVINO only; %s runs one batch at a time",
                     name, model.inference_streams, getattr(detector, "backend", "this backend"))
        return share(detector, model, name)
    threads = max(1, cpu_count // streams)
    copies = [load(threads) for _ in range(streams)]
    log.info("model %s: %d inference streams of %d thread(s) each", name, streams, threads)
    return BatchingDetector(copies, max_batch=model.max_batch, batch_deadline_ms=model.batch_deadline_ms, name=name)
