"""Unlabelled street furniture that makes the scenes harder: trees, benches, bollards, hydrants,
planters, poles and utility cabinets. Each is a seeded ``_draw_*`` function sharing a generic
``sample``; all are registered with ``label=None``. :data:`DISTRACTOR_WEIGHTS` sets how often
each kind (these plus the labelled car, bin, cone and bicycle) is chosen when a background is
dressed.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _mix, _pick, _scale_colour, sample_seeded
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing

# --------------------------------------------------------------------------- distractors (unlabelled)


_sample_generic = sample_seeded  # one seed; each _draw_* derives its appearance from it


def _draw_tree(style, ppm):
    rng = np.random.default_rng(style["seed"])
    dr = Drawing()
    th = rng.uniform(2.2, 3.5) * ppm
    tw = rng.uniform(0.18, 0.32) * ppm
    dr.poly([[-0.6 * tw, 0.05 * ppm], [0.6 * tw, 0.05 * ppm], [0.55 * tw, -0.03 * ppm], [-0.55 * tw, -0.03 * ppm]], (40, 45, 50))
    bark = _jitter(rng, (45, 65, 85), 10)
    dr.poly([[-tw / 2, 0], [tw / 2, 0], [tw * 0.35, -th], [-tw * 0.35, -th]], bark)
    dr.line([[tw * 0.1, -th * 0.7], [tw * 1.6, -th * 1.05]], bark, tw * 0.3)
    green = _jitter(rng, _pick(rng, [(40, 110, 50), (50, 130, 80), (30, 90, 40), (60, 140, 110)]), 10)
    cr = rng.uniform(1.2, 2.0) * ppm
    for _ in range(int(rng.integers(14, 24))):
        ox, oy = rng.normal(0, 0.55 * cr), rng.normal(-0.1 * cr, 0.4 * cr)
        rr = rng.uniform(0.3, 0.6) * cr
        dr.ellipse(ox, -th - cr * 0.6 + oy, rr, rr * 0.85, _scale_colour(green, rng.uniform(0.7, 1.25)))
    dr.texture(10.0, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


def _draw_bench(style, ppm):
    rng = np.random.default_rng(style["seed"])
    L = rng.uniform(1.4, 2.0) * ppm
    wood = _jitter(rng, _pick(rng, [(40, 80, 130), (60, 100, 150), (80, 80, 80), (50, 90, 40)]), 10)
    metal = _jitter(rng, (45, 45, 48), 6)
    dr = Drawing()
    for s in (-0.42, 0.42):
        dr.line([[s * L, 0], [s * L, -0.45 * ppm]], metal, 0.05 * ppm)
        dr.line([[s * L, -0.45 * ppm], [s * L * 1.02, -0.85 * ppm]], metal, 0.05 * ppm)
    for k in range(3):
        y = -0.42 * ppm - k * 0.05 * ppm
        dr.line([[-L / 2, y], [L / 2, y]], _scale_colour(wood, 1.0 - 0.1 * k), 0.04 * ppm)
    for k in range(3):
        y = -0.6 * ppm - k * 0.1 * ppm
        dr.line([[-L / 2, y], [L / 2, y]], wood, 0.06 * ppm)
    return dr.render((0.0, 0.0), ss=3)


def _draw_bollard(style, ppm):
    rng = np.random.default_rng(style["seed"])
    h, w = rng.uniform(0.5, 0.95) * ppm, rng.uniform(0.12, 0.22) * ppm
    col = _pick(rng, [(150, 150, 155), (40, 40, 40), (40, 190, 220), (200, 200, 200)])
    dr = Drawing()
    dr.poly([[-w / 2, 0], [w / 2, 0], [w / 2, -h], [-w / 2, -h]], col)
    dr.ellipse(0, -h, w / 2, w / 4, _scale_colour(col, 1.15))
    if rng.random() < 0.6:
        dr.poly([[-w / 2, -0.75 * h], [w / 2, -0.75 * h], [w / 2, -0.65 * h], [-w / 2, -0.65 * h]], _pick(rng, [(40, 200, 230), (230, 230, 230), (40, 40, 200)]))
    dr.line([[-w * 0.2, -h * 0.95], [-w * 0.2, -0.05 * h]], _mix(col, (255, 255, 255), 0.4), w * 0.15)
    return dr.render((0.0, 0.0), ss=4)


def _draw_hydrant(style, ppm):
    dr = Drawing()
    h, w = 0.7 * ppm, 0.22 * ppm
    red = (30, 30, 190)
    dr.poly([[-w / 2, 0], [w / 2, 0], [w / 2, -h * 0.8], [-w / 2, -h * 0.8]], red)
    dr.ellipse(0, -h * 0.8, w / 2, w / 2.2, _scale_colour(red, 1.2))
    dr.line([[-w, -h * 0.55], [w, -h * 0.55]], _scale_colour(red, 0.8), w * 0.35)
    dr.shade(1.15, 0.8)
    return dr.render((0.0, 0.0), ss=4)


def _draw_planter(style, ppm):
    rng = np.random.default_rng(style["seed"])
    L, h = rng.uniform(0.9, 1.8) * ppm, rng.uniform(0.4, 0.6) * ppm
    box = _jitter(rng, _pick(rng, [(150, 155, 160), (70, 90, 110), (50, 50, 50)]), 8)
    dr = Drawing()
    green = _jitter(rng, (50, 120, 60), 12)
    for _ in range(int(rng.integers(6, 12))):
        r = rng.uniform(0.1, 0.22) * ppm
        dr.ellipse(rng.uniform(-0.45, 0.45) * L, -h - rng.uniform(0, 0.15) * ppm, r, r * 0.9, _scale_colour(green, rng.uniform(0.7, 1.3)))
    if rng.random() < 0.4:
        for _ in range(5):
            dr.ellipse(rng.uniform(-0.4, 0.4) * L, -h - rng.uniform(0.1, 0.25) * ppm, 0.04 * ppm, 0.04 * ppm, _pick(rng, [(60, 60, 220), (40, 200, 240), (200, 120, 220)]))
    dr.poly([[-L / 2, 0], [L / 2, 0], [L / 2, -h], [-L / 2, -h]], box)
    dr.shade(1.05, 0.8)
    return dr.render((0.0, 0.0), ss=3)


def _draw_pole(style, ppm):
    rng = np.random.default_rng(style["seed"])
    h = rng.uniform(3.0, 5.0) * ppm
    w = rng.uniform(0.08, 0.14) * ppm
    col = _pick(rng, [(120, 120, 125), (60, 60, 60), (170, 170, 175)])
    dr = Drawing()
    dr.poly([[-w / 2, 0], [w / 2, 0], [w * 0.35, -h], [-w * 0.35, -h]], col)
    if rng.random() < 0.6:
        sc = _pick(rng, [(160, 80, 20), (235, 235, 235), (40, 40, 200), (40, 120, 40)])
        sy = -h * rng.uniform(0.5, 0.8)
        sw, sh = rng.uniform(0.4, 0.8) * ppm, rng.uniform(0.3, 0.6) * ppm
        dr.poly([[-sw / 2, sy], [sw / 2, sy], [sw / 2, sy - sh], [-sw / 2, sy - sh]], sc)
        dr.poly([[-sw / 2.6, sy - sh * 0.35], [sw / 2.6, sy - sh * 0.35], [sw / 2.6, sy - sh * 0.6], [-sw / 2.6, sy - sh * 0.6]], (235, 235, 235))
    return dr.render((0.0, 0.0), ss=2)


def _draw_cabinet(style, ppm):
    rng = np.random.default_rng(style["seed"])
    w, h = rng.uniform(0.6, 1.0) * ppm, rng.uniform(1.0, 1.4) * ppm
    col = _jitter(rng, (160, 165, 165), 10)
    dr = Drawing()
    dr.poly([[-w / 2, 0], [w / 2, 0], [w / 2, -h], [-w / 2, -h]], col)
    dr.line([[0, -0.05 * h], [0, -0.95 * h]], _scale_colour(col, 0.7), 0.02 * ppm)
    dr.poly([[-w * 0.35, -0.75 * h], [-w * 0.1, -0.75 * h], [-w * 0.1, -0.65 * h], [-w * 0.35, -0.65 * h]], (40, 200, 230))
    dr.shade(1.1, 0.85)
    return dr.render((0.0, 0.0), ss=3)


for _name, _draw, _where in (
    ("tree", _draw_tree, ("near_walk", "far_walk")),
    ("bench", _draw_bench, ("near_walk", "far_walk")),
    ("bollard", _draw_bollard, ("near_walk", "far_walk")),
    ("hydrant", _draw_hydrant, ("near_walk", "far_walk")),
    ("planter", _draw_planter, ("near_walk", "far_walk")),
    ("pole", _draw_pole, ("near_walk", "far_walk")),
    ("cabinet", _draw_cabinet, ("near_walk", "far_walk")),
):
    register_object(_name, sample=_sample_generic, draw=_draw, where=_where, label=None)

#: How often each kind is chosen when a street background is dressed. ``car``, ``bin`` (a row of
#: sorting bins), ``cone`` and ``bicycle`` are labelled kinds (they were unlabelled distractors
#: once; the weights and order are unchanged so existing scenes dress the same way).
DISTRACTOR_WEIGHTS = {"tree": 1.2, "bench": 0.8, "bollard": 1.0, "car": 1.2, "bin": 1.0, "hydrant": 0.4, "cone": 0.6,
                      "planter": 0.8, "pole": 0.8, "cabinet": 0.5, "bicycle": 1.0}
