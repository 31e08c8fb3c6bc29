"""Per-label confidence floors: the detector drops a label's boxes below its floor, and the
tracker starts that label's tracks from it (else a floor below 0.35 could never fire a rule)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from inference.detections import Detections
from inference.models.detector import YoloDetector
from inference.models.manifest import ManifestError, load_manifest
from inference.tracking import ObjectTracker

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def _weak(label: str, conf: float, n: int = 1) -> Detections:
    boxes = np.array([[10 + 40 * i, 10, 40 + 40 * i, 60] for i in range(n)], np.float32)
    return Detections(boxes, np.full(n, conf, np.float32), np.array([label] * n, dtype=object))


def test_a_label_floor_below_the_tracker_threshold_lets_its_tracks_start():
    plain = ObjectTracker(frame_rate=5)
    floored = ObjectTracker(frame_rate=5, label_thresholds={"cable": 0.15})
    for t in range(6):
        a = plain.update(_weak("cable", 0.2), timestamp=t * 0.2)
        b = floored.update(_weak("cable", 0.2), timestamp=t * 0.2)
    assert (a.tracker_id < 0).all()  # 0.2 < 0.35: never a track by default
    assert (b.tracker_id >= 0).all()
    # Other labels keep the default.
    c = [floored.update(_weak("person", 0.2), timestamp=2 + t * 0.2) for t in range(6)][-1]
    assert (c.tracker_id < 0).all()


@pytest.mark.slow  # builds and runs a YOLO model: ~3 s
def test_detector_applies_manifest_floors_and_camera_overrides(tmp_path):
    from gridsight.ml.export import synthetic_frames

    shutil.copy(WEIGHTS / "gridsight-demo-v1.pt", tmp_path)
    raw = yaml.safe_load((WEIGHTS / "gridsight-demo-v1.yaml").read_text())
    raw["class_confidence"] = {"person": 0.97}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(raw))
    frames = synthetic_frames(4, seed=3)

    base = YoloDetector.from_manifest(WEIGHTS / "gridsight-demo-v1.yaml", confidence=0.2, backend="pytorch")
    strict = YoloDetector.from_manifest(tmp_path / "m.yaml", confidence=0.2, backend="pytorch")
    loose = YoloDetector.from_manifest(tmp_path / "m.yaml", confidence=0.2, backend="pytorch", class_confidence={"person": 0.05})
    assert strict.class_confidence == {"person": 0.97} and loose.class_confidence == {"person": 0.05}
    for b, s, lo in zip(base.detect(frames), strict.detect(frames), loose.detect(frames)):
        assert (s.confidence[s.labels == "person"] >= 0.97).all()
        # Other labels are untouched by a person floor.
        assert sorted(s.labels[s.labels != "person"]) == sorted(b.labels[b.labels != "person"])
        assert (lo.labels == "person").sum() >= (b.labels == "person").sum()
    assert sum((d.labels == "person").sum() for d in base.detect(frames)) > sum((d.labels == "person").sum() for d in strict.detect(frames))


def test_manifest_refuses_a_floor_for_a_label_it_does_not_provide(tmp_path):
    raw = yaml.safe_load((WEIGHTS / "gridsight-demo-v1.yaml").read_text())
    raw["class_confidence"] = {"cable": 0.2}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ManifestError, match="class_confidence"):
        load_manifest(tmp_path / "m.yaml")
