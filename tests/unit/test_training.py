"""Manifest writing and the committed weights and manifests (no training here: far too slow for unit tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from gridsight.ml.train import write_manifest
from inference.models.manifest import load_manifest, verify_weights
from inference.models.preflight import check_model

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def test_write_manifest_pins_sha256_and_fields(tmp_path):
    weights = tmp_path / "tiny.pt"
    weights.write_bytes(b"not really a model" * 100)
    path = write_manifest(
        weights, "tiny", "3", ["person", "litter", "garbage_bag"], {"person": "person", "litter": "litter", "garbage_bag": "garbage_bag"},
        320, {"overall": {"map50": 0.9}}, {"epochs": 1, "seed": 0},
    )
    assert path == tmp_path / "tiny.yaml"
    raw = yaml.safe_load(path.read_text())
    assert raw["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert raw["file"] == "tiny.pt" and raw["task"] == "detect" and raw["version"] == "3" and raw["input_size"] == 320
    assert raw["classes"] == ["person", "litter", "garbage_bag"]
    manifest, resolved = load_manifest(path)  # the runtime's own validation accepts it
    assert resolved == weights.resolve()
    verify_weights(manifest, resolved, path)
    with pytest.raises(ValueError):
        write_manifest(weights, "bad", "1", ["person"], {"dog": "person"}, 320, None, None)


COMMITTED = sorted(WEIGHTS.glob("gridsight-demo-v*.yaml"))


def test_the_demo_weights_are_committed():
    assert WEIGHTS / "gridsight-demo-v1.yaml" in COMMITTED  # the demo, configs/demo.yaml and the cluster tests use it
    manifest, weights = load_manifest(WEIGHTS / "gridsight-demo-v1.yaml")
    assert manifest.classes == ["person", "litter", "garbage_bag"]
    assert manifest.canonical_labels == {c: c for c in manifest.classes}
    assert weights.stat().st_size <= 10 * 1024 * 1024


@pytest.mark.parametrize("manifest_path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_every_committed_manifest_passes_the_workers_own_model_check(manifest_path):
    """What the worker checks at start-up, on the real file: the pinned sha256 matches, it loads as a
    YOLO checkpoint, and its own class names are the manifest's classes in class-id order."""
    check = check_model(manifest_path, backend="pytorch")
    assert check.ok, check.errors
    assert check.weights.names == list(check.manifest.classes)
    assert check.weights.imgsz in (None, check.manifest.input_size)
    verify_weights(check.manifest, check.weights_path, manifest_path)


def test_coco_template_is_a_valid_unpinned_manifest():
    manifest, weights = load_manifest(WEIGHTS / "coco-yolo11n.yaml")
    assert manifest.sha256 is None and weights.name == "yolo11n.pt"
    assert len(manifest.classes) == 80 and manifest.classes[0] == "person" and manifest.classes[39] == "bottle"
    assert "garbage_bag" not in manifest.provides()
