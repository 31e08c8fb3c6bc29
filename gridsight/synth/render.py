"""Procedural street-scene renderer (OpenCV + numpy, deterministic per seed).

Pieces, from the bottom up:

* :class:`Drawing` collects vector primitives (polygons, thick polylines) in
  object-local pixel units and rasterises them supersampled into a
  :class:`Sprite`: premultiplied colour plus an alpha mask, an anchor (the
  point that touches the ground) and named points (a person's hand).
* :data:`OBJECTS` is the object registry: ``name -> ObjectKind(sample, draw,
  where, label)``. ``sample(rng, **overrides)`` picks an appearance (a plain
  dict, so a clip can draw the same bag in every frame); ``draw(style, ppm,
  **state)`` renders it at ``ppm`` pixels per metre. Labelled kinds carry the
  class name they are annotated as; distractors have ``label=None``. Adding a
  class is one ``register_object`` call plus an entry in :data:`CLASSES`.
* :func:`render_background` draws a street (facades, shopfronts, far pavement,
  road, kerb, near pavement, flat clutter) and samples unlabelled distractor
  sprites and a :class:`Look` (exposure, tint, noise, blur).
* :func:`compose` pastes sprites in depth order (further first) onto the
  background, casts contact shadows, applies the look and returns the frame
  with the exact tight box of every labelled sprite's *visible* pixels
  (occlusion by nearer sprites and the frame edge are accounted for).

All randomness comes from a ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

# Labelled classes, in model class-id order. Never reorder: trained weights depend on it.
CLASSES: tuple[str, ...] = ("person", "litter", "garbage_bag")

Colour = tuple[float, float, float]  # BGR, 0..255

_SHIFT = 2  # cv2 fractional-coordinate bits
_ALPHA_ON = 0.3  # a sprite pixel counts as "drawn" (for boxes and occlusion) at this alpha


# --------------------------------------------------------------------------- colours


def _clip_colour(c) -> Colour:
    return tuple(float(min(255.0, max(0.0, v))) for v in c)  # type: ignore[return-value]


def _scale_colour(c: Colour, k: float) -> Colour:
    return _clip_colour([v * k for v in c])


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return _clip_colour([x * (1 - t) + y * t for x, y in zip(a, b)])


def _jitter(rng: np.random.Generator, c: Colour, amount: float = 12.0) -> Colour:
    return _clip_colour(np.asarray(c, float) + rng.normal(0, amount, 3))


def _hsv(h: float, s: float, v: float) -> Colour:
    """OpenCV HSV (h 0..180, s/v 0..255) -> BGR tuple."""
    px = np.uint8([[[int(h) % 180, int(np.clip(s, 0, 255)), int(np.clip(v, 0, 255))]]])
    return tuple(float(x) for x in cv2.cvtColor(px, cv2.COLOR_HSV2BGR)[0, 0])  # type: ignore[return-value]


def _pick(rng: np.random.Generator, options, weights=None):
    idx = rng.choice(len(options), p=None if weights is None else np.asarray(weights, float) / np.sum(weights))
    return options[int(idx)]


CLOTHES: list[Colour] = [
    (30, 30, 30), (235, 235, 235), (128, 128, 128), (80, 40, 20), (120, 70, 30), (40, 40, 170), (170, 90, 30),
    (60, 120, 40), (150, 190, 210), (40, 70, 110), (170, 140, 230), (40, 200, 230), (30, 120, 230), (120, 50, 100),
    (90, 90, 60), (200, 200, 160), (60, 60, 90),
]
TROUSERS: list[Colour] = [(30, 30, 30), (110, 70, 40), (140, 100, 60), (90, 90, 90), (120, 160, 180), (60, 50, 40), (200, 200, 200)]
SKIN: list[Colour] = [(160, 190, 228), (140, 175, 215), (120, 160, 205), (100, 140, 185), (80, 115, 160)]
HAIR: list[Colour] = [(20, 20, 22), (28, 30, 35), (30, 45, 70), (60, 75, 100), (150, 150, 150)]


# --------------------------------------------------------------------------- sprites


@dataclass
class Sprite:
    color: np.ndarray  # (h, w, 3) float32, premultiplied BGR
    alpha: np.ndarray  # (h, w) float32 in [0, 1]
    anchor: tuple[float, float]  # sprite pixel that goes onto the scene position (ground contact point)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # named points, sprite pixels

    @property
    def size(self) -> tuple[int, int]:
        return self.alpha.shape[1], self.alpha.shape[0]

    def point(self, name: str, x: float, y: float) -> tuple[float, float]:
        """Frame position of a named point when the sprite's anchor sits at (x, y)."""
        px, py = self.points[name]
        return x + px - self.anchor[0], y + py - self.anchor[1]


def _ellipse_pts(cx, cy, rx, ry, angle_deg=0.0, n=28, a0=0.0, a1=360.0) -> np.ndarray:
    t = np.deg2rad(np.linspace(a0, a1, n, endpoint=(a1 - a0) < 360))
    x, y = rx * np.cos(t), ry * np.sin(t)
    ca, sa = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return np.stack([cx + x * ca - y * sa, cy + x * sa + y * ca], axis=1)


class Drawing:
    """Vector primitives in local pixel units, rasterised supersampled into a Sprite."""

    def __init__(self) -> None:
        self.ops: list[tuple] = []
        self.points: dict[str, np.ndarray] = {}
        self.post: list[tuple] = []

    def poly(self, pts, colour: Colour) -> "Drawing":
        self.ops.append(("poly", np.asarray(pts, np.float64).reshape(-1, 2), _clip_colour(colour)))
        return self

    def ellipse(self, cx, cy, rx, ry, colour: Colour, angle=0.0, n=28) -> "Drawing":
        return self.poly(_ellipse_pts(cx, cy, max(rx, 0.05), max(ry, 0.05), angle, n), colour)

    def line(self, pts, colour: Colour, width: float) -> "Drawing":
        """Thick polyline with round caps and joints."""
        self.ops.append(("line", np.asarray(pts, np.float64).reshape(-1, 2), _clip_colour(colour), float(width)))
        return self

    def point(self, name: str, x: float, y: float) -> None:
        self.points[name] = np.array([x, y], np.float64)

    def shade(self, top: float, bottom: float) -> "Drawing":
        """Multiply the rendered colour by a vertical gradient (light from above)."""
        self.post.append(("vgrad", top, bottom))
        return self

    def texture(self, sigma: float, seed: int) -> "Drawing":
        self.post.append(("noise", sigma, seed))
        return self

    def rotate(self, angle_deg: float, about=(0.0, 0.0)) -> "Drawing":
        ca, sa = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
        c = np.asarray(about, np.float64)
        rot = np.array([[ca, -sa], [sa, ca]])

        def tf(p):
            return (p - c) @ rot.T + c

        self.ops = [(op[0], tf(op[1]), *op[2:]) for op in self.ops]
        self.points = {k: tf(v[None])[0] for k, v in self.points.items()}
        return self

    def bounds(self) -> tuple[float, float, float, float]:
        lo, hi = np.array([np.inf, np.inf]), np.array([-np.inf, -np.inf])
        for op in self.ops:
            pad = op[3] / 2 if op[0] == "line" else 0.0
            lo = np.minimum(lo, op[1].min(0) - pad)
            hi = np.maximum(hi, op[1].max(0) + pad)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def render(self, anchor=(0.0, 0.0), ss: int = 4) -> Sprite:
        x0, y0, x1, y1 = self.bounds()
        ox, oy = math.floor(x0) - 1, math.floor(y0) - 1
        w, h = math.ceil(x1) + 1 - ox, math.ceil(y1) + 1 - oy
        col = np.zeros((h * ss, w * ss, 3), np.float32)
        alpha = np.zeros((h * ss, w * ss), np.float32)
        k = ss * (1 << _SHIFT)
        origin = np.array([ox, oy], np.float64)
        for op in self.ops:
            pts = np.round((op[1] - origin) * k).astype(np.int32)
            if op[0] == "poly":
                cv2.fillPoly(col, [pts.reshape(-1, 1, 2)], op[2], cv2.LINE_8, _SHIFT)
                cv2.fillPoly(alpha, [pts.reshape(-1, 1, 2)], 1.0, cv2.LINE_8, _SHIFT)
            else:
                th = max(1, int(round(op[3] * ss)))
                r = int(round(op[3] * k / 2))
                for img, c in ((col, op[2]), (alpha, 1.0)):
                    cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, c, th, cv2.LINE_8, _SHIFT)
                    for p in pts:
                        cv2.circle(img, (int(p[0]), int(p[1])), r, c, -1, cv2.LINE_8, _SHIFT)
        col *= alpha[..., None]
        col = cv2.resize(col, (w, h), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
        if self.post:
            plain = col / np.maximum(alpha, 1e-3)[..., None]
            for op in self.post:
                if op[0] == "vgrad":
                    plain *= np.linspace(op[1], op[2], h, dtype=np.float32)[:, None, None]
                elif op[0] == "noise":
                    plain += np.random.default_rng(op[2]).normal(0, op[1], plain.shape).astype(np.float32)
            col = np.clip(plain, 0, 255) * alpha[..., None]
        pts = {n: (float(p[0] - ox), float(p[1] - oy)) for n, p in self.points.items()}
        return Sprite(col.astype(np.float32), alpha.astype(np.float32), (anchor[0] - ox, anchor[1] - oy), pts)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class ObjectKind:
    name: str
    sample: Callable[..., dict]  # (rng, **overrides) -> style dict (JSON-able appearance)
    draw: Callable[..., Sprite]  # (style, ppm, **state) -> Sprite; anchor = ground contact point
    where: tuple[str, ...]  # ground regions it may stand in: far_walk, road, near_walk
    label: str | None  # class it is annotated as; None = unlabelled distractor


OBJECTS: dict[str, ObjectKind] = {}


def register_object(name: str, *, sample, draw, where=("near_walk",), label: str | None = None) -> ObjectKind:
    kind = ObjectKind(name, sample, draw, tuple(where), label)
    OBJECTS[name] = kind
    return kind


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


# --------------------------------------------------------------------------- person


def sample_person(rng: np.random.Generator, **overrides) -> dict:
    child = rng.random() < 0.05
    lower = _pick(rng, ["trousers", "trousers", "trousers", "shorts", "skirt"])
    style = {
        "height_m": float(rng.uniform(1.05, 1.4) if child else rng.uniform(1.55, 1.88)),
        "build": float(rng.uniform(0.85, 1.2)),
        "skin": _jitter(rng, _pick(rng, SKIN), 6),
        "hair": _jitter(rng, _pick(rng, HAIR), 5),
        "hair_style": _pick(rng, ["short", "short", "long", "bun"]),
        "top": _jitter(rng, _pick(rng, CLOTHES) if rng.random() < 0.7 else _hsv(rng.uniform(0, 180), rng.uniform(60, 230), rng.uniform(60, 230)), 10),
        "sleeves": _pick(rng, ["long", "long", "short"]),
        "jacket": _jitter(rng, _pick(rng, CLOTHES), 8) if rng.random() < 0.3 else None,
        "bottom": _jitter(rng, _pick(rng, TROUSERS), 8),
        "lower": lower,
        "shoes": _pick(rng, [(25, 25, 25), (230, 230, 230), (40, 60, 90), (90, 90, 90)]),
        "hat": _jitter(rng, _pick(rng, CLOTHES), 8) if rng.random() < 0.12 else None,
        "backpack": _jitter(rng, _pick(rng, CLOTHES), 8) if rng.random() < 0.15 else None,
    }
    style.update(overrides)
    return style


def draw_person(style: dict, ppm: float, phase: float = 0.0, facing: str = "right", walking: bool = True, carrying: bool = False) -> Sprite:
    """A person whose feet touch y=0 at x=0. ``phase`` is the gait phase in radians.
    ``facing`` is left/right (profile) or front/back. ``carrying`` holds the near
    hand down (a bag hangs from point ``hand``)."""
    H = style["height_m"] * ppm
    b = style["build"]
    skin, top, bottom, shoes = style["skin"], style["top"], style["bottom"], style["shoes"]
    jacket = style.get("jacket")
    d = {"right": 1.0, "left": -1.0}.get(facing, 0.0)
    dr = Drawing()
    A = 0.42 if walking else 0.0
    hip_y, sh_y = -0.50 * H, -0.815 * H
    leg_w, shin_w, arm_w, fore_w = 0.075 * H * b, 0.06 * H * b, 0.052 * H * b, 0.042 * H * b
    L1 = L2 = 0.245 * H
    lower = style["lower"]
    shin_col = skin if lower in ("shorts", "skirt") else bottom
    arm_col = jacket or top
    fore_col = skin if style["sleeves"] == "short" and not jacket else arm_col
    far = 0.78  # far-side limbs are darker

    if d != 0.0:
        # ---- profile
        legs = []
        for i in (0, 1):
            ph = phase + math.pi * i
            th = A * math.sin(ph) if walking else (0.04 if i == 0 else -0.04)
            kappa = 0.55 * max(0.0, math.cos(ph)) if walking else 0.02
            hip = np.array([0.0, hip_y])
            knee = hip + L1 * np.array([math.sin(th) * d, math.cos(th)])
            psi = th - kappa
            ankle = knee + L2 * np.array([math.sin(psi) * d, math.cos(psi)])
            legs.append((hip, knee, ankle))
        lift = max(l[2][1] for l in legs) + 0.022 * H  # lowest sole must touch y=0
        legs = [tuple(p - np.array([0.0, lift]) for p in l) for l in legs]
        hip_y -= lift
        sh_y -= lift
        shoulder = np.array([0.012 * H * d, sh_y])
        arms = []
        for i in (0, 1):
            ph = phase + math.pi * i
            if carrying and i == 0:
                al, be = 0.06, 0.04
            else:
                al = -0.75 * A * math.sin(ph) if walking else 0.05
                be = 0.25 + 0.35 * max(0.0, -math.sin(ph)) * (A > 0) if walking else 0.12
            elbow = shoulder + 0.165 * H * np.array([math.sin(al) * d, math.cos(al)])
            hand = elbow + 0.15 * H * np.array([math.sin(al + be) * d, math.cos(al + be)])
            arms.append((shoulder, elbow, hand))

        def draw_leg(l, k):
            hip, knee, ankle = l
            dr.line([hip, knee], _scale_colour(bottom, k), leg_w)
            dr.line([knee, ankle], _scale_colour(shin_col if lower != "skirt" else skin, k), shin_w)
            heel, toe = ankle + np.array([-0.02 * H * d, 0.0]), ankle + np.array([0.065 * H * d, 0.008 * H])
            dr.line([heel, toe], _scale_colour(shoes, k), 0.038 * H)

        def draw_arm(a, k):
            s, e, h = a
            dr.line([s, e], _scale_colour(arm_col, k), arm_w)
            dr.line([e, h], _scale_colour(fore_col, k), fore_w)
            dr.ellipse(h[0], h[1], 0.024 * H, 0.026 * H, _scale_colour(skin, k))

        draw_arm(arms[1], far)
        draw_leg(legs[1], far)
        if style.get("backpack") is not None:
            bx = -0.065 * H * b * d
            dr.poly([[bx, sh_y + 0.03 * H], [bx - 0.085 * H * d, sh_y + 0.05 * H], [bx - 0.09 * H * d, sh_y + 0.27 * H], [bx + 0.01 * H * d, sh_y + 0.28 * H]], style["backpack"])
        draw_leg(legs[0], 1.0)
        tw_s, tw_h = 0.068 * H * b, 0.062 * H * b
        torso = [[shoulder[0] - tw_s * d, sh_y - 0.01 * H], [shoulder[0] + 0.85 * tw_s * d, sh_y - 0.012 * H],
                 [0.9 * tw_h * d, hip_y + 0.02 * H], [-tw_h * d, hip_y + 0.03 * H]]
        dr.poly(torso, jacket or top)
        if jacket:
            dr.poly([[shoulder[0] + 0.5 * tw_s * d, sh_y], [shoulder[0] + 0.85 * tw_s * d, sh_y], [0.9 * tw_h * d, hip_y], [0.55 * tw_h * d, hip_y]], top)
        # hips / waistband in trouser colour
        dr.ellipse(0.0, hip_y + 0.01 * H, tw_h * 1.05, 0.035 * H, bottom)
        if lower == "skirt":
            dr.poly([[-tw_h * d * 1.1, hip_y], [tw_h * d * 1.1, hip_y], [0.13 * H * d, hip_y + 0.2 * H], [-0.13 * H * d, hip_y + 0.2 * H]], bottom)
        draw_arm(arms[0], 1.0)
        hand = arms[0][2]
        head = np.array([0.02 * H * d, sh_y - 0.115 * H])
    else:
        # ---- front / back
        legs = []
        for i, side in ((0, 1.0), (1, -1.0)):
            ph = phase + math.pi * i
            lift = 0.035 * H * max(0.0, math.sin(ph)) if walking else 0.0
            hip = np.array([0.048 * H * b * side, hip_y])
            ankle = np.array([0.05 * H * b * side, -0.03 * H - lift])
            knee = (hip + ankle) / 2
            legs.append((hip, knee, ankle))
        for hip, knee, ankle in legs:
            dr.line([hip, knee], bottom, leg_w)
            dr.line([knee, ankle], shin_col if lower != "skirt" else skin, shin_w)
            dr.ellipse(ankle[0], ankle[1] + 0.012 * H, 0.032 * H, 0.02 * H, shoes)
        tw_s, tw_h = 0.118 * H * b, 0.088 * H * b
        dr.poly([[-tw_s, sh_y], [tw_s, sh_y], [tw_h, hip_y + 0.02 * H], [-tw_h, hip_y + 0.02 * H]], jacket or top)
        if jacket and facing == "front":
            dr.poly([[-0.03 * H, sh_y], [0.03 * H, sh_y], [0.03 * H, hip_y], [-0.03 * H, hip_y]], top)
        dr.poly([[-tw_h, hip_y], [tw_h, hip_y], [tw_h * 1.02, hip_y + 0.06 * H], [-tw_h * 1.02, hip_y + 0.06 * H]], bottom)
        if lower == "skirt":
            dr.poly([[-tw_h, hip_y], [tw_h, hip_y], [0.13 * H, hip_y + 0.2 * H], [-0.13 * H, hip_y + 0.2 * H]], bottom)
        for i, side in ((0, 1.0), (1, -1.0)):
            ph = phase + math.pi * i
            sw = 0.02 * H * math.sin(ph) if walking else 0.0
            s = np.array([tw_s * 0.92 * side, sh_y + 0.02 * H])
            e = np.array([(tw_s + 0.02 * H) * side, sh_y + 0.17 * H - abs(sw) * 0.3])
            hnd = np.array([(tw_s + 0.028 * H) * side, sh_y + (0.34 if carrying and i == 0 else 0.31) * H - abs(sw)])
            dr.line([s, e], arm_col, arm_w)
            dr.line([e, hnd], fore_col, fore_w)
            dr.ellipse(hnd[0], hnd[1], 0.024 * H, 0.026 * H, skin)
            if i == 0:
                hand = hnd
        if facing == "back" and style.get("backpack") is not None:
            dr.poly([[-0.08 * H, sh_y + 0.03 * H], [0.08 * H, sh_y + 0.03 * H], [0.075 * H, sh_y + 0.26 * H], [-0.075 * H, sh_y + 0.26 * H]], style["backpack"])
        head = np.array([0.0, sh_y - 0.115 * H])
    # neck + head + hair
    dr.line([head + [0, 0.04 * H], [head[0] * 0.5, sh_y + 0.01 * H]], skin, 0.045 * H)
    hr = 0.064 * H
    dr.ellipse(head[0], head[1], hr * 0.92, hr, skin)
    hair = style["hair"]
    if d != 0.0:
        dr.ellipse(head[0] - 0.22 * hr * d, head[1] - 0.18 * hr, hr * 0.88, hr * 0.86, hair)
        dr.ellipse(head[0] + 0.28 * hr * d, head[1] + 0.22 * hr, hr * 0.6, hr * 0.62, skin)
        if style["hair_style"] == "long":
            dr.poly([[head[0] - 0.9 * hr * d, head[1]], [head[0] - 0.2 * hr * d, head[1]], [head[0] - 0.3 * hr * d, head[1] + 2.3 * hr], [head[0] - 1.0 * hr * d, head[1] + 2.1 * hr]], hair)
        elif style["hair_style"] == "bun":
            dr.ellipse(head[0] - 0.95 * hr * d, head[1] - 0.5 * hr, 0.38 * hr, 0.38 * hr, hair)
    elif facing == "back":
        dr.ellipse(head[0], head[1] - 0.05 * hr, hr * 0.95, hr * 1.02, hair)
        if style["hair_style"] == "long":
            dr.poly([[-0.9 * hr, head[1]], [0.9 * hr, head[1]], [0.95 * hr, head[1] + 2.2 * hr], [-0.95 * hr, head[1] + 2.2 * hr]], hair)
    else:
        dr.ellipse(head[0], head[1] - 0.4 * hr, hr * 0.95, hr * 0.62, hair)
        if style["hair_style"] == "long":
            for s in (-1, 1):
                dr.poly([[s * 0.75 * hr, head[1] - 0.4 * hr], [s * 1.0 * hr, head[1] - 0.2 * hr], [s * 1.05 * hr, head[1] + 1.8 * hr], [s * 0.75 * hr, head[1] + 1.7 * hr]], hair)
    if style.get("hat") is not None:
        dr.ellipse(head[0], head[1] - 0.55 * hr, hr * 1.0, hr * 0.55, style["hat"])
        if d != 0.0:
            dr.line([[head[0], head[1] - 0.3 * hr], [head[0] + 1.5 * hr * d, head[1] - 0.3 * hr]], style["hat"], 0.18 * hr)
    dr.point("hand", float(hand[0]), float(hand[1]))
    dr.shade(1.08, 0.9)
    return dr.render((0.0, 0.0), ss=3)


register_object("person", sample=sample_person, draw=draw_person, where=("far_walk", "road", "near_walk"), label="person")


# --------------------------------------------------------------------------- litter

LITTER_KINDS = ("bottle", "can", "cup", "paper", "wrapper", "box")
LITTER_PX = (12.0, 42.0)  # long side in pixels, whatever the distance


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


def draw_litter(style: dict, ppm: float, size_px: float | None = None) -> Sprite:
    L = float(size_px or np.clip(style["size_m"] * ppm * style.get("boost", 1.0), *LITTER_PX))
    kind, body, acc = style["kind"], style["body"], style["accent"]
    rng = np.random.default_rng(style["seed"])
    dr = Drawing()
    dark = _scale_colour(body, 0.7)
    if kind == "bottle":
        w = 0.3 * L
        dr.poly([[-0.5 * L, -w / 2], [0.2 * L, -w / 2], [0.32 * L, -0.1 * L], [0.4 * L, -0.07 * L], [0.4 * L, 0.07 * L],
                 [0.32 * L, 0.1 * L], [0.2 * L, w / 2], [-0.5 * L, w / 2]], dark)
        dr.poly([[-0.48 * L, -w / 2 + 0.03 * L], [0.18 * L, -w / 2 + 0.03 * L], [0.18 * L, w / 2 - 0.04 * L], [-0.48 * L, w / 2 - 0.04 * L]], body)
        dr.poly([[-0.25 * L, -w / 2], [0.02 * L, -w / 2], [0.02 * L, w / 2], [-0.25 * L, w / 2]], acc)
        dr.line([[-0.45 * L, -w / 2 + 0.06 * L], [0.15 * L, -w / 2 + 0.06 * L]], _mix(body, (255, 255, 255), 0.6), 0.04 * L)
        dr.poly([[0.4 * L, -0.08 * L], [0.5 * L, -0.08 * L], [0.5 * L, 0.08 * L], [0.4 * L, 0.08 * L]], style["cap"] or acc)
    elif kind == "can":
        w = 0.55 * L
        dr.poly([[-0.5 * L, -w / 2], [0.5 * L, -w / 2], [0.5 * L, w / 2], [-0.5 * L, w / 2]], body)
        dr.line([[-0.5 * L, -w / 4], [0.5 * L, -w / 4]], _mix(body, (255, 255, 255), 0.45), 0.1 * L)
        dr.line([[-0.5 * L, w / 3], [0.5 * L, w / 3]], _scale_colour(body, 0.6), 0.1 * L)
        dr.poly([[-0.1 * L, -w / 2], [0.15 * L, -w / 2], [0.1 * L, w / 2], [-0.15 * L, w / 2]], acc)
        dr.ellipse(0.5 * L, 0.0, 0.06 * L, w / 2, style["cap"])
        dr.ellipse(-0.5 * L, 0.0, 0.05 * L, w / 2, _scale_colour(style["cap"], 0.8))
    elif kind == "cup":
        dr.poly([[-0.5 * L, -0.4 * L], [0.5 * L, -0.27 * L], [0.5 * L, 0.27 * L], [-0.5 * L, 0.4 * L]], body)
        dr.ellipse(-0.05 * L, 0.0, 0.13 * L, 0.14 * L, acc)
        dr.line([[-0.5 * L, -0.4 * L], [-0.5 * L, 0.4 * L]], _scale_colour(body, 0.8), 0.07 * L)
        if style["cap"] is not None:
            dr.poly([[-0.58 * L, -0.43 * L], [-0.48 * L, -0.43 * L], [-0.48 * L, 0.43 * L], [-0.58 * L, 0.43 * L]], style["cap"])
        dr.line([[0.5 * L, -0.27 * L], [0.5 * L, 0.27 * L]], dark, 0.05 * L)
    elif kind == "paper":
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
    elif kind == "wrapper":
        w = 0.5 * L
        zig = [[-0.5 * L + (0.05 * L if k % 2 else 0.0), -w / 2 + k * w / 6] for k in range(7)]
        zag = [[0.5 * L - (0.05 * L if k % 2 else 0.0), w / 2 - k * w / 6] for k in range(7)]
        dr.poly(zig + [[0.5 * L, -w / 2]] + zag + [[-0.5 * L, w / 2]], body)
        dr.line([[-0.3 * L, w / 3], [0.2 * L, -w / 3]], acc, 0.08 * L)
        dr.line([[-0.35 * L, -w / 2.8], [0.35 * L, -w / 2.8]], _mix(body, (255, 255, 255), 0.5), 0.05 * L)
    else:  # box
        w = 0.62 * L
        dr.poly([[-0.5 * L, -w / 2], [0.5 * L, -w / 2], [0.5 * L, w / 2], [-0.5 * L, w / 2]], _scale_colour(body, 0.82))
        dr.poly([[-0.45 * L, -w / 2], [0.5 * L, -w / 2], [0.42 * L, 0.05 * L], [-0.5 * L, 0.05 * L]], body)
        dr.line([[-0.5 * L, 0.05 * L], [0.45 * L, 0.05 * L]], _scale_colour(body, 0.6), 0.04 * L)
        if body[2] > 150 and body[0] < 100:
            dr.poly([[-0.2 * L, -w / 2], [0.2 * L, -w / 2], [0.2 * L, 0.05 * L], [-0.2 * L, 0.05 * L]], (235, 235, 235))
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

assert all(OBJECTS[c].label == c for c in CLASSES)


# --------------------------------------------------------------------------- layout, look, background


@dataclass(frozen=True)
class Layout:
    """Where the street is in the frame (all pixels) and how big things are.

    Rows from the top: facades (0..facade_bottom), far pavement
    (..far_kerb), road (..near_kerb), near pavement (..height). Size scales
    linearly with the ground row's distance below ``horizon`` (which may lie
    above the frame)."""

    width: int
    height: int
    facade_bottom: float
    far_kerb: float
    near_kerb: float
    horizon: float
    person_px_bottom: float  # pixel height of a 1.7 m person standing on the bottom row

    def ppm(self, y: float) -> float:
        """Pixels per metre for something standing on ground row y."""
        return self.person_px_bottom / 1.7 * (y - self.horizon) / (self.height - self.horizon)

    def region(self, name: str) -> tuple[float, float]:
        return {
            "far_walk": (self.facade_bottom + 2, self.far_kerb - 1),
            "road": (self.far_kerb + 4, self.near_kerb - 2),
            "near_walk": (self.near_kerb + 0.02 * self.height, self.height + 2),
        }[name]


def sample_layout(rng: np.random.Generator, size=(640, 360)) -> Layout:
    W, H = size
    fb = rng.uniform(0.22, 0.42) * H
    fk = fb + rng.uniform(0.035, 0.09) * H
    nk = fk + rng.uniform(0.14, 0.3) * H
    nk = min(nk, 0.78 * H)
    return Layout(W, H, fb, fk, nk, rng.uniform(-0.6, -0.08) * H, rng.uniform(0.4, 0.62) * H)


@dataclass(frozen=True)
class Look:
    gain: float = 1.0
    bias: float = 0.0
    gamma: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    noise: float = 2.0
    blur: float = 0.0
    vignette: float = 0.0
    shadow_dx: float = 0.3  # contact shadows lean this way (light direction)
    shadow: float = 0.35


def sample_look(rng: np.random.Generator) -> Look:
    dim = rng.random() < 0.15
    return Look(
        gain=float(rng.uniform(0.45, 0.7) if dim else rng.uniform(0.8, 1.2)),
        bias=float(rng.uniform(-15, 20)),
        gamma=float(rng.uniform(0.75, 1.35)),
        tint=tuple(float(v) for v in rng.uniform(0.9, 1.1, 3)),
        noise=float(rng.uniform(1.0, 7.0) * (1.6 if dim else 1.0)),
        blur=float(rng.choice([0.0, rng.uniform(0.3, 1.3)], p=[0.45, 0.55])),
        vignette=float(rng.uniform(0, 0.35)),
        shadow_dx=float(rng.uniform(-0.8, 0.8)),
        shadow=float(rng.uniform(0.15, 0.5)),
    )


def apply_look(img: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    out = img * np.asarray(look.tint, np.float32) * look.gain + look.bias
    out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** look.gamma
    if look.vignette > 0:
        h, w = out.shape[:2]
        yy, xx = np.ogrid[-1:1:h * 1j, -1:1:w * 1j]
        out *= (1 - look.vignette * (xx**2 + yy**2) / 2).astype(np.float32)[..., None]
    if look.blur > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), look.blur)
    if look.noise > 0:
        out += rng.normal(0, look.noise, out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _lf_noise(rng: np.random.Generator, h: int, w: int, cell: int, amp: float) -> np.ndarray:
    small = rng.normal(0, amp, (h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _draw_facades(img: np.ndarray, rng: np.random.Generator, L: Layout) -> None:
    W, fb = L.width, int(round(L.facade_bottom))
    sky = _jitter(rng, _pick(rng, [(230, 200, 170), (210, 205, 200), (200, 200, 200), (235, 215, 190)]), 8)
    img[:fb] = np.asarray(sky, np.float32)
    x = -int(rng.integers(0, 80))
    ppm = L.ppm(L.facade_bottom)
    while x < W:
        bw = int(rng.uniform(0.2, 0.6) * W)
        top = int(rng.uniform(-0.4, 0.3) * fb)
        wall = _jitter(rng, _pick(rng, [(190, 200, 210), (160, 170, 180), (120, 130, 150), (90, 110, 160), (210, 215, 215), (150, 150, 150), (170, 190, 200), (70, 90, 130)]), 10)
        x0, x1 = max(0, x), min(W, x + bw)
        if x1 > x0:
            img[max(0, top):fb, x0:x1] = wall
            img[max(0, top):fb, x0:x1] += _lf_noise(rng, fb - max(0, top), x1 - x0, 8, 4)[..., None]
            gf = int(np.clip(rng.uniform(3.2, 4.5) * ppm, 0.15 * fb, 0.6 * fb))  # ground-floor height
            shop_top = fb - gf
            # upper-floor windows
            win_w, win_h = rng.uniform(0.8, 1.6) * ppm, rng.uniform(1.0, 1.6) * ppm
            gx, gy = win_w * rng.uniform(1.5, 2.4), rng.uniform(2.6, 3.2) * ppm
            glass = _jitter(rng, _pick(rng, [(90, 70, 50), (120, 100, 80), (60, 55, 50), (150, 140, 120)]), 8)
            ac = rng.random() < 0.5
            y = shop_top - gy * 0.85
            while y + win_h > max(0, top) + 2:
                wx = x + gx * 0.4
                while wx + win_w < x + bw - 2:
                    p0 = (int(wx), int(y))
                    p1 = (int(wx + win_w), int(y + win_h))
                    cv2.rectangle(img, p0, p1, _jitter(rng, glass, 10), -1)
                    cv2.rectangle(img, p0, p1, _scale_colour(wall, 0.8), 1)
                    if ac and rng.random() < 0.35:
                        cv2.rectangle(img, (int(wx + win_w * 0.1), int(y + win_h + 2)), (int(wx + win_w * 0.7), int(y + win_h + 2 + 0.4 * ppm)), (225, 225, 225), -1)
                    wx += gx
                y -= gy
            # shopfronts: signboard band, then glass / shutters
            sign_h = max(3, int(rng.uniform(0.6, 1.1) * ppm))
            sx = x
            while sx < x + bw:
                sw = int(rng.uniform(3, 8) * ppm)
                sign = _jitter(rng, _pick(rng, [(30, 30, 190), (150, 80, 20), (40, 120, 30), (30, 180, 230), (230, 230, 230), (40, 40, 40), (20, 100, 220)]), 10)
                cv2.rectangle(img, (sx, shop_top), (sx + sw - 2, shop_top + sign_h), sign, -1)
                ink = (240, 240, 240) if sum(sign) < 450 else (30, 30, 160)
                gxp = sx + int(0.3 * ppm)
                glyph = max(2, int(sign_h * 0.55))
                while gxp + glyph < sx + sw - int(0.3 * ppm):
                    gy0 = shop_top + (sign_h - glyph) // 2
                    for _ in range(3):
                        a = (gxp + int(rng.integers(0, glyph)), gy0 + int(rng.integers(0, glyph)))
                        b = (gxp + int(rng.integers(0, glyph)), gy0 + int(rng.integers(0, glyph)))
                        cv2.line(img, a, b, ink, 1)
                    gxp += int(glyph * 1.4)
                kind = rng.random()
                y0 = shop_top + sign_h + 1
                if kind < 0.5:
                    cv2.rectangle(img, (sx + 1, y0), (sx + sw - 3, fb), _jitter(rng, (80, 70, 60), 15), -1)
                    for k in range(1, 4):
                        cv2.line(img, (sx + k * sw // 4, y0), (sx + k * sw // 4, fb), (170, 170, 170), 1)
                elif kind < 0.8:
                    cv2.rectangle(img, (sx + 1, y0), (sx + sw - 3, fb), _jitter(rng, (165, 165, 160), 10), -1)
                    for yy in range(y0, fb, 3):
                        cv2.line(img, (sx + 1, yy), (sx + sw - 3, yy), (130, 130, 128), 1)
                else:
                    cv2.rectangle(img, (sx + 1, y0), (sx + sw - 3, fb), wall, -1)
                    cv2.rectangle(img, (sx + sw // 3, y0 + 2), (sx + 2 * sw // 3, fb), (50, 45, 40), -1)
                sx += sw
        x += bw


def _paving(img, rng, L: Layout, y0: float, y1: float, colour) -> None:
    H, W = img.shape[:2]
    a, b = int(max(0, y0)), int(min(H, y1))
    if b <= a:
        return
    img[a:b] = np.asarray(colour, np.float32)
    img[a:b] += _lf_noise(rng, b - a, W, 12, 6)[..., None]
    joint = _scale_colour(colour, 0.82)
    tile = rng.uniform(0.3, 0.6)
    y = float(a)
    while y < b:
        cv2.line(img, (0, int(y)), (W, int(y)), joint, 1)
        y += max(2.0, tile * L.ppm(y) * rng.uniform(0.3, 0.45))
    vx = W / 2 + rng.uniform(-0.3, 0.3) * W
    step = tile * L.ppm(b)
    for xb in np.arange(-W, 2 * W, max(3.0, step)):
        t0 = (a - L.horizon) / (b - L.horizon)
        p0 = (int(vx + (xb - vx) * t0), a)
        cv2.line(img, p0, (int(xb), b), joint, 1)
    if rng.random() < 0.5 and b - a > 20:  # tactile paving strip (盲道)
        yy = rng.uniform(a + 0.2 * (b - a), b - 0.15 * (b - a))
        hh = 0.3 * L.ppm(yy) * 0.5
        cv2.rectangle(img, (0, int(yy)), (W, int(yy + hh)), _jitter(rng, (40, 190, 220), 10), -1)
        for xx in range(0, W, max(3, int(hh))):
            cv2.line(img, (xx, int(yy)), (xx, int(yy + hh)), (30, 150, 180), 1)


def _flat_clutter(img, rng, L: Layout, keep_clear=()) -> None:
    """Manholes, stains, leaf/pebble clusters, cracks. Stains and leaf clusters
    centred inside a ``keep_clear`` rectangle (x0, y0, x1, y1 pixels) are not
    painted; the random stream is consumed exactly as if they were."""
    W, H = L.width, L.height

    def clear(x, y) -> bool:
        return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in keep_clear)

    for _ in range(int(rng.integers(0, 3))):  # manholes
        region = _pick(rng, ["road", "near_walk", "far_walk"])
        y = rng.uniform(*L.region(region))
        r = 0.35 * L.ppm(y)
        x = rng.uniform(0, W)
        cv2.ellipse(img, (int(x), int(y)), (int(r), max(1, int(r * 0.35))), 0, 0, 360, (70, 72, 75), -1)
        cv2.ellipse(img, (int(x), int(y)), (int(r * 0.8), max(1, int(r * 0.28))), 0, 0, 360, (95, 97, 100), 1)
    for _ in range(int(rng.integers(0, 5))):  # stains
        y = rng.uniform(L.facade_bottom, H)
        r = rng.uniform(0.15, 0.6) * L.ppm(y)
        x = rng.uniform(0, W)
        pts = _ellipse_pts(x, y, r, r * 0.35, 0, 12) + rng.normal(0, r * 0.15, (12, 2))
        mask = np.zeros((H, W), np.float32)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
        strength = rng.uniform(0.15, 0.4)
        if not clear(x, y):
            img *= (1 - strength * mask)[..., None]
    for _ in range(int(rng.integers(0, 4))):  # leaves and pebbles
        y = rng.uniform(L.near_kerb, H)
        x = rng.uniform(0, W)
        skip = clear(x, y)
        for _ in range(int(rng.integers(3, 12))):
            c = _pick(rng, [(40, 100, 160), (40, 130, 170), (50, 110, 80), (110, 115, 120), (60, 80, 110)])
            p = (int(x + rng.normal(0, 12)), int(y + rng.normal(0, 4)))
            axes, ang = (int(rng.integers(1, 4)), int(rng.integers(1, 3))), float(rng.uniform(0, 180))
            if not skip:
                cv2.ellipse(img, p, axes, ang, 0, 360, c, -1)
    for _ in range(int(rng.integers(0, 4))):  # cracks
        y = rng.uniform(L.far_kerb, H)
        x = rng.uniform(0, W)
        pts = np.cumsum(rng.normal(0, 5, (6, 2)), 0) + [x, y]
        cv2.polylines(img, [pts.astype(np.int32)], False, (55, 55, 58), 1)


def render_street(rng: np.random.Generator, layout: Layout, keep_clear=()) -> np.ndarray:
    """The flat background: facades, pavements, road, kerbs and ground clutter (float32 BGR).
    ``keep_clear``: pixel rectangles where no stains or leaf clusters are painted."""
    L = layout
    W, H = L.width, L.height
    img = np.zeros((H, W, 3), np.float32)
    _draw_facades(img, rng, L)
    walk = _jitter(rng, _pick(rng, [(150, 155, 160), (120, 130, 150), (170, 170, 165), (110, 120, 140), (140, 140, 140)]), 10)
    _paving(img, rng, L, L.facade_bottom, L.far_kerb, _scale_colour(walk, rng.uniform(0.9, 1.05)))
    asphalt = _jitter(rng, _pick(rng, [(70, 70, 72), (90, 90, 92), (55, 55, 58), (105, 105, 105)]), 6)
    a, b = int(L.far_kerb), int(L.near_kerb)
    img[a:b] = np.asarray(asphalt, np.float32)
    img[a:b] += (_lf_noise(rng, b - a, W, 16, 5) + rng.normal(0, 3, (b - a, W)).astype(np.float32))[..., None]
    kerb = _jitter(rng, (175, 178, 180), 8)
    cv2.rectangle(img, (0, a - 1), (W, a + max(1, int(0.15 * L.ppm(a)))), kerb, -1)
    # lane markings converge towards a vanishing point
    vx = W / 2 + rng.uniform(-0.5, 0.5) * W
    mid = (a + b) / 2
    if rng.random() < 0.5:
        cv2.line(img, (0, int(mid)), (W, int(mid)), (60, 180, 215), max(1, int(0.12 * L.ppm(mid))))
        cv2.line(img, (0, int(mid + 0.2 * L.ppm(mid))), (W, int(mid + 0.2 * L.ppm(mid))), (60, 180, 215), max(1, int(0.12 * L.ppm(mid))))
    else:
        dash = 3.0 * L.ppm(mid)
        for xs in np.arange(rng.uniform(-dash, 0), W, 2 * dash):
            cv2.line(img, (int(xs), int(mid)), (int(xs + dash), int(mid)), (225, 225, 225), max(1, int(0.12 * L.ppm(mid))))
    if rng.random() < 0.3:  # zebra crossing
        cx = rng.uniform(0.1, 0.9) * W
        sw = 0.5 * L.ppm(b)
        for k in range(-4, 5):
            xb = cx + k * 2 * sw
            t0 = (a - L.horizon) / (b - L.horizon)
            top = vx + (xb - vx) * t0
            topw = sw * t0
            cv2.fillPoly(img, [np.array([[top, a + 2], [top + topw, a + 2], [xb + sw, b - 2], [xb, b - 2]], np.int32)], (215, 215, 215))
    # near kerb: a lit top edge and a face
    kh = max(2, int(0.15 * L.ppm(b)))
    cv2.rectangle(img, (0, b), (W, b + kh), _scale_colour(kerb, 0.85), -1)
    cv2.line(img, (0, b), (W, b), _scale_colour(kerb, 1.1), max(1, kh // 3))
    _paving(img, rng, L, b + kh, H, walk)
    # drain grates along the kerb
    for _ in range(int(rng.integers(0, 3))):
        gx = rng.uniform(0, W)
        gw = 0.6 * L.ppm(b)
        cv2.rectangle(img, (int(gx), b + kh), (int(gx + gw), b + kh + max(2, int(0.2 * L.ppm(b)))), (45, 45, 48), -1)
    _flat_clutter(img, rng, L, keep_clear)
    # a big cast shadow from the buildings across part of the ground
    if rng.random() < 0.4:
        mask = np.zeros((H, W), np.float32)
        x0 = rng.uniform(-0.2, 0.8) * W
        pts = np.array([[x0, L.facade_bottom], [x0 + rng.uniform(0.2, 0.7) * W, L.facade_bottom], [x0 + rng.uniform(0.3, 1.0) * W, H], [x0 + rng.uniform(-0.3, 0.2) * W, H]], np.int32)
        cv2.fillPoly(mask, [pts], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), 4)
        mask[: int(L.facade_bottom)] = 0
        img *= (1 - rng.uniform(0.2, 0.45) * mask)[..., None]
    return img


# --------------------------------------------------------------------------- composition


@dataclass
class Placed:
    """A sprite standing in the scene with its anchor at frame pixel (x, y)."""

    kind: str
    sprite: Sprite
    x: float
    y: float
    depth: float | None = None  # larger = nearer the camera = drawn later; default y
    label: str | None = None
    track_id: int = -1
    shadow: bool = True
    min_visible: float = 0.3  # labelled only if at least this fraction of its pixels is visible

    @property
    def z(self) -> float:
        return self.y if self.depth is None else self.depth


@dataclass(frozen=True)
class Annotation:
    label: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 pixels, tight around visible pixels
    visible: float  # fraction of the sprite's pixels that are visible
    track_id: int = -1


@dataclass
class Scene:
    layout: Layout
    base: np.ndarray  # float32 BGR street without sprites
    statics: list[Placed]  # unlabelled distractor sprites
    look: Look


def place(kind: str, style: dict, layout: Layout, x: float, y: float, label: str | None = None, track_id: int = -1, **state) -> Placed:
    """Draw a registered object at ground row y (sized by perspective) and place it."""
    spec = OBJECTS[kind]
    sprite = spec.draw(style, layout.ppm(y), **state)
    return Placed(kind, sprite, x, y, label=label if label is not None else spec.label, track_id=track_id)


def sample_distractors(rng: np.random.Generator, layout: Layout, n: int | None = None) -> list[Placed]:
    names = list(DISTRACTOR_WEIGHTS)
    weights = np.array([DISTRACTOR_WEIGHTS[k] for k in names])
    n = int(rng.integers(2, 11)) if n is None else n
    out: list[Placed] = []
    for _ in range(n):
        name = _pick(rng, names, weights)
        spec = OBJECTS[name]
        region = _pick(rng, spec.where)
        lo, hi = layout.region(region)
        if name in ("tree", "bollard", "pole", "bins", "bike", "planter") and region == "near_walk":
            hi = lo + 0.35 * (hi - lo)  # street furniture lines up along the kerb
        if name == "car":
            lo, hi = (lo, lo + 0.3 * (hi - lo)) if rng.random() < 0.5 else (hi - 0.25 * (hi - lo), hi)
        y = rng.uniform(lo, hi)
        x = rng.uniform(-0.05, 1.05) * layout.width
        count = int(rng.integers(2, 5)) if name in ("bollard", "bike") and rng.random() < 0.6 else 1
        style = spec.sample(rng)
        for k in range(count):
            gap = (1.6 if name == "bollard" else 0.7) * layout.ppm(y)
            out.append(place(name, style if name != "bike" else spec.sample(rng), layout, x + k * gap, y))
    return out


def render_background(rng: np.random.Generator, size=(640, 360), layout: Layout | None = None, n_distractors: int | None = None,
                      keep_clear=()) -> Scene:
    layout = layout or sample_layout(rng, size)
    base = render_street(rng, layout, keep_clear)
    statics = sample_distractors(rng, layout, n_distractors)
    return Scene(layout, base, statics, sample_look(rng))


def _paste(img: np.ndarray, idmap: np.ndarray, s: Sprite, x: float, y: float, index: int) -> tuple[int, int] | None:
    H, W = img.shape[:2]
    ox, oy = int(round(x - s.anchor[0])), int(round(y - s.anchor[1]))
    sw, sh = s.size
    x0, y0, x1, y1 = max(0, ox), max(0, oy), min(W, ox + sw), min(H, oy + sh)
    if x1 <= x0 or y1 <= y0:
        return None
    a = s.alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    c = s.color[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    region = img[y0:y1, x0:x1]
    region *= 1.0 - a[..., None]
    region += c
    idmap[y0:y1, x0:x1][a >= _ALPHA_ON] = index
    return ox, oy


def _contact_shadow(img: np.ndarray, p: Placed, look: Look) -> None:
    s = p.sprite
    on = s.alpha >= _ALPHA_ON
    if not on.any():
        return
    cols = np.where(on.any(0))[0]
    w = (cols[-1] - cols[0] + 1) * 0.55
    h = max(1.5, w * 0.22)
    H, W = img.shape[:2]
    cx, cy = p.x + look.shadow_dx * w * 0.35, p.y - h * 0.15
    x0, x1 = int(max(0, cx - w * 1.3)), int(min(W, cx + w * 1.3 + 1))
    y0, y1 = int(max(0, cy - h * 2.2)), int(min(H, cy + h * 2.2 + 1))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    m = np.exp(-(((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2) * 2.0)
    img[y0:y1, x0:x1] *= (1 - look.shadow * m)[..., None]


def compose(base: np.ndarray, items: list[Placed], look: Look, rng: np.random.Generator) -> tuple[np.ndarray, list[Annotation]]:
    """Paste sprites far-to-near, apply the look; return (uint8 BGR frame, annotations)."""
    img = base.copy()
    H, W = img.shape[:2]
    idmap = np.full((H, W), -1, np.int32)
    order = sorted(range(len(items)), key=lambda i: items[i].z)
    origins: dict[int, tuple[int, int]] = {}
    for i in order:
        p = items[i]
        if p.shadow:
            _contact_shadow(img, p, look)
        o = _paste(img, idmap, p.sprite, p.x, p.y, i)
        if o is not None:
            origins[i] = o
    anns: list[Annotation] = []
    for i, p in enumerate(items):
        if p.label is None or i not in origins:
            continue
        ox, oy = origins[i]
        sw, sh = p.sprite.size
        total = int((p.sprite.alpha >= _ALPHA_ON).sum())
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(W, ox + sw), min(H, oy + sh)
        mine = idmap[y0:y1, x0:x1] == i
        seen = int(mine.sum())
        if total == 0 or seen == 0 or seen / total < p.min_visible:
            continue
        rows, cols = np.where(mine.any(1))[0], np.where(mine.any(0))[0]
        box = (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1), float(y0 + rows[-1] + 1))
        if box[2] - box[0] < 3 or box[3] - box[1] < 3:
            continue
        anns.append(Annotation(p.label, box, seen / total, p.track_id))
    return apply_look(img, look, rng), anns


def render_frame(scene: Scene, objects: list[Placed], rng: np.random.Generator) -> tuple[np.ndarray, list[Annotation]]:
    return compose(scene.base, scene.statics + objects, scene.look, rng)


# --------------------------------------------------------------------------- random training scenes


def _ground_point(rng: np.random.Generator, L: Layout, kind: str, margin: float = 0.0) -> tuple[float, float]:
    region = _pick(rng, OBJECTS[kind].where)
    lo, hi = L.region(region)
    y = rng.uniform(lo, min(hi, L.height - 1))
    x = rng.uniform(-margin, 1 + margin) * L.width
    return x, y


def random_objects(rng: np.random.Generator, scene: Scene, negative: bool = False) -> list[Placed]:
    """Labelled objects for one training image: people (walking, standing,
    carrying bags, partly out of frame), litter and bags on the ground (alone,
    in piles, next to bins)."""
    L = scene.layout
    out: list[Placed] = []
    if negative:
        return out
    n_person = int(_pick(rng, [0, 1, 1, 2, 2, 3, 4, 6]))
    n_litter = int(_pick(rng, [0, 0, 1, 1, 2, 3, 4, 6]))
    n_bag = int(_pick(rng, [0, 0, 1, 1, 2, 3, 4]))
    if n_person + n_litter + n_bag == 0:
        n_litter = 1
    for _ in range(n_person):
        x, y = _ground_point(rng, L, "person", margin=0.06)
        if rng.random() < 0.12:
            y = rng.uniform(L.height, L.height * 1.12)  # feet below the frame edge
        style = sample_person(rng)
        facing = _pick(rng, ["left", "right", "front", "back"], [0.32, 0.32, 0.18, 0.18])
        walking = rng.random() < 0.7
        carrying = rng.random() < 0.18
        ppm = L.ppm(y)
        sprite = draw_person(style, ppm, phase=float(rng.uniform(0, 2 * np.pi)), facing=facing, walking=walking, carrying=carrying)
        out.append(Placed("person", sprite, x, y, label="person"))
        if carrying:
            bag = draw_bag(sample_bag(rng, height_m=float(rng.uniform(0.35, 0.55))), ppm, hanging=True)
            hx, hy = sprite.point("hand", x, y)
            kx, ky = bag.points["knot"]
            bx, by = hx + (bag.anchor[0] - kx), hy + (bag.anchor[1] - ky)
            out.append(Placed("garbage_bag", bag, bx, by, depth=y + 0.5, label="garbage_bag", shadow=False))
    bins = [p for p in scene.statics if p.kind == "bins"]
    for _ in range(n_bag):
        if bins and rng.random() < 0.4:
            b = bins[int(rng.integers(0, len(bins)))]
            x, y = b.x + rng.uniform(-0.7, 0.7) * b.sprite.size[0], b.y + rng.uniform(0.5, 6)
        else:
            x, y = _ground_point(rng, L, "garbage_bag", margin=0.02)
        pile = int(_pick(rng, [1, 1, 1, 2, 3]))
        for k in range(pile):
            px, py = x + rng.uniform(-0.35, 0.35) * L.ppm(y) * k, y + rng.uniform(-0.08, 0.12) * L.ppm(y) * k
            out.append(place("garbage_bag", sample_bag(rng), L, px, py))
    for _ in range(n_litter):
        x, y = _ground_point(rng, L, "litter", margin=0.01)
        if bins and rng.random() < 0.2:
            b = bins[int(rng.integers(0, len(bins)))]
            x, y = b.x + rng.uniform(-0.8, 0.8) * b.sprite.size[0], b.y + rng.uniform(1, 10)
        out.append(place("litter", sample_litter(rng), L, x, y))
    return out


def random_image(rng: np.random.Generator, size=(640, 360), negative: bool = False) -> tuple[np.ndarray, list[Annotation]]:
    scene = render_background(rng, size)
    objects = random_objects(rng, scene, negative=negative)
    return render_frame(scene, objects, rng)


def stable_style(style: dict[str, Any]) -> dict[str, Any]:
    """Round colours so a style dict is JSON-friendly and compact."""
    return {k: (tuple(round(float(x), 1) for x in v) if isinstance(v, tuple) else v) for k, v in style.items()}
