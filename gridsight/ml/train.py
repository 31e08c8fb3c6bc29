"""Offline YOLO training wrapper and model-manifest writer.

Wraps ultralytics training so that it never reaches the network (``YOLO_OFFLINE``,
a model built from a yaml, no hub, no plots), keeps only the stripped best
checkpoint, and reports held-out metrics in the shape the model manifest
(:mod:`inference.models.manifest`) records them.
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
    from ultralytics.utils.torch_utils import strip_optimizer

    data_yaml = Path(data_yaml).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    n_train, n_val = _count_images(data_yaml)
    settings: dict[str, Any] = dict(
        data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, workers=workers, seed=seed, device=device,
        deterministic=True, pretrained=False, plots=False, val=True, amp=False, cache=False,
        project=str(out_dir / "runs"), name=name, exist_ok=True, verbose=True,
    )
    settings.update(overrides)
    model = YOLO(model_cfg, task="detect")
    t0 = time.monotonic()
    model.train(**settings)
    duration = time.monotonic() - t0
    ran = int(getattr(model.trainer, "epoch", epochs - 1)) + 1  # with time= the trainer refits the epoch count
    run_dir = Path(model.trainer.save_dir)
    best = run_dir / "weights" / "best.pt"
    if not best.is_file():
        best = run_dir / "weights" / "last.pt"
    target = out_dir / f"{name}.pt"
    shutil.copyfile(best, target)
    strip_optimizer(target)
    metrics = evaluate(target, data_yaml, imgsz=imgsz, batch=batch, device=device, workers=0)
    names = YOLO(str(target), task="detect").names
    return TrainResult(
        weights=target,
        sha256=sha256_file(target),
        classes=[names[i] for i in sorted(names)],
        metrics=metrics,
        epochs=ran if settings.get("time") else epochs,
        imgsz=imgsz,
        batch=batch,
        seed=seed,
        model_cfg=model_cfg,
        duration_s=round(duration, 1),
        hardware=hardware_summary(device),
        n_train=n_train,
        n_val=n_val,
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


# --------------------------------------------------------------------------- the committed demo weights

DEMO_NAME = "gridsight-demo-v1"
#: The 25-class successor: every canonical label the rules use, streets plus corridors and elevators.
DEMO_V2_NAME = "gridsight-demo-v2"
#: Stage 1: yolo11n from scratch on the seed-0 synthetic set.
DEMO_STAGE1: dict[str, Any] = dict(
    optimizer="AdamW", lr0=0.002, lrf=0.05, warmup_epochs=1.0, nbs=16,  # nbs = batch: one optimizer step per batch
    mosaic=1.0, close_mosaic=3, scale=0.25, translate=0.1, fliplr=0.5, degrees=0.0, mixup=0.0,
    cache="ram", patience=100,
)
#: Stage 2: continue from stage 1's best checkpoint on twice the data (seed-0 + seed-1 sets), lower lr.
DEMO_STAGE2: dict[str, Any] = {**DEMO_STAGE1, "lr0": 0.001, "warmup_epochs": 0.3, "warmup_bias_lr": 0.0, "close_mosaic": 2}


def _dataset(out_dir: Path, n_train: int, n_val: int, seed: int, workers: int = 1) -> Path:
    """generate_dataset, reusing an existing identical render (same generator settings, classes and counts)."""
    from gridsight.synth.dataset import generate_dataset
    from gridsight.synth.render import CLASSES

    data_yaml = out_dir / "data.yaml"
    if data_yaml.is_file():
        doc = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
        meta = doc.get("synthetic") or {}
        if meta.get("seed") == seed and meta.get("n_train") == n_train and meta.get("n_val") == n_val \
                and doc.get("nc") == len(CLASSES) and _count_images(data_yaml) == (n_train, n_val):
            return data_yaml
    return generate_dataset(out_dir, n_train, n_val, seed=seed, workers=workers)


def _combined_yaml(out: Path, train_dirs: list[Path], val_dir: Path) -> Path:
    from gridsight.synth.render import CLASSES

    doc = {"path": str(out.parent.resolve()), "train": [str(d.resolve()) for d in train_dirs], "val": str(val_dir.resolve()),
           "names": {i: n for i, n in enumerate(CLASSES)}, "nc": len(CLASSES)}
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def train_demo_weights(
    work_dir: Path = Path("var/demo-training"),
    weights_dir: Path = Path("weights"),
    n_train: int = 1600,
    n_val: int = 200,
    n_test: int = 300,
    epochs: tuple[int, int] = (12, 6),
    imgsz: int = 320,
    batch: int = 16,
    workers: int = 2,
    seed: int = 0,
    name: str = DEMO_NAME,
    version: str = "1",
    stage1_weights: Path | None = None,
    init: Path | None = None,
    time_hours: float | None = None,
    render_workers: int = 1,
) -> Path:
    """The whole recipe behind ``weights/gridsight-demo-v1.pt`` (and v2); returns the manifest path.

    1. render the synthetic sets: train/val (seed), a second train set
       (seed + 1) and a held-out test set (seed + 1000), 640x360 each;
    2. stage 1: train yolo11n from scratch on the first train set
       (``epochs[0]`` epochs, :data:`DEMO_STAGE1`), skipped when
       ``stage1_weights`` (a stage-1 best checkpoint) is given;
    3. stage 2: continue from stage 1 on both train sets (``epochs[1]`` epochs,
       :data:`DEMO_STAGE2`), validating on the first val set;
    4. evaluate on the test set, copy the stripped weights into ``weights_dir``
       and write the manifest (metrics = test set).

    ``init``: stage 1 starts from these weights instead of random init (layers whose
    shapes match are transferred, e.g. everything but the class outputs of the detect head
    when the class list changed). ``time_hours``: stage 1 trains for this wall-clock budget
    (ultralytics ``time=``, which refits the epoch count after the first epoch; ``epochs[0]``
    is then only the initial estimate). ``epochs[1] == 0`` skips stage 2 (and the second
    train set). ``render_workers``: processes rendering the data sets."""
    from gridsight.synth.render import CLASSES

    work_dir, weights_dir = Path(work_dir).resolve(), Path(weights_dir).resolve()
    t0 = time.monotonic()
    two_stage = epochs[1] > 0
    data_yaml = _dataset(work_dir / "dataset", n_train, n_val, seed, render_workers)
    test_yaml = _dataset(work_dir / "testset", 0, n_test, seed + 1000, render_workers)
    if two_stage:
        _dataset(work_dir / "dataset-extra", n_train, 0, seed + 1, render_workers)
    gen_s = time.monotonic() - t0
    stages: list[dict[str, Any]] = []
    s1_settings: dict[str, Any] = dict(DEMO_STAGE1)
    if init is not None:
        s1_settings["pretrained"] = str(Path(init).resolve())
    if time_hours:
        s1_settings["time"] = float(time_hours)
    r1 = None
    if stage1_weights is None:
        r1 = train_detector(data_yaml, work_dir, epochs=epochs[0], imgsz=imgsz, batch=batch, workers=workers, seed=seed,
                            name=f"{name}-stage1", **s1_settings)
        stage1_weights = r1.weights
        s1_duration, s1_hw = r1.duration_s, r1.hardware
    else:
        s1_duration, s1_hw = None, None
    s1_epochs = r1.epochs if r1 is not None else epochs[0]
    stages.append({"stage": 1, "init": (f"{Path(init).name} (layers with matching shapes)" if init is not None else "none (yolo11n.yaml, random init)"),
                   "train_images": n_train, "epochs": s1_epochs, "time_hours": time_hours,
                   "settings": {k: v for k, v in s1_settings.items() if k != "pretrained"}, "duration_s": s1_duration})
    final = r1
    if two_stage:
        both = _combined_yaml(work_dir / "stage2-data.yaml", [work_dir / "dataset/images/train", work_dir / "dataset-extra/images/train"],
                              work_dir / "dataset/images/val")
        final = train_detector(both, work_dir, epochs=epochs[1], imgsz=imgsz, batch=batch, workers=workers, seed=seed,
                               name=f"{name}-stage2", pretrained=str(stage1_weights), **{k: v for k, v in DEMO_STAGE2.items()})
        stages.append({"stage": 2, "init": "stage 1 best checkpoint", "train_images": final.n_train, "epochs": epochs[1],
                       "settings": dict(DEMO_STAGE2), "duration_s": final.duration_s})
    if final is None:
        raise ValueError("nothing to train: stage 1 was skipped (stage1_weights) and stage 2 has 0 epochs")
    r2 = final
    test_metrics = evaluate(r2.weights, test_yaml, imgsz=imgsz, batch=batch)
    weights_dir.mkdir(parents=True, exist_ok=True)
    target = weights_dir / f"{name}.pt"
    shutil.copyfile(r2.weights, target)
    import ultralytics

    total = sum(s["duration_s"] or 0 for s in stages)
    training = {
        "code": "gridsight.ml.train.train_demo_weights",
        "command": (f"YOLO_OFFLINE=1 python -m gridsight.ml.train --n-train {n_train} --n-val {n_val} --n-test {n_test} "
                    f"--epochs {epochs[0]} {epochs[1]} --imgsz {imgsz} --batch {batch} --workers {workers} --seed {seed}"
                    + (f" --name {name} --version {version}" if name != DEMO_NAME else "")
                    + (f" --init {_rel(init)}" if init is not None else "")
                    + (f" --time-hours {time_hours}" if time_hours else "")
                    + (f" --render-workers {render_workers}" if render_workers > 1 else "")),
        "model_cfg": "yolo11n.yaml",
        "pretrained": _rel(init) if init is not None else False,
        "dataset": {
            "generator": "gridsight.synth.dataset.generate_dataset (procedural synthetic scenes: streets, corridors, elevators; 640x360)",
            "train": [{"seed": seed, "images": n_train}] + ([{"seed": seed + 1, "images": n_train}] if two_stage else []),
            "val": {"seed": seed, "images": n_val},
            "test": {"seed": seed + 1000, "images": n_test},
        },
        "seed": seed,
        "epochs": int(sum(st["epochs"] for st in stages)),
        "imgsz": imgsz,
        "batch": batch,
        "stages": stages,
        "duration_s": round(total, 1),
        "dataset_generation_s": round(gen_s, 1),
        "hardware": r2.hardware if s1_hw is None else s1_hw,
        "ultralytics": ultralytics.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    metrics = {
        "split": f"held-out synthetic test set ({n_test} images, seed {seed + 1000}; never used for training or checkpoint selection)",
        **test_metrics,
        "val": r2.metrics,
    }
    return write_manifest(
        target, name, version, r2.classes, {c: c for c in CLASSES}, imgsz, metrics, training,
        description=f"Demo detector ({len(CLASSES)} classes) trained only on procedurally rendered synthetic scenes "
                    "(streets; corridors and elevators from v2 on). Useless on real cameras; for exercising the pipeline end to end.",
    )


def _rel(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (for the recorded command)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m gridsight.ml.train", description="Train the synthetic demo weights.")
    p.add_argument("--work-dir", type=Path, default=Path("var/demo-training"))
    p.add_argument("--weights-dir", type=Path, default=Path("weights"))
    p.add_argument("--n-train", type=int, default=1600)
    p.add_argument("--n-val", type=int, default=200)
    p.add_argument("--n-test", type=int, default=300)
    p.add_argument("--epochs", type=int, nargs=2, default=[12, 6], metavar=("STAGE1", "STAGE2"))
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=DEMO_NAME)
    p.add_argument("--version", default="1")
    p.add_argument("--stage1-weights", type=Path, default=None, help="skip stage 1 and continue from this checkpoint")
    p.add_argument("--init", type=Path, default=None,
                   help="start stage 1 from these weights (e.g. weights/gridsight-demo-v1.pt; matching layers are transferred)")
    p.add_argument("--time-hours", type=float, default=None,
                   help="wall-clock budget of stage 1 in hours (ultralytics time=; refits the epoch count)")
    p.add_argument("--render-workers", type=int, default=1, help="processes rendering the synthetic data sets")
    a = p.parse_args(argv)
    manifest = train_demo_weights(a.work_dir, a.weights_dir, a.n_train, a.n_val, a.n_test, tuple(a.epochs), a.imgsz, a.batch,
                                  a.workers, a.seed, a.name, a.version, a.stage1_weights, a.init, a.time_hours, a.render_workers)
    print(json.dumps({"manifest": str(manifest), **yaml.safe_load(manifest.read_text())["metrics"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
