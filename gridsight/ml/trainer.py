"""Offline YOLO training wrapper and model-manifest writer.

Wraps ultralytics training so that it never reaches the network (``YOLO_OFFLINE``,
a model built from a yaml, no hub, no plots), keeps only the stripped best
checkpoint, and reports held-out metrics in the shape the model manifest
(:mod:`inference.models.manifest`) records them. The recipe behind the committed
demo weights, which drives this, is :mod:`gridsight.ml.train`.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gridsight.hardware import cpu_model
from inference.models.manifest import sha256_file


def hardware_summary(device: str = "cpu") -> str:
    cpu = cpu_model()
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        import torch

        torch_v = torch.__version__
    except ImportError:  # pragma: no cover
        torch_v = "?"
    return f"{device}: {n} x {cpu}; torch {torch_v}; python {platform.python_version()}"


@dataclass
class TrainResult:
    weights: Path  # stripped best checkpoint, copied into out_dir
    sha256: str
    classes: list[str]
    metrics: dict[str, Any]  # {"per_class": {name: {precision, recall, map50, map50_95}}, "overall": {...}}
    epochs: int
    imgsz: int
    batch: int
    seed: int
    model_cfg: str
    duration_s: float
    hardware: str
    n_train: int
    n_val: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def map50(self) -> float:
        return float(self.metrics["overall"]["map50"])

    @property
    def weights_path(self) -> Path:  # alias used by the CLI
        return self.weights

    @property
    def class_names(self) -> list[str]:  # alias used by the CLI
        return list(self.classes)

    @property
    def training(self) -> dict[str, Any]:
        """The manifest's ``training`` block for this run."""
        try:
            import ultralytics

            ul = ultralytics.__version__
        except ImportError:  # pragma: no cover
            ul = "?"
        return {
            "code": "gridsight.ml.train.train_detector",
            "model_cfg": self.model_cfg,
            "pretrained": self.settings.get("pretrained", False),
            "dataset": {"data": self.settings.get("data"), "n_train": self.n_train, "n_val": self.n_val},
            "seed": self.seed,
            "epochs": self.epochs,
            "imgsz": self.imgsz,
            "batch": self.batch,
            "settings": {k: v for k, v in self.settings.items() if k not in ("data",)},
            "duration_s": self.duration_s,
            "hardware": self.hardware,
            "ultralytics": ul,
            "date": time.strftime("%Y-%m-%d"),
        }


def _count_images(data_yaml: Path) -> tuple[int, int]:
    data = yaml.safe_load(Path(data_yaml).read_text(encoding="utf-8"))
    root = Path(data.get("path") or Path(data_yaml).parent)
    counts = []
    for split in ("train", "val"):
        dirs = data[split] if isinstance(data[split], list) else [data[split]]
        n = 0
        for rel in dirs:
            d = root / rel
            n += sum(1 for p in d.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"}) if d.is_dir() else 0
        counts.append(n)
    return counts[0], counts[1]


def _metrics_from_validator(metrics, names: dict[int, str]) -> dict[str, Any]:
    box = metrics.box
    per_class: dict[str, dict[str, float]] = {}
    for i, cid in enumerate(list(box.ap_class_index)):
        p, r, ap50, ap = box.class_result(i)
        per_class[names[int(cid)]] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "map50": round(float(ap50), 4),
            "map50_95": round(float(ap), 4),
        }
    overall = {
        "precision": round(float(box.mp), 4),
        "recall": round(float(box.mr), 4),
        "map50": round(float(box.map50), 4),
        "map50_95": round(float(box.map), 4),
    }
    return {"per_class": per_class, "overall": overall}


def evaluate(weights: Path, data_yaml: Path, imgsz: int = 320, batch: int = 16, device: str = "cpu", workers: int = 0) -> dict[str, Any]:
    """Validate weights on the dataset's val split; per-class and overall P/R/mAP."""
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    with tempfile.TemporaryDirectory(prefix="gridsight-val-") as tmp:
        m = model.val(data=str(data_yaml), imgsz=imgsz, batch=batch, device=device, workers=workers, plots=False,
                      split="val", project=tmp, name="val", verbose=False, exist_ok=True)
    return _metrics_from_validator(m, model.names)


def _train_settings(data_yaml: Path, out_dir: Path, name: str, epochs: int, imgsz: int, batch: int, workers: int,
                    seed: int, device: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """ultralytics ``train()`` arguments: offline, deterministic, no plots, runs under ``out_dir/runs``."""
    settings: dict[str, Any] = dict(
        data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, workers=workers, seed=seed, device=device,
        deterministic=True, pretrained=False, plots=False, val=True, amp=False, cache=False,
        project=str(out_dir / "runs"), name=name, exist_ok=True, verbose=True,
    )
    settings.update(overrides)
    return settings


def _keep_best(run_dir: Path, target: Path) -> None:
    """Copy the run's best checkpoint (its last when there is no best) to ``target``, optimizer stripped."""
    from ultralytics.utils.torch_utils import strip_optimizer

    best = run_dir / "weights" / "best.pt"
    if not best.is_file():
        best = run_dir / "weights" / "last.pt"
    shutil.copyfile(best, target)
    strip_optimizer(target)


def train_detector(
    data_yaml: Path,
    out_dir: Path,
    model_cfg: str = "yolo11n.yaml",
    epochs: int = 30,
    imgsz: int = 320,
    batch: int = 32,
    workers: int = 2,
    seed: int = 0,
    device: str = "cpu",
    name: str = "gridsight-detector",
    **overrides: Any,
) -> TrainResult:
    """Train a detector from scratch (architecture yaml, no pretrained weights,
    nothing downloaded), copy the stripped best checkpoint to
    ``out_dir/<name>.pt`` and validate it on the dataset's val split.

    ``overrides`` go straight to ``ultralytics`` ``train()`` (augmentation,
    lr, close_mosaic...). Run artefacts go to ``out_dir/runs/`` (not meant for git)."""
    os.environ["YOLO_OFFLINE"] = "1"
    if model_cfg.endswith(".pt"):
        raise ValueError("train_detector builds the model from an architecture yaml (e.g. yolo11n.yaml); "
                         "a .pt name may trigger a hub download")
    from ultralytics import YOLO

    data_yaml = Path(data_yaml).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    n_train, n_val = _count_images(data_yaml)
    settings = _train_settings(data_yaml, out_dir, name, epochs, imgsz, batch, workers, seed, device, overrides)
    model = YOLO(model_cfg, task="detect")
    t0 = time.monotonic()
    model.train(**settings)
    duration = time.monotonic() - t0
    ran = int(getattr(model.trainer, "epoch", epochs - 1)) + 1  # with time= the trainer refits the epoch count
    target = out_dir / f"{name}.pt"
    _keep_best(Path(model.trainer.save_dir), target)
    metrics = evaluate(target, data_yaml, imgsz=imgsz, batch=batch, device=device, workers=0)
    names = YOLO(str(target), task="detect").names
    return TrainResult(
        weights=target, sha256=sha256_file(target), classes=[names[i] for i in sorted(names)], metrics=metrics,
        epochs=ran if settings.get("time") else epochs, imgsz=imgsz, batch=batch, seed=seed, model_cfg=model_cfg,
        duration_s=round(duration, 1), hardware=hardware_summary(device), n_train=n_train, n_val=n_val,
        settings={k: v for k, v in settings.items() if k not in ("project", "name", "exist_ok", "verbose")},
    )


def write_manifest(
    weights_path: Path,
    name: str,
    version: str,
    classes: list[str],
    canonical_labels: dict[str, str],
    input_size: int,
    metrics: dict[str, Any] | None,
    training: dict[str, Any] | None,
    description: str | None = None,
) -> Path:
    """Write ``<weights dir>/<name>.yaml`` describing ``weights_path`` (sha256 pinned).

    The fields are those :class:`inference.models.manifest.ModelManifest` accepts."""
    weights_path = Path(weights_path).resolve()
    if not weights_path.is_file():
        raise FileNotFoundError(weights_path)
    unknown = sorted(set(canonical_labels) - set(classes))
    if unknown:
        raise ValueError(f"canonical_labels maps classes the model does not have: {unknown}")
    manifest_path = weights_path.parent / f"{name}.yaml"
    doc: dict[str, Any] = {
        "name": name,
        "version": str(version),
        "file": os.path.relpath(weights_path, manifest_path.parent),
        "sha256": sha256_file(weights_path),
        "task": "detect",
        "input_size": int(input_size),
        "classes": list(classes),
        "canonical_labels": dict(canonical_labels),
    }
    if description:
        doc["description"] = description
    if training is not None:
        doc["training"] = training
    if metrics is not None:
        doc["metrics"] = metrics
    manifest_path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    return manifest_path
