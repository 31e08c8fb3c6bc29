"""The labelled ground objects: litter (bottles, cans, cups, crumpled paper, wrappers, boxes) and
tied garbage bags. Each has a ``sample_*`` function picking a seeded appearance and a ``draw_*``
function rendering it as a Sprite, clamped to a pixel size range so small far-away items stay
learnable; a bag can also be drawn hanging from a hand. Registers the ``litter`` and
``garbage_bag`` kinds.
"""

from __future__ import annotations

import numpy as np

from gridsight.synth.render.common import Colour, _jitter, _mix, _pick, _scale_colour, _seed
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite

# --------------------------------------------------------------------------- litter

LITTER_KINDS = ("bottle", "can", "cup", "paper", "wrapper", "box")
LITTER_PX = (26.0, 52.0)  # long side in pixels, whatever the distance (>= 13 px at a 320 px model input)


def sample_litter(rng: np.random.Generator, **overrides) -> dict:
    kind = overrides.get("kind") or _pick(rng, LITTER_KINDS, [0.26, 0.16, 0.18, 0.18, 0.14, 0.08])
    if kind == "bottle":
        body = _pick(rng, [(205, 215, 210), (185, 200, 190), (90, 150, 70), (170, 120, 60), (120, 180, 200), (200, 190, 170)])
        accent = _pick(rng, [(40, 40, 200), (200, 90, 30), (40, 170, 40), (30, 200, 230), (230, 230, 230)])
        size_m = rng.uniform(0.22, 0.34)
        cap = _pick(rng, [(200, 120, 30), (40, 40, 200), (240, 240, 240), (40, 160, 40), (30, 30, 30)])
    elif kind == "can":
        body = _pick(rng, [(40, 40, 200), (200, 200, 205), (170, 90, 30), (50, 140, 50), (30, 30, 30), (40, 200, 230)])
        accent, cap, size_m = (215, 215, 220), (180, 180, 185), rng.uniform(0.16, 0.22)
    elif kind == "cup":
        body = _pick(rng, [(240, 240, 240), (225, 232, 236), (80, 110, 150), (60, 60, 180), (40, 40, 40)])
        accent = _pick(rng, [(40, 40, 200), (60, 120, 30), (30, 90, 170), (200, 120, 40)])
        cap, size_m = _pick(rng, [(245, 245, 245), (30, 30, 30), None]), rng.uniform(0.14, 0.2)
    elif kind == "paper":
        body = _pick(rng, [(235, 238, 240), (205, 225, 235), (190, 190, 190), (170, 195, 215), (220, 230, 245)])
        accent, cap, size_m = (90, 90, 90), None, rng.uniform(0.12, 0.24)
    elif kind == "wrapper":
        body = _pick(rng, [(30, 30, 210), (30, 200, 240), (40, 140, 40), (200, 200, 200), (160, 60, 20), (30, 120, 240)])
        accent, cap, size_m = (235, 235, 235), None, rng.uniform(0.14, 0.24)
    else:  # box: foam takeaway box or cigarette pack
        body = _pick(rng, [(240, 240, 240), (230, 235, 240), (40, 40, 190), (210, 210, 215)])
        accent, cap, size_m = (60, 60, 200), None, rng.uniform(0.14, 0.25)
    style = {
        "kind": kind,
        "body": _jitter(rng, body, 8),
        "accent": _jitter(rng, accent, 8),
        "cap": None if cap is None else _jitter(rng, cap, 6),
        "size_m": float(size_m),
        "boost": float(rng.uniform(1.0, 1.6)),
        "upright": bool(rng.random() < (0.3 if kind in ("bottle", "can", "cup") else 0.0)),
        "angle": float(rng.uniform(-35, 35) + (180 if rng.random() < 0.5 else 0)),
        "seed": _seed(rng),
    }
    style.update(overrides)
    return style


def _litter_bottle(dr: Drawing, L: float, style: dict, body: Colour, acc: Colour, dark: Colour,
                   rng: np.random.Generator) -> None:
    """A lying bottle with its label and cap."""
    w = 0.3 * L
    dr.poly([[-0.5 * L, -w / 2], [0.2 * L, -w / 2], [0.32 * L, -0.1 * L], [0.4 * L, -0.07 * L], [0.4 * L, 0.07 * L],
             [0.32 * L, 0.1 * L], [0.2 * L, w / 2], [-0.5 * L, w / 2]], dark)
    dr.poly([[-0.48 * L, -w / 2 + 0.03 * L], [0.18 * L, -w / 2 + 0.03 * L], [0.18 * L, w / 2 - 0.04 * L], [-0.48 * L, w / 2 - 0.04 * L]], body)
    dr.poly([[-0.25 * L, -w / 2], [0.02 * L, -w / 2], [0.02 * L, w / 2], [-0.25 * L, w / 2]], acc)
    dr.line([[-0.45 * L, -w / 2 + 0.06 * L], [0.15 * L, -w / 2 + 0.06 * L]], _mix(body, (255, 255, 255), 0.6), 0.04 * L)
    dr.poly([[0.4 * L, -0.08 * L], [0.5 * L, -0.08 * L], [0.5 * L, 0.08 * L], [0.4 * L, 0.08 * L]], style["cap"] or acc)


def _litter_can(dr: Drawing, L: float, style: dict, body: Colour, acc: Colour, dark: Colour,
                rng: np.random.Generator) -> None:
    """A drink can on its side."""
    w = 0.55 * L
    dr.poly([[-0.5 * L, -w / 2], [0.5 * L, -w / 2], [0.5 * L, w / 2], [-0.5 * L, w / 2]], body)
    dr.line([[-0.5 * L, -w / 4], [0.5 * L, -w / 4]], _mix(body, (255, 255, 255), 0.45), 0.1 * L)
    dr.line([[-0.5 * L, w / 3], [0.5 * L, w / 3]], _scale_colour(body, 0.6), 0.1 * L)
    dr.poly([[-0.1 * L, -w / 2], [0.15 * L, -w / 2], [0.1 * L, w / 2], [-0.15 * L, w / 2]], acc)
    dr.ellipse(0.5 * L, 0.0, 0.06 * L, w / 2, style["cap"])
    dr.ellipse(-0.5 * L, 0.0, 0.05 * L, w / 2, _scale_colour(style["cap"], 0.8))


def _litter_cup(dr: Drawing, L: float, style: dict, body: Colour, acc: Colour, dark: Colour,
                rng: np.random.Generator) -> None:
    """A takeaway cup, with a lid when it has a cap colour."""
    dr.poly([[-0.5 * L, -0.4 * L], [0.5 * L, -0.27 * L], [0.5 * L, 0.27 * L], [-0.5 * L, 0.4 * L]], body)
    dr.ellipse(-0.05 * L, 0.0, 0.13 * L, 0.14 * L, acc)
    dr.line([[-0.5 * L, -0.4 * L], [-0.5 * L, 0.4 * L]], _scale_colour(body, 0.8), 0.07 * L)
    if style["cap"] is not None:
        dr.poly([[-0.58 * L, -0.43 * L], [-0.48 * L, -0.43 * L], [-0.48 * L, 0.43 * L], [-0.58 * L, 0.43 * L]], style["cap"])
    dr.line([[0.5 * L, -0.27 * L], [0.5 * L, 0.27 * L]], dark, 0.05 * L)


def _litter_paper(dr: Drawing, L: float, style: dict, body: Colour, acc: Colour, dark: Colour,
                  rng: np.random.Generator) -> None:
    """A crumpled sheet, creased, sometimes printed."""
    n = int(rng.integers(9, 15))
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = 0.5 * L * rng.uniform(0.65, 1.0, n)
    pts = np.stack([r * np.cos(t), 0.8 * r * np.sin(t)], 1)
    dr.poly(pts, _scale_colour(body, 0.85))
    dr.poly(pts * 0.82 + rng.normal(0, 0.03 * L, 2), body)
    for _ in range(int(rng.integers(3, 6))):
        a, bb = rng.uniform(-0.35, 0.35, 2) * L, rng.uniform(-0.3, 0.3, 2) * L
        dr.line([[a[0], bb[0]], [(a[0] + a[1]) / 2 + rng.normal(0, 0.05 * L), 0.0], [a[1], bb[1]]], _scale_colour(body, 0.68), 0.035 * L)
    if rng.random() < 0.4:
        for _ in range(3):
            y = rng.uniform(-0.2, 0.2) * L
            dr.line([[-0.25 * L, y], [0.25 * L, y]], _scale_colour(acc, 1.2), 0.03 * L)


def _litter_wrapper(dr: Drawing, L: float, style: dict, body: Colour, acc: Colour, dark: Colour,
                    rng: np.random.Generator) -> None:
    """A crimped snack wrapper."""
    w = 0.5 * L
    zig = [[-0.5 * L + (0.05 * L if k % 2 else 0.0), -w / 2 + k * w / 6] for k in range(7)]
    zag = [[0.5 * L - (0.05 * L if k % 2 else 0.0), w / 2 - k * w / 6] for k in range(7)]
    dr.poly(zig + [[0.5 * L, -w / 2]] + zag + [[-0.5 * L, w / 2]], body)
    dr.line([[-0.3 * L, w / 3], [0.2 * L, -w / 3]], acc, 0.08 * L)
    dr.line([[-0.35 * L, -w / 2.8], [0.35 * L, -w / 2.8]], _mix(body, (255, 255, 255), 0.5), 0.05 * L)


def _litter_box(dr: Drawing, L: float, style: dict, body: Colour, acc: Colour, dark: Colour,
                rng: np.random.Generator) -> None:
    """A flattened carton (a milk carton's white panel when it is blue)."""
    w = 0.62 * L
    dr.poly([[-0.5 * L, -w / 2], [0.5 * L, -w / 2], [0.5 * L, w / 2], [-0.5 * L, w / 2]], _scale_colour(body, 0.82))
    dr.poly([[-0.45 * L, -w / 2], [0.5 * L, -w / 2], [0.42 * L, 0.05 * L], [-0.5 * L, 0.05 * L]], body)
    dr.line([[-0.5 * L, 0.05 * L], [0.45 * L, 0.05 * L]], _scale_colour(body, 0.6), 0.04 * L)
    if body[2] > 150 and body[0] < 100:
        dr.poly([[-0.2 * L, -w / 2], [0.2 * L, -w / 2], [0.2 * L, 0.05 * L], [-0.2 * L, 0.05 * L]], (235, 235, 235))


_LITTER_SHAPES = {"bottle": _litter_bottle, "can": _litter_can, "cup": _litter_cup, "paper": _litter_paper, "wrapper": _litter_wrapper, "box": _litter_box}


def draw_litter(style: dict, ppm: float, size_px: float | None = None) -> Sprite:
    L = float(size_px or np.clip(style["size_m"] * ppm * style.get("boost", 1.0), *LITTER_PX))
    kind, body, acc = style["kind"], style["body"], style["accent"]
    rng = np.random.default_rng(style["seed"])
    dr = Drawing()
    dark = _scale_colour(body, 0.7)
    _LITTER_SHAPES.get(kind, _litter_box)(dr, L, style, body, acc, dark, rng)
    angle = -90.0 + float(rng.uniform(-6, 6)) if style.get("upright") else style["angle"]
    if kind in ("paper",):
        angle = style["angle"] * 0.3
    dr.rotate(angle)
    x0, _, x1, y1 = dr.bounds()
    dr.shade(1.1, 0.85).texture(3.0, style["seed"])
    return dr.render(((x0 + x1) / 2, y1), ss=4)


register_object("litter", sample=sample_litter, draw=draw_litter, where=("near_walk", "near_walk", "far_walk", "road"), label="litter")


# --------------------------------------------------------------------------- garbage bag

BAG_COLOURS = {
    "black": (28, 28, 30), "blue": (150, 80, 25), "green": (50, 120, 40), "white": (215, 215, 212),
    "grey": (120, 120, 118), "red": (40, 40, 170), "yellow": (40, 180, 215),
}
BAG_PX = (24.0, 72.0)  # height in pixels


def sample_bag(rng: np.random.Generator, **overrides) -> dict:
    name = overrides.get("colour_name") or _pick(rng, list(BAG_COLOURS), [0.42, 0.13, 0.12, 0.1, 0.11, 0.06, 0.06])
    style = {
        "colour_name": name,
        "colour": _jitter(rng, BAG_COLOURS[name], 6),
        "height_m": float(rng.uniform(0.38, 0.72)),
        "aspect": float(rng.uniform(0.75, 1.3)),  # width / height
        "lean": float(rng.uniform(-12, 12)),
        "seed": _seed(rng),
    }
    style.update(overrides)
    return style


def draw_bag(style: dict, ppm: float, hanging: bool = False, size_px: float | None = None) -> Sprite:
    """A tied plastic bag. On the ground its bottom-centre is the anchor;
    hanging, point ``knot`` is where a hand holds it (anchor stays bottom-centre)."""
    h = float(size_px or np.clip(style["height_m"] * ppm, *BAG_PX))
    w = h * style["aspect"] * (0.8 if hanging else 1.0)
    rng = np.random.default_rng(style["seed"])
    base = style["colour"]
    lum = sum(base) / 3
    hi = _mix(base, (255, 255, 255), 0.35 if lum < 80 else 0.25)
    fold = _scale_colour(base, 0.55 if lum > 80 else 0.45)
    rim = _scale_colour(base, 0.72)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    r = np.ones_like(t)
    for k in range(2, 6):
        r += rng.uniform(0.02, 0.07) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    body_h = 0.84 * h
    cy = -body_h / 2
    x, y = (w / 2) * r * np.cos(t), cy + (body_h / 2) * r * np.sin(t)
    if hanging:
        x *= 0.55 + 0.45 * np.clip((y - y.min()) / (y.max() - y.min()), 0, 1) ** 0.6
    else:
        x *= 1.0 + 0.12 * (y - cy) / (body_h / 2)
        y = np.minimum(y, 0.0)
    body = np.stack([x, y], 1)
    top = float(y.min())
    dr = Drawing()
    dr.poly(body, rim)
    dr.poly((body - [0, cy]) * 0.86 + [0, cy - 0.02 * h], base)
    # neck, knot and the two tied ears
    kx = rng.normal(0, 0.03 * w)
    neck_top = top - 0.07 * h
    dr.poly([[-0.13 * w, top + 0.06 * h], [0.13 * w, top + 0.06 * h], [kx + 0.045 * w, neck_top], [kx - 0.045 * w, neck_top]], _scale_colour(base, 0.85))
    dr.ellipse(kx, neck_top, 0.06 * w + 0.5, 0.045 * h + 0.5, rim)
    for s in (-1, 1):
        ang = s * rng.uniform(25, 60)
        ex, ey = kx + s * 0.08 * w, neck_top - 0.055 * h
        dr.ellipse(ex, ey, 0.085 * w + 0.5, 0.035 * h + 0.5, _scale_colour(base, 0.95), angle=ang)
    # folds and sheen
    for _ in range(int(rng.integers(3, 6))):
        x0 = kx + rng.normal(0, 0.05 * w)
        x1 = rng.uniform(-0.38, 0.38) * w
        y1 = rng.uniform(-0.35, -0.05) * h
        dr.line([[x0, top + 0.08 * h], [(x0 + x1) / 2 + rng.normal(0, 0.06 * w), (top + y1) / 2], [x1, y1]], fold, max(0.6, 0.035 * w))
    for _ in range(int(rng.integers(2, 5))):
        hx, hy = rng.uniform(-0.3, 0.3) * w, cy + rng.uniform(-0.3, 0.2) * body_h
        dr.ellipse(hx, hy, rng.uniform(0.04, 0.1) * w + 0.4, rng.uniform(0.015, 0.04) * h + 0.4, hi, angle=rng.uniform(-60, 60))
    dr.point("knot", float(kx), float(neck_top - 0.06 * h))
    if not hanging and abs(style.get("lean", 0.0)) > 0:
        dr.rotate(style["lean"] * 0.5, about=(0.0, 0.0))
    dr.shade(1.15, 0.78).texture(2.5, style["seed"])
    return dr.render((0.0, 0.0), ss=4)


register_object("garbage_bag", sample=sample_bag, draw=draw_bag, where=("near_walk", "near_walk", "far_walk", "road"), label="garbage_bag")
