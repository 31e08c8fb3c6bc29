"""Dataset versions (issue 18): deterministic camera-hour splits, a content fingerprint, counts, data.yaml."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import yaml

from gridsight.ml.dataset_check import check_dataset
from gridsight.ml.dataset_version import (
    CLASS_ORDER, DatasetVersionError, LabelledBox, LabelledImage, fingerprint, split_of, write_dataset_version,
)
from inference.labels import CANONICAL_LABELS

JPEG = b"\xff\xd8\xff\xe0" + b"frame"


def _at(hour: int, minute: int = 0, day: int = 1) -> float:
    return datetime(2026, 12, day, hour, minute, tzinfo=timezone.utc).timestamp()


def _image(n: int, camera: str = "cam-a", at: float | None = None, labels=("car",)) -> LabelledImage:
    boxes = tuple(LabelledBox(label, 0.1 + 0.01 * k, 0.2, 0.4, 0.5 + 0.01 * k) for k, label in enumerate(labels))
    return LabelledImage(name=f"frame-{n}", image=JPEG + bytes([n]), boxes=boxes, camera_id=camera,
                         captured_at=_at(8) if at is None else at, harvest_frame_id=n)


def test_class_order_is_every_canonical_label_once():
    assert set(CLASS_ORDER) == CANONICAL_LABELS and len(CLASS_ORDER) == len(CANONICAL_LABELS)


def test_split_is_a_fixed_hash_of_camera_and_hour():
    # Pinned: the split of a camera-hour must not change between machines or releases.
    assert [split_of(f"cam-{i}|2026-12-01T08") for i in range(8)] == [
        "train", "test", "train", "val", "train", "train", "train", "test"]
    groups = [f"cam-{c}|2026-12-01T{h:02d}" for c in range(20) for h in range(24)]
    shares = {s: sum(split_of(g) == s for g in groups) / len(groups) for s in ("train", "val", "test")}
    assert 0.62 < shares["train"] < 0.78 and 0.09 < shares["val"] < 0.21 and 0.09 < shares["test"] < 0.21


def test_frames_of_one_camera_hour_land_in_one_split(tmp_path):
    images = [_image(n, camera=f"cam-{n % 5}", at=_at(n % 7, minute=(7 * n) % 60)) for n in range(70)]
    version = write_dataset_version(images, tmp_path / "v1", name="street", version="1", source="coco")
    where = {}
    for split in ("train", "val", "test"):
        for path in (tmp_path / "v1" / "images" / split).iterdir():
            where[path.stem] = split
    assert len(where) == 70
    by_group: dict[str, set] = {}
    for image in images:
        by_group.setdefault(image.group, set()).add(where[image.name])
    assert all(len(splits) == 1 for splits in by_group.values())
    assert len({s for splits in by_group.values() for s in splits}) == 3  # 35 groups do reach all three splits
    assert sum(version.splits.values()) == 70


def test_fingerprint_depends_on_content_not_names_or_order():
    a = [_image(1), _image(2, labels=("person", "car"))]
    renamed = [LabelledImage(name=f"other-{i.name}", image=i.image, boxes=i.boxes, camera_id="x") for i in a]
    assert fingerprint(a) == fingerprint(list(reversed(a))) == fingerprint(renamed)
    moved = [a[0], LabelledImage(name="frame-2", image=a[1].image,
                                 boxes=(LabelledBox("person", 0.1, 0.2, 0.4, 0.6),), camera_id="cam-a")]
    assert fingerprint(moved) != fingerprint(a)


def test_version_directory_counts_and_rewrite(tmp_path):
    images = [_image(1, labels=("car", "person")), _image(2, camera="cam-b", labels=("person",)), _image(3, labels=())]
    out = tmp_path / "v1"
    first = write_dataset_version(images, out, name="street", version="1", source="label-studio")
    assert first.classes == {"person": 2, "car": 1} and first.instances == 3 and first.images == 3
    assert first.cameras == {"cam-a": 2, "cam-b": 1} and first.harvest_frame_ids == [1, 2, 3]
    stored = json.loads((out / "version.json").read_text())
    assert stored["fingerprint"] == first.fingerprint and stored["splits"] == first.splits
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"][CLASS_ORDER.index("car")] == "car" and data["test"] == "images/test"
    split = next(s for s, n in first.splits.items() if n)
    line = (out / "labels" / split / "frame-1.txt").read_text().split("\n")[0]
    assert line.split()[0] == str(CLASS_ORDER.index("car")) and line.endswith("0.300000 0.300000")
    again = write_dataset_version(list(reversed(images)), out, name="street", version="1", source="label-studio")
    assert again.fingerprint == first.fingerprint
    assert sorted(p.name for p in out.rglob("*.jpg")) == ["frame-1.jpg", "frame-2.jpg", "frame-3.jpg"]


def test_the_version_passes_the_training_dataset_check(tmp_path):
    import cv2
    import numpy as np

    jpeg = cv2.imencode(".jpg", np.full((64, 96, 3), 90, np.uint8))[1].tobytes()
    images = [LabelledImage(name=f"f{n}", image=jpeg + bytes([n]), camera_id=f"cam-{n % 4}", captured_at=_at(n % 5),
                            boxes=(LabelledBox("bin", 0.2, 0.2, 0.6, 0.7),)) for n in range(40)]
    version = write_dataset_version(images, tmp_path / "v", name="s", version="1", source="yolo")
    report = check_dataset(version.data_yaml, required_splits=())
    assert not report.errors, report.summary()
    assert sum(report.images.values()) == 40


def test_refusals_are_one_line_and_write_nothing(tmp_path):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(DatasetVersionError, match="not empty and is not a dataset version"):
        write_dataset_version([_image(1)], foreign, name="s", version="1", source="coco")
    assert (foreign / "keep.txt").read_text() == "mine"
    with pytest.raises(DatasetVersionError, match="empty"):
        write_dataset_version([], tmp_path / "v", name="s", version="1", source="coco")
    with pytest.raises(DatasetVersionError, match="repeated: frame-1"):
        write_dataset_version([_image(1), _image(1)], tmp_path / "v", name="s", version="1", source="coco")
    assert not (tmp_path / "v").exists()
