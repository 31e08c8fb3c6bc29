"""Fast is only worth it if it is the same: the batched path (one BatchingDetector shared by
several cameras) and the ONNX Runtime backend give the same detections, within tolerance,
and exactly the same rule events as the plain path (one PyTorch model, one frame at a time)
on the same synthetic clip. CPU only."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from streams.config import load_config
from inference.clock import FrameClock
from inference.models.detector import YoloDetector
from inference.models.manifest import load_manifest
from inference.tracking import ObjectTracker
from streams.batching import BatchingDetector
from streams.pipeline import CameraPipeline, SharedDetector
from streams.rule_factory import build_rules
from streams.sources.source import CameraSource

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "weights" / "gridsight-demo-v1.yaml"
CONFIG = ROOT / "configs" / "demo.yaml"
CAMERAS = 3
MIN_IOU, MAX_CONF_DIFF, MARGIN = 0.9, 0.05, 0.05

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """8 s at 10 fps: a bag lying in west-kerb from the start (a dwell START at ~4 s), a person walking by."""
    from gridsight.synth.clip import write_clip
    from gridsight.synth.scenario import short_scenario

    return write_clip(tmp_path_factory.mktemp("parity") / "short.mp4", short_scenario(8.0), fps=10)


@pytest.fixture(scope="module")
def camera():
    config = load_config(CONFIG, check_models=False)
    return next(iter(config.cameras.values())), config.models["demo"]


class Recorder:
    """Wraps the detector a pipeline sees, keeping every frame's detections in order."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.version = inner, inner.name, inner.version
        self.frames: list = []

    def detect_timed(self, images):
        result = self.inner.detect_timed(images)
        self.frames.append(result[0][0])
        return result


def run_camera(clip: Path, camera_cfg, detector) -> tuple[list, list]:
    """Every sampled frame of the clip through one camera's pipeline: (detections per frame, events)."""
    clock = FrameClock()
    recorder = Recorder(detector)
    tracker = ObjectTracker(frame_rate=camera_cfg.analysis_fps,
                            lost_track_seconds=camera_cfg.tracker.lost_track_seconds,
                            activation_threshold=camera_cfg.tracker.activation_threshold,
                            high_confidence_threshold=camera_cfg.tracker.high_confidence_threshold)
    source = CameraSource("cam", str(clip), analysis_fps=camera_cfg.analysis_fps)
    pipeline = CameraPipeline("cam", source, recorder, tracker, build_rules("cam", camera_cfg, clock), clock,
                              lambda key, payload: None)
    source.start()
    events = []
    while (frame := source.read(timeout=30)) is not None:
        for event in pipeline.process(frame):
            events.append((frame.frame_id, event.rule_id, event.phase.value, event.zone_id, tuple(event.labels)))
    source.stop()
    return recorder.frames, events


def assert_same_detections(reference: list, candidate: list, conf: float) -> None:
    assert len(reference) == len(candidate), "a different number of frames was analysed"
    for i, (a, b) in enumerate(zip(reference, candidate)):
        for src, dst in ((a, b), (b, a)):
            for k in range(len(src)):
                if src.confidence[k] < conf + MARGIN:
                    continue  # near the threshold one side may legitimately drop it
                same = np.flatnonzero(dst.labels == src.labels[k])
                assert len(same), f"frame {i}: {src.labels[k]} box {src.xyxy[k]} has no partner"
                ious = [_iou(src.xyxy[k], dst.xyxy[j]) for j in same]
                j = same[int(np.argmax(ious))]
                assert max(ious) >= MIN_IOU, f"frame {i}: {src.labels[k]} IoU {max(ious):.3f}"
                assert abs(src.confidence[k] - dst.confidence[j]) <= MAX_CONF_DIFF, f"frame {i}: confidence"


def _iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def plain(clip, camera):
    camera_cfg, model = camera
    detector = YoloDetector.from_manifest(MANIFEST, backend="pytorch", confidence=model.confidence, iou=model.iou)
    frames, events = run_camera(clip, camera_cfg, SharedDetector(detector))
    assert any(phase == "start" for _f, _r, phase, _z, _l in events), "the clip should fire the west-kerb dwell rule"
    assert sum(len(d) for d in frames) > len(frames), "the clip should have detections to compare"
    return detector, frames, events


def test_batched_cameras_see_what_the_plain_path_sees(clip, camera, plain):
    camera_cfg, model = camera
    detector, frames, events = plain
    results: dict[int, tuple] = {}
    with BatchingDetector(detector, max_batch=4, batch_deadline_ms=25) as batching:
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, run_camera(clip, camera_cfg, batching)))
                   for i in range(CAMERAS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        stats = batching.stats()
    assert stats["batches"] < stats["images"], f"no batch ever held two frames: {stats}"
    for i in range(CAMERAS):
        got_frames, got_events = results[i]
        assert got_events == events, f"camera {i}"
        assert_same_detections(frames, got_frames, model.confidence)


def test_onnx_backend_sees_what_pytorch_sees(clip, camera, plain, tmp_path):
    pytest.importorskip("onnxruntime")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    camera_cfg, model = camera
    _detector, frames, events = plain
    manifest, weights = load_manifest(MANIFEST)
    copy = tmp_path / weights.name  # ultralytics writes the export beside its input
    shutil.copyfile(weights, copy)
    onnx = YOLO(str(copy), task="detect").export(format="onnx", imgsz=manifest.input_size, dynamic=True, simplify=True)
    detector = YoloDetector(manifest, Path(onnx), backend="onnx", confidence=model.confidence, iou=model.iou)
    with BatchingDetector(detector, max_batch=4, batch_deadline_ms=25) as batching:
        got_frames, got_events = run_camera(clip, camera_cfg, batching)
    assert got_events == events
    assert_same_detections(frames, got_frames, model.confidence)
