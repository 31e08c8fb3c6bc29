"""Check a YOLO-format detection dataset before any training time is spent on it.

Ultralytics silently treats an image without a label file as background and
drops a corrupt label line with a one-line warning buried in thousands of
lines of progress output. An engineer fine-tuning on exported verdicts needs
those defects counted and named up front, and an image that sits in both the
train and the val split (the evaluation would then flatter the model) refused.

Errors make the dataset unusable (``DatasetReport.ok`` is False); warnings are
reported with counts and example paths but do not stop training.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
SPLITS = ("train", "val", "test")
EXAMPLES = 5  # paths quoted per finding; the count carries the rest


class DatasetError(ValueError):
    """The dataset description itself cannot be read (no data.yaml, no names, no splits)."""


@dataclass
class Finding:
    severity: str  # "error" | "warning"
    code: str  # machine-readable, e.g. "class-out-of-range"
    message: str
    count: int
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        more = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{self.severity}: {self.message}: {self.count}{more}"


@dataclass
class DatasetReport:
    data_yaml: Path
    names: list[str]
    images: dict[str, int]  # split -> image count
    instances: dict[str, dict[str, int]]  # split -> class name -> boxes
    findings: list[Finding]
    fingerprint: str  # sha256 over every (split, image bytes, label bytes): the training-data identity

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [f"dataset {self.data_yaml}: {len(self.names)} classes; "
                 + ", ".join(f"{s} {n} images" for s, n in self.images.items())]
        lines += [f"  {f}" for f in self.findings]
        lines.append(f"  fingerprint {self.fingerprint[:16]}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "data": str(self.data_yaml),
            "names": self.names,
            "images": self.images,
            "instances": self.instances,
            "fingerprint": self.fingerprint,
            "findings": [f.__dict__ for f in self.findings],
        }


def _names(data: dict) -> list[str]:
    names = data.get("names")
    if isinstance(names, dict):
        try:
            keys = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            raise DatasetError("names: keys must be class ids 0..n-1") from None
        if keys != list(range(len(keys))):
            raise DatasetError(f"names: class ids must be 0..{len(keys) - 1} without gaps, got {keys}")
        return [str(names[k] if k in names else names[str(k)]) for k in keys]
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    raise DatasetError("names: a non-empty list (or id -> name mapping) of class names is required")


def _split_dirs(data: dict, root: Path, split: str) -> list[Path]:
    entry = data.get(split)
    if entry is None:
        return []
    entries = entry if isinstance(entry, list) else [entry]
    dirs = []
    for rel in entries:
        d = (root / str(rel)).resolve()
        if not d.is_dir():
            raise DatasetError(f"{split}: image directory {d} does not exist")
        dirs.append(d)
    return dirs


def label_path(image: Path) -> Path:
    """The YOLO convention: .../images/<...>/x.jpg -> .../labels/<...>/x.txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


class _Collector:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, str, str], list[str]] = defaultdict(list)

    def add(self, severity: str, code: str, message: str, where: str) -> None:
        self._hits[(severity, code, message)].append(where)

    def findings(self) -> list[Finding]:
        out = [Finding(sev, code, msg, len(w), w[:EXAMPLES]) for (sev, code, msg), w in self._hits.items()]
        return sorted(out, key=lambda f: (f.severity != "error", f.code))


def _check_label_file(path: Path, n_classes: int, found: _Collector, counts: Counter) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        found.add("error", "label-unreadable", "label files that cannot be read", f"{path} ({exc.__class__.__name__})")
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{lineno}"
        if len(fields) != 5:
            found.add("error", "label-malformed", "label lines without exactly 5 fields (class cx cy w h)", where)
            continue
        try:
            cls_f, *box = (float(v) for v in fields)
        except ValueError:
            found.add("error", "label-malformed", "label lines with a non-numeric field", where)
            continue
        if not cls_f.is_integer() or not 0 <= cls_f < n_classes:
            found.add("error", "class-out-of-range", f"boxes whose class id is not in 0..{n_classes - 1}", where)
            continue
        cx, cy, w, h = box
        if not (0 <= cx <= 1 and 0 <= cy <= 1 and 0 < w <= 1 and 0 < h <= 1):
            found.add("error", "box-out-of-range", "boxes not normalised to 0..1 or with zero size", where)
            continue
        counts[int(cls_f)] += 1


def _image_is_empty(path: Path, data: bytes) -> bool:
    if not data:
        return True
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image is None or image.size == 0


def _load_description(data_yaml: Path, required_splits: tuple[str, ...]) -> tuple[dict, list[str], Path]:
    """The dataset yaml as (mapping, class names, root directory); DatasetError when unusable."""
    if not data_yaml.is_file():
        raise DatasetError(f"dataset description not found: {data_yaml}")
    try:
        data = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DatasetError(f"{data_yaml} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{data_yaml} must be a mapping with path, train, val and names")
    names = _names(data)
    root = Path(data.get("path") or data_yaml.parent)
    if not root.is_absolute():
        root = (data_yaml.parent / root).resolve()
    missing = [s for s in required_splits if not data.get(s)]
    if missing:
        raise DatasetError(f"{data_yaml}: split(s) {missing} are required")
    return data, names, root


class _Walk:
    """State carried across splits: findings, the fingerprint, where each image content was first seen."""

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.found = _Collector()
        self.digest = hashlib.sha256()
        self.first_split_of: dict[str, tuple[str, str]] = {}  # image sha -> (split, path)

    def image(self, image: Path, split: str, counts: Counter) -> None:
        """Check one image and its label file, and fold both into the fingerprint."""
        found = self.found
        blob = image.read_bytes()
        sha = hashlib.sha256(blob).hexdigest()
        if _image_is_empty(image, blob):
            found.add("error", "image-empty", "images that are empty or cannot be decoded", str(image))
        seen = self.first_split_of.get(sha)
        if seen is None:
            self.first_split_of[sha] = (split, str(image))
        elif seen[0] != split:
            found.add("error", "duplicate-across-splits",
                      "images whose exact content is in more than one split (evaluation leak)",
                      f"{image} = {seen[1]}")
        else:
            found.add("warning", "duplicate-in-split", "images repeated within one split", f"{image} = {seen[1]}")
        label = label_path(image)
        label_blob = b""
        if label.is_file():
            label_blob = label.read_bytes()
            _check_label_file(label, self.n_classes, found, counts)
        else:
            found.add("warning", "label-missing", "images without a label file (trained as background)", str(image))
        self.digest.update(f"{split}\0{sha}\0".encode())
        self.digest.update(hashlib.sha256(label_blob).digest())

    def orphans(self, dirs: list[Path], files: list[Path]) -> None:
        """Label files of these image directories that no image has."""
        for d in dirs:
            label_dir = label_path(d / "x.jpg").parent
            if label_dir.is_dir():
                stems = {p.relative_to(d).with_suffix("") for p in files if d in p.parents}
                for orphan in sorted(label_dir.rglob("*.txt")):
                    if orphan.relative_to(label_dir).with_suffix("") not in stems:
                        self.found.add("warning", "label-orphan", "label files with no image", str(orphan))


def check_dataset(data_yaml: str | Path, required_splits: tuple[str, ...] = ("train", "val")) -> DatasetReport:
    """Read every image and label of every split once and report what is wrong.

    An empty split is an error only when it is one of ``required_splits`` (training needs
    train and val; evaluating one split needs only that one)."""
    data_yaml = Path(data_yaml)
    data, names, root = _load_description(data_yaml, required_splits)
    walk = _Walk(len(names))
    images: dict[str, int] = {}
    instances: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        dirs = _split_dirs(data, root, split)
        if not dirs:
            continue
        counts: Counter = Counter()
        files = sorted(p for d in dirs for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            walk.found.add("error" if split in required_splits else "warning", "split-empty", "splits with no images",
                           split)
        for image in files:
            walk.image(image, split, counts)
        walk.orphans(dirs, files)
        images[split] = len(files)
        instances[split] = {names[c]: counts[c] for c in sorted(counts)}
    for name in names:
        if name not in instances.get("train", {}):
            walk.found.add("warning", "class-unseen", "classes with no box in the train split", name)
    return DatasetReport(data_yaml, names, images, instances, walk.found.findings(), walk.digest.hexdigest())
