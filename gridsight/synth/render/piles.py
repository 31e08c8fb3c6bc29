"""Heaps that are not rubbish: ``pile`` (piled sundries: stacked boxes, planks leaning on
them, an old chair or cabinet, sacks) and ``scrap`` (a scrap collector's heap: bundled flattened
cardboard, old appliances, sometimes all loaded on a tricycle cart). Appearances derive from
``style["seed"]``; anchors are the bottom-centre ground contact point.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _pick, _scale_colour, min_scale, sample_seeded, style_rng
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite
from gridsight.synth.render.street_violations import _box
from gridsight.synth.render.vehicles import wheel

CARDBOARD = [(80, 140, 190), (90, 150, 200), (70, 120, 170), (100, 160, 205)]
WOOD = [(60, 110, 160), (50, 90, 140), (90, 140, 180), (40, 70, 110)]


def draw_pile(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    w_m = rng.uniform(0.9, 2.2)
    k = min_scale(ppm, w_m, 44.0)
    w = w_m * k
    dr = Drawing()
    # planks leaning against the back of the heap
    for _ in range(int(rng.integers(0, 4))):
        x = rng.uniform(-0.45, 0.3) * w
        L = rng.uniform(0.9, 1.6) * k
        ang = np.deg2rad(rng.uniform(60, 80))
        dr.line([[x, 0], [x + L * np.cos(ang), -L * np.sin(ang)]], _jitter(rng, _pick(rng, WOOD), 10), rng.uniform(0.06, 0.12) * k)
    x = -0.5 * w
    while x < 0.45 * w:
        bw = min(rng.uniform(0.25, 0.6) * k, 0.5 * w - x)
        item = rng.random()
        if item < 0.55:  # a stack of boxes, slightly off-square
            y = 0.0
            for _ in range(int(rng.integers(1, 4))):
                bh = rng.uniform(0.2, 0.45) * k
                _box(dr, x + rng.normal(0, 0.03) * k, y, bw, bh, _jitter(rng, _pick(rng, CARDBOARD + [(150, 150, 150), (60, 60, 160)]), 12))
                y -= bh * 1.08
        elif item < 0.75:  # an old chair
            c = _jitter(rng, _pick(rng, WOOD + [(40, 40, 40), (200, 200, 200)]), 10)
            sh = 0.45 * k
            for dx in (0.1, 0.9):
                dr.line([[x + dx * bw, 0], [x + dx * bw, -sh]], c, 0.04 * k)
            dr.poly([[x, -sh], [x + bw, -sh], [x + bw, -sh - 0.05 * k], [x, -sh - 0.05 * k]], c)
            dr.poly([[x, -sh], [x + 0.12 * bw, -sh], [x + 0.12 * bw, -sh - 0.45 * k], [x, -sh - 0.45 * k]], c)
        elif item < 0.9:  # a cabinet / drawer unit
            c = _jitter(rng, _pick(rng, WOOD + [(200, 200, 205)]), 10)
            bh = rng.uniform(0.5, 1.0) * k
            dr.poly([[x, 0], [x + bw, 0], [x + bw, -bh], [x, -bh]], c)
            for j in range(1, 3):
                dr.line([[x + 0.05 * bw, -j * bh / 3], [x + 0.95 * bw, -j * bh / 3]], _scale_colour(c, 0.6), 0.015 * k)
        else:  # a woven sack
            c = _jitter(rng, _pick(rng, [(200, 200, 200), (160, 170, 90), (170, 130, 90)]), 10)
            dr.ellipse(x + bw / 2, -0.22 * k, bw / 2, 0.24 * k, c)
        x += bw * 1.02
    dr.shade(1.1, 0.85).texture(3.5, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


def _cardboard_bundle(dr: Drawing, rng, x: float, y: float, w: float, h: float, k: float) -> None:
    """Flattened cardboard sheets stacked and tied with string."""
    n = int(rng.integers(4, 9))
    for i in range(n):
        c = _jitter(rng, _pick(rng, CARDBOARD), 12)
        yy = y - i * h / n
        off = rng.normal(0, 0.03) * w
        dr.poly([[x + off, yy], [x + w + off, yy], [x + w + off, yy - h / n * 1.1], [x + off, yy - h / n * 1.1]], c)
    for t in (0.3, 0.7):
        dr.line([[x + t * w, y], [x + t * w, y - h]], (200, 200, 200), 0.012 * k)


def draw_scrap(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    cart = style.get("cart", bool(rng.random() < 0.45))
    w_m = rng.uniform(1.2, 2.2)
    k = min_scale(ppm, w_m, 48.0)
    w = w_m * k
    dr = Drawing()
    base = 0.0
    if cart:  # a tricycle cargo cart: two wheels under the bed, the bike half in front
        cargo = _jitter(rng, _pick(rng, [(50, 110, 40), (40, 40, 40), (40, 60, 140), (150, 100, 40)]), 8)
        for cx in (-0.35 * w, 0.15 * w):
            wheel(dr, cx, -0.25 * k, 0.25 * k, (30, 30, 30), 0.04 * k)
        wheel(dr, 0.62 * w, -0.25 * k, 0.25 * k, (30, 30, 30), 0.04 * k)
        base = -0.45 * k
        dr.poly([[-0.5 * w, base], [0.3 * w, base], [0.3 * w, base - 0.06 * k], [-0.5 * w, base - 0.06 * k]], cargo)
        dr.line([[0.3 * w, base], [0.55 * w, -0.9 * k], [0.62 * w, -0.25 * k]], cargo, 0.04 * k)
        dr.line([[0.5 * w, -0.95 * k], [0.62 * w, -0.95 * k]], (30, 30, 30), 0.05 * k)
        base -= 0.06 * k
        x0, x1 = -0.5 * w, 0.3 * w
    else:
        x0, x1 = -0.5 * w, 0.5 * w
    x = x0
    while x < x1 - 0.1 * k:
        bw = min(rng.uniform(0.35, 0.7) * k, x1 - x)
        item = rng.random()
        if item < 0.55:
            _cardboard_bundle(dr, rng, x, base, bw, rng.uniform(0.3, 0.7) * k, k)
        elif item < 0.8:  # an old washing machine / fridge / TV
            c = _jitter(rng, _pick(rng, [(225, 225, 225), (200, 200, 200), (40, 40, 40), (180, 180, 170)]), 8)
            bh = rng.uniform(0.5, 0.9) * k
            dr.poly([[x, base], [x + bw, base], [x + bw, base - bh], [x, base - bh]], c)
            if rng.random() < 0.5:
                dr.ellipse(x + bw / 2, base - bh * 0.45, bw * 0.3, bw * 0.3, (90, 90, 95))
            else:
                dr.line([[x + 0.1 * bw, base - 0.2 * bh], [x + 0.9 * bw, base - 0.2 * bh]], _scale_colour(c, 0.6), 0.02 * k)
        else:  # tangled metal, bottles in a sack
            c = _jitter(rng, _pick(rng, [(200, 200, 200), (120, 120, 125), (100, 140, 170)]), 10)
            dr.ellipse(x + bw / 2, base - 0.25 * k, bw / 2, 0.26 * k, c)
            for _ in range(4):
                a, b = rng.uniform(0, bw, 2)
                dr.line([[x + a, base - rng.uniform(0.1, 0.5) * k], [x + b, base - rng.uniform(0.1, 0.6) * k]], (90, 90, 95), 0.02 * k)
        x += bw * 1.03
    if rng.random() < 0.5:  # a second layer of cardboard on top
        _cardboard_bundle(dr, rng, x0 + 0.1 * w, base - 0.5 * k, 0.5 * (x1 - x0), rng.uniform(0.2, 0.4) * k, k)
    dr.shade(1.1, 0.85).texture(3.5, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


register_object("pile", sample=sample_seeded, draw=draw_pile, where=("near_walk", "far_walk", "floor"), label="pile")
register_object("scrap", sample=sample_seeded, draw=draw_scrap, where=("near_walk", "far_walk", "near_walk"), label="scrap")
