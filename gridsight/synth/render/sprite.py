"""Sprites and the vector drawing they are rasterised from. :class:`Drawing` collects primitives
(polygons, ellipses, thick polylines with round caps) in object-local pixel units, can rotate
them and add post effects (vertical shading, seeded texture noise), and rasterises them
supersampled with OpenCV into a :class:`Sprite`: premultiplied colour plus an alpha mask, an
anchor (the point that touches the ground) and named points such as a person's hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from gridsight.synth.render.common import Colour, _clip_colour

_SHIFT = 2  # cv2 fractional-coordinate bits


# --------------------------------------------------------------------------- sprites


@dataclass
class Sprite:
    color: np.ndarray  # (h, w, 3) float32, premultiplied BGR
    alpha: np.ndarray  # (h, w) float32 in [0, 1]
    anchor: tuple[float, float]  # sprite pixel that goes onto the scene position (ground contact point)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # named points, sprite pixels
    hanging: bool = False  # anchor is an attachment point (window, line), not a ground contact: no contact shadow

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
