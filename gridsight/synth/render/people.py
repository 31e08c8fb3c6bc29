"""People: the clothing, skin and hair palettes, :func:`sample_person` (a JSON-able appearance:
height, build, colours, hair style, sleeves, jacket, hat, backpack) and :func:`draw_person`, which
draws a walking or standing figure in profile, front or back view at a given gait phase, with an
optional hand point for carrying a bag. Registers the labelled ``person`` kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gridsight.synth.render.common import Colour, _hsv, _jitter, _pick, _scale_colour
from gridsight.synth.render.registry import register_object
from gridsight.synth.render.sprite import Drawing, Sprite

CLOTHES: list[Colour] = [
    (30, 30, 30), (235, 235, 235), (128, 128, 128), (80, 40, 20), (120, 70, 30), (40, 40, 170), (170, 90, 30),
    (60, 120, 40), (150, 190, 210), (40, 70, 110), (170, 140, 230), (40, 200, 230), (30, 120, 230), (120, 50, 100),
    (90, 90, 60), (200, 200, 160), (60, 60, 90),
]
TROUSERS: list[Colour] = [(30, 30, 30), (110, 70, 40), (140, 100, 60), (90, 90, 90), (120, 160, 180), (60, 50, 40), (200, 200, 200)]
SKIN: list[Colour] = [(160, 190, 228), (140, 175, 215), (120, 160, 205), (100, 140, 185), (80, 115, 160)]
HAIR: list[Colour] = [(20, 20, 22), (28, 30, 35), (30, 45, 70), (60, 75, 100), (150, 150, 150)]


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


@dataclass
class _Body:
    """What every part of one figure is drawn from: its size, build, colours and limb widths."""

    style: dict
    H: float  # height in pixels
    b: float  # build
    d: float  # +1 facing right, -1 left, 0 front/back
    A: float  # gait amplitude (0 standing)
    hip_y: float
    sh_y: float
    leg_w: float
    shin_w: float
    arm_w: float
    fore_w: float
    L1: float
    L2: float
    shin_col: Colour
    arm_col: Colour
    fore_col: Colour

    @classmethod
    def of(cls, style: dict, ppm: float, facing: str, walking: bool) -> "_Body":
        H = style["height_m"] * ppm
        b = style["build"]
        jacket = style.get("jacket")
        lower = style["lower"]
        arm_col = jacket or style["top"]
        return cls(
            style=style, H=H, b=b, d={"right": 1.0, "left": -1.0}.get(facing, 0.0), A=0.42 if walking else 0.0,
            hip_y=-0.50 * H, sh_y=-0.815 * H,
            leg_w=0.075 * H * b, shin_w=0.06 * H * b, arm_w=0.052 * H * b, fore_w=0.042 * H * b,
            L1=0.245 * H, L2=0.245 * H,
            shin_col=style["skin"] if lower in ("shorts", "skirt") else style["bottom"],
            arm_col=arm_col,
            fore_col=style["skin"] if style["sleeves"] == "short" and not jacket else arm_col,
        )


def _profile_limbs(body: _Body, phase: float, walking: bool, carrying: bool) -> tuple[list, list]:
    """Hip-knee-ankle and shoulder-elbow-hand of both sides, lifted so the lowest sole touches
    y=0 (``body.hip_y`` and ``body.sh_y`` move with them)."""
    H, d, A = body.H, body.d, body.A
    legs = []
    for i in (0, 1):
        ph = phase + math.pi * i
        th = A * math.sin(ph) if walking else (0.04 if i == 0 else -0.04)
        kappa = 0.55 * max(0.0, math.cos(ph)) if walking else 0.02
        hip = np.array([0.0, body.hip_y])
        knee = hip + body.L1 * np.array([math.sin(th) * d, math.cos(th)])
        psi = th - kappa
        ankle = knee + body.L2 * np.array([math.sin(psi) * d, math.cos(psi)])
        legs.append((hip, knee, ankle))
    lift = max(l[2][1] for l in legs) + 0.022 * H  # lowest sole must touch y=0
    legs = [tuple(p - np.array([0.0, lift]) for p in l) for l in legs]
    body.hip_y -= lift
    body.sh_y -= lift
    shoulder = np.array([0.012 * H * d, body.sh_y])
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
    return legs, arms


def _draw_profile(dr: Drawing, body: _Body, phase: float, walking: bool, carrying: bool) -> tuple[np.ndarray, np.ndarray]:
    """A figure seen from the side, far limbs darker; returns (near hand, head centre)."""
    style, H, b, d = body.style, body.H, body.b, body.d
    bottom, skin, lower, jacket = style["bottom"], style["skin"], style["lower"], style.get("jacket")
    far = 0.78  # far-side limbs are darker
    legs, arms = _profile_limbs(body, phase, walking, carrying)
    hip_y, sh_y, shoulder = body.hip_y, body.sh_y, arms[0][0]

    def draw_leg(l, k):
        hip, knee, ankle = l
        dr.line([hip, knee], _scale_colour(bottom, k), body.leg_w)
        dr.line([knee, ankle], _scale_colour(body.shin_col if lower != "skirt" else skin, k), body.shin_w)
        heel, toe = ankle + np.array([-0.02 * H * d, 0.0]), ankle + np.array([0.065 * H * d, 0.008 * H])
        dr.line([heel, toe], _scale_colour(style["shoes"], k), 0.038 * H)

    def draw_arm(a, k):
        s, e, h = a
        dr.line([s, e], _scale_colour(body.arm_col, k), body.arm_w)
        dr.line([e, h], _scale_colour(body.fore_col, k), body.fore_w)
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
    dr.poly(torso, jacket or style["top"])
    if jacket:
        dr.poly([[shoulder[0] + 0.5 * tw_s * d, sh_y], [shoulder[0] + 0.85 * tw_s * d, sh_y], [0.9 * tw_h * d, hip_y], [0.55 * tw_h * d, hip_y]], style["top"])
    # hips / waistband in trouser colour
    dr.ellipse(0.0, hip_y + 0.01 * H, tw_h * 1.05, 0.035 * H, bottom)
    if lower == "skirt":
        dr.poly([[-tw_h * d * 1.1, hip_y], [tw_h * d * 1.1, hip_y], [0.13 * H * d, hip_y + 0.2 * H], [-0.13 * H * d, hip_y + 0.2 * H]], bottom)
    draw_arm(arms[0], 1.0)
    return arms[0][2], np.array([0.02 * H * d, sh_y - 0.115 * H])


def _draw_front_back(dr: Drawing, body: _Body, phase: float, facing: str, walking: bool,
                     carrying: bool) -> tuple[np.ndarray, np.ndarray]:
    """A figure seen from the front or the back; returns (near hand, head centre)."""
    style, H, b = body.style, body.H, body.b
    bottom, skin, lower, jacket = style["bottom"], style["skin"], style["lower"], style.get("jacket")
    hip_y, sh_y = body.hip_y, body.sh_y
    legs = []
    for i, side in ((0, 1.0), (1, -1.0)):
        ph = phase + math.pi * i
        lift = 0.035 * H * max(0.0, math.sin(ph)) if walking else 0.0
        hip = np.array([0.048 * H * b * side, hip_y])
        ankle = np.array([0.05 * H * b * side, -0.03 * H - lift])
        knee = (hip + ankle) / 2
        legs.append((hip, knee, ankle))
    for hip, knee, ankle in legs:
        dr.line([hip, knee], bottom, body.leg_w)
        dr.line([knee, ankle], body.shin_col if lower != "skirt" else skin, body.shin_w)
        dr.ellipse(ankle[0], ankle[1] + 0.012 * H, 0.032 * H, 0.02 * H, style["shoes"])
    tw_s, tw_h = 0.118 * H * b, 0.088 * H * b
    dr.poly([[-tw_s, sh_y], [tw_s, sh_y], [tw_h, hip_y + 0.02 * H], [-tw_h, hip_y + 0.02 * H]], jacket or style["top"])
    if jacket and facing == "front":
        dr.poly([[-0.03 * H, sh_y], [0.03 * H, sh_y], [0.03 * H, hip_y], [-0.03 * H, hip_y]], style["top"])
    dr.poly([[-tw_h, hip_y], [tw_h, hip_y], [tw_h * 1.02, hip_y + 0.06 * H], [-tw_h * 1.02, hip_y + 0.06 * H]], bottom)
    if lower == "skirt":
        dr.poly([[-tw_h, hip_y], [tw_h, hip_y], [0.13 * H, hip_y + 0.2 * H], [-0.13 * H, hip_y + 0.2 * H]], bottom)
    for i, side in ((0, 1.0), (1, -1.0)):
        ph = phase + math.pi * i
        sw = 0.02 * H * math.sin(ph) if walking else 0.0
        s = np.array([tw_s * 0.92 * side, sh_y + 0.02 * H])
        e = np.array([(tw_s + 0.02 * H) * side, sh_y + 0.17 * H - abs(sw) * 0.3])
        hnd = np.array([(tw_s + 0.028 * H) * side, sh_y + (0.34 if carrying and i == 0 else 0.31) * H - abs(sw)])
        dr.line([s, e], body.arm_col, body.arm_w)
        dr.line([e, hnd], body.fore_col, body.fore_w)
        dr.ellipse(hnd[0], hnd[1], 0.024 * H, 0.026 * H, skin)
        if i == 0:
            hand = hnd
    if facing == "back" and style.get("backpack") is not None:
        dr.poly([[-0.08 * H, sh_y + 0.03 * H], [0.08 * H, sh_y + 0.03 * H], [0.075 * H, sh_y + 0.26 * H], [-0.075 * H, sh_y + 0.26 * H]], style["backpack"])
    return hand, np.array([0.0, sh_y - 0.115 * H])


def _draw_head(dr: Drawing, body: _Body, head: np.ndarray, facing: str) -> None:
    """Neck, head, hair (short, long or a bun) and the odd hat, for the figure's view."""
    style, H, d, sh_y, skin = body.style, body.H, body.d, body.sh_y, body.style["skin"]
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


def draw_person(style: dict, ppm: float, phase: float = 0.0, facing: str = "right", walking: bool = True, carrying: bool = False) -> Sprite:
    """A person whose feet touch y=0 at x=0. ``phase`` is the gait phase in radians.
    ``facing`` is left/right (profile) or front/back. ``carrying`` holds the near
    hand down (a bag hangs from point ``hand``)."""
    body = _Body.of(style, ppm, facing, walking)
    dr = Drawing()
    if body.d != 0.0:
        hand, head = _draw_profile(dr, body, phase, walking, carrying)
    else:
        hand, head = _draw_front_back(dr, body, phase, facing, walking, carrying)
    _draw_head(dr, body, head, facing)
    dr.point("hand", float(hand[0]), float(hand[1]))
    dr.shade(1.08, 0.9)
    return dr.render((0.0, 0.0), ss=3)


register_object("person", sample=sample_person, draw=draw_person, where=("far_walk", "road", "near_walk"), label="person")
