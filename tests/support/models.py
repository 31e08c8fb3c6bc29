"""The detector the cluster tests run: the shipped demo weights when present,
else a throwaway *untrained* YOLO11n with the demo classes (it detects nothing,
which is all the fault tests need: they watch frames being analysed, leases
and status, not detections). Built once per machine and cached."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO_MANIFEST = REPO / "weights" / "gridsight-demo-v1.yaml"
CLASSES = ["person", "litter", "garbage_bag"]
_CACHE = Path(tempfile.gettempdir()) / f"gridsight-test-model-{os.getuid()}"


def demo_weights_present() -> bool:
    if not DEMO_MANIFEST.exists():
        return False
    raw = yaml.safe_load(DEMO_MANIFEST.read_text(encoding="utf-8"))
    return bool(raw.get("sha256")) and (DEMO_MANIFEST.parent / raw["file"]).exists()


def copy_demo_v1(dest: Path) -> Path:
    """The demo v1 weights and manifest copied into ``dest`` (a test may export or rewrite them there);
    returns the copy's manifest path."""
    import shutil

    for name in ("gridsight-demo-v1.pt", "gridsight-demo-v1.yaml"):
        shutil.copy(DEMO_MANIFEST.parent / name, dest)
    return dest / DEMO_MANIFEST.name


def model_manifest() -> Path:
    """A manifest path a worker config can use."""
    if demo_weights_present():
        return DEMO_MANIFEST
    manifest = _CACHE / "untrained.yaml"
    if manifest.exists():
        return manifest
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from inference.models.manifest import sha256_file

    _CACHE.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = DetectionModel("yolo11n.yaml", nc=len(CLASSES), verbose=False)
    model.names = dict(enumerate(CLASSES))
    weights = _CACHE / "untrained.pt"
    tmp = weights.with_suffix(".part")
    torch.save({"model": model.half(), "train_args": {}, "epoch": -1}, tmp)
    tmp.replace(weights)
    body = {
        "name": "untrained", "version": "0", "file": weights.name, "sha256": sha256_file(weights),
        "input_size": 320, "classes": CLASSES, "canonical_labels": {c: c for c in CLASSES},
    }
    part = manifest.with_suffix(".part")
    part.write_text(yaml.safe_dump(body), encoding="utf-8")
    part.replace(manifest)
    return manifest


def save_yolo_weights(path: Path, names: list[str], *, imgsz: int | None = None, seed: int = 0) -> Path:
    """Write an untrained YOLO11n checkpoint (built from ``yolo11n.yaml``, nothing downloaded) whose own
    class names are ``names`` in id order, the way a third party's trained weights would carry them;
    ``imgsz`` goes into the checkpoint's training args like ultralytics' trainer records it."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(seed)
    model = DetectionModel("yolo11n.yaml", nc=len(names), verbose=False)
    model.names = dict(enumerate(names))
    train_args = {"imgsz": imgsz, "task": "detect"} if imgsz else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    torch.save({"model": model.half(), "train_args": train_args, "epoch": -1}, tmp)
    tmp.replace(path)
    return path
