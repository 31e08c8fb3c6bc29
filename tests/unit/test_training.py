"""Manifest writing and the committed manifests (no training here: far too slow for unit tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from gridsight.ml.train import write_manifest
from inference.models.manifest import load_manifest, verify_weights

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


def test_committed_demo_manifest_matches_its_weights():
    manifest_path = WEIGHTS / "gridsight-demo-v1.yaml"
    if not manifest_path.is_file():
        pytest.skip("demo weights not committed yet")
    manifest, weights = load_manifest(manifest_path)
    verify_weights(manifest, weights, manifest_path)
    assert manifest.classes == ["person", "litter", "garbage_bag"]
    assert manifest.canonical_labels == {c: c for c in manifest.classes}
    assert weights.stat().st_size <= 10 * 1024 * 1024


def test_coco_template_is_a_valid_unpinned_manifest():
    manifest, weights = load_manifest(WEIGHTS / "coco-yolo11n.yaml")
    assert manifest.sha256 is None and weights.name == "yolo11n.pt"
    assert len(manifest.classes) == 80 and manifest.classes[0] == "person" and manifest.classes[39] == "bottle"
    assert "garbage_bag" not in manifest.provides()
