"""Annotations finished in another tool, read from its export files: COCO JSON, YOLO, CVAT.

Each reader returns :class:`gridsight.ml.dataset_version.LabelledImage` items (image bytes,
canonical labels, normalised corners) for :func:`write_dataset_version`. A class name is
mapped onto a canonical label by name; names that are not canonical need an explicit map
(``--map FILE``: YAML ``{their_name: canonical_label}``, or ``their_name: null`` to drop a
class), else the import stops with one line listing them, before anything is written.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import yaml

from gridsight.ml.dataset_version import CLASS_ORDER, LabelledBox, LabelledImage

FORMATS = ("coco", "yolo", "cvat")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class AnnotationImportError(ValueError):
    """An export cannot be read; the message is one line for the user."""


def load_name_map(path: str | Path | None) -> dict[str, str | None]:
    """The ``--map`` file: YAML mapping of the export's class names to canonical labels (null drops one)."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AnnotationImportError(f"cannot read the class map {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                             for k, v in data.items()):
        raise AnnotationImportError(f"the class map {path} must map class names to canonical labels (or null)")
    wrong = sorted(v for v in data.values() if v is not None and v not in CLASS_ORDER)
    if wrong:
        raise AnnotationImportError(f"the class map {path} maps onto labels that are not canonical: {', '.join(wrong)}")
    return data


def resolve_names(names: Iterable[str], name_map: dict[str, str | None]) -> dict[str, str | None]:
    """Each export class name -> its canonical label (None: dropped by the map); unknown names fail in one line."""
    resolved: dict[str, str | None] = {}
    unknown = []
    for name in names:
        if name in name_map:
            resolved[name] = name_map[name]
        elif name in CLASS_ORDER:
            resolved[name] = name
        else:
            unknown.append(name)
    if unknown:
        raise AnnotationImportError(f"class names that are not canonical labels: {', '.join(sorted(set(unknown)))}; "
                                    "rename them in the export or map them with --map FILE "
                                    "(YAML: their_name: canonical_label)")
    return resolved


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).with_suffix("").as_posix().replace("/", "__"))
    return stem.strip("._") or "image"


def _find_image(roots: list[Path], file_name: str) -> Path:
    for root in roots:
        for candidate in (root / file_name, root / "images" / file_name, root / Path(file_name).name,
                          root / "images" / Path(file_name).name):
            if candidate.is_file():
                return candidate
    raise AnnotationImportError(f"image {file_name} of the export is not in {', '.join(str(r) for r in roots)}; "
                                "pass the image directory with --images")


def _box(label: str, x1: float, y1: float, x2: float, y2: float, width: float, height: float) -> LabelledBox | None:
    """Pixel corners -> normalised box; a box with no area after clipping is dropped (not an object)."""
    nx1, ny1 = max(0.0, x1 / width), max(0.0, y1 / height)
    nx2, ny2 = min(1.0, x2 / width), min(1.0, y2 / height)
    if nx2 <= nx1 or ny2 <= ny1:
        return None
    return LabelledBox(label, nx1, ny1, nx2, ny2)


def _image_item(path: Path, name: str, boxes: list[LabelledBox | None], camera_id: str) -> LabelledImage:
    return LabelledImage(name=_safe_stem(name), image=path.read_bytes(), boxes=tuple(b for b in boxes if b),
                         camera_id=camera_id, suffix=path.suffix.lower())


# --------------------------------------------------------------------------- COCO


def read_coco(path: Path, *, images_dir: Path | None = None, name_map: dict | None = None,
              camera_id: str = "import") -> list[LabelledImage]:
    """A COCO detection JSON (images, annotations with [x, y, w, h] pixel boxes, categories)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        images = {int(i["id"]): i for i in data["images"]}
        categories = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        annotations = list(data.get("annotations", []))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnnotationImportError(f"{path} is not a COCO detection JSON: {' '.join(str(exc).split())}") from None
    labels = resolve_names(categories.values(), name_map or {})
    boxes: dict[int, list] = {i: [] for i in images}
    for ann in annotations:
        try:
            image = images[int(ann["image_id"])]
            x, y, w, h = (float(v) for v in ann["bbox"])
            label = labels[categories[int(ann["category_id"])]]
        except (KeyError, TypeError, ValueError):
            raise AnnotationImportError(f"{path}: annotation {ann.get('id')} has no valid image_id, "
                                        "category_id or bbox") from None
        if label:
            boxes[int(ann["image_id"])].append(_box(label, x, y, x + w, y + h, image["width"], image["height"]))
    roots = [images_dir] if images_dir else [Path(path).parent]
    return [_image_item(_find_image(roots, str(image["file_name"])), str(image["file_name"]), boxes[i], camera_id)
            for i, image in sorted(images.items())]


# --------------------------------------------------------------------------- YOLO


def _yolo_names(root: Path) -> list[str]:
    for candidate in ("data.yaml", "dataset.yaml"):
        if (root / candidate).is_file():
            data = yaml.safe_load((root / candidate).read_text(encoding="utf-8")) or {}
            names = data.get("names")
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names, key=int)]
            if isinstance(names, list):
                return [str(n) for n in names]
    for candidate in ("classes.txt", "obj.names", "names.txt"):
        if (root / candidate).is_file():
            return [n.strip() for n in (root / candidate).read_text(encoding="utf-8").splitlines() if n.strip()]
    raise AnnotationImportError(f"{root} has no class names: add data.yaml (names) or classes.txt")


def _yolo_boxes(label_file: Path, names: list[str], labels: dict) -> list[LabelledBox | None]:
    if not label_file.is_file():
        return []  # the YOLO convention: an image without a label file has no objects
    boxes = []
    for n, line in enumerate(label_file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            cls, cx, cy, w, h = line.split()[:5]
            name = names[int(cls)]
            cx, cy, w, h = float(cx), float(cy), float(w), float(h)
        except (ValueError, IndexError):
            raise AnnotationImportError(f"{label_file}:{n} is not a YOLO line 'class cx cy w h' "
                                        f"with a class id below {len(names)}") from None
        if labels[name]:
            boxes.append(_box(labels[name], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, 1.0, 1.0))
    return boxes


def read_yolo(root: Path, *, name_map: dict | None = None, camera_id: str = "import") -> list[LabelledImage]:
    """A YOLO directory: images/ and labels/ side by side (any sub-folders), names in data.yaml or classes.txt."""
    root = Path(root)
    if not (root / "images").is_dir():
        raise AnnotationImportError(f"{root} is not a YOLO export: it has no images/ directory")
    names = _yolo_names(root)
    labels = resolve_names(names, name_map or {})
    items = []
    for image in sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        relative = image.relative_to(root / "images")
        label_file = (root / "labels" / relative).with_suffix(".txt")
        items.append(_image_item(image, relative.as_posix(), _yolo_boxes(label_file, names, labels), camera_id))
    if not items:
        raise AnnotationImportError(f"{root}/images has no images")
    return items


# --------------------------------------------------------------------------- CVAT


def read_cvat(path: Path, *, images_dir: Path | None = None, name_map: dict | None = None,
              camera_id: str = "import") -> list[LabelledImage]:
    """A CVAT "for images 1.1" XML export: <image name width height> with <box label xtl ytl xbr ybr>."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        raise AnnotationImportError(f"{path} is not a CVAT XML export: {' '.join(str(exc).split())}") from None
    images = tree.getroot().findall("image")
    if not images:
        raise AnnotationImportError(f"{path} has no <image> elements (export the task as 'CVAT for images 1.1')")
    declared = [e.text or "" for e in tree.getroot().iterfind(".//meta//labels/label/name")]
    used = {b.get("label", "") for img in images for b in img.findall("box")}
    labels = resolve_names(sorted(set(declared) | used), name_map or {})
    roots = [images_dir] if images_dir else [Path(path).parent]
    items = []
    for image in images:
        try:
            name = image.attrib["name"]
            width, height = float(image.attrib["width"]), float(image.attrib["height"])
            boxes = [_box(labels[b.attrib["label"]], float(b.attrib["xtl"]), float(b.attrib["ytl"]),
                          float(b.attrib["xbr"]), float(b.attrib["ybr"]), width, height)
                     for b in image.findall("box") if labels[b.attrib["label"]]]
        except (KeyError, ValueError):
            raise AnnotationImportError(f"{path}: image {image.get('id')} lacks name/width/height or a box "
                                        "lacks label/xtl/ytl/xbr/ybr") from None
        items.append(_image_item(_find_image(roots, name), name, boxes, camera_id))
    return items


def read_export(fmt: str, path: str | Path, *, images_dir: str | Path | None = None,
                map_file: str | Path | None = None, camera_id: str = "import") -> list[LabelledImage]:
    """Read an export of format ``fmt`` (coco, yolo, cvat) into labelled images."""
    path = Path(path)
    if not path.exists():
        raise AnnotationImportError(f"{path} does not exist")
    name_map = load_name_map(map_file)
    images = Path(images_dir) if images_dir else None
    if fmt == "coco":
        return read_coco(path, images_dir=images, name_map=name_map, camera_id=camera_id)
    if fmt == "yolo":
        return read_yolo(path, name_map=name_map, camera_id=camera_id)
    if fmt == "cvat":
        return read_cvat(path, images_dir=images, name_map=name_map, camera_id=camera_id)
    raise AnnotationImportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
