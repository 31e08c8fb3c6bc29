"""Things that occupy the pavement or road: a vendor's ``stall`` (cart or table with produce),
a vendor's ``umbrella`` (big parasol, or a pop-up tent), shop ``goods`` put out on the
pavement (cardboard boxes, crates of bottles, a clothes rack), a ``billboard`` (A-frame or
sign board on a stand), a barbecue ``grill`` with coals and smoke, a traffic ``cone`` (drawn
as the old unlabelled distractor) and a construction ``barrier`` (red-white plastic barrier,
blue hoarding panels or mesh fence panels). Appearances derive from ``style["seed"]``;
anchors are the bottom-centre ground contact point.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _mix, _pick, _scale_colour, min_scale, sample_seeded, style_rng
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite, _ellipse_pts
from gridsight.synth.render.vehicles import wheel

WALKS = ("near_walk", "near_walk", "far_walk")
BRIGHT = [(30, 30, 200), (40, 180, 230), (40, 140, 40), (170, 90, 30), (30, 120, 240), (200, 200, 200), (120, 40, 160), (40, 200, 200)]
PRODUCE = [(40, 40, 200), (30, 140, 240), (40, 200, 230), (50, 160, 60), (30, 100, 50), (60, 30, 130), (80, 200, 160), (200, 200, 230)]


def _box(dr: Drawing, x: float, y: float, w: float, h: float, colour) -> None:
    """A box standing on row y with its left edge at x, a lit top face."""
    dr.poly([[x, y], [x + w, y], [x + w, y - h], [x, y - h]], colour)
    dr.poly([[x, y - h], [x + w, y - h], [x + w * 0.92, y - h * 1.12], [x + w * 0.08, y - h * 1.12]], _scale_colour(colour, 1.18))


def _glyphs(dr: Drawing, rng, x0, y0, x1, y1, ink) -> None:
    """Scribbled text lines in the rectangle (x0, y0)-(x1, y1)."""
    rows = int(rng.integers(1, 4))
    lh = (y1 - y0) / (rows + 1)
    for i in range(rows):
        y = y0 + (i + 1) * lh
        x = x0 + 0.08 * (x1 - x0)
        while x < x1 - 0.15 * (x1 - x0):
            g = 0.6 * lh
            dr.line([[x, y - g / 2], [x + g * rng.uniform(0.3, 0.9), y + g * rng.uniform(-0.5, 0.5)]], ink, max(0.5, 0.18 * g))
            x += g * 1.3


def _produce(dr: Drawing, rng, x0, x1, y, size) -> None:
    """Rows of round fruit and veg heaped on row y between x0 and x1."""
    for layer in range(3):
        n = max(2, int((x1 - x0) / size))
        for i in range(n):
            c = _jitter(rng, _pick(rng, PRODUCE), 15)
            cx = x0 + (i + 0.5 + 0.5 * (layer % 2)) * (x1 - x0) / (n + 0.5)
            dr.ellipse(cx, y - size * (0.45 + 0.7 * layer), size * 0.55, size * 0.5, c)


def draw_stall(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    cart = style.get("cart", bool(rng.random() < 0.5))
    w_m = rng.uniform(1.2, 2.0)
    k = min_scale(ppm, w_m, 48.0)
    w, th = w_m * k, rng.uniform(0.75, 0.95) * k
    top = _jitter(rng, _pick(rng, [(60, 100, 150), (170, 170, 175), (40, 70, 110), (200, 200, 200), (50, 120, 200)]), 10)
    dr = Drawing()
    if cart:  # a tricycle/hand cart: wheels under a flat bed
        for cx in (-0.3 * w, 0.3 * w):
            wheel(dr, cx, -0.18 * k, 0.18 * k, (30, 30, 30), 0.04 * k)
        dr.line([[0.5 * w, -th], [0.75 * w, -th - 0.1 * k]], (60, 60, 60), 0.03 * k)
    else:
        for x in (-0.45 * w, 0.45 * w):
            dr.line([[x, 0], [x, -th]], (70, 70, 72), 0.035 * k)
    dr.poly([[-0.5 * w, -th + 0.08 * k], [0.5 * w, -th + 0.08 * k], [0.5 * w, -th], [-0.5 * w, -th]], top)
    if rng.random() < 0.6:  # a cloth hanging off the table front
        cloth = _jitter(rng, _pick(rng, BRIGHT), 10)
        dr.poly([[-0.5 * w, -th], [0.5 * w, -th], [0.48 * w, -th + 0.45 * k], [-0.48 * w, -th + 0.45 * k]], cloth)
    crate = _jitter(rng, _pick(rng, [(40, 90, 160), (40, 40, 170), (60, 140, 60), (60, 60, 60)]), 10)
    x = -0.48 * w
    while x < 0.4 * w:
        cw = rng.uniform(0.3, 0.5) * k
        cw = min(cw, 0.48 * w - x)
        dr.poly([[x, -th], [x + cw, -th], [x + cw, -th - 0.18 * k], [x, -th - 0.18 * k]], crate)
        _produce(dr, rng, x + 0.02 * k, x + cw - 0.02 * k, -th - 0.12 * k, rng.uniform(0.07, 0.11) * k)
        x += cw + 0.03 * k
    if rng.random() < 0.4:  # scales
        dr.poly([[0.3 * w, -th], [0.45 * w, -th], [0.45 * w, -th - 0.1 * k], [0.3 * w, -th - 0.1 * k]], (200, 200, 205))
    dr.shade(1.1, 0.85).texture(3.0, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


def draw_umbrella(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    tent = style.get("tent", bool(rng.random() < 0.3))
    d_m = rng.uniform(1.8, 3.0)
    k = min_scale(ppm, d_m, 56.0)
    d, h = d_m * k, rng.uniform(2.0, 2.5) * k
    a = _jitter(rng, _pick(rng, BRIGHT + [(30, 30, 200)]), 10)
    b = _pick(rng, [(235, 235, 235), _scale_colour(a, 0.7), (40, 200, 240)])
    dr = Drawing()
    if tent:
        for x in (-0.48 * d, 0.48 * d):
            dr.line([[x, 0], [x, -h * 0.85]], (170, 170, 175), 0.04 * k)
        dr.poly([[-0.52 * d, -h * 0.85], [0.52 * d, -h * 0.85], [0.52 * d, -h * 0.78], [-0.52 * d, -h * 0.78]], b)
        dr.poly([[-0.52 * d, -h * 0.85], [0.52 * d, -h * 0.85], [0.0, -h * 1.12]], a)
        for i in range(6):  # valance scallops
            cx = -0.52 * d + (i + 0.5) * 1.04 * d / 6
            dr.ellipse(cx, -h * 0.78, 1.04 * d / 12, 0.05 * h, a, n=12)
    else:
        dr.line([[0, 0], [0, -h]], (180, 180, 185), 0.04 * k)
        dr.poly([[-0.12 * k, 0], [0.12 * k, 0], [0.1 * k, -0.08 * k], [-0.1 * k, -0.08 * k]], (60, 60, 60))
        n = 8  # gores, alternating colours, from the apex to the near half of the rim
        rim = _ellipse_pts(0, -h * 0.86, d / 2, 0.1 * h, n=2 * n + 1, a0=0, a1=180.01)
        apex = np.array([0.0, -h * 1.05])
        for i in range(n):
            dr.poly([apex, rim[2 * i], rim[2 * i + 1], rim[min(2 * i + 2, len(rim) - 1)]], a if i % 2 == 0 else b)
    dr.shade(1.15, 0.85)
    return dr.render((0.0, 0.0), ss=2)


def draw_goods(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    kind = style.get("kind") or _pick(rng, ["boxes", "crates", "rack", "mixed"])
    w_m = rng.uniform(0.8, 2.0)
    k = min_scale(ppm, w_m, 40.0)
    w = w_m * k
    dr = Drawing()
    if kind == "rack":  # a clothes rail with garments
        h = rng.uniform(1.3, 1.7) * k
        for x in (-0.5 * w, 0.5 * w):
            dr.line([[x, 0], [x, -h]], (170, 170, 175), 0.03 * k)
        dr.line([[-0.5 * w, -h], [0.5 * w, -h]], (170, 170, 175), 0.03 * k)
        x = -0.45 * w
        while x < 0.42 * w:
            gw = rng.uniform(0.12, 0.2) * k
            c = _jitter(rng, _pick(rng, BRIGHT + [(30, 30, 30), (160, 130, 100)]), 15)
            gl = rng.uniform(0.5, 0.95) * k
            dr.poly([[x, -h + 0.05 * k], [x + gw, -h + 0.05 * k], [x + gw * 1.1, -h + gl], [x - gw * 0.1, -h + gl]], c)
            x += gw * 0.8
        return dr.render((0.0, 0.0), ss=2)
    x = -0.5 * w
    while x < 0.45 * w:
        col_kind = kind if kind != "mixed" else _pick(rng, ["boxes", "crates"])
        bw = min(rng.uniform(0.3, 0.55) * k, 0.5 * w - x)
        y = 0.0
        for _ in range(int(rng.integers(1, 4))):
            bh = rng.uniform(0.2, 0.4) * k
            if col_kind == "boxes":
                c = _jitter(rng, _pick(rng, [(80, 140, 190), (90, 150, 200), (200, 200, 200), (60, 60, 170), (150, 90, 30)]), 12)
                _box(dr, x, y, bw, bh, c)
                if rng.random() < 0.6:
                    _glyphs(dr, rng, x + 0.1 * bw, y - 0.8 * bh, x + 0.9 * bw, y - 0.3 * bh, _pick(rng, [(30, 30, 170), (30, 30, 30), (150, 60, 20)]))
            else:
                c = _jitter(rng, _pick(rng, [(40, 40, 170), (150, 90, 30), (40, 140, 40), (40, 180, 220)]), 10)
                dr.poly([[x, y], [x + bw, y], [x + bw, y - bh], [x, y - bh]], c)
                bottle = _jitter(rng, _pick(rng, [(90, 150, 70), (200, 200, 200), (40, 90, 150), (30, 30, 30)]), 10)
                for i in range(4):
                    bx = x + (i + 0.5) * bw / 4
                    dr.line([[bx, y - 0.6 * bh], [bx, y - 1.25 * bh]], bottle, bw / 7)
                for i in range(1, 3):
                    dr.line([[x, y - i * bh / 3], [x + bw, y - i * bh / 3]], _scale_colour(c, 0.7), 0.02 * k)
            y -= bh * 1.1
        x += bw * 1.05
    dr.shade(1.1, 0.85).texture(2.5, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


def draw_billboard(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    aframe = style.get("aframe", bool(rng.random() < 0.6))
    k = min_scale(ppm, 1.2, 36.0)
    bg = _jitter(rng, _pick(rng, BRIGHT + [(30, 30, 30), (235, 235, 235)]), 10)
    ink = (240, 240, 240) if sum(bg) < 420 else (30, 30, 170)
    dr = Drawing()
    if aframe:
        w, h = rng.uniform(0.55, 0.8) * k, rng.uniform(0.9, 1.2) * k
        dr.poly([[-0.5 * w, 0], [0.5 * w, 0], [0.4 * w, -h], [-0.4 * w, -h]], (60, 60, 60))
        dr.poly([[-0.45 * w, -0.05 * h], [0.45 * w, -0.05 * h], [0.37 * w, -0.95 * h], [-0.37 * w, -0.95 * h]], bg)
        x0, y0, x1, y1 = -0.35 * w, -0.9 * h, 0.35 * w, -0.15 * h
    else:  # a sign board on a stand (or a roll-up banner stand)
        w, h = rng.uniform(0.6, 1.2) * k, rng.uniform(1.2, 1.9) * k
        dr.poly([[-0.3 * w, 0], [0.3 * w, 0], [0.3 * w, -0.05 * k], [-0.3 * w, -0.05 * k]], (50, 50, 50))
        dr.line([[0, 0], [0, -0.3 * h]], (150, 150, 150), 0.04 * k)
        dr.poly([[-0.5 * w, -0.25 * h], [0.5 * w, -0.25 * h], [0.5 * w, -h], [-0.5 * w, -h]], bg)
        x0, y0, x1, y1 = -0.42 * w, -0.95 * h, 0.42 * w, -0.3 * h
    if rng.random() < 0.5:
        dr.ellipse((x0 + x1) / 2, y0 + 0.3 * (y1 - y0), 0.25 * (x1 - x0), 0.15 * (y1 - y0), _jitter(rng, _pick(rng, BRIGHT), 20))
    _glyphs(dr, rng, x0, y0 + 0.4 * (y1 - y0), x1, y1, ink)
    dr.texture(2.0, style["seed"])
    return dr.render((0.0, 0.0), ss=3)


def draw_grill(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    w_m = rng.uniform(0.7, 1.3)
    k = min_scale(ppm, w_m, 36.0)
    w, h = w_m * k, rng.uniform(0.7, 0.9) * k
    metal = _jitter(rng, _pick(rng, [(40, 40, 42), (120, 120, 125), (60, 60, 60)]), 8)
    dr = Drawing()
    for x in (-0.42 * w, 0.42 * w):
        dr.line([[x, 0], [x * 0.9, -h + 0.2 * k]], metal, 0.035 * k)
    dr.poly([[-0.5 * w, -h + 0.22 * k], [0.5 * w, -h + 0.22 * k], [0.5 * w, -h], [-0.5 * w, -h]], metal)
    coal = [(20, 60, 220), (30, 120, 250), (40, 40, 160), (30, 30, 40)]
    for _ in range(int(rng.integers(10, 20))):
        dr.ellipse(rng.uniform(-0.45, 0.45) * w, -h - rng.uniform(0, 0.04) * k, 0.035 * k, 0.025 * k, _pick(rng, coal))
    for i in range(int(rng.integers(3, 8))):  # skewers
        x = rng.uniform(-0.4, 0.4) * w
        dr.line([[x - 0.15 * k, -h - 0.05 * k], [x + 0.15 * k, -h - 0.07 * k]], _jitter(rng, (40, 80, 150), 15), 0.025 * k)
    smoke = _jitter(rng, (200, 200, 205), 10)
    for i in range(int(rng.integers(3, 6))):
        r = (0.08 + 0.05 * i) * k
        dr.ellipse(rng.normal(0, 0.05 * w) + 0.05 * i * k, -h - 0.1 * k - 0.12 * i * k, r, r * 0.7, _mix(smoke, (255, 255, 255), 0.1 * i))
    dr.shade(1.1, 0.9).texture(3.0, style["seed"])
    return dr.render((0.0, 0.0), ss=3)


def draw_cone(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    ppm = min_scale(ppm, 0.6, 20.0)
    h = rng.uniform(0.45, 0.75) * ppm
    orange = _jitter(rng, (20, 100, 240), 8)
    dr = Drawing()
    dr.poly([[-0.32 * h, 0], [0.32 * h, 0], [0.32 * h, -0.06 * h], [-0.32 * h, -0.06 * h]], _scale_colour(orange, 0.6))
    dr.poly([[-0.22 * h, -0.06 * h], [0.22 * h, -0.06 * h], [0.05 * h, -h], [-0.05 * h, -h]], orange)
    dr.poly([[-0.15 * h, -0.4 * h], [0.15 * h, -0.4 * h], [0.12 * h, -0.55 * h], [-0.12 * h, -0.55 * h]], (235, 235, 235))
    return dr.render((0.0, 0.0), ss=4)


def draw_barrier(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    kind = style.get("kind") or _pick(rng, ["plastic", "hoarding", "mesh"], [0.4, 0.35, 0.25])
    n = int(style.get("panels") or rng.integers(1, 4))
    pw_m = {"plastic": 1.5, "hoarding": 2.0, "mesh": 2.2}[kind]
    k = min_scale(ppm, pw_m * n, 50.0)
    pw = pw_m * k
    h = {"plastic": rng.uniform(0.8, 1.0), "hoarding": rng.uniform(1.8, 2.4), "mesh": rng.uniform(1.6, 2.0)}[kind] * k
    dr = Drawing()
    x0 = -n * pw / 2
    for i in range(n):
        x = x0 + i * pw
        if kind == "plastic":
            red = _jitter(rng, _pick(rng, [(30, 30, 200), (20, 110, 240), (40, 180, 220)]), 8)
            dr.poly([[x + 0.02 * pw, 0], [x + 0.98 * pw, 0], [x + 0.95 * pw, -h], [x + 0.05 * pw, -h]], red)
            for j in range(4):
                sx = x + (0.15 + 0.2 * j) * pw
                dr.poly([[sx, -0.25 * h], [sx + 0.08 * pw, -0.25 * h], [sx + 0.14 * pw, -0.85 * h], [sx + 0.06 * pw, -0.85 * h]], (235, 235, 235))
        elif kind == "hoarding":
            blue = _jitter(rng, _pick(rng, [(160, 90, 30), (150, 110, 40), (40, 130, 40), (200, 200, 200)]), 8)
            dr.poly([[x, 0], [x + pw, 0], [x + pw, -h], [x, -h]], blue)
            dr.poly([[x, -0.1 * h], [x + pw, -0.1 * h], [x + pw, -0.16 * h], [x, -0.16 * h]], (235, 235, 235))
            dr.line([[x + pw, 0], [x + pw, -h]], _scale_colour(blue, 0.7), 0.02 * k)
            if rng.random() < 0.5:
                _glyphs(dr, rng, x + 0.1 * pw, -0.75 * h, x + 0.9 * pw, -0.35 * h, (235, 235, 235))
        else:
            frame = _jitter(rng, _pick(rng, [(180, 180, 185), (40, 160, 220), (40, 40, 190)]), 8)
            dr.poly([[x + 0.05 * pw, -0.02 * k], [x + 0.25 * pw, -0.02 * k], [x + 0.25 * pw, -0.12 * k], [x + 0.05 * pw, -0.12 * k]], (60, 60, 60))
            dr.line([[x, -0.1 * k], [x + pw, -0.1 * k], [x + pw, -h], [x, -h], [x, -0.1 * k]], frame, 0.035 * k)
            for j in range(1, 10):
                xx = x + j * pw / 10
                dr.line([[xx, -0.1 * k], [xx, -h]], _scale_colour(frame, 0.8), 0.01 * k)
            for j in range(1, 6):
                yy = -0.1 * k - j * (h - 0.1 * k) / 6
                dr.line([[x, yy], [x + pw, yy]], _scale_colour(frame, 0.8), 0.01 * k)
    dr.shade(1.1, 0.85).texture(2.0, style["seed"])
    return dr.render((0.0, 0.0), ss=2)


register_object("stall", sample=sample_seeded, draw=draw_stall, where=WALKS, label="stall")
register_object("umbrella", sample=sample_seeded, draw=draw_umbrella, where=WALKS, label="umbrella")
register_object("goods", sample=sample_seeded, draw=draw_goods, where=("far_walk", "far_walk", "near_walk"), label="goods")
register_object("billboard", sample=sample_seeded, draw=draw_billboard, where=WALKS, label="billboard")
register_object("grill", sample=sample_seeded, draw=draw_grill, where=WALKS, label="grill")
register_object("cone", sample=sample_seeded, draw=draw_cone, where=("road", "near_walk"), label="cone")
register_object("barrier", sample=sample_seeded, draw=draw_barrier, where=("road", "near_walk", "far_walk"), label="barrier")
