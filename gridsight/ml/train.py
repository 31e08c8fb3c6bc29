"""The recipe behind the committed demo weights (``python -m gridsight.ml.train``).

Renders the synthetic data sets, trains in one or two stages with the offline
wrapper in :mod:`gridsight.ml.trainer`, evaluates on a held-out test set and
writes the manifest. The wrapper's names are re-exported here
(``gridsight.ml.train.train_detector``, ``write_manifest``...), the paths the
manifests and weights/README.md record.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from gridsight.ml.trainer import (  # noqa: F401  (re-exported: the documented paths)
    TrainResult,
    _count_images,
    evaluate,
    hardware_summary,
    train_detector,
    write_manifest,
)


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


def _render_sets(work_dir: Path, n_train: int, n_val: int, n_test: int, seed: int, two_stage: bool,
                 render_workers: int) -> tuple[Path, Path, float]:
    """Step 1: train/val (seed), the held-out test set (seed + 1000) and, for stage 2, a second
    train set (seed + 1); returns (data yaml, test yaml, seconds spent rendering)."""
    t0 = time.monotonic()
    data_yaml = _dataset(work_dir / "dataset", n_train, n_val, seed, render_workers)
    test_yaml = _dataset(work_dir / "testset", 0, n_test, seed + 1000, render_workers)
    if two_stage:
        _dataset(work_dir / "dataset-extra", n_train, 0, seed + 1, render_workers)
    return data_yaml, test_yaml, time.monotonic() - t0


def _stage1(data_yaml: Path, work_dir: Path, name: str, epochs: int, imgsz: int, batch: int, workers: int, seed: int,
            n_train: int, stage1_weights: Path | None, init: Path | None,
            time_hours: float | None) -> tuple[TrainResult | None, Path, dict[str, Any]]:
    """Step 2: yolo11n from scratch (or from ``init``) on the first train set, unless
    ``stage1_weights`` is given; returns (its result or None, its weights, its record)."""
    settings: dict[str, Any] = dict(DEMO_STAGE1)
    if init is not None:
        settings["pretrained"] = str(Path(init).resolve())
    if time_hours:
        settings["time"] = float(time_hours)
    result = None
    if stage1_weights is None:
        result = train_detector(data_yaml, work_dir, epochs=epochs, imgsz=imgsz, batch=batch, workers=workers,
                                seed=seed, name=f"{name}-stage1", **settings)
        stage1_weights = result.weights
    record = {"stage": 1, "init": (f"{Path(init).name} (layers with matching shapes)" if init is not None
                                   else "none (yolo11n.yaml, random init)"),
              "train_images": n_train, "epochs": result.epochs if result is not None else epochs,
              "time_hours": time_hours, "settings": {k: v for k, v in settings.items() if k != "pretrained"},
              "duration_s": result.duration_s if result is not None else None}
    return result, stage1_weights, record


def _stage2(work_dir: Path, name: str, epochs: int, imgsz: int, batch: int, workers: int, seed: int,
            stage1_weights: Path) -> tuple[TrainResult, dict[str, Any]]:
    """Step 3: continue from stage 1 on both train sets, validating on the first val set."""
    both = _combined_yaml(work_dir / "stage2-data.yaml",
                          [work_dir / "dataset/images/train", work_dir / "dataset-extra/images/train"],
                          work_dir / "dataset/images/val")
    result = train_detector(both, work_dir, epochs=epochs, imgsz=imgsz, batch=batch, workers=workers, seed=seed,
                            name=f"{name}-stage2", pretrained=str(stage1_weights), **{k: v for k, v in DEMO_STAGE2.items()})
    return result, {"stage": 2, "init": "stage 1 best checkpoint", "train_images": result.n_train, "epochs": epochs,
                    "settings": dict(DEMO_STAGE2), "duration_s": result.duration_s}


def _recorded_command(n_train: int, n_val: int, n_test: int, epochs: tuple[int, int], imgsz: int, batch: int,
                      workers: int, seed: int, name: str, version: str, init: Path | None, time_hours: float | None,
                      render_workers: int) -> str:
    """The command line that reruns this recipe, as the manifest records it."""
    return (f"YOLO_OFFLINE=1 python -m gridsight.ml.train --n-train {n_train} --n-val {n_val} --n-test {n_test} "
            f"--epochs {epochs[0]} {epochs[1]} --imgsz {imgsz} --batch {batch} --workers {workers} --seed {seed}"
            + (f" --name {name} --version {version}" if name != DEMO_NAME else "")
            + (f" --init {_rel(init)}" if init is not None else "")
            + (f" --time-hours {time_hours}" if time_hours else "")
            + (f" --render-workers {render_workers}" if render_workers > 1 else ""))


def _training_block(command: str, init: Path | None, seed: int, n_train: int, n_val: int, n_test: int,
                    two_stage: bool, imgsz: int, batch: int, stages: list[dict[str, Any]], gen_s: float,
                    hardware: str) -> dict[str, Any]:
    """The manifest's ``training`` block for the whole recipe."""
    import ultralytics

    total = sum(s["duration_s"] or 0 for s in stages)
    return {
        "code": "gridsight.ml.train.train_demo_weights",
        "command": command,
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
        "hardware": hardware,
        "ultralytics": ultralytics.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def train_demo_weights(
    work_dir: Path = Path("var/demo-training"), weights_dir: Path = Path("weights"),
    n_train: int = 1600, n_val: int = 200, n_test: int = 300, epochs: tuple[int, int] = (12, 6),
    imgsz: int = 320, batch: int = 16, workers: int = 2, seed: int = 0, name: str = DEMO_NAME, version: str = "1",
    stage1_weights: Path | None = None, init: Path | None = None, time_hours: float | None = None,
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
    two_stage = epochs[1] > 0
    data_yaml, test_yaml, gen_s = _render_sets(work_dir, n_train, n_val, n_test, seed, two_stage, render_workers)
    r1, stage1_weights, record1 = _stage1(data_yaml, work_dir, name, epochs[0], imgsz, batch, workers, seed, n_train,
                                          stage1_weights, init, time_hours)
    stages, final = [record1], r1
    if two_stage:
        final, record2 = _stage2(work_dir, name, epochs[1], imgsz, batch, workers, seed, stage1_weights)
        stages.append(record2)
    if final is None:
        raise ValueError("nothing to train: stage 1 was skipped (stage1_weights) and stage 2 has 0 epochs")
    test_metrics = evaluate(final.weights, test_yaml, imgsz=imgsz, batch=batch)
    weights_dir.mkdir(parents=True, exist_ok=True)
    target = weights_dir / f"{name}.pt"
    shutil.copyfile(final.weights, target)
    command = _recorded_command(n_train, n_val, n_test, epochs, imgsz, batch, workers, seed, name, version, init,
                                time_hours, render_workers)
    training = _training_block(command, init, seed, n_train, n_val, n_test, two_stage, imgsz, batch, stages, gen_s,
                               final.hardware if r1 is None else r1.hardware)
    metrics = {
        "split": f"held-out synthetic test set ({n_test} images, seed {seed + 1000}; never used for training or checkpoint selection)",
        **test_metrics,
        "val": final.metrics,
    }
    return write_manifest(
        target, name, version, final.classes, {c: c for c in CLASSES}, imgsz, metrics, training,
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
