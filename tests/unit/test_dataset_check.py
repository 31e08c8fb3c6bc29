"""gridsight.ml.dataset_check on small hand-made datasets with planted defects."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from gridsight.ml.dataset_check import DatasetError, check_dataset, label_path


def _image(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    assert cv2.imwrite(str(path), rng.integers(0, 255, (32, 48, 3), dtype=np.uint8))


def _label(image: Path, lines: list[str]) -> None:
    lp = label_path(image)
    lp.parent.mkdir(parents=True, exist_ok=True)
    lp.write_text("".join(f"{line}\n" for line in lines))


def _dataset(root: Path, n_train: int = 4, n_val: int = 2) -> Path:
    for split, n, base in (("train", n_train, 0), ("val", n_val, 100)):
        for i in range(n):
            img = root / "images" / split / f"{split}_{i}.jpg"
            _image(img, base + i)
            _label(img, [f"{i % 2} 0.5 0.5 0.2 0.3"])
    data = root / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/val", "names": ["person", "litter"]}))
    return data


def _codes(report) -> dict[str, int]:
    return {f.code: f.count for f in report.findings}


def test_clean_dataset_has_no_findings_and_counts_instances(tmp_path):
    report = check_dataset(_dataset(tmp_path))
    assert report.ok and report.findings == []
    assert report.images == {"train": 4, "val": 2}
    assert report.instances["train"] == {"person": 2, "litter": 2}
    assert len(report.fingerprint) == 64


def test_planted_defects_are_each_counted(tmp_path):
    data = _dataset(tmp_path, n_train=6)
    train = tmp_path / "images" / "train"
    label_path(train / "train_0.jpg").unlink()  # missing label (warning)
    _label(train / "train_1.jpg", ["7 0.5 0.5 0.1 0.1", "1 0.5 0.5 0.1 0.1"])  # class out of range
    _label(train / "train_2.jpg", ["0 0.5 0.5 0.1"])  # malformed
    _label(train / "train_3.jpg", ["0 1.5 0.5 0.1 0.1"])  # box outside 0..1
    (train / "train_4.jpg").write_bytes(b"")  # empty image
    (train / "train_5.jpg").write_bytes((tmp_path / "images" / "val" / "val_0.jpg").read_bytes())  # leak into val
    _label(train / "orphan.jpg", ["0 0.5 0.5 0.1 0.1"])  # label without image

    report = check_dataset(data)
    assert not report.ok
    assert _codes(report) == {
        "label-missing": 1,
        "class-out-of-range": 1,
        "label-malformed": 1,
        "box-out-of-range": 1,
        "image-empty": 1,
        "duplicate-across-splits": 1,
        "label-orphan": 1,
    }
    out_of_range = next(f for f in report.findings if f.code == "class-out-of-range")
    assert out_of_range.examples == [f"{label_path(train / 'train_1.jpg')}:1"]
    assert "0..1" in out_of_range.message
    assert {f.code for f in report.errors} == {"class-out-of-range", "label-malformed", "box-out-of-range",
                                                 "image-empty", "duplicate-across-splits"}


def test_duplicate_inside_one_split_is_only_a_warning(tmp_path):
    data = _dataset(tmp_path)
    train = tmp_path / "images" / "train"
    (train / "copy.jpg").write_bytes((train / "train_0.jpg").read_bytes())
    _label(train / "copy.jpg", ["0 0.5 0.5 0.2 0.3"])
    report = check_dataset(data)
    assert report.ok
    assert _codes(report) == {"duplicate-in-split": 1}


def test_fingerprint_changes_when_a_label_changes(tmp_path):
    data = _dataset(tmp_path)
    before = check_dataset(data).fingerprint
    _label(tmp_path / "images" / "train" / "train_0.jpg", ["1 0.5 0.5 0.2 0.3"])
    assert check_dataset(data).fingerprint != before


def test_class_never_seen_in_train_is_warned(tmp_path):
    data = _dataset(tmp_path)
    spec = yaml.safe_load(data.read_text())
    spec["names"] = ["person", "litter", "cable"]
    data.write_text(yaml.safe_dump(spec))
    report = check_dataset(data)
    assert report.ok
    unseen = next(f for f in report.findings if f.code == "class-unseen")
    assert unseen.examples == ["cable"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"train": "images/train", "val": "images/val"}, "names"),
        ({"train": "images/train", "names": ["a"]}, r"split\(s\) \['val'\] are required"),
        ({"train": "nowhere", "val": "images/val", "names": ["a"]}, "does not exist"),
    ],
)
def test_unreadable_description_raises_with_the_reason(tmp_path, spec, message):
    _dataset(tmp_path)
    data = tmp_path / "bad.yaml"
    data.write_text(yaml.safe_dump({"path": str(tmp_path), **spec}))
    with pytest.raises(DatasetError, match=message):
        check_dataset(data)


def test_an_evaluation_set_needs_only_the_split_it_evaluates(tmp_path):
    data = _dataset(tmp_path, n_train=0, n_val=2)
    (tmp_path / "images" / "train").mkdir()
    assert [f.code for f in check_dataset(data).errors] == ["split-empty"]
    report = check_dataset(data, required_splits=("val",))
    assert report.ok and "split-empty" in {f.code for f in report.warnings}
