"""Random labelled training images. :func:`random_image` picks a scene (street, corridor or
elevator by :data:`SCENE_WEIGHTS`), renders its background and scatters labelled objects over
it with :func:`random_objects`:

* street: people (walking, standing, carrying bags, pushing a pram or wheelchair, partly out of
  frame), litter and bag piles (alone or next to bins), rows of bins (some overflowing), garbage
  piles, e-bikes and bicycles, cars and trucks, cones and barriers, stalls under umbrellas, shop
  goods, billboards, grills, piled sundries and scrap; on the facades hanging charging cables
  (often with an e-bike below), laundry and banners;
* corridor: e-bikes (often charging: a cable on the floor or up the wall, a power strip),
  bicycles, wheelchairs, prams, people, piled sundries, garbage bags;
* elevator: people, e-bikes, wheelchairs, prams, bicycles.

Each class is present in at least about an eighth of the images (see :data:`STREET_P`).
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
from gridsight.synth.render.domain import DomainShift, sample_domain_scene
from gridsight.synth.render.objects import draw_bag, sample_bag, sample_litter
from gridsight.synth.render.people import draw_person, sample_person
from gridsight.synth.render.registry import OBJECTS

SCENE_WEIGHTS = {"street": 0.65, "corridor": 0.2, "elevator": 0.15}
#: Street: probability that an image holds (a group of) each kind, besides people, litter and bags.
STREET_P = {
    "bins": 0.4, "garbage_pile": 0.3, "ebike": 0.35, "bicycle": 0.15, "car": 0.15, "truck": 0.3, "cable": 0.4,
    "power_strip": 0.1, "stall": 0.3, "umbrella": 0.25, "goods": 0.35, "pile": 0.3, "cone": 0.15, "barrier": 0.32,
    "wheelchair": 0.15, "stroller": 0.12, "laundry": 0.45, "banner": 0.55, "billboard": 0.3, "grill": 0.28, "scrap": 0.3,
}
#: Indoor: probability of each kind and how many.
CORRIDOR_P = {"ebike": (0.65, [1, 1, 2]), "bicycle": (0.3, [1]), "wheelchair": (0.3, [1]), "stroller": (0.3, [1]),
              "person": (0.45, [1, 1, 2]), "pile": (0.35, [1]), "garbage_bag": (0.35, [1, 2, 3])}
ELEVATOR_P = {"ebike": (0.5, [1]), "bicycle": (0.25, [1]), "wheelchair": (0.3, [1]), "stroller": (0.3, [1]),
              "person": (0.55, [1, 1, 2, 3])}

# --------------------------------------------------------------------------- helpers


def _ground_point(rng: np.random.Generator, L: Layout, kind: str, margin: float = 0.0) -> tuple[float, float]:
    regions = [r for r in OBJECTS[kind].where if r in L.regions and r != "facade"] or list(L.regions[:1])
    return _point_in(rng, L, _pick(rng, regions), margin)


def _point_in(rng: np.random.Generator, L: Layout, region: str, margin: float = 0.0) -> tuple[float, float]:
    lo, hi = L.region(region)
    y = rng.uniform(lo, min(hi, L.height - 1))
    x0, x1 = L.x_range(y)
    w = x1 - x0
    return rng.uniform(x0 - margin * w, x1 + margin * w), y


def _cut(rng: np.random.Generator, L: Layout, y: float, p: float = 0.08) -> float:
    """Sometimes push a ground point below the frame's bottom edge (the object is cut off)."""
    return float(rng.uniform(L.height, L.height * 1.08)) if y > 0.85 * L.height and rng.random() < p else y


def _person(rng, L: Layout, x: float, y: float, facing: str | None = None, walking: bool | None = None) -> list[Placed]:
    style = sample_person(rng)
    facing = facing or _pick(rng, ["left", "right", "front", "back"], [0.32, 0.32, 0.18, 0.18])
    walking = bool(rng.random() < 0.7) if walking is None else walking
    carrying = bool(rng.random() < 0.18)
    ppm = L.ppm(y)
    sprite = draw_person(style, ppm, phase=float(rng.uniform(0, 2 * np.pi)), facing=facing, walking=walking, carrying=carrying)
    out = [Placed("person", sprite, x, y, label="person")]
    if carrying:
        bag = draw_bag(sample_bag(rng, height_m=float(rng.uniform(0.35, 0.55))), ppm, hanging=True)
        hx, hy = sprite.point("hand", x, y)
        kx, ky = bag.points["knot"]
        bx, by = hx + (bag.anchor[0] - kx), hy + (bag.anchor[1] - ky)
        out.append(Placed("garbage_bag", bag, bx, by, depth=y + 0.5, label="garbage_bag", shadow=False))
    return out


def _put(rng, L: Layout, name: str, x: float, y: float, **overrides) -> Placed:
    return place(name, OBJECTS[name].sample(rng, **overrides), L, x, y)


def _hung(rng, L: Layout, name: str, x: float, y: float, ppm: float, depth: float, **overrides) -> Placed:
    """A hanging sprite (anchor = attachment point) drawn at ``ppm``, pasted at ``depth``."""
    sprite = OBJECTS[name].draw(OBJECTS[name].sample(rng, **overrides), ppm)
    return Placed(name, sprite, x, y, depth=depth, label=OBJECTS[name].label, shadow=False)


# --------------------------------------------------------------------------- street


def _street_people_and_waste(rng, scene: Scene, out: list[Placed], bins: list[Placed]) -> None:
    L = scene.layout
    n_person = int(_pick(rng, [0, 1, 1, 2, 2, 3, 4, 5]))
    n_litter = int(_pick(rng, [0, 0, 1, 1, 2, 3, 4, 6]))
    n_bag = int(_pick(rng, [0, 0, 1, 1, 2, 3, 4]))
    for _ in range(n_person):
        x, y = _ground_point(rng, L, "person", margin=0.06)
        out.extend(_person(rng, L, x, _cut(rng, L, y, 0.15)))
    for _ in range(n_bag):
        if bins and rng.random() < 0.4:
            b = bins[int(rng.integers(0, len(bins)))]
            x, y = b.x + rng.uniform(-0.7, 0.7) * b.sprite.size[0], b.y + rng.uniform(0.5, 6)
        else:
            x, y = _ground_point(rng, L, "garbage_bag", margin=0.02)
        for k in range(int(_pick(rng, [1, 1, 1, 2, 3]))):
            px, py = x + rng.uniform(-0.35, 0.35) * L.ppm(y) * k, y + rng.uniform(-0.08, 0.12) * L.ppm(y) * k
            out.append(place("garbage_bag", sample_bag(rng), L, px, py))
    for _ in range(n_litter):
        x, y = _ground_point(rng, L, "litter", margin=0.01)
        if bins and rng.random() < 0.25:
            b = bins[int(rng.integers(0, len(bins)))]
            x, y = b.x + rng.uniform(-0.8, 0.8) * b.sprite.size[0], b.y + rng.uniform(1, 10)
        out.append(place("litter", sample_litter(rng), L, x, y))


def _bin_row(rng, L: Layout) -> list[Placed]:
    region = _pick(rng, ["near_walk", "far_walk"])
    lo, hi = L.region(region)
    y = rng.uniform(lo, lo + 0.4 * (hi - lo))
    x = rng.uniform(0.0, 1.0) * L.width
    ppm = L.ppm(y)
    w_m, h_m = rng.uniform(0.45, 0.65), rng.uniform(0.8, 1.1)
    k = max(ppm, 30.0 / h_m)
    out = []
    for i in range(int(_pick(rng, [1, 2, 2, 3, 4]))):
        kind = "bin_full" if rng.random() < 0.5 else "bin"
        out.append(_put(rng, L, kind, x + i * w_m * 1.06 * k, y + rng.uniform(-0.5, 0.5), w_m=w_m, h_m=h_m))
    return out


def _street_hung(rng, L: Layout, kind: str, out: list[Placed]) -> None:
    """A cable, laundry or banner: mostly on a facade (some across the ground floor), laundry or an ad
    sometimes on the street between a pole and a tree; a charging cable may have its e-bike below."""
    fb = L.facade_bottom
    on_street = kind != "cable" and rng.random() < 0.35
    if on_street:  # laundry strung between a pole and a tree, an ad on a pole
        x, gy = _point_in(rng, L, _pick(rng, ["near_walk", "far_walk"]), 0.02)
        ppm = L.ppm(gy)
        if kind == "laundry":
            length_m = float(rng.uniform(1.5, 3.0))
            out.append(_hung(rng, L, kind, x, gy - rng.uniform(1.5, 1.9) * ppm, ppm, gy, length_m=length_m))
            out.append(_put(rng, L, "pole", x - length_m / 2 * ppm, gy))
            out.append(_put(rng, L, _pick(rng, ["tree", "pole"]), x + length_m / 2 * ppm, gy))
        else:
            out.append(_put(rng, L, "pole", x, gy))
            out.append(_hung(rng, L, kind, x, gy - rng.uniform(1.2, 2.0) * ppm, ppm, gy + 0.1, kind="poster"))
        return
    lo, hi = L.region("facade")
    ppm = L.ppm(fb)
    x, y = rng.uniform(0.02, 0.98) * L.width, rng.uniform(lo, hi)
    where = rng.random()
    if kind == "banner" and where < 0.3:
        y = rng.uniform(max(lo, fb - 2.2 * ppm), fb - 0.8 * ppm)  # at eye height on the wall
    elif kind != "cable" and where > 0.55:
        # Across the ground floor: laundry from an awning rail, a banner over the shop signs.
        # Small ads hang exactly there, and the lettered signboards behind are what the model
        # must learn to tell them from.
        band = (max(lo, fb - 4.8 * ppm), fb - (2.0 if kind == "laundry" else 2.4) * ppm)
        y = rng.uniform(*band) if band[1] > band[0] else y
    if kind == "cable":
        length_m = (fb - y) / ppm * rng.uniform(0.75, 1.02)
        out.append(_hung(rng, L, kind, x, y, ppm, fb - 0.5, length_m=length_m))
        if rng.random() < 0.6:  # the e-bike it charges, on the far pavement below
            lo2, hi2 = L.region("far_walk")
            out.append(_put(rng, L, "ebike", x + rng.uniform(-0.8, 0.8) * ppm, rng.uniform(lo2, hi2)))
    else:
        out.append(_hung(rng, L, kind, x, y, ppm, fb - 0.5))


def _street_ground(rng, L: Layout, kind: str, out: list[Placed]) -> None:
    """An object standing on the street, with its company (a vendor, someone pushing, a cable)."""
    if kind in ("car", "truck"):
        lo, hi = L.region("road")
        y = rng.uniform(lo, lo + 0.35 * (hi - lo)) if rng.random() < 0.5 else rng.uniform(hi - 0.3 * (hi - lo), hi)
        out.append(_put(rng, L, kind, rng.uniform(-0.1, 1.1) * L.width, y))
    elif kind in ("ebike", "bicycle", "cone"):
        x, y = _ground_point(rng, L, kind, margin=0.05)
        for i in range(int(_pick(rng, [1, 1, 2, 3]))):
            out.append(_put(rng, L, kind, x + i * (0.65 if kind != "cone" else 1.2) * L.ppm(y), _cut(rng, L, y)))
    elif kind == "goods":
        lo, hi = L.region("far_walk")
        if rng.random() < 0.75:  # in front of a shop
            out.append(_put(rng, L, kind, rng.uniform(0, 1) * L.width, rng.uniform(lo, lo + 0.5 * (hi - lo))))
        else:
            x, y = _point_in(rng, L, "near_walk", 0.03)
            out.append(_put(rng, L, kind, x, _cut(rng, L, y)))
    elif kind in ("stall", "umbrella"):
        x, y = _ground_point(rng, L, kind, margin=0.03)
        y = _cut(rng, L, y)
        out.append(_put(rng, L, kind, x, y))
        if kind == "stall" and rng.random() < 0.5:  # the vendor
            out.extend(_person(rng, L, x + rng.uniform(-0.9, 0.9) * L.ppm(y), y - 0.3 * L.ppm(y), walking=False))
    elif kind in ("wheelchair", "stroller"):
        x, y = _ground_point(rng, L, kind, margin=0.03)
        p = _put(rng, L, kind, x, y)
        out.append(p)
        if rng.random() < 0.6:  # someone pushing it
            out.extend(_person(rng, L, x + rng.choice([-1, 1]) * 0.7 * L.ppm(y), y - 0.5, walking=True))
    elif kind == "grill":
        x, y = _ground_point(rng, L, kind, margin=0.03)
        out.append(_put(rng, L, kind, x, _cut(rng, L, y)))
        if rng.random() < 0.4:
            out.extend(_person(rng, L, x + 0.8 * L.ppm(y), y - 0.5, walking=False))
    elif kind == "power_strip":
        x, y = _point_in(rng, L, "near_walk", 0.0)
        out.append(_put(rng, L, kind, x, y))
        out.append(_put(rng, L, "cable", x + 0.9 * L.ppm(y), y + 1, mode="floor", length_m=float(rng.uniform(1.0, 2.0)), direction=1))
    else:  # garbage_pile, pile, scrap, billboard, barrier
        x, y = _ground_point(rng, L, kind, margin=0.05)
        out.append(_put(rng, L, kind, x, _cut(rng, L, y)))


def _street_kind(rng, scene: Scene, kind: str, out: list[Placed]) -> None:
    L = scene.layout
    if kind == "bins":
        out.extend(_bin_row(rng, L))
    elif kind in ("cable", "laundry", "banner"):
        _street_hung(rng, L, kind, out)
    else:
        _street_ground(rng, L, kind, out)


def _street_objects(rng, scene: Scene) -> list[Placed]:
    out: list[Placed] = []
    for kind, p in STREET_P.items():
        if rng.random() < p:
            _street_kind(rng, scene, kind, out)
    bins = [p for p in scene.statics + out if p.kind in ("bin", "bin_full")]
    _street_people_and_waste(rng, scene, out, bins)
    return out


# --------------------------------------------------------------------------- indoor


def _indoor_objects(rng, scene: Scene) -> list[Placed]:
    L = scene.layout
    plan = CORRIDOR_P if L.scene == "corridor" else ELEVATOR_P
    out: list[Placed] = []
    while not out:
        for kind, (p, counts) in plan.items():
            if rng.random() >= p:
                continue
            for _ in range(int(_pick(rng, counts))):
                x, y = _point_in(rng, L, "floor", 0.05)
                y = _cut(rng, L, y, 0.15)
                if kind == "person":
                    out.extend(_person(rng, L, x, y))
                else:
                    out.append(_put(rng, L, kind, x, y))
    if L.scene == "corridor":
        ebikes = [p for p in out if p.kind == "ebike"]
        if rng.random() < 0.7:  # charging: a cable from the e-bike to a power strip or up the wall
            if ebikes:
                e = ebikes[0]
                x, y = e.x, e.y + rng.uniform(0.5, 3.0)
            else:
                x, y = _point_in(rng, L, "floor", 0.0)
            x0, x1 = L.x_range(y)
            d = 1 if x1 - x > x - x0 else -1
            ppm = L.ppm(y)
            length_m = float(rng.uniform(0.8, 2.2))
            if rng.random() < 0.6:
                out.append(_put(rng, L, "cable", x + d * length_m / 2 * ppm, y, mode="floor", length_m=length_m, direction=d))
                if rng.random() < 0.9:
                    out.append(_put(rng, L, "power_strip", x + d * (length_m + 0.2) * ppm, y + rng.uniform(0.0, 2.0)))
            else:
                out.append(_put(rng, L, "cable", x + d * 0.5 * ppm, y - 1.0, mode="wall", length_m=length_m, direction=d))
        elif rng.random() < 0.5:
            x, y = _point_in(rng, L, "floor", 0.0)
            out.append(_put(rng, L, "power_strip", x, y))
    return out


def random_objects(rng: np.random.Generator, scene: Scene, negative: bool = False) -> list[Placed]:
    """Labelled objects (and the odd prop) for one training image of ``scene``."""
    if negative:
        return []
    if scene.layout.scene == "street":
        return _street_objects(rng, scene)
    return _indoor_objects(rng, scene)


def random_image(rng: np.random.Generator, size=(640, 360), negative: bool = False, scene: str | None = None,
                 domain: DomainShift | None = None) -> tuple[np.ndarray, list[Annotation]]:
    """One random annotated image; ``scene`` = street / corridor / elevator (default: by
    :data:`SCENE_WEIGHTS`). A ``negative`` image has no labelled object at all. ``domain``
    renders it in a shifted family (:mod:`.domain`); without it the image is as before."""
    name = scene or _pick(rng, list(SCENE_WEIGHTS), list(SCENE_WEIGHTS.values()))
    bg = render_background(rng, size, scene=name)
    if negative:
        bg = Scene(bg.layout, bg.base, [p for p in bg.statics if p.label is None], bg.look)
    objects = random_objects(rng, bg, negative=negative)
    dscene = None if domain is None else sample_domain_scene(rng, (int(size[0]), int(size[1])), domain)
    return render_frame(bg, objects, rng, dscene)
