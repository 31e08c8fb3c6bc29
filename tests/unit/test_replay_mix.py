"""The fine-tuning mix: a dataset version plus a replay share of the synthetic set, in the
init model's class order, the same images every run for one seed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from gridsight.ml.dataset_check import DatasetError, check_dataset
from gridsight.ml.replay_mix import build_replay_mix, replay_count

CLASSES = ["person", "litter", "garbage_bag"]


def _dataset(root: Path, names: list[str], n_train: int, n_val: int, cls: int = 0, shade: int = 0) -> Path:
    """A tiny YOLO dataset of distinct flat images (``shade`` keeps two datasets' images apart)."""
    for split, n in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            image = np.full((32, 48, 3), (shade, (i * 5) % 255, (i * 5 + (split == "val") * 3) % 255), np.uint8)
            cv2.imwrite(str(root / "images" / split / f"{i:03d}.jpg"), image)
            (root / "labels" / split / f"{i:03d}.txt").write_text(f"{cls} 0.5 0.5 0.2 0.2\n")
    data = root / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/val", "names": names}))
    return data


def test_replay_count_makes_the_share_of_all_training_images():
    assert replay_count(70, 0.3) == 30 and replay_count(10, 0.0) == 0 and replay_count(12, 0.3) == 5
    with pytest.raises(ValueError, match="replay-share"):
        replay_count(10, 1.0)


def test_the_mix_has_the_share_the_seed_and_the_init_class_order(tmp_path):
    # The site's dataset numbers its classes in another order than the init model.
    site = _dataset(tmp_path / "site", ["garbage_bag", "person"], 14, 4, cls=0)  # 0 = garbage_bag here
    synth = _dataset(tmp_path / "synth", CLASSES, 40, 2, cls=1, shade=200)
    mix = build_replay_mix(site, CLASSES, tmp_path / "mix", replay_yaml=synth, share=0.3, seed=3)
    assert (mix.n_dataset, mix.n_replay, mix.n_val) == (14, 6, 4) and mix.share == pytest.approx(0.3)
    doc = yaml.safe_load(mix.data_yaml.read_text())
    assert doc["names"] == dict(enumerate(CLASSES))
    site_label = (tmp_path / "mix" / "labels" / "train" / "site_000000.txt").read_text()
    assert site_label.split()[0] == "2", "garbage_bag renumbered to the init model's id"
    assert (tmp_path / "mix" / "labels" / "train" / "replay_000000.txt").read_text().split()[0] == "1"
    report = check_dataset(mix.data_yaml)
    assert report.ok and report.images == {"train": 20, "val": 4}
    picked = lambda: sorted(p.read_bytes() for p in (tmp_path / "mix" / "images" / "train").glob("replay_*.jpg"))  # noqa: E731
    first = picked()
    build_replay_mix(site, CLASSES, tmp_path / "mix", replay_yaml=synth, share=0.3, seed=3)
    assert picked() == first, "deterministic by seed"
    build_replay_mix(site, CLASSES, tmp_path / "mix", replay_yaml=synth, share=0.3, seed=4)
    assert picked() != first


def test_a_class_the_init_model_lacks_is_refused(tmp_path):
    site = _dataset(tmp_path / "site", ["person", "dog"], 2, 1, cls=1)
    with pytest.raises(DatasetError, match=r"classes \['dog'\] are not in the init model's class list"):
        build_replay_mix(site, CLASSES, tmp_path / "mix")


def test_a_class_the_init_model_lacks_but_no_box_has_is_left_out(tmp_path):
    # A dataset version names every canonical label (motorcycle too, which the demo weights lack).
    site = _dataset(tmp_path / "site", ["person", "motorcycle", "litter"], 2, 1, cls=2)
    mix = build_replay_mix(site, CLASSES, tmp_path / "mix")
    assert mix.n_dataset == 2
    label = next((tmp_path / "mix" / "labels" / "train").glob("*.txt")).read_text()
    assert label.split()[0] == str(CLASSES.index("litter"))


def test_a_replay_set_too_small_for_the_share_is_refused(tmp_path):
    site = _dataset(tmp_path / "site", CLASSES, 20, 1)
    synth = _dataset(tmp_path / "synth", CLASSES, 3, 1)
    with pytest.raises(DatasetError, match="needs 9 training images, it has 3"):
        build_replay_mix(site, CLASSES, tmp_path / "mix", replay_yaml=synth, share=0.3)
