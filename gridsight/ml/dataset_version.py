"""A dataset version: one import of finished annotations, written once, named by its content.

Every import (from Label Studio, or a COCO / YOLO / CVAT export) ends here::

    <out>/images/{train,val,test}/<stem>.jpg     the raw frames
    <out>/labels/{train,val,test}/<stem>.txt     YOLO lines, class ids in CLASS_ORDER
    <out>/data.yaml                              what ``gridsight train --data`` and ultralytics read
    <out>/version.json                           name, version, fingerprint, counts, splits, provenance

The fingerprint is the sha256 over the sorted (image sha256, label sha256) pairs, so the
same annotations imported again give the same fingerprint whatever the file names or
the order they arrived in. Splits keep each camera-hour in one split (frames of one
camera within one hour are near duplicates: spread over train and test they would
flatter every evaluation); the split is a hash of camera id and hour, so it is the same
on every machine and every re-import.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from gridsight.synth.render import CLASSES
from inference.labels import CANONICAL_LABELS

# The shipped models' class order (the synthetic set's): a version in this order can be
# trained together with the synthetic replay share and fine-tuned from the demo weights.
CLASS_ORDER: tuple[str, ...] = tuple(CLASSES) + tuple(sorted(CANONICAL_LABELS - set(CLASSES)))
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}
SOURCES = ("label-studio", "coco", "yolo", "cvat")
VERSION_FILE = "version.json"


class DatasetVersionError(ValueError):
    """A dataset version cannot be written or registered; the message is one line for the user."""


@dataclass(frozen=True)
class LabelledBox:
    """One ground-truth box: canonical label, corners normalised 0..1."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float

    def yolo_line(self) -> str:
        x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in (self.x1, self.y1, self.x2, self.y2))
        return (f"{CLASS_ORDER.index(self.label)} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} "
                f"{x2 - x1:.6f} {y2 - y1:.6f}")


@dataclass(frozen=True)
class LabelledImage:
    """An image with its finished annotation and where it came from.

    ``group`` is what must stay in one split: ``camera_id`` + the UTC hour of
    ``captured_at`` when both are known, else the image's own name (a file export
    without provenance)."""

    name: str  # unique within the version: becomes the file stem
    image: bytes  # JPEG or PNG bytes, as captured
    boxes: tuple[LabelledBox, ...]
    camera_id: str = "import"
    captured_at: float | None = None  # unix seconds
    harvest_frame_id: int | None = None
    suffix: str = ".jpg"

    @property
    def group(self) -> str:
        if self.captured_at is None:
            return f"{self.camera_id}|{self.name}"
        hour = datetime.fromtimestamp(self.captured_at, timezone.utc).strftime("%Y-%m-%dT%H")
        return f"{self.camera_id}|{hour}"


def split_of(group: str) -> str:
    """train, val or test for a camera-hour (or image) group: a hash, so deterministic everywhere."""
    point = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) / 2**32
    edge = 0.0
    for split in SPLITS:
        edge += SPLIT_FRACTIONS[split]
        if point < edge:
            return split
    return SPLITS[-1]


def label_text(image: LabelledImage) -> str:
    return "".join(box.yolo_line() + "\n" for box in image.boxes)


def fingerprint(images: list[LabelledImage]) -> str:
    """sha256 over the sorted (image sha256, label sha256) pairs: content only, not names or order."""
    pairs = sorted(f"{hashlib.sha256(i.image).hexdigest()}:{hashlib.sha256(label_text(i).encode()).hexdigest()}"
                   for i in images)
    return hashlib.sha256("\n".join(pairs).encode("ascii")).hexdigest()


@dataclass
class DatasetVersion:
    """What version.json holds; :meth:`record` is the body of POST /api/v1/datasets."""

    name: str
    version: str
    source: str
    fingerprint: str
    path: Path
    images: int
    instances: int
    classes: dict[str, int]
    cameras: dict[str, int]
    splits: dict[str, int]
    harvest_frame_ids: list[int]
    warnings: list[str] = field(default_factory=list)

    @property
    def data_yaml(self) -> Path:
        return self.path / "data.yaml"

    def record(self) -> dict:
        return {"name": self.name, "version": self.version, "fingerprint": self.fingerprint, "source": self.source,
                "images": self.images, "instances": self.instances, "classes": self.classes, "cameras": self.cameras,
                "splits": self.splits, "harvest_frame_ids": self.harvest_frame_ids, "path": str(self.path)}

    def summary(self) -> str:
        classes = ", ".join(f"{k} {v}" for k, v in self.classes.items()) or "none"
        splits = ", ".join(f"{k} {v}" for k, v in self.splits.items())
        return (f"dataset {self.name} {self.version}: {self.images} images, {self.instances} boxes ({classes}); "
                f"splits {splits}; fingerprint {self.fingerprint[:16]}; written to {self.path}")


def _check_images(images: list[LabelledImage]) -> None:
    if not images:
        raise DatasetVersionError("no annotated images to write: the dataset version would be empty")
    names = Counter(i.name for i in images)
    twice = sorted(n for n, c in names.items() if c > 1)
    if twice:
        raise DatasetVersionError(f"image names must be unique in a version; repeated: {', '.join(twice[:5])}")
    unknown = sorted({b.label for i in images for b in i.boxes} - set(CLASS_ORDER))
    if unknown:
        raise DatasetVersionError(f"labels that are not canonical: {', '.join(unknown)}")


def _prepare_out(out: Path) -> None:
    """A version directory is rewritten whole; any other non-empty directory is refused, never overwritten."""
    if out.exists() and any(out.iterdir()) and not (out / VERSION_FILE).is_file():
        raise DatasetVersionError(f"{out} is not empty and is not a dataset version; choose another --out")


def write_dataset_version(images: list[LabelledImage], out: Path, *, name: str, version: str,
                          source: str) -> DatasetVersion:
    """Write ``images`` as the dataset version ``name`` ``version`` under ``out`` (replacing an
    earlier write of a version there) and return its description.

    The files go to a temporary sibling first and replace ``out`` only when complete, so a
    failure half-way leaves the previous version as it was."""
    if source not in SOURCES:
        raise DatasetVersionError(f"source must be one of {', '.join(SOURCES)}")
    _check_images(images)
    out = Path(out).resolve()
    _prepare_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        described = _write_files(images, staging, name=name, version=version, source=source, final=out)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return described


def _write_files(images: list[LabelledImage], root: Path, *, name: str, version: str, source: str,
                 final: Path) -> DatasetVersion:
    splits: Counter = Counter()
    classes: Counter = Counter()
    cameras: Counter = Counter()
    for split in SPLITS:
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    for item in sorted(images, key=lambda i: i.name):
        split = split_of(item.group)
        splits[split] += 1
        cameras[item.camera_id] += 1
        classes.update(b.label for b in item.boxes)
        (root / "images" / split / f"{item.name}{item.suffix}").write_bytes(item.image)
        (root / "labels" / split / f"{item.name}.txt").write_text(label_text(item), encoding="utf-8")
    described = DatasetVersion(
        name=name, version=version, source=source, fingerprint=fingerprint(images), path=final,
        images=len(images), instances=sum(classes.values()),
        classes={label: classes[label] for label in CLASS_ORDER if classes[label]},
        cameras=dict(sorted(cameras.items())), splits={s: splits[s] for s in SPLITS},
        harvest_frame_ids=sorted(i.harvest_frame_id for i in images if i.harvest_frame_id is not None),
        warnings=[f"split {s} has no images (too few camera-hours)" for s in SPLITS if not splits[s]],
    )
    data = {"path": str(final), "train": "images/train", "val": "images/val", "test": "images/test",
            "names": dict(enumerate(CLASS_ORDER)), "nc": len(CLASS_ORDER),
            "version": {"name": name, "version": version, "fingerprint": described.fingerprint}}
    (root / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    body = {**described.record(), "warnings": described.warnings,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "groups": {s: sorted({i.group for i in images if split_of(i.group) == s}) for s in SPLITS}}
    (root / VERSION_FILE).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return described


def register_dataset(client, described: DatasetVersion) -> dict:
    """POST the version to /api/v1/datasets (``client``: an httpx client rooted at the API)
    and return the stored record; a refusal is one :class:`DatasetVersionError` line."""
    from gridsight.ml.api_client import refusal_detail

    response = client.post("/api/v1/datasets", json=described.record())
    if response.status_code == 409:
        raise DatasetVersionError(f"the API already has dataset {described.name} {described.version} with another "
                                  "fingerprint; give this import a new --version")
    if response.status_code >= 400:
        raise DatasetVersionError(f"the API refused dataset {described.name} {described.version}: "
                                  f"HTTP {response.status_code} {refusal_detail(response, 200)}")
    return response.json()


