"""Fine-tuning data: a site's dataset version plus a replay share of the synthetic set.

A model fine-tuned on a new site's frames alone forgets what it knew (catastrophic
forgetting): the replay share keeps a fraction of every epoch's images from the set the
current model was trained on. :func:`build_replay_mix` writes one YOLO dataset directory
(``images/{train,val}``, ``labels/{train,val}``, ``data.yaml``) in which

* the class ids are those of the init model (its manifest's ``classes`` order): a dataset
  whose ``names`` come in another order is renumbered, and a name the init model does not
  have is refused, so the fine-tuned model keeps the class list the workers map;
* ``replay_share`` of the training images come from the replay set (chosen by ``seed``,
  the same every run), the rest are all of the dataset's training images;
* validation is the dataset's own val split (the new domain is what is being measured).

Images are hard-linked where the file system allows (copied otherwise): the mix costs
almost no disk and the sources stay untouched.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gridsight.ml.dataset_check import IMAGE_SUFFIXES, DatasetError, _names, _split_dirs, label_path
from inference.models.manifest import ManifestError, load_manifest, sha256_file, verify_weights


@dataclass(frozen=True)
class InitModel:
    """The model a fine-tune starts from."""

    weights: Path
    classes: list[str]
    canonical_labels: dict[str, str]
    name: str | None = None
    version: str | None = None
    manifest: Path | None = None
    sha256: str = ""

    def provenance(self) -> dict[str, Any]:
        """The manifest's ``training.init`` record."""
        return {"manifest": None if self.manifest is None else str(self.manifest), "weights": str(self.weights),
                "name": self.name, "version": self.version, "sha256": self.sha256}


def resolve_init(path: str | Path) -> InitModel:
    """A model manifest (weights checked against its sha256) or a bare ``.pt`` (class list read from it)."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        manifest, weights = load_manifest(path)
        verify_weights(manifest, weights, path)
        return InitModel(weights, list(manifest.classes), dict(manifest.canonical_labels), manifest.name, manifest.version,
                         path.resolve(), manifest.sha256 or "")
    if not path.is_file():
        raise ManifestError(f"init model not found: {path}")
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO

    names = YOLO(str(path), task="detect").names
    classes = [str(names[i]) for i in sorted(names)]
    return InitModel(path.resolve(), classes, {c: c for c in classes}, sha256=sha256_file(path))


@dataclass(frozen=True)
class ReplayMix:
    data_yaml: Path
    n_dataset: int  # training images from the site's dataset
    n_replay: int  # training images from the replay set
    n_val: int

    @property
    def share(self) -> float:
        total = self.n_dataset + self.n_replay
        return self.n_replay / total if total else 0.0


def _images(data_yaml: Path, split: str) -> tuple[list[Path], list[str]]:
    """(sorted images of a split, the dataset's class names)."""
    data = yaml.safe_load(Path(data_yaml).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DatasetError(f"{data_yaml}: not a YOLO data.yaml mapping")
    root = Path(data.get("path") or Path(data_yaml).parent)
    if not root.is_absolute():
        root = (Path(data_yaml).parent / root).resolve()
    images = sorted(p for d in _split_dirs(data, root, split) for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return images, _names(data)


def _used_ids(images: list[Path]) -> set[int]:
    """The class ids that have at least one box in these images' label files."""
    used = set()
    for image in images:
        src = label_path(image)
        if src.is_file():
            used.update(int(line.split()[0]) for line in src.read_text(encoding="utf-8").splitlines() if line.strip())
    return used


def _class_map(names: list[str], classes: list[str], where: Path, used: set[int] | None = None) -> dict[int, int]:
    """Dataset class id -> init model class id. A name the init model lacks is refused only when
    the dataset has a box of it (``used``; None: every name counts): a dataset version names every
    canonical label (gridsight.ml.dataset_version.CLASS_ORDER), most of them with no box at all."""
    unknown = [n for i, n in enumerate(names) if n not in classes and (used is None or i in used)]
    if unknown:
        raise DatasetError(f"{where}: classes {unknown} are not in the init model's class list; "
                           "a fine-tune keeps the init model's classes")
    return {i: classes.index(n) for i, n in enumerate(names) if n in classes}


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(src, dst)


def _add(images: list[Path], mapping: dict[int, int], out: Path, split: str, prefix: str) -> int:
    """Link ``images`` into ``out/images/<split>`` as ``<prefix>_<n>``, labels renumbered by ``mapping``."""
    for n, image in enumerate(images):
        stem = f"{prefix}_{n:06d}"
        _link(image, out / "images" / split / f"{stem}{image.suffix.lower()}")
        src = label_path(image)
        lines = []
        if src.is_file():
            for line in src.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if parts:
                    lines.append(" ".join([str(mapping[int(parts[0])])] + parts[1:]))
        (out / "labels" / split / f"{stem}.txt").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return len(images)


def replay_count(n_dataset: int, share: float) -> int:
    """Replay images so that they are ``share`` of the training images: n / (n + r) = 1 - share."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"--replay-share must be in [0, 1), got {share}")
    return int(round(share * n_dataset / (1.0 - share)))


def build_replay_mix(data_yaml: Path, classes: list[str], out_dir: Path, *, replay_yaml: Path | None = None,
                     share: float = 0.0, seed: int = 0) -> ReplayMix:
    """Write the mixed dataset under ``out_dir`` (replaced if there) and describe it."""
    out_dir = Path(out_dir).resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for sub in ("images", "labels"):
        for split in ("train", "val"):
            (out_dir / sub / split).mkdir(parents=True)
    train, names = _images(data_yaml, "train")
    val, _ = _images(data_yaml, "val")
    if not train or not val:
        raise DatasetError(f"{data_yaml}: a fine-tune needs train and val images (found {len(train)} and {len(val)})")
    mapping = _class_map(names, classes, data_yaml, _used_ids(train + val))
    n_dataset = _add(train, mapping, out_dir, "train", "site")
    n_val = _add(val, mapping, out_dir, "val", "site")
    n_replay = 0
    if replay_yaml is not None and share > 0:
        pool, replay_names = _images(replay_yaml, "train")
        wanted = replay_count(n_dataset, share)
        if wanted > len(pool):
            raise DatasetError(f"{replay_yaml}: replay share {share} needs {wanted} training images, it has {len(pool)}")
        picked = np.random.default_rng(seed).choice(len(pool), size=wanted, replace=False)
        n_replay = _add([pool[i] for i in sorted(picked)], _class_map(replay_names, classes, replay_yaml), out_dir, "train", "replay")
    doc = {"path": str(out_dir), "train": "images/train", "val": "images/val",
           "names": {i: c for i, c in enumerate(classes)}, "nc": len(classes)}
    data = out_dir / "data.yaml"
    data.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return ReplayMix(data, n_dataset, n_replay, n_val)


def prepare_fine_tune(data_yaml: Path, init_path: str | None, replay_yaml: str | None, share: float, out_dir: Path,
                      seed: int) -> tuple[Path, InitModel | None, dict[str, Any] | None]:
    """What ``gridsight train`` trains on: (data.yaml, init model or None, the manifest's
    ``training.replay`` record or None). With an init model the dataset (plus the replay
    share) is rewritten under ``out_dir/mix`` in the init model's class order."""
    from gridsight.ml.dataset_check import check_dataset

    if not init_path:
        if replay_yaml:
            raise ValueError("--replay-data needs --init (a replay share is for fine-tuning a model)")
        return data_yaml, None, None
    if share and not replay_yaml:
        raise ValueError("--replay-share needs --replay-data (the synthetic set's data.yaml)")
    init = resolve_init(init_path)
    replay_report = None
    if replay_yaml:
        replay_report = check_dataset(replay_yaml, required_splits=("train",))
        if not replay_report.ok:
            raise DatasetError(f"the replay set {replay_yaml} has errors:\n{replay_report.summary()}")
    mix = build_replay_mix(data_yaml, init.classes, Path(out_dir) / "mix", replay_yaml=Path(replay_yaml) if replay_yaml else None,
                           share=share if replay_yaml else 0.0, seed=seed)
    print(f"fine-tune from {init.name or init.weights} on {mix.n_dataset} dataset + {mix.n_replay} replay training images "
          f"(replay share {mix.share:.2f}), val {mix.n_val}")
    replay = {"data": str(Path(replay_yaml).resolve()) if replay_yaml else None,
              "fingerprint": replay_report.fingerprint if replay_report else None,
              "share_requested": share if replay_yaml else 0.0, "share": round(mix.share, 4),
              "images": mix.n_replay, "dataset_images": mix.n_dataset, "seed": seed}
    return mix.data_yaml, init, replay
