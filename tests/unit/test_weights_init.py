"""Bring your own model: `gridsight weights init` reads the weights, writes a manifest that loads,
pins and verifies, and says which presets it serves; manifest edits keep comments and key order."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from gridsight.cli import main
from inference.models.manifest import load_manifest, pin_manifest, sha256_file, update_manifest


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_init_writes_a_pinned_manifest_for_non_canonical_names(tmp_path, yolo_weights, capsys):
    weights = yolo_weights(tmp_path / "models" / "peds.pt", ["pedestrian", "bag"], imgsz=416)
    rc, out, err = run_cli(capsys, "weights", "init", weights, "--name", "peds")
    assert rc == 0, err
    path = tmp_path / "models" / "peds.yaml"
    manifest, resolved = load_manifest(path)
    assert (manifest.name, manifest.version, manifest.file, manifest.task) == ("peds", "1", "peds.pt", "detect")
    assert manifest.classes == ["pedestrian", "bag"] and manifest.input_size == 416
    assert manifest.sha256 == sha256_file(weights) and resolved == weights.resolve()
    assert manifest.canonical_labels == {}
    text = path.read_text()
    assert "# Unmapped classes (detected, then ignored by every rule): pedestrian, bag." in text
    assert "unmapped classes (ignored by every rule): pedestrian, bag" in out
    assert "presets it can serve (0): none" in out
    assert "  littering: labels: no class maps to litter or garbage_bag; actor_labels: no class maps to person" in out
    assert run_cli(capsys, "weights", "verify", path)[0] == 0
    # Keys in the order ModelManifest declares them.
    assert list(yaml.safe_load(text)) == ["name", "version", "file", "sha256", "task", "input_size", "classes",
                                          "canonical_labels"]


def test_init_with_map_serves_the_presets_of_those_labels(tmp_path, yolo_weights, capsys):
    weights = yolo_weights(tmp_path / "peds.pt", ["pedestrian", "bag"], imgsz=416)
    out_path = tmp_path / "manifests" / "peds.yaml"
    rc, out, err = run_cli(capsys, "weights", "init", weights, "--name", "peds", "--version", "2026.1",
                           "--map", "pedestrian=person", "--map", "bag=garbage_bag", "--out", out_path)
    assert rc == 0, err
    manifest, resolved = load_manifest(out_path)
    assert manifest.file == "../peds.pt" and resolved == weights.resolve() and manifest.version == "2026.1"
    assert manifest.canonical_labels == {"pedestrian": "person", "bag": "garbage_bag"}
    assert manifest.provides() == {"person", "garbage_bag"}
    assert "Unmapped" not in out_path.read_text()
    serve, cannot = out.split("presets it cannot serve")
    assert "  littering (no litter)" in serve and "  exposed_garbage (no garbage_pile)" in serve
    assert "  roaming_vendor: labels: no class maps to stall" in cannot
    assert "exclude_labels: no class maps to wheelchair or stroller" in cannot  # ebike_in_elevator
    assert run_cli(capsys, "weights", "verify", out_path)[0] == 0


def test_canonical_class_names_map_to_themselves_and_map_overrides(tmp_path, yolo_weights, capsys):
    weights = yolo_weights(tmp_path / "w.pt", ["person", "bottle", "car"])  # no imgsz in the checkpoint
    rc, out, err = run_cli(capsys, "weights", "init", weights, "--name", "w", "--map", "bottle=litter", "--map", "car=")
    assert rc == 0, err
    manifest, _ = load_manifest(tmp_path / "w.yaml")
    assert manifest.canonical_labels == {"person": "person", "bottle": "litter"}
    assert manifest.input_size == 640
    assert "unmapped classes (ignored by every rule): car" in out


@pytest.mark.parametrize("mapping, message", [
    ("pedestrian=persn", "--map pedestrian=persn: 'persn' is not a canonical label (canonical labels: banner,"),
    ("cat=person", "--map cat=person: the weights have no class 'cat' (classes: pedestrian, bag)"),
    ("pedestrian", "--map 'pedestrian': expected CLASS=LABEL"),
])
def test_a_bad_map_is_one_line_and_writes_nothing(tmp_path, yolo_weights, capsys, mapping, message):
    weights = yolo_weights(tmp_path / "peds.pt", ["pedestrian", "bag"])
    rc, out, err = run_cli(capsys, "weights", "init", weights, "--name", "peds", "--map", mapping)
    assert rc == 2 and "Traceback" not in out + err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "peds.yaml").exists()


def test_init_refuses_a_file_that_is_not_a_model_and_an_existing_manifest(tmp_path, yolo_weights, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    rc, out, err = run_cli(capsys, "weights", "init", junk, "--name", "x")
    assert rc == 2 and err.startswith(f"error: {junk.resolve()} is not a YOLO model (") and err.count("\n") == 1
    assert "Traceback" not in out + err

    weights = yolo_weights(tmp_path / "peds.pt", ["pedestrian", "bag"])
    assert run_cli(capsys, "weights", "init", weights, "--name", "peds")[0] == 0
    rc, _, err = run_cli(capsys, "weights", "init", weights, "--name", "peds")
    assert rc == 2 and "exists; pass --force" in err
    assert run_cli(capsys, "weights", "init", weights, "--name", "peds", "--force", "--map", "bag=garbage_bag")[0] == 0
    assert load_manifest(tmp_path / "peds.yaml")[0].canonical_labels == {"bag": "garbage_bag"}


HAND_WRITTEN = """\
# Our own detector, fine-tuned on the east gate cameras.
# Ask the vision team before changing the map.
version: "3"   # bump on every retrain
name: east-gate
file: model.pt
sha256: null  # filled by `gridsight weights pin`
input_size: 320
classes:
  - person
  - bottle
canonical_labels:
  person: person
  # bottles left on the kerb count as litter
  bottle: litter
"""


def test_pin_keeps_comments_key_order_and_quoting(tmp_path):
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"pretend weights")
    path = tmp_path / "m.yaml"
    path.write_text(HAND_WRITTEN)
    digest = pin_manifest(path)
    assert digest == hashlib.sha256(b"pretend weights").hexdigest()
    expected = HAND_WRITTEN.replace("sha256: null ", f"sha256: {digest} ")
    assert path.read_text() == expected
    # Pinning again (a new file) changes only that value.
    weights.write_bytes(b"retrained weights")
    new = pin_manifest(path)
    assert path.read_text() == expected.replace(digest, new)


def test_every_manifest_update_keeps_comments_and_appends_new_fields(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"pretend weights")
    path = tmp_path / "m.yaml"
    path.write_text(HAND_WRITTEN)
    manifest = update_manifest(path, class_confidence={"litter": 0.4}, input_size=416)
    assert manifest.class_confidence == {"litter": 0.4} and manifest.input_size == 416
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN.split("input_size")[0])  # header, comments, order untouched
    assert "  # bottles left on the kerb count as litter\n  bottle: litter\n" in text
    assert text.endswith("class_confidence:\n  litter: 0.4\n")
    assert list(yaml.safe_load(text)) == ["version", "name", "file", "sha256", "input_size", "classes",
                                          "canonical_labels", "class_confidence"]


def test_the_shipped_template_pins_without_losing_its_comments(tmp_path):
    """weights/coco-yolo11n.yaml is mostly comments: pinning it must keep every one."""
    from pathlib import Path

    template = Path(__file__).resolve().parents[2] / "weights" / "coco-yolo11n.yaml"
    path = tmp_path / "coco.yaml"
    path.write_text(template.read_text())
    (tmp_path / "yolo11n.pt").write_bytes(b"stand-in for the downloaded weights")
    digest = pin_manifest(path)
    before, after = template.read_text().splitlines(), path.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1
    assert changed[0][1].startswith(f"sha256: {digest}  # filled by")
