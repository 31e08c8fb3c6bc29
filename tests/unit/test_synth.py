"""Synthetic scene generator: dataset writer, renderer boxes, scripted clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from gridsight.synth.clip import ground_truth_path, write_clip
from gridsight.synth.dataset import generate_dataset
from gridsight.synth.render import CLASSES, OBJECTS, Look, compose, draw_litter, random_image, sample_litter
from gridsight.synth.scenario import (
    BAG,
    DEMO_BAG_POS,
    DEMO_LITTER_POS,
    DEMO_LOITER_POS,
    EAST_KERB,
    LITTER,
    PERSON_A,
    PERSON_B,
    PERSON_C,
    WEST_KERB,
    demo_scenario,
    short_scenario,
)


def _inside(point, polygon) -> bool:
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return min(xs) <= point[0] <= max(xs) and min(ys) <= point[1] <= max(ys)


def _read_labels(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def test_dataset_files_labels_and_yaml(tmp_path):
    data_yaml = generate_dataset(tmp_path / "ds", n_train=6, n_val=2, seed=3)
    data = yaml.safe_load(data_yaml.read_text())
    assert Path(data["path"]).is_absolute() and Path(data["path"]) == (tmp_path / "ds").resolve()
    assert data["names"] == dict(enumerate(CLASSES)) and data["train"] == "images/train" and data["val"] == "images/val"
    n_boxes = 0
    for split, n in (("train", 6), ("val", 2)):
        images = sorted((tmp_path / "ds" / "images" / split).glob("*.jpg"))
        labels = sorted((tmp_path / "ds" / "labels" / split).glob("*.txt"))
        assert len(images) == n
        assert [p.stem for p in images] == [p.stem for p in labels]
        for lab in labels:
            for cls, cx, cy, w, h in _read_labels(lab):
                n_boxes += 1
                assert cls == int(cls) and 0 <= cls < len(CLASSES)
                assert 0 < w <= 1 and 0 < h <= 1
                assert -1e-6 <= cx - w / 2 and cx + w / 2 <= 1 + 1e-6
                assert -1e-6 <= cy - h / 2 and cy + h / 2 <= 1 + 1e-6
    assert n_boxes > 0


def test_dataset_is_deterministic_per_seed(tmp_path):
    a = generate_dataset(tmp_path / "a", 3, 1, seed=11).parent
    b = generate_dataset(tmp_path / "b", 3, 1, seed=11).parent
    c = generate_dataset(tmp_path / "c", 3, 1, seed=12).parent
    for rel in ("images/train/train_000000.jpg", "labels/train/train_000002.txt", "images/val/val_000000.jpg"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    assert (a / "images/train/train_000000.jpg").read_bytes() != (c / "images/train/train_000000.jpg").read_bytes()


def test_negative_images_have_no_labels():
    image, anns = random_image(np.random.default_rng(5), negative=True)
    assert image.shape == (360, 640, 3) and image.dtype == np.uint8
    assert anns == []


def test_registry_has_the_classes_in_order():
    assert CLASSES[:3] == ("person", "litter", "garbage_bag")  # ids 0-2 are baked into the v1 weights
    assert len(CLASSES) == 25 and len(set(CLASSES)) == 25
    for name in CLASSES:
        assert OBJECTS[name].label == name
    assert any(kind.label is None for kind in OBJECTS.values())  # distractors exist, unlabelled


def test_box_is_the_tight_box_of_the_drawn_pixels():
    from gridsight.synth.render import Placed

    base = np.zeros((120, 160, 3), np.float32)
    sprite = draw_litter(sample_litter(np.random.default_rng(2), kind="bottle"), ppm=100.0, size_px=40)
    image, anns = compose(base, [Placed("litter", sprite, 80, 90, label="litter", shadow=False)], Look(noise=0.0, bias=0.0), np.random.default_rng(0))
    assert len(anns) == 1
    x1, y1, x2, y2 = anns[0].box
    drawn = np.argwhere(image.max(axis=2) > 0)
    assert drawn.size
    # every drawn pixel with real coverage is inside the box, and the box touches the drawing on all sides
    strong = np.argwhere(image.max(axis=2) > 60)
    assert strong[:, 1].min() >= x1 - 1 and strong[:, 1].max() < x2 + 1
    assert strong[:, 0].min() >= y1 - 1 and strong[:, 0].max() < y2 + 1
    assert 30 <= max(x2 - x1, y2 - y1) <= 42


def test_occluded_or_offscreen_objects_are_not_labelled_as_whole():
    from gridsight.synth.render import Placed

    base = np.zeros((100, 100, 3), np.float32)
    sprite = draw_litter(sample_litter(np.random.default_rng(2), kind="box"), ppm=100.0, size_px=30)
    _, anns = compose(base, [Placed("litter", sprite, 300, 50, label="litter")], Look(noise=0.0), np.random.default_rng(0))
    assert anns == []
    _, anns = compose(base, [Placed("litter", sprite, 2, 60, label="litter")], Look(noise=0.0), np.random.default_rng(0))
    for a in anns:  # partly outside the frame: the box is clipped to the frame
        assert a.box[0] >= 0 and a.box[2] <= 100


def test_demo_scenario_story_and_zones():
    s = demo_scenario()
    assert 28 <= s.duration <= 32
    bag, litter, a, b, c = (s.track(i) for i in (BAG, LITTER, PERSON_A, PERSON_B, PERSON_C))
    assert bag.cls == "garbage_bag" and litter.cls == "litter"
    bag_static = bag.static_intervals()
    assert len(bag_static) == 1 and bag_static[0]["from"] == pytest.approx(6.0, abs=0.5) and bag_static[0]["until"] == s.duration
    assert _inside(DEMO_BAG_POS, WEST_KERB) and _inside((bag_static[0]["x"], bag_static[0]["y"]), WEST_KERB)
    lit_static = litter.static_intervals()
    assert len(lit_static) == 1 and lit_static[0]["from"] == pytest.approx(13.0, abs=0.5)
    assert _inside(DEMO_LITTER_POS, EAST_KERB) and not _inside(DEMO_LITTER_POS, WEST_KERB)
    c_static = c.static_intervals()
    assert len(c_static) == 1 and c_static[0]["until"] - c_static[0]["from"] >= 6
    assert _inside(DEMO_LOITER_POS, EAST_KERB) and (c_static[0]["x"], c_static[0]["y"]) == DEMO_LOITER_POS
    # A and B leave the frame; nobody is carried off
    assert a.position(a.disappear)[0] < 0 and b.position(b.disappear)[0] < 0
    assert a.disappear <= 10.5 and b.disappear <= 18.5


def test_clip_decodes_and_ground_truth_matches(tmp_path):
    av = pytest.importorskip("av")
    scenario = short_scenario(2.0)
    out = write_clip(tmp_path / "short.mp4", scenario, fps=10, size=(320, 180), seed=1)
    assert out.is_file()
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f for f in container.decode(video=0)]
    assert len(frames) == 20
    assert (frames[0].width, frames[0].height) == (320, 180)
    assert frames[0].format.name == "yuv420p"
    assert all(int(f.pict_type) in (1, 2) for f in frames)  # I or P only: no B-frames
    assert int(frames[0].pict_type) == 1
    gt = json.loads(ground_truth_path(out).read_text())
    assert gt["fps"] == 10 and gt["size"] == [320, 180] and gt["frame_count"] == 20 and gt["duration_s"] == 2.0
    bag = next(o for o in gt["objects"] if o["class"] == "garbage_bag")
    assert bag["static"] and _inside(bag["position"], gt["zones"]["west-kerb"])
    assert len(bag["boxes"]) == 20  # visible in every frame
    x1, y1, x2, y2 = bag["boxes"]["0"]
    assert x1 <= bag["position"][0] <= x2 and abs(y2 - bag["position"][1]) < 0.03
    person = next(o for o in gt["objects"] if o["class"] == "person")
    assert person["static"] == [] and person["boxes"]
