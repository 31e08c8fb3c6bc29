"""Write a YOLO-format detection dataset of synthetic scenes (streets, corridors, elevators;
see :func:`gridsight.synth.render.random_image`)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import cv2
import numpy as np
import yaml

from gridsight.synth.render import CLASSES, Annotation, random_image
from gridsight.synth.render.domain import DomainShift, parse_domain

NEGATIVE_FRACTION = 0.08  # images with no labelled object at all (distractors only)


def yolo_label_lines(annotations: list[Annotation], size: tuple[int, int]) -> list[str]:
    """``class cx cy w h`` lines, normalised to the image, class ids from :data:`CLASSES`."""
    W, H = size
    lines = []
    for a in annotations:
        x1, y1, x2, y2 = (min(max(v, 0.0), lim) for v, lim in zip(a.box, (W, H, W, H)))
        if x2 <= x1 or y2 <= y1:
            continue
        cls = CLASSES.index(a.label)
        lines.append(f"{cls} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} {(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}")
    return lines


def _image_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    # Each image has its own stream: the dataset is the same whatever n_train/n_val are,
    # and one image can be regenerated alone.
    return np.random.SeedSequence([seed, {"train": 0, "val": 1}[split], index])


def render_dataset_image(seed: int, split: str, index: int, size=(640, 360),
                         domain: DomainShift | None = None) -> tuple[np.ndarray, list[Annotation], int]:
    """(image, annotations, jpeg quality) of one dataset image, in the shifted ``domain`` if given."""
    rng = np.random.default_rng(_image_seed(seed, split, index))
    negative = bool(rng.random() < NEGATIVE_FRACTION)
    quality = int(rng.integers(65, 96))
    image, anns = random_image(rng, size, negative=negative, domain=domain)
    return image, anns, quality


def _write_image(job: tuple[Path, int, str, int, tuple[int, int], DomainShift | None]) -> None:
    out_dir, seed, split, i, size, domain = job
    image, anns, quality = render_dataset_image(seed, split, i, size, domain)
    stem = f"{split}_{i:06d}"
    img_path = out_dir / "images" / split / f"{stem}.jpg"
    if not cv2.imwrite(str(img_path), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"could not write {img_path}")
    lines = yolo_label_lines(anns, size)
    (out_dir / "labels" / split / f"{stem}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def generate_dataset(out_dir: Path, n_train: int, n_val: int, seed: int = 0, size=(640, 360), workers: int = 1,
                     domain: str | DomainShift | None = None) -> Path:
    """Render ``n_train`` + ``n_val`` images into ``out_dir`` (images/{train,val},
    labels/{train,val}, data.yaml) and return the path of data.yaml.

    Deterministic for a given (seed, size, domain), whatever ``workers`` (processes rendering in
    parallel); train and val images come from disjoint random streams. ``domain`` (e.g.
    ``"night_sodium"`` or ``"night_sodium:1.5"``, see :mod:`gridsight.synth.render.domain`)
    renders a shifted scene family; data.yaml records it."""
    domain = parse_domain(domain) if isinstance(domain, str) or domain is None else domain
    out_dir = Path(out_dir).resolve()
    size = (int(size[0]), int(size[1]))
    jobs = []
    for split, n in (("train", n_train), ("val", n_val)):
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
        jobs += [(out_dir, seed, split, i, size, domain) for i in range(n)]
    if workers > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_image, jobs, chunksize=8):
                pass
    else:
        for job in jobs:
            _write_image(job)
    data = {
        "path": str(out_dir),
        "train": "images/train",
        "val": "images/val",
        "names": {i: name for i, name in enumerate(CLASSES)},
        "nc": len(CLASSES),
        "synthetic": {"generator": "gridsight.synth", "seed": seed, "n_train": n_train, "n_val": n_val, "size": list(size),
                      "domain": None if domain is None else {"name": domain.name, "strength": domain.strength}},
    }
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return data_yaml
