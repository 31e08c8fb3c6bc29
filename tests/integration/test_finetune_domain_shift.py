"""Fine-tuning the demo weights for a domain-shifted site, then comparing, with the real CLI:
a tiny night_sodium set is rendered, ``gridsight train --init v4 --replay-data --replay-share``
runs one very short epoch, and ``gridsight compare`` puts the result beside v4 on a shifted
scenario clip. What is checked is provenance and shape, not accuracy (that proof needs a
longer run: benchmarks/results/domain-shift/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gridsight.cli import main
from gridsight.ml.dataset_check import check_dataset
from gridsight.synth.dataset import generate_dataset
from gridsight.synth.scenarios import shifted_cases
from gridsight.synth.scenarios.generate import render_case
from inference.models.manifest import load_manifest, verify_weights

ROOT = Path(__file__).resolve().parents[2]
V4 = ROOT / "weights" / "gridsight-demo-v4.yaml"
SIZE = (320, 180)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("domain-shift")
    night = generate_dataset(root / "night", 12, 6, seed=5, size=SIZE, domain="night_sodium")
    synth = generate_dataset(root / "synth", 12, 2, seed=6, size=SIZE)
    return night, synth


def test_bad_fine_tune_options_are_one_line_and_train_nothing(datasets, tmp_path, capsys):
    night, synth = datasets
    assert main(["train", "--data", str(night), "--out", str(tmp_path / "a"), "--init", str(V4), "--replay-share", "0.3"]) == 2
    assert "--replay-share needs --replay-data" in capsys.readouterr().err
    assert main(["train", "--data", str(night), "--out", str(tmp_path / "b"), "--init", str(tmp_path / "none.yaml")]) == 2
    assert "model manifest not found" in capsys.readouterr().err
    assert main(["train", "--data", str(night), "--out", str(tmp_path / "c"), "--replay-data", str(synth)]) == 2
    assert "--replay-data needs --init" in capsys.readouterr().err
    assert main(["train", "--data", str(night), "--out", str(tmp_path / "d"), "--init", str(V4), "--replay-data", str(synth),
                 "--replay-share", "0.9"]) == 2
    assert "needs 108 training images, it has 12" in capsys.readouterr().err
    assert not any((tmp_path / d / "gridsight-detector.pt").exists() for d in "abcd")


def test_fine_tune_from_v4_with_replay_then_compare(datasets, tmp_path, capsys):
    night, synth = datasets
    out = tmp_path / "ft"
    rc = main(["train", "--data", str(night), "--out", str(out), "--init", str(V4), "--replay-data", str(synth),
               "--replay-share", "0.3", "--epochs", "1", "--imgsz", "160", "--batch", "8", "--freeze", "10",
               "--warmup-epochs", "0", "--workers", "0", "--seed", "1", "--name", "night-ft", "--version", "5"])
    assert rc == 0, capsys.readouterr().err
    assert "12 dataset + 5 replay training images (replay share 0.29)" in capsys.readouterr().out
    manifest_path = out / "night-ft.yaml"
    manifest, weights = load_manifest(manifest_path)
    verify_weights(manifest, weights, manifest_path)
    v4, _ = load_manifest(V4)
    assert manifest.classes == v4.classes and manifest.canonical_labels == v4.canonical_labels, "the init model's class list"
    training = manifest.training
    assert training["init_model"] == {"manifest": str(V4), "weights": str(ROOT / "weights" / "gridsight-demo-v4.pt"),
                                      "name": "gridsight-demo-v4", "version": "4", "sha256": v4.sha256}
    assert training["dataset"]["fingerprint"] == check_dataset(night).fingerprint
    assert training["dataset"]["data"] == str(night)
    replay = training["replay"]
    assert replay["fingerprint"] == check_dataset(synth, required_splits=("train",)).fingerprint
    assert (replay["images"], replay["dataset_images"], replay["share"], replay["share_requested"]) == (5, 12, 0.2941, 0.3)
    assert training["settings"]["freeze"] == 10 and training["seed"] == 1
    from ultralytics import YOLO

    names = YOLO(str(weights), task="detect").names
    assert [names[i] for i in sorted(names)] == v4.classes, "class ids in the init manifest's order"

    clips = tmp_path / "clips"
    render_case(shifted_cases(names=("littering-drop",))[0], clips)
    comparison_path = tmp_path / "comparison.json"
    assert main(["compare", "--candidate", str(manifest_path), "--current", str(V4), "--data", str(night),
                 "--scenarios", str(clips), "--out", str(comparison_path)]) == 0
    comparison = json.loads(comparison_path.read_text())
    assert set(comparison) == {"version", "created_at", "candidate", "current", "detection", "events", "shadow", "verdict"}
    assert comparison["candidate"] == {"name": "night-ft", "version": "5", "sha256": manifest.sha256}
    assert comparison["current"]["sha256"] == v4.sha256
    assert comparison["detection"]["data"]["fingerprint"] == check_dataset(night).fingerprint
    assert comparison["detection"]["data"]["images"] == 6
    assert "littering" in comparison["events"]["per_rule"]
    assert comparison["events"]["overall"]["current"]["tp"] + comparison["events"]["overall"]["current"]["fn"] == 1
    assert isinstance(comparison["verdict"]["better"], bool) and comparison["verdict"]["reasons"]
    assert yaml.safe_load(manifest_path.read_text())["training"]["replay"]["seed"] == 1
