"""Synthetic renderer: the 25 labelled kinds, indoor scenes and class coverage of the random images."""

from __future__ import annotations

import numpy as np
import pytest

from gridsight.synth.clip import scenario_frames
from gridsight.synth.dataset import render_dataset_image
from gridsight.synth.render import (
    CLASSES,
    DISTRACTOR_WEIGHTS,
    OBJECTS,
    Look,
    Placed,
    compose,
    place,
    random_image,
    render_background,
)
from gridsight.synth.scenario import Scenario, Track
from inference.labels import CANONICAL_LABELS

HANGING = ("cable", "laundry", "banner")


def test_classes_are_canonical_and_registered_once():
    assert set(CLASSES) <= CANONICAL_LABELS
    assert {"barrier", "billboard"} <= CANONICAL_LABELS
    for name in CLASSES:
        assert OBJECTS[name].label == name
    # a labelled kind never appears unlabelled: no distractor carries a class name
    assert not [k for k, v in OBJECTS.items() if v.label is None and k in CLASSES]
    assert {k for k in DISTRACTOR_WEIGHTS if OBJECTS[k].label} == {"car", "bin", "cone", "bicycle"}
    assert "bins" not in OBJECTS and "bike" not in OBJECTS


@pytest.mark.parametrize("name", CLASSES)
def test_each_class_renders_with_a_sane_box(name):
    kind = OBJECTS[name]
    style = kind.sample(np.random.default_rng(4))
    assert style == kind.sample(np.random.default_rng(4))  # deterministic per seed
    sprite = kind.draw(style, 60.0)
    again = kind.draw(style, 60.0)
    assert np.array_equal(sprite.alpha, again.alpha) and np.array_equal(sprite.color, again.color)
    w, h = sprite.size
    assert w >= 8 and h >= 8 and (sprite.alpha > 0.3).sum() > 30
    assert sprite.hanging == (name in HANGING)
    base = np.zeros((480, 800, 3), np.float32)
    x, y = 400, (120 if sprite.hanging else 420)
    _, anns = compose(base, [Placed(name, sprite, x, y, label=name)], Look(noise=0.0), np.random.default_rng(0))
    assert [a.label for a in anns] == [name]
    x1, y1, x2, y2 = anns[0].box
    assert 0 <= x1 < x2 <= 800 and 0 <= y1 < y2 <= 480 and x2 - x1 >= 6 and y2 - y1 >= 4
    if not sprite.hanging:  # standing things end at the ground row
        assert y2 == pytest.approx(y, abs=3)


def test_small_things_are_not_tiny():
    for name in ("litter", "power_strip", "cone", "banner"):
        kind = OBJECTS[name]
        for seed in range(5):
            sprite = kind.draw(kind.sample(np.random.default_rng(seed)), 10.0)  # very far away
            assert max(sprite.size) >= 18, name


@pytest.mark.parametrize("scene", ["corridor", "elevator"])
def test_indoor_scenes_render_with_a_floor(scene):
    rng = np.random.default_rng(3)
    bg = render_background(rng, (640, 360), scene=scene)
    L = bg.layout
    assert L.scene == scene and L.regions == ("floor",) and bg.statics == []
    assert bg.base.shape == (360, 640, 3) and bg.base.dtype == np.float32 and bg.base.std() > 3
    lo, hi = L.region("floor")
    assert 0 < lo < 360 <= hi
    x0, x1 = L.x_range(300)
    assert x0 < x1 and L.ppm(300) > L.ppm(lo + 1) > 0
    ebike = place("ebike", OBJECTS["ebike"].sample(rng), L, (x0 + x1) / 2, 300)
    image, anns = compose(bg.base, [ebike], bg.look, rng)
    assert image.shape == (360, 640, 3) and [a.label for a in anns] == ["ebike"]
    img2, anns2 = random_image(np.random.default_rng(8), scene=scene)
    img3, anns3 = random_image(np.random.default_rng(8), scene=scene)
    assert np.array_equal(img2, img3) and anns2 == anns3 and anns2


def test_street_has_a_facade_region_and_hanging_things_cast_no_shadow():
    bg = render_background(np.random.default_rng(2), (640, 360))
    L = bg.layout
    lo, hi = L.region("facade")
    assert 0 < lo < hi < L.facade_bottom
    assert L.ppm(lo) == L.ppm(L.facade_bottom)  # things on the facade are as far as its foot


@pytest.mark.slow  # renders a dataset: ~5 s
def test_every_class_appears_in_a_small_dataset():
    seen: dict[str, int] = {c: 0 for c in CLASSES}
    n = 96  # a class at its true rate of ~15% can fall under 6% of a 48-image sample
    for i in range(n):
        _, anns, _ = render_dataset_image(5, "train", i)
        for label in {a.label for a in anns}:
            seen[label] += 1
        for a in anns:
            x1, y1, x2, y2 = a.box
            assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    missing = [c for c, k in seen.items() if k == 0]
    assert not missing, seen
    rare = [c for c, k in seen.items() if k < 0.06 * n]
    assert not rare, seen


def test_a_scripted_clip_can_be_indoors():
    scenario = Scenario("lift", 0.2, [Track(1, "ebike", 0.0, 1.0, [(0.0, 0.5, 0.9)]), Track(2, "person", 0.0, 1.0, [(0.0, 0.3, 0.95)])],
                        scene="elevator")
    frames = list(scenario_frames(scenario, fps=10, size=(320, 180), seed=0))
    assert len(frames) == 2
    assert {a.label for a in frames[0].annotations} == {"ebike", "person"}
