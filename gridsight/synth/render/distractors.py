"""Unlabelled street furniture that makes the scenes harder: trees, benches, bollards, parked cars,
bins, hydrants, cones, planters, poles, utility cabinets and bikes. Each is a seeded ``_draw_*``
function sharing a generic ``sample``; all are registered with ``label=None``, and
:data:`DISTRACTOR_WEIGHTS` sets how often each is chosen when a background is dressed.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _mix, _pick, _scale_colour, _seed
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, _ellipse_pts

# --------------------------------------------------------------------------- distractors (unlabelled)


def _sample_generic(rng: np.random.Generator, **overrides) -> dict:
    style = {"seed": _seed(rng)}
    style.update(overrides)
    return style


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


def _draw_car(style, ppm):
    rng = np.random.default_rng(style["seed"])
    L, Hh = rng.uniform(4.2, 4.9) * ppm, rng.uniform(1.4, 1.65) * ppm
    col = _jitter(rng, _pick(rng, [(235, 235, 235), (190, 190, 195), (30, 30, 30), (40, 40, 170), (150, 90, 40), (90, 90, 90)]), 8)
    glass = (60, 50, 45)
    dr = Drawing()
    wr = 0.17 * Hh
    body = [[-L / 2, -0.2 * Hh], [-L / 2 + 0.03 * L, -0.55 * Hh], [-0.3 * L, -0.6 * Hh], [-0.18 * L, -0.95 * Hh], [0.18 * L, -0.97 * Hh],
            [0.3 * L, -0.62 * Hh], [L / 2 - 0.02 * L, -0.55 * Hh], [L / 2, -0.22 * Hh], [L / 2 - 0.02 * L, -0.12 * Hh], [-L / 2 + 0.02 * L, -0.12 * Hh]]
    dr.poly(body, col)
    dr.poly([[-0.27 * L, -0.6 * Hh], [-0.165 * L, -0.89 * Hh], [-0.01 * L, -0.9 * Hh], [-0.01 * L, -0.6 * Hh]], glass)
    dr.poly([[0.01 * L, -0.6 * Hh], [0.01 * L, -0.9 * Hh], [0.165 * L, -0.91 * Hh], [0.27 * L, -0.61 * Hh]], glass)
    dr.line([[-L / 2 + 0.02 * L, -0.35 * Hh], [L / 2 - 0.02 * L, -0.35 * Hh]], _scale_colour(col, 0.75), 0.02 * Hh)
    for cx in (-0.3 * L, 0.3 * L):
        dr.ellipse(cx, -wr, wr, wr, (25, 25, 25))
        dr.ellipse(cx, -wr, wr * 0.5, wr * 0.5, (140, 140, 145))
    dr.ellipse(L / 2 - 0.02 * L, -0.45 * Hh, 0.02 * L, 0.04 * Hh, (180, 230, 240))
    dr.ellipse(-L / 2 + 0.015 * L, -0.45 * Hh, 0.015 * L, 0.04 * Hh, (40, 40, 200))
    if rng.random() < 0.5:  # facing the other way
        dr.ops = [(op[0], op[1] * [-1, 1], *op[2:]) for op in dr.ops]
    dr.shade(1.1, 0.8)
    return dr.render((0.0, 0.0), ss=2)


def _draw_bins(style, ppm):
    """A row of 1-4 Chinese sorting bins (green/grey/blue/red)."""
    rng = np.random.default_rng(style["seed"])
    n = int(rng.integers(1, 5))
    bw, bh = rng.uniform(0.45, 0.6) * ppm, rng.uniform(0.8, 1.05) * ppm
    cols = [(40, 110, 40), (90, 90, 90), (150, 90, 30), (40, 40, 170)]
    dr = Drawing()
    x = -n * bw / 2
    for i in range(n):
        c = _jitter(rng, cols[int(rng.integers(0, 4))] if n == 1 else cols[i % 4], 6)
        dr.poly([[x + 0.04 * bw, 0], [x + 0.96 * bw, 0], [x + bw, -bh], [x, -bh]], c)
        dr.poly([[x - 0.02 * bw, -bh], [x + 1.02 * bw, -bh], [x + 1.0 * bw, -bh - 0.1 * bh], [x, -bh - 0.1 * bh]], _scale_colour(c, 0.75))
        dr.poly([[x + 0.3 * bw, -0.75 * bh], [x + 0.7 * bw, -0.75 * bh], [x + 0.7 * bw, -0.55 * bh], [x + 0.3 * bw, -0.55 * bh]], (230, 230, 230))
        x += bw * 1.04
    dr.shade(1.1, 0.8)
    return dr.render((0.0, 0.0), ss=3)


def _draw_hydrant(style, ppm):
    dr = Drawing()
    h, w = 0.7 * ppm, 0.22 * ppm
    red = (30, 30, 190)
    dr.poly([[-w / 2, 0], [w / 2, 0], [w / 2, -h * 0.8], [-w / 2, -h * 0.8]], red)
    dr.ellipse(0, -h * 0.8, w / 2, w / 2.2, _scale_colour(red, 1.2))
    dr.line([[-w, -h * 0.55], [w, -h * 0.55]], _scale_colour(red, 0.8), w * 0.35)
    dr.shade(1.15, 0.8)
    return dr.render((0.0, 0.0), ss=4)


def _draw_cone(style, ppm):
    rng = np.random.default_rng(style["seed"])
    h = rng.uniform(0.45, 0.75) * ppm
    orange = _jitter(rng, (20, 100, 240), 8)
    dr = Drawing()
    dr.poly([[-0.32 * h, 0], [0.32 * h, 0], [0.32 * h, -0.06 * h], [-0.32 * h, -0.06 * h]], _scale_colour(orange, 0.6))
    dr.poly([[-0.22 * h, -0.06 * h], [0.22 * h, -0.06 * h], [0.05 * h, -h], [-0.05 * h, -h]], orange)
    dr.poly([[-0.15 * h, -0.4 * h], [0.15 * h, -0.4 * h], [0.12 * h, -0.55 * h], [-0.12 * h, -0.55 * h]], (235, 235, 235))
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


def _draw_bike(style, ppm):
    rng = np.random.default_rng(style["seed"])
    col = _pick(rng, [(30, 200, 240), (200, 120, 30), (30, 120, 240), (60, 160, 60), (40, 40, 40)])
    r = 0.33 * ppm
    wb = 1.05 * ppm
    dr = Drawing()
    tw = max(0.6, 0.05 * ppm)
    for cx in (-wb / 2, wb / 2):
        pts = _ellipse_pts(cx, -r, r, r, n=32)
        dr.line(np.vstack([pts, pts[:1]]), (30, 30, 30), tw)
    seat = (-0.15 * wb, -2.55 * r)
    bar = (wb * 0.42, -2.9 * r)
    crank = (0.0, -r)
    dr.line([(-wb / 2, -r), crank, (-0.12 * wb, -2.3 * r), (-wb / 2, -r)], col, tw * 1.2)
    dr.line([crank, (wb * 0.35, -2.3 * r), (-0.12 * wb, -2.3 * r)], col, tw * 1.2)
    dr.line([(wb / 2, -r), bar], col, tw * 1.2)
    dr.line([seat, (seat[0] + 0.2 * ppm, seat[1])], (30, 30, 30), tw * 1.8)
    dr.line([(bar[0] - 0.12 * ppm, bar[1]), (bar[0] + 0.05 * ppm, bar[1])], (40, 40, 40), tw)
    dr.poly([[wb * 0.42, -2.6 * r], [wb * 0.62, -2.6 * r], [wb * 0.6, -2.2 * r], [wb * 0.44, -2.2 * r]], _scale_colour(col, 0.8))
    if rng.random() < 0.5:
        dr.ops = [(op[0], op[1] * [-1, 1], *op[2:]) for op in dr.ops]
    return dr.render((0.0, 0.0), ss=3)


for _name, _draw, _where in (
    ("tree", _draw_tree, ("near_walk", "far_walk")),
    ("bench", _draw_bench, ("near_walk", "far_walk")),
    ("bollard", _draw_bollard, ("near_walk", "far_walk")),
    ("car", _draw_car, ("road",)),
    ("bins", _draw_bins, ("near_walk", "far_walk")),
    ("hydrant", _draw_hydrant, ("near_walk", "far_walk")),
    ("cone", _draw_cone, ("road", "near_walk")),
    ("planter", _draw_planter, ("near_walk", "far_walk")),
    ("pole", _draw_pole, ("near_walk", "far_walk")),
    ("cabinet", _draw_cabinet, ("near_walk", "far_walk")),
    ("bike", _draw_bike, ("near_walk", "far_walk")),
):
    register_object(_name, sample=_sample_generic, draw=_draw, where=_where, label=None)

DISTRACTOR_WEIGHTS = {"tree": 1.2, "bench": 0.8, "bollard": 1.0, "car": 1.2, "bins": 1.0, "hydrant": 0.4, "cone": 0.6,
                      "planter": 0.8, "pole": 0.8, "cabinet": 0.5, "bike": 1.0}
