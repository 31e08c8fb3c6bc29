"""Random labelled training images: :func:`random_objects` scatters people (walking, standing,
carrying bags, partly out of frame), litter and bag piles (alone or next to bins) over a
random background, and :func:`random_image` renders one annotated frame from an RNG.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.background import Layout
from gridsight.synth.render.common import _pick
from gridsight.synth.render.compose import (
    Annotation,
    Placed,
    Scene,
    place,
    render_background,
    render_frame,
)
from gridsight.synth.render.objects import draw_bag, sample_bag, sample_litter
from gridsight.synth.render.people import draw_person, sample_person
from gridsight.synth.render.registry import OBJECTS

# --------------------------------------------------------------------------- random training scenes


def _ground_point(rng: np.random.Generator, L: Layout, kind: str, margin: float = 0.0) -> tuple[float, float]:
    region = _pick(rng, OBJECTS[kind].where)
    lo, hi = L.region(region)
    y = rng.uniform(lo, min(hi, L.height - 1))
    x = rng.uniform(-margin, 1 + margin) * L.width
    return x, y


def random_objects(rng: np.random.Generator, scene: Scene, negative: bool = False) -> list[Placed]:
    """Labelled objects for one training image: people (walking, standing,
    carrying bags, partly out of frame), litter and bags on the ground (alone,
    in piles, next to bins)."""
    L = scene.layout
    out: list[Placed] = []
    if negative:
        return out
    n_person = int(_pick(rng, [0, 1, 1, 2, 2, 3, 4, 6]))
    n_litter = int(_pick(rng, [0, 0, 1, 1, 2, 3, 4, 6]))
    n_bag = int(_pick(rng, [0, 0, 1, 1, 2, 3, 4]))
    if n_person + n_litter + n_bag == 0:
        n_litter = 1
    for _ in range(n_person):
        x, y = _ground_point(rng, L, "person", margin=0.06)
        if rng.random() < 0.12:
            y = rng.uniform(L.height, L.height * 1.12)  # feet below the frame edge
        style = sample_person(rng)
        facing = _pick(rng, ["left", "right", "front", "back"], [0.32, 0.32, 0.18, 0.18])
        walking = rng.random() < 0.7
        carrying = rng.random() < 0.18
        ppm = L.ppm(y)
        sprite = draw_person(style, ppm, phase=float(rng.uniform(0, 2 * np.pi)), facing=facing, walking=walking, carrying=carrying)
        out.append(Placed("person", sprite, x, y, label="person"))
        if carrying:
            bag = draw_bag(sample_bag(rng, height_m=float(rng.uniform(0.35, 0.55))), ppm, hanging=True)
            hx, hy = sprite.point("hand", x, y)
            kx, ky = bag.points["knot"]
            bx, by = hx + (bag.anchor[0] - kx), hy + (bag.anchor[1] - ky)
            out.append(Placed("garbage_bag", bag, bx, by, depth=y + 0.5, label="garbage_bag", shadow=False))
    bins = [p for p in scene.statics if p.kind == "bins"]
    for _ in range(n_bag):
        if bins and rng.random() < 0.4:
            b = bins[int(rng.integers(0, len(bins)))]
            x, y = b.x + rng.uniform(-0.7, 0.7) * b.sprite.size[0], b.y + rng.uniform(0.5, 6)
        else:
            x, y = _ground_point(rng, L, "garbage_bag", margin=0.02)
        pile = int(_pick(rng, [1, 1, 1, 2, 3]))
        for k in range(pile):
            px, py = x + rng.uniform(-0.35, 0.35) * L.ppm(y) * k, y + rng.uniform(-0.08, 0.12) * L.ppm(y) * k
            out.append(place("garbage_bag", sample_bag(rng), L, px, py))
    for _ in range(n_litter):
        x, y = _ground_point(rng, L, "litter", margin=0.01)
        if bins and rng.random() < 0.2:
            b = bins[int(rng.integers(0, len(bins)))]
            x, y = b.x + rng.uniform(-0.8, 0.8) * b.sprite.size[0], b.y + rng.uniform(1, 10)
        out.append(place("litter", sample_litter(rng), L, x, y))
    return out


def random_image(rng: np.random.Generator, size=(640, 360), negative: bool = False) -> tuple[np.ndarray, list[Annotation]]:
    scene = render_background(rng, size)
    objects = random_objects(rng, scene, negative=negative)
    return render_frame(scene, objects, rng)
