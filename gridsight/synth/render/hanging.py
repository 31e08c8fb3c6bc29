"""Things that hang or trail: charging ``cable`` (flying-wire charging), ``laundry`` on a line or
pole, ``banner`` (small illegal ads and cloth banners) and the ``power_strip`` on the floor.

Anchors (the point the sprite's ``(x, y)`` refers to):

* ``cable``, ``mode="hanging"`` (the default): the top attachment point, i.e. the window the
  cable comes out of; the cable falls ``length_m`` metres (style key) and ends in a charger
  brick. ``mode="wall"``: the point where the cable reaches the floor; it runs up the wall
  ``height_m`` and along it ``length_m``. ``mode="floor"``: bottom-centre of a cable lying
  on the floor ``length_m`` long (``direction`` +1/-1 = which way it runs from the anchor).
* ``laundry``: the middle of the line/pole the clothes hang from (the garments hang below).
* ``banner``: the top-centre of the sheet.
* ``power_strip``: bottom-centre ground contact point.

Hanging sprites (cable hanging, laundry, banner) have ``Sprite.hanging`` set, so they get no
contact shadow; give them a ``depth`` (e.g. the facade's foot row) when they hang in front of
a wall. Appearances derive from ``style["seed"]``.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import _jitter, _mix, _pick, _scale_colour, min_scale, sample_seeded, style_rng
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite
from gridsight.synth.render.street_violations import BRIGHT, _glyphs

CABLE_COLOURS = [(30, 30, 30), (235, 235, 235), (40, 40, 40), (60, 60, 160), (200, 200, 200), (40, 160, 230)]
CLOTHES = BRIGHT + [(30, 30, 30), (235, 235, 235), (150, 100, 60), (160, 130, 200), (100, 100, 100)]


def _charger(dr: Drawing, x: float, y: float, k: float, w: float) -> None:
    s = max(3.0, 0.09 * k, 2.2 * w)
    dr.poly([[x - s / 2, y - s * 0.7], [x + s / 2, y - s * 0.7], [x + s / 2, y + s * 0.7], [x - s / 2, y + s * 0.7]], (35, 35, 38))


def draw_cable(style: dict, ppm: float, mode: str | None = None) -> Sprite:
    rng = style_rng(style)
    mode = mode or style.get("mode", "hanging")
    colour = style.get("colour") or _jitter(rng, _pick(rng, CABLE_COLOURS), 6)
    length_m = float(style.get("length_m") or rng.uniform(2.5, 6.0))
    k = float(ppm)
    w = max(2.5, 0.03 * k)
    dr = Drawing()
    if mode == "hanging":
        n = 24
        t = np.linspace(0, 1, n)
        sway = rng.uniform(-0.4, 0.4) * k
        xs = sway * t ** 1.5 + rng.uniform(0.05, 0.2) * k * np.sin(t * np.pi * rng.uniform(1, 3))
        ys = t * length_m * k
        pts = np.stack([xs, ys], 1)
        pts = np.vstack([[[-0.15 * k * rng.choice([-1, 1]), -0.05 * k]], pts])  # the bit coming out of the window
        dr.line(pts, colour, w)
        _charger(dr, xs[-1], ys[-1] - 0.1 * k, k, w)
        dr.line([[xs[-1], ys[-1]], [xs[-1] + rng.uniform(-0.6, 0.6) * k, ys[-1] + rng.uniform(0.05, 0.3) * k]], colour, w)
        sprite = dr.render((0.0, 0.0), ss=3)
        sprite.hanging = True
        return sprite
    if mode == "wall":
        h = float(style.get("height_m") or rng.uniform(0.6, 1.8)) * k
        d = float(style.get("direction") or rng.choice([-1, 1]))
        pts = [[0.0, 0.0], [0.0, -h], [d * length_m * k * 0.5, -h - rng.uniform(-0.1, 0.1) * k], [d * length_m * k, -h]]
        dr.line(pts, colour, w)
        _charger(dr, 0.0, -0.3 * h, k, w)
        return dr.render((0.0, 0.0), ss=3)
    # floor: a wiggly run along the floor with the charger brick on it
    d = float(style.get("direction") or rng.choice([-1, 1]))
    n = 16
    xs = d * np.linspace(0, length_m * k, n)
    ys = -np.abs(np.cumsum(rng.normal(0, 0.04 * k, n)))
    dr.line(np.stack([xs, ys], 1), colour, w)
    j = int(rng.integers(4, n - 4))
    _charger(dr, xs[j], ys[j], k, w)
    x0, _, x1, y1 = dr.bounds()
    return dr.render(((x0 + x1) / 2, y1), ss=3)


def draw_power_strip(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    body = style.get("colour") or _pick(rng, [(235, 235, 235), (225, 230, 230), (30, 30, 30), (200, 200, 200)])
    L_m = rng.uniform(0.3, 0.5)
    k = min_scale(ppm, L_m, 30.0)
    L, D, Hh = L_m * k, 0.06 * k, 0.04 * k
    skew = rng.uniform(0.1, 0.4) * D  # the top face seen slightly from above
    dr = Drawing()
    dr.poly([[-L / 2, 0], [L / 2, 0], [L / 2, -Hh], [-L / 2, -Hh]], _scale_colour(body, 0.75))
    top = [[-L / 2, -Hh], [L / 2, -Hh], [L / 2 + skew, -Hh - D], [-L / 2 + skew, -Hh - D]]
    dr.poly(top, body)
    n = int(rng.integers(3, 7))
    for i in range(n):
        cx = -L / 2 + (i + 0.7) * L / (n + 0.6)
        dr.ellipse(cx + skew / 2, -Hh - D / 2, 0.3 * L / (n + 1), 0.3 * D, (60, 60, 60))
        if rng.random() < 0.4:  # a plug in it
            plug = _pick(rng, [(30, 30, 30), (235, 235, 235)])
            dr.poly([[cx - 0.025 * k, -Hh - 0.2 * D], [cx + 0.025 * k, -Hh - 0.2 * D], [cx + 0.025 * k, -Hh - 0.06 * k], [cx - 0.025 * k, -Hh - 0.06 * k]], plug)
    dr.ellipse(-L / 2 + 0.05 * k, -Hh - D / 2, 0.012 * k, 0.012 * k, (40, 40, 200))  # the red switch
    dr.line([[L / 2, -Hh / 2], [L / 2 + rng.uniform(0.1, 0.3) * k, -Hh / 2 + rng.uniform(-0.05, 0.02) * k]], (40, 40, 40), max(1.5, 0.015 * k))
    dr.shade(1.1, 0.85)
    return dr.render((0.0, 0.0), ss=4)


def _garment(dr: Drawing, rng, x: float, y: float, k: float) -> float:
    """One garment pegged on the line at (x, y); returns its width."""
    c = _jitter(rng, _pick(rng, CLOTHES), 15)
    kind = rng.random()
    if kind < 0.4:  # a shirt
        w, h = rng.uniform(0.4, 0.6) * k, rng.uniform(0.55, 0.75) * k
        dr.poly([[x, y], [x + w, y], [x + w * 1.15, y + 0.3 * h], [x + w * 0.85, y + 0.35 * h], [x + w * 0.85, y + h],
                 [x + w * 0.15, y + h], [x + w * 0.15, y + 0.35 * h], [x - w * 0.15, y + 0.3 * h]], c)
    elif kind < 0.65:  # trousers
        w, h = rng.uniform(0.35, 0.45) * k, rng.uniform(0.8, 1.0) * k
        dr.poly([[x, y], [x + w, y], [x + w, y + h], [x + 0.55 * w, y + h], [x + 0.5 * w, y + 0.3 * h], [x + 0.45 * w, y + h], [x, y + h]], c)
    elif kind < 0.85:  # a towel / sheet
        w, h = rng.uniform(0.4, 0.9) * k, rng.uniform(0.5, 1.1) * k
        dr.poly([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], c)
        dr.line([[x, y + 0.85 * h], [x + w, y + 0.85 * h]], _mix(c, (255, 255, 255), 0.4), 0.03 * k)
    else:  # a dress
        w, h = rng.uniform(0.35, 0.5) * k, rng.uniform(0.8, 1.1) * k
        dr.poly([[x + 0.2 * w, y], [x + 0.8 * w, y], [x + 1.2 * w, y + h], [x - 0.2 * w, y + h]], c)
    return w


def draw_laundry(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    length_m = float(style.get("length_m") or rng.uniform(1.5, 3.0))
    k = min_scale(ppm, length_m, 60.0)
    L = length_m * k
    sag = rng.uniform(0.0, 0.15) * k
    rope = _pick(rng, [(200, 200, 200), (60, 60, 60), (170, 170, 175)])
    xs = np.linspace(-L / 2, L / 2, 12)
    line_y = sag * (1 - (2 * xs / L) ** 2)
    dr = Drawing()
    dr.line(np.stack([xs, line_y], 1), rope, max(1.5, 0.025 * k))
    x = -L / 2 + rng.uniform(0.02, 0.15) * L
    while x < L / 2 - 0.3 * k:
        y = float(np.interp(x, xs, line_y))
        w = _garment(dr, rng, x, y, k)
        x += w + rng.uniform(0.03, 0.2) * k
    dr.shade(1.05, 0.85).texture(3.0, style["seed"])
    sprite = dr.render((0.0, 0.0), ss=2)
    sprite.hanging = True
    return sprite


def draw_banner(style: dict, ppm: float) -> Sprite:
    rng = style_rng(style)
    kind = style.get("kind") or _pick(rng, ["poster", "cloth"], [0.55, 0.45])
    dr = Drawing()
    if kind == "poster":
        w_m, h_m = rng.uniform(0.3, 0.6), rng.uniform(0.4, 0.8)
        k = min_scale(ppm, w_m, 22.0)
        bg = _jitter(rng, _pick(rng, [(235, 238, 240), (80, 220, 240), (200, 200, 250), (230, 200, 170), (60, 60, 210)]), 10)
        ink = (30, 30, 170) if sum(bg) > 450 else (240, 240, 240)
    else:
        w_m, h_m = rng.uniform(1.5, 3.5), rng.uniform(0.4, 0.8)
        k = min_scale(ppm, w_m, 60.0)
        bg = _jitter(rng, _pick(rng, [(30, 30, 200), (40, 40, 180), (40, 180, 230), (160, 90, 30)]), 10)
        ink = _pick(rng, [(240, 240, 240), (40, 220, 250)])
    w, h = w_m * k, h_m * k
    wave = rng.uniform(0, 0.04) * h
    top = [[-w / 2 + i * w / 8, wave * np.sin(i)] for i in range(9)]
    bottom = [[w / 2 - i * w / 8, h + wave * np.sin(i + 1)] for i in range(9)]
    dr.poly(top + bottom, bg)
    _glyphs(dr, rng, -0.45 * w, 0.1 * h, 0.45 * w, 0.9 * h, ink)
    if kind == "cloth":
        for sx in (-0.5, 0.5):
            dr.line([[sx * w, 0], [sx * w * 1.05, -0.15 * k]], (80, 80, 80), max(1.0, 0.02 * k))
    dr.texture(3.0, style["seed"])
    sprite = dr.render((0.0, 0.0), ss=3)
    sprite.hanging = True
    return sprite


register_object("cable", sample=sample_seeded, draw=draw_cable, where=("facade",), label="cable")
register_object("power_strip", sample=sample_seeded, draw=draw_power_strip, where=("floor", "near_walk"), label="power_strip")
register_object("laundry", sample=sample_seeded, draw=draw_laundry, where=("facade",), label="laundry")
register_object("banner", sample=sample_seeded, draw=draw_banner, where=("facade",), label="banner")
