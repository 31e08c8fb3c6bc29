"""Waste on the street beyond litter and single bags: street bins (``bin``: a closed sorting or
wheelie bin; ``bin_full``: the same bin with rubbish overflowing out of its lid and spilling
down its front) and ``garbage_pile`` (a heap of loose rubbish or muck on the ground).
:func:`bin_row` lays out a row of sorting bins the way the old unlabelled ``bins`` distractor
did, one labelled sprite per bin. All anchors are the bottom-centre ground contact point.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import (
    _jitter,
    _mix,
    _pick,
    _scale_colour,
    min_scale,
    sample_seeded,
    style_rng,
)
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite

BIN_COLOURS = [(40, 110, 40), (90, 90, 90), (150, 90, 30), (40, 40, 170), (30, 120, 220), (60, 60, 60)]
RUBBISH = [(28, 28, 30), (215, 215, 212), (150, 80, 25), (40, 180, 215), (60, 60, 180), (120, 120, 118),
           (50, 120, 40), (200, 200, 205), (60, 90, 130), (235, 238, 240)]
WALKS = ("near_walk", "near_walk", "far_walk")


def _rubbish_blobs(dr: Drawing, rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, n: int) -> None:
    """Bags, papers, bottles and boxes heaped in the ellipse (cx, cy, rx, ry)."""
    for _ in range(n):
        a = rng.uniform(0, 2 * np.pi)
        r = np.sqrt(rng.uniform(0, 1))
        x, y = cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)
        c = _jitter(rng, _pick(rng, RUBBISH), 10)
        kind = rng.random()
        s = rng.uniform(0.25, 0.5) * min(rx, ry * 2)
        y = min(y, -s)  # nothing sinks below the ground row
        if kind < 0.45:  # a bag
            dr.ellipse(x, y, s, s * rng.uniform(0.7, 1.0), c, angle=rng.uniform(-40, 40))
            dr.ellipse(x - 0.2 * s, y - 0.3 * s, 0.3 * s, 0.15 * s, _mix(c, (255, 255, 255), 0.3))
        elif kind < 0.75:  # paper / carton
            pts = np.array([[-1, -0.6], [1, -0.7], [0.9, 0.6], [-1.1, 0.7]]) * s * 0.7
            dr.poly(pts + [x, y], c)
        else:  # bottle / stick
            ang = rng.uniform(0, np.pi)
            dx, dy = np.cos(ang) * s, np.sin(ang) * s * 0.5
            dr.line([[x - dx, y - dy], [x + dx, y + dy]], c, 0.35 * s)


def sample_bin(rng: np.random.Generator, **overrides) -> dict:
    """Appearance keys (derived from ``seed`` unless given): colour, w_m, h_m, wheelie (bool)."""
    return sample_seeded(rng, **overrides)


def draw_bin(style: dict, ppm: float, full: bool | None = None) -> Sprite:
    """A street bin; ``full`` (default: the style's ``full`` key) heaps rubbish over its lid."""
    rng = style_rng(style)
    colour = style.get("colour") or _jitter(rng, _pick(rng, BIN_COLOURS), 8)
    w_m = float(style.get("w_m") or rng.uniform(0.45, 0.65))
    h_m = float(style.get("h_m") or rng.uniform(0.8, 1.1))
    wheelie = style.get("wheelie", bool(rng.random() < 0.5))
    full = bool(style.get("full", False) if full is None else full)
    k = min_scale(ppm, h_m, 30.0)
    bw, bh = w_m * k, h_m * k
    dr = Drawing()
    body = [[-0.46 * bw, 0], [0.46 * bw, 0], [0.5 * bw, -bh], [-0.5 * bw, -bh]]
    dr.poly(body, colour)
    dr.line([[-0.48 * bw, -0.55 * bh], [0.48 * bw, -0.55 * bh]], _scale_colour(colour, 0.8), 0.03 * bh)
    dr.poly([[-0.2 * bw, -0.8 * bh], [0.2 * bw, -0.8 * bh], [0.2 * bw, -0.62 * bh], [-0.2 * bw, -0.62 * bh]], (230, 230, 230))
    dr.ellipse(0, -0.71 * bh, 0.06 * bw, 0.05 * bh, _scale_colour(colour, 0.9))
    if wheelie:
        for sx in (-0.35, 0.35):
            dr.ellipse(sx * bw, -0.07 * bh, 0.1 * bw, 0.07 * bh, (25, 25, 25))
    lid = _scale_colour(colour, 0.72)
    if full:
        # the lid is pushed up and tilted; rubbish heaps above the rim and spills down the front
        tilt = rng.uniform(-0.25, -0.1) * bh
        dr.poly([[-0.54 * bw, -bh], [0.54 * bw, -bh + tilt * 0.2], [0.52 * bw, -bh + tilt], [-0.5 * bw, -bh - 0.12 * bh]], lid)
        _rubbish_blobs(dr, rng, 0.0, -bh - 0.12 * bh, 0.55 * bw, 0.18 * bh, int(rng.integers(8, 14)))
        for _ in range(int(rng.integers(2, 5))):  # hanging down the front
            x = rng.uniform(-0.4, 0.4) * bw
            y = -bh + rng.uniform(0.05, 0.3) * bh
            dr.ellipse(x, y, rng.uniform(0.08, 0.16) * bw, rng.uniform(0.06, 0.12) * bh, _jitter(rng, _pick(rng, RUBBISH), 10))
        _rubbish_blobs(dr, rng, rng.uniform(-0.3, 0.3) * bw, -0.1 * bh, 0.6 * bw, 0.04 * bh, int(rng.integers(2, 6)))
    else:
        dr.poly([[-0.52 * bw, -bh], [0.52 * bw, -bh], [0.5 * bw, -bh - 0.1 * bh], [-0.5 * bw, -bh - 0.1 * bh]], lid)
        dr.line([[-0.1 * bw, -bh - 0.1 * bh], [0.1 * bw, -bh - 0.1 * bh]], _scale_colour(lid, 0.7), 0.03 * bh)
    dr.shade(1.1, 0.8).texture(2.5, style["seed"])
    return dr.render((0.0, 0.0), ss=3)


def draw_bin_full(style: dict, ppm: float) -> Sprite:
    return draw_bin(style, ppm, full=True)


def bin_row(seed: int) -> list[tuple[float, dict]]:
    """A row of 1-4 sorting bins (green/grey/blue/red): (offset along the row in metres, bin
    style) each, the same random stream the old one-sprite ``bins`` distractor used."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    bw, bh = rng.uniform(0.45, 0.6), rng.uniform(0.8, 1.05)
    out = []
    x = -n * bw / 2
    for i in range(n):
        c = _jitter(rng, BIN_COLOURS[int(rng.integers(0, 4))] if n == 1 else BIN_COLOURS[i % 4], 6)
        out.append((x + bw / 2, {"seed": seed + i, "colour": c, "w_m": bw, "h_m": bh, "wheelie": False}))
        x += bw * 1.04
    return out


def sample_garbage_pile(rng: np.random.Generator, **overrides) -> dict:
    """Appearance keys: w_m, h_m, muck (bool: earth/rubble rather than mixed rubbish)."""
    return sample_seeded(rng, **overrides)


def draw_garbage_pile(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    w_m = float(style.get("w_m") or rng.uniform(0.8, 2.4))
    h_m = float(style.get("h_m") or rng.uniform(0.3, 0.8) * min(1.0, w_m / 1.2))
    muck = style.get("muck", bool(rng.random() < 0.3))
    k = min_scale(ppm, w_m, 40.0)
    w, h = w_m * k, h_m * k
    base = _jitter(rng, _pick(rng, [(60, 85, 110), (80, 90, 95), (50, 70, 90), (110, 120, 125)] if muck else [(70, 75, 80), (55, 60, 70), (90, 100, 110)]), 10)
    n = 18
    t = np.linspace(0, np.pi, n)
    r = 1 + rng.uniform(-0.12, 0.12, n)
    xs, ys = -np.cos(t) * w / 2 * r, -np.sin(t) ** rng.uniform(0.7, 1.3) * h * r
    dr = Drawing()
    dr.poly(np.stack([xs, np.minimum(ys, 0)], 1), base)
    if muck:
        for _ in range(int(rng.integers(10, 20))):
            x = rng.uniform(-0.45, 0.45) * w
            y = -rng.uniform(0, 0.8) * h * (1 - abs(x) / (0.5 * w))
            rr = rng.uniform(0.03, 0.08) * w
            dr.ellipse(x, min(y, -0.6 * rr), rr, rr * 0.6, _scale_colour(base, rng.uniform(0.7, 1.3)))
        _rubbish_blobs(dr, rng, 0.0, -0.4 * h, 0.4 * w, 0.3 * h, int(rng.integers(2, 6)))
    else:
        _rubbish_blobs(dr, rng, 0.0, -0.45 * h, 0.42 * w, 0.4 * h, int(rng.integers(14, 26)))
        _rubbish_blobs(dr, rng, 0.0, -0.16 * h, 0.55 * w, 0.06 * h, int(rng.integers(4, 9)))
    dr.shade(1.1, 0.85).texture(4.0, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


register_object("garbage_pile", sample=sample_garbage_pile, draw=draw_garbage_pile, where=WALKS + ("road",), label="garbage_pile")
register_object("bin", sample=sample_bin, draw=draw_bin, where=WALKS, label="bin")
register_object("bin_full", sample=sample_bin, draw=draw_bin_full, where=WALKS, label="bin_full")
