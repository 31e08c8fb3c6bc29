"""Wheeled things, seen side-on: ``car`` and ``truck`` (road), ``bicycle`` (pedal bikes,
bright shared bikes), ``wheelchair`` and ``stroller`` (pram). The e-bike lives in
:mod:`.ebike`. Each appearance derives from ``style["seed"]``; anchors are the bottom-centre
ground contact point. ``car`` and ``bicycle`` draw exactly as the old unlabelled ``car`` and
``bike`` distractors did.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _pick, _scale_colour, min_scale, sample_seeded, style_rng
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite, _ellipse_pts

INDOOR_AND_WALKS = ("near_walk", "far_walk", "floor")


def _mirror(dr: Drawing) -> None:
    dr.ops = [(op[0], op[1] * [-1, 1], *op[2:]) for op in dr.ops]


def wheel(dr: Drawing, cx: float, cy: float, r: float, tyre, width: float, spokes: bool = True) -> None:
    """A wheel outline (tyre ring) with a hub and optional spokes."""
    pts = _ellipse_pts(cx, cy, r, r, n=32)
    dr.line(np.vstack([pts, pts[:1]]), tyre, width)
    if spokes:
        for a in np.linspace(0, np.pi, 4, endpoint=False):
            dr.line([[cx - r * np.cos(a), cy - r * np.sin(a)], [cx + r * np.cos(a), cy + r * np.sin(a)]], (150, 150, 155), width * 0.3)
    dr.ellipse(cx, cy, width * 0.8, width * 0.8, (120, 120, 125))


def draw_car(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
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
        _mirror(dr)
    dr.shade(1.1, 0.8)
    return dr.render((0.0, 0.0), ss=2)


def draw_truck(style: dict, ppm: float) -> Sprite:
    """A box van, a flatbed or an (un)covered muck truck: cab plus cargo body."""
    rng = style_rng(style)
    L, Hh = rng.uniform(5.5, 8.0) * ppm, rng.uniform(2.4, 3.2) * ppm
    kind = style.get("kind") or _pick(rng, ["box", "muck", "flatbed"], [0.45, 0.35, 0.2])
    cab = _jitter(rng, _pick(rng, [(40, 40, 170), (160, 100, 30), (40, 150, 220), (230, 230, 230), (40, 120, 40), (40, 160, 230)]), 8)
    dr = Drawing()
    cl = 0.24 * L
    x0 = L / 2 - cl
    dr.poly([[x0, -0.25 * Hh], [x0, -0.92 * Hh], [x0 + 0.7 * cl, -0.92 * Hh], [L / 2, -0.55 * Hh], [L / 2, -0.25 * Hh]], cab)
    dr.poly([[x0 + 0.1 * cl, -0.58 * Hh], [x0 + 0.1 * cl, -0.85 * Hh], [x0 + 0.65 * cl, -0.85 * Hh], [x0 + 0.9 * cl, -0.58 * Hh]], (70, 60, 55))
    dr.poly([[-L / 2, -0.18 * Hh], [x0, -0.18 * Hh], [x0, -0.28 * Hh], [-L / 2, -0.28 * Hh]], (40, 40, 42))  # chassis
    if kind == "box":
        body = _jitter(rng, _pick(rng, [(230, 230, 230), (200, 200, 205), (60, 60, 170), (150, 150, 150)]), 8)
        dr.poly([[-L / 2, -0.28 * Hh], [x0 - 0.02 * L, -0.28 * Hh], [x0 - 0.02 * L, -Hh], [-L / 2, -Hh]], body)
        dr.line([[-L / 2, -0.6 * Hh], [x0 - 0.02 * L, -0.6 * Hh]], _scale_colour(body, 0.8), 0.02 * Hh)
    else:
        bed = _jitter(rng, _pick(rng, [(40, 120, 200), (60, 60, 60), (50, 90, 140), (30, 30, 170)]), 8)
        top = -0.62 * Hh if kind == "muck" else -0.38 * Hh
        dr.poly([[-L / 2, -0.28 * Hh], [x0 - 0.02 * L, -0.28 * Hh], [x0 - 0.02 * L, top], [-L / 2, top]], bed)
        if kind == "muck" and rng.random() < 0.6:  # uncovered load heaped above the sides
            load = _jitter(rng, _pick(rng, [(70, 95, 120), (100, 110, 115), (60, 80, 100)]), 10)
            xs = np.linspace(-L / 2, x0 - 0.02 * L, 12)
            ys = top - rng.uniform(0.05, 0.2, 12) * Hh
            dr.poly(np.vstack([np.stack([xs, ys], 1), [[x0 - 0.02 * L, top], [-L / 2, top]]]), load)
        elif kind == "flatbed":
            for _ in range(int(rng.integers(1, 4))):
                bx = rng.uniform(-0.45, -0.05) * L
                bw, bh = rng.uniform(0.08, 0.2) * L, rng.uniform(0.15, 0.35) * Hh
                dr.poly([[bx, top], [bx + bw, top], [bx + bw, top - bh], [bx, top - bh]], _jitter(rng, (80, 140, 190), 20))
    wr = 0.16 * Hh
    for cx in (-0.36 * L, -0.2 * L, 0.33 * L):
        dr.ellipse(cx, -wr, wr, wr, (25, 25, 25))
        dr.ellipse(cx, -wr, wr * 0.45, wr * 0.45, (150, 150, 150))
    if rng.random() < 0.5:
        _mirror(dr)
    dr.shade(1.1, 0.8).texture(2.0, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


def draw_bicycle(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    col = style.get("colour") or _pick(rng, [(30, 200, 240), (200, 120, 30), (30, 120, 240), (60, 160, 60), (40, 40, 40)])
    ppm = min_scale(ppm, 1.0, 34.0)
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
        _mirror(dr)
    return dr.render((0.0, 0.0), ss=3)


def draw_wheelchair(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    frame = _jitter(rng, _pick(rng, [(170, 170, 175), (40, 40, 40), (150, 60, 30), (40, 40, 160), (60, 110, 40)]), 8)
    seat = _jitter(rng, _pick(rng, [(30, 30, 30), (120, 60, 20), (40, 40, 120), (70, 70, 70)]), 8)
    k = min_scale(ppm, 0.95, 34.0)
    R, tw = 0.3 * k, max(1.0, 0.035 * k)
    dr = Drawing()
    wheel(dr, 0.0, -R, R, (30, 30, 30), tw)
    cx = 0.45 * k
    wheel(dr, cx, -0.07 * k, 0.07 * k, (30, 30, 30), tw, spokes=False)
    sy = -0.5 * k
    dr.line([[-0.1 * k, -0.9 * k], [-0.05 * k, sy], [0.38 * k, sy]], frame, tw)  # back post, seat rail
    dr.line([[0.38 * k, sy], [cx, -0.14 * k], [0.55 * k, -0.1 * k]], frame, tw)  # front post to footrest
    dr.line([[0.0, -R], [0.25 * k, sy]], frame, tw * 0.8)
    dr.line([[-0.1 * k, -0.9 * k], [-0.22 * k, -0.9 * k]], (30, 30, 30), tw * 1.4)  # push handle
    dr.poly([[-0.06 * k, sy - 0.03 * k], [0.38 * k, sy - 0.03 * k], [0.38 * k, sy + 0.04 * k], [-0.06 * k, sy + 0.04 * k]], seat)
    dr.poly([[-0.12 * k, -0.86 * k], [-0.03 * k, -0.86 * k], [-0.02 * k, sy], [-0.1 * k, sy]], seat)
    dr.line([[0.0, -0.7 * k], [0.32 * k, -0.7 * k]], frame, tw)  # armrest
    if rng.random() < 0.5:
        _mirror(dr)
    return dr.render((0.0, 0.0), ss=3)


def draw_stroller(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    body = _jitter(rng, _pick(rng, [(40, 40, 40), (150, 90, 40), (120, 120, 200), (180, 130, 200), (60, 120, 60), (60, 60, 160), (200, 200, 200)]), 10)
    frame = _pick(rng, [(180, 180, 185), (30, 30, 30)])
    k = min_scale(ppm, 1.0, 34.0)
    tw = max(1.0, 0.03 * k)
    dr = Drawing()
    # wheels, chassis, the carrycot with its hood, a push bar
    for cx in (-0.28 * k, 0.28 * k):
        wheel(dr, cx, -0.1 * k, 0.1 * k, (25, 25, 25), tw * 1.2, spokes=False)
    dr.line([[-0.28 * k, -0.1 * k], [0.0, -0.42 * k], [0.28 * k, -0.1 * k]], frame, tw)
    dr.line([[-0.1 * k, -0.45 * k], [-0.38 * k, -1.0 * k]], frame, tw)
    dr.line([[-0.46 * k, -1.0 * k], [-0.32 * k, -1.0 * k]], (30, 30, 30), tw * 1.6)
    cot = [[-0.32 * k, -0.42 * k], [0.34 * k, -0.42 * k], [0.38 * k, -0.68 * k], [-0.32 * k, -0.68 * k]]
    dr.poly(cot, body)
    hood = _ellipse_pts(-0.12 * k, -0.68 * k, 0.24 * k, 0.24 * k, n=16, a0=180, a1=360)
    dr.poly(np.vstack([hood, [[-0.12 * k, -0.68 * k]]]), _scale_colour(body, 0.8))
    for a in (200, 240, 290):
        t = np.deg2rad(a)
        dr.line([[-0.12 * k, -0.68 * k], [-0.12 * k + 0.24 * k * np.cos(t), -0.68 * k + 0.24 * k * np.sin(t)]], _scale_colour(body, 0.6), tw * 0.5)
    if rng.random() < 0.5:
        _mirror(dr)
    dr.shade(1.1, 0.85)
    return dr.render((0.0, 0.0), ss=3)


register_object("car", sample=sample_seeded, draw=draw_car, where=("road",), label="car")
register_object("truck", sample=sample_seeded, draw=draw_truck, where=("road",), label="truck")
register_object("bicycle", sample=sample_seeded, draw=draw_bicycle, where=INDOOR_AND_WALKS, label="bicycle")
register_object("wheelchair", sample=sample_seeded, draw=draw_wheelchair, where=INDOOR_AND_WALKS, label="wheelchair")
register_object("stroller", sample=sample_seeded, draw=draw_stroller, where=INDOOR_AND_WALKS, label="stroller")
