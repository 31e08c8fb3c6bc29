"""Shared pieces of the street renderer: the labelled class list, the BGR colour type and the
colour helpers every drawing module uses (clipping, scaling, mixing, jitter, HSV conversion),
plus the small RNG utilities (``_pick`` for weighted choices, ``_seed`` to derive a sub-seed)
and ``stable_style`` which rounds a style dict for JSON. Nothing here draws; it has no
dependencies inside the package.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# Labelled classes, in model class-id order. Never reorder: trained weights depend on it.
CLASSES: tuple[str, ...] = (
    "person", "litter", "garbage_bag", "garbage_pile", "bin", "bin_full", "ebike", "bicycle", "car", "truck",
    "cable", "power_strip", "stall", "umbrella", "goods", "pile", "cone", "barrier", "wheelchair", "stroller",
    "laundry", "banner", "billboard", "grill", "scrap",
)

Colour = tuple[float, float, float]  # BGR, 0..255


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


# --------------------------------------------------------------------------- RNG / style utilities


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def style_rng(style: dict[str, Any]) -> np.random.Generator:
    """The generator a draw function derives its appearance from (``style["seed"]``)."""
    return np.random.default_rng(style["seed"])


def sample_seeded(rng: np.random.Generator, **overrides) -> dict:
    """The common sampler: one seed drawn from ``rng`` (the draw function derives the appearance
    from it); ``overrides`` replace derived appearance keys, e.g. ``colour``."""
    style: dict[str, Any] = {"seed": _seed(rng)}
    style.update(overrides)
    return style


def min_scale(ppm: float, size_m: float, min_px: float) -> float:
    """Pixels per metre, raised so an object ``size_m`` long is at least ``min_px`` pixels."""
    return max(float(ppm), min_px / max(size_m, 1e-6))


def stable_style(style: dict[str, Any]) -> dict[str, Any]:
    """Round colours so a style dict is JSON-friendly and compact."""
    return {k: (tuple(round(float(x), 1) for x in v) if isinstance(v, tuple) else v) for k, v in style.items()}
