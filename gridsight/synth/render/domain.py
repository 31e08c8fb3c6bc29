"""Domain shifts: scene families the demo weights were never trained on.

A :class:`DomainShift` names a family and its strength; :func:`sample_domain_scene` fixes,
for one scene (one training image, or one whole clip), what must not change from frame to
frame: where the street lamps are and the camera's perspective warp. :func:`shift_frame`
then turns one composed frame (colour plus the id map of which sprite drew each pixel) into
the shifted frame: warped, lit at night by low-pressure sodium lamps (orange, nearly
monochrome), with glare around the lamp heads, rain streaks and high-gain sensor noise.

The id map is warped with the image (nearest neighbour), so the caller recomputes every
label's tight box from the pixels that are still visible after the warp: labels stay exact
and inside the frame. Everything random comes from the generators passed in.

Family ``"night_sodium"`` at ``strength`` 1: about a quarter of daylight ambient, pools of
sodium light, a high oblique camera (top of the frame 30 % narrower), rain. ``strength``
scales every effect (darker, noisier, steeper) for a harder shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DOMAINS = ("night_sodium",)
#: Sodium lamp colour in BGR (low blue: a low-pressure sodium line is at 589 nm).
SODIUM_BGR = (0.28, 0.62, 1.15)
_OUTSIDE_BGR = (6.0, 7.0, 9.0)  # what the warped frame shows outside the source image


@dataclass(frozen=True)
class DomainShift:
    """A named shifted family at a strength (1.0 = the measured default)."""

    name: str
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in DOMAINS:
            raise ValueError(f"unknown domain {self.name!r}; known: {', '.join(DOMAINS)}")
        if not 0.0 < self.strength <= 3.0:
            raise ValueError(f"domain strength must be in (0, 3], got {self.strength}")


@dataclass(frozen=True)
class DomainScene:
    """What stays fixed for one scene: the warp and the lamps (pixel units of the frame)."""

    shift: DomainShift
    size: tuple[int, int]
    homography: np.ndarray  # 3x3, source frame pixels -> shifted frame pixels
    lamps: tuple[tuple[float, float, float], ...]  # (x, y, radius) of each lamp head, in shifted pixels
    rain_angle: float  # radians from vertical

    def warp_points(self, points: np.ndarray) -> np.ndarray:
        """Normalised (x, y) points of the source frame -> normalised points of the shifted frame."""
        W, H = self.size
        pts = np.asarray(points, np.float64).reshape(-1, 1, 2) * (W, H)
        out = cv2.perspectiveTransform(pts, self.homography).reshape(-1, 2) / (W, H)
        return np.clip(out, 0.0, 1.0)


def parse_domain(value: str | None) -> DomainShift | None:
    """``"night_sodium"`` or ``"night_sodium:1.5"`` (name:strength); None or "normal" -> no shift."""
    if value is None or value in ("", "normal"):
        return None
    name, _, strength = value.partition(":")
    try:
        return DomainShift(name, float(strength) if strength else 1.0)
    except ValueError as exc:
        raise ValueError(f"domain {value!r}: {exc}") from None


def oblique_homography(size: tuple[int, int], steepness: float, roll: float = 0.0) -> np.ndarray:
    """A high oblique camera: the top of the frame narrowed by ``steepness`` (fraction of the
    width, split over both sides), the top-left corner lowered by ``roll`` (fraction of the height)."""
    W, H = size
    a = 0.5 * steepness * W
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    dst = np.float32([[a, roll * H], [W - a, 0], [W, H], [0, H]])
    return cv2.getPerspectiveTransform(src, dst)


def sample_domain_scene(rng: np.random.Generator, size: tuple[int, int], shift: DomainShift) -> DomainScene:
    """The scene-fixed parts of the shift: warp, 1-3 lamp heads in the upper part, rain angle."""
    W, H = size
    s = shift.strength
    steep = min(0.7, float(rng.uniform(0.24, 0.36)) * s)
    roll = float(rng.uniform(-0.05, 0.05)) * min(s, 1.5)
    homography = oblique_homography(size, steep, max(0.0, roll))
    n = int(rng.integers(1, 4))
    lamps = tuple((float(rng.uniform(0.1, 0.9) * W), float(rng.uniform(0.04, 0.4) * H), float(rng.uniform(0.025, 0.05) * W))
                  for _ in range(n))
    return DomainScene(shift, (int(W), int(H)), homography, lamps, float(rng.uniform(0.1, 0.35)))


def warp_frame(image: np.ndarray, ids: np.ndarray, dscene: DomainScene) -> tuple[np.ndarray, np.ndarray]:
    """Warp the colour frame (bilinear) and the sprite id map (nearest, -1 outside)."""
    W, H = dscene.size
    out = cv2.warpPerspective(image, dscene.homography, (W, H), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=_OUTSIDE_BGR)
    # The id map goes through float32 (warpPerspective has no int32 path); ids are small integers.
    warped_ids = cv2.warpPerspective((ids + 1).astype(np.float32), dscene.homography, (W, H), flags=cv2.INTER_NEAREST,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out, np.rint(warped_ids).astype(np.int32) - 1


def _illumination(dscene: DomainScene) -> np.ndarray:
    """Ambient night level plus a pool of sodium light under each lamp (H x W, multiplicative)."""
    W, H = dscene.size
    s = dscene.shift.strength
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = np.full((H, W), max(0.06, 0.26 - 0.1 * (s - 1.0)), np.float32)
    for x, y, r in dscene.lamps:
        pool_y = y + 0.55 * H  # the lit ground below the lamp
        light += 0.75 * np.exp(-(((xx - x) / (5.0 * r)) ** 2 + ((yy - pool_y) / (3.5 * r)) ** 2))
    return light


def _glare(dscene: DomainScene) -> np.ndarray:
    """Additive glare: a saturated lamp head, a wide halo and a horizontal flare streak."""
    W, H = dscene.size
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    glare = np.zeros((H, W), np.float32)
    for x, y, r in dscene.lamps:
        d2 = (xx - x) ** 2 + (yy - y) ** 2
        glare += 255.0 * np.exp(-d2 / (2 * r * r)) + 90.0 * np.exp(-d2 / (2 * (4 * r) ** 2))
        glare += 60.0 * np.exp(-((yy - y) / (0.3 * r)) ** 2 - ((xx - x) / (10 * r)) ** 2)
    return glare


def _rain(rng: np.random.Generator, dscene: DomainScene) -> np.ndarray:
    """This frame's rain streaks (H x W additive brightness)."""
    W, H = dscene.size
    layer = np.zeros((H, W), np.float32)
    n = int(0.0016 * W * H * min(dscene.shift.strength, 2.0))
    length = rng.uniform(0.03, 0.08, n) * H
    x0, y0 = rng.uniform(0, W, n), rng.uniform(-0.1 * H, H, n)
    dx, dy = np.sin(dscene.rain_angle) * length, np.cos(dscene.rain_angle) * length
    for i in range(n):
        cv2.line(layer, (int(x0[i]), int(y0[i])), (int(x0[i] + dx[i]), int(y0[i] + dy[i])), float(rng.uniform(25, 70)), 1,
                 cv2.LINE_AA)
    return layer


def shift_frame(image: np.ndarray, ids: np.ndarray, dscene: DomainScene, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 BGR frame after its day look, sprite id map) -> (shifted uint8 frame, warped id map)."""
    s = dscene.shift.strength
    warped, warped_ids = warp_frame(image.astype(np.float32), ids, dscene)
    grey = warped.mean(axis=2, keepdims=True)
    mono = 0.3 * warped + 0.7 * grey  # sodium light leaves little colour to see
    out = mono * np.asarray(SODIUM_BGR, np.float32) * _illumination(dscene)[..., None]
    out += _glare(dscene)[..., None] * np.asarray((0.55, 0.85, 1.0), np.float32)
    out += _rain(rng, dscene)[..., None] * np.asarray((0.6, 0.8, 0.95), np.float32)
    out = cv2.GaussianBlur(out, (0, 0), 0.6 + 0.4 * s)
    sigma = 7.0 * s
    out += rng.normal(0, sigma, out.shape[:2]).astype(np.float32)[..., None]  # luminance noise
    out += rng.normal(0, 0.5 * sigma, out.shape).astype(np.float32)  # chroma noise
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), warped_ids
