"""The electric scooter-style two-wheeler (``ebike``), side-on: small thick wheels, a
step-through frame with a flat footboard, a battery box under the seat, no pedals, a front
shield, handlebars with mirrors, often a front basket and a rear box. The anchor is the
bottom-centre ground contact point; named point ``socket`` is the battery's charging socket
(where a charging cable plugs in).
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _mix, _pick, _scale_colour, min_scale, sample_seeded, style_rng
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite, _ellipse_pts

EBIKE_COLOURS = [(235, 235, 235), (40, 40, 40), (40, 40, 180), (200, 130, 40), (60, 160, 230), (150, 150, 155),
                 (90, 170, 60), (180, 120, 220), (40, 200, 240)]


def sample_ebike(rng: np.random.Generator, **overrides) -> dict:
    """Appearance keys (derived from ``seed`` unless given): colour, basket, rear_box, facing ("left"/"right")."""
    return sample_seeded(rng, **overrides)


def draw_ebike(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    col = style.get("colour") or _jitter(rng, _pick(rng, EBIKE_COLOURS), 8)
    basket = style.get("basket", bool(rng.random() < 0.6))
    rear_box = style.get("rear_box", bool(rng.random() < 0.35))
    facing = style.get("facing") or _pick(rng, ["left", "right"])
    k = min_scale(ppm, 1.6, 44.0)
    r, tw = rng.uniform(0.2, 0.25) * k, 0.07 * k
    wb = rng.uniform(1.1, 1.3) * k
    dark = (28, 28, 30)
    dr = Drawing()
    for cx in (-wb / 2, wb / 2):
        pts = _ellipse_pts(cx, -r, r, r, n=32)
        dr.line(np.vstack([pts, pts[:1]]), dark, tw)
        dr.ellipse(cx, -r, 0.45 * r, 0.45 * r, (150, 150, 155))
        dr.ellipse(cx, -r, 0.15 * r, 0.15 * r, (60, 60, 60))
    # rear fender/body, footboard, battery box, seat
    dr.poly([[-wb / 2 - 0.1 * k, -1.6 * r], [-wb / 2 + 0.05 * k, -2.6 * r], [-0.05 * k, -2.7 * r], [0.02 * k, -1.3 * r], [-0.2 * k, -1.0 * r]], col)
    dr.poly([[-0.25 * k, -0.9 * r], [0.3 * k, -0.9 * r], [0.3 * k, -1.35 * r], [-0.25 * k, -1.35 * r]], _scale_colour(col, 0.7))
    bat = _jitter(rng, _pick(rng, [(30, 30, 30), (60, 60, 60), (200, 200, 200)]), 6)
    dr.poly([[-0.3 * k, -1.4 * r], [-0.02 * k, -1.4 * r], [-0.02 * k, -2.3 * r], [-0.3 * k, -2.3 * r]], bat)
    dr.point("socket", -0.16 * k, -1.85 * r)
    dr.ellipse(-0.16 * k, -1.85 * r, 0.02 * k, 0.02 * k, (20, 20, 20))
    dr.poly([[-wb / 2 + 0.0 * k, -2.75 * r], [0.0, -2.9 * r], [0.05 * k, -3.15 * r], [-wb / 2 - 0.02 * k, -3.05 * r]], _pick(rng, [(25, 25, 25), (40, 50, 80), (70, 60, 50)]))
    # front shield and fork to the handlebar, mirrors, headlight
    hx = wb / 2 - 0.12 * k
    dr.line([[wb / 2, -r], [hx, -4.1 * r]], (60, 60, 62), 0.05 * k)
    dr.poly([[0.3 * k, -0.9 * r], [0.45 * k, -0.9 * r], [hx + 0.05 * k, -3.4 * r], [hx - 0.12 * k, -3.6 * r], [0.25 * k, -2.2 * r]], col)
    dr.line([[hx - 0.18 * k, -4.2 * r], [hx + 0.08 * k, -4.15 * r]], dark, 0.045 * k)
    for dx in (-0.12, 0.04):
        dr.line([[hx + dx * k, -4.2 * r], [hx + dx * k - 0.03 * k, -5.0 * r]], (80, 80, 80), 0.02 * k)
        dr.ellipse(hx + dx * k - 0.03 * k, -5.05 * r, 0.05 * k, 0.03 * k, (40, 40, 40))
    dr.ellipse(hx + 0.08 * k, -3.7 * r, 0.05 * k, 0.045 * k, _mix(col, (240, 250, 255), 0.8))
    if basket:
        bc = _pick(rng, [(40, 40, 40), (200, 200, 200), (60, 60, 160)])
        bx = hx + 0.08 * k
        dr.poly([[bx - 0.02 * k, -3.3 * r], [bx + 0.32 * k, -3.3 * r], [bx + 0.28 * k, -4.3 * r], [bx - 0.04 * k, -4.3 * r]], bc)
        for t in np.linspace(0.15, 0.85, 4):
            dr.line([[bx + t * 0.3 * k, -3.35 * r], [bx + t * 0.28 * k, -4.25 * r]], _scale_colour(bc, 0.6), 0.012 * k)
    if rear_box:
        box = _pick(rng, [(40, 40, 40), (60, 60, 170), (200, 200, 200), (40, 160, 230)])
        dr.poly([[-wb / 2 - 0.2 * k, -3.0 * r], [-wb / 2 + 0.15 * k, -3.0 * r], [-wb / 2 + 0.13 * k, -4.3 * r], [-wb / 2 - 0.18 * k, -4.3 * r]], box)
    if facing == "left":
        dr.ops = [(op[0], op[1] * [-1, 1], *op[2:]) for op in dr.ops]
        dr.points = {n: p * [-1, 1] for n, p in dr.points.items()}
    dr.shade(1.12, 0.82).texture(2.5, style["seed"])
    return dr.render((0.0, 0.0), ss=3)


register_object("ebike", sample=sample_ebike, draw=draw_ebike, where=("near_walk", "far_walk", "floor"), label="ebike")
