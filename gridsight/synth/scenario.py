"""Scripted scenarios: timed object tracks over one fixed street.

A :class:`Track` is one object: its class, when it is in the scene, where its
ground contact point (bottom-centre, normalised 0..1 frame coordinates) is at
keyframe times (linear in between, so people walk), and optionally which
person carries it until it is put down or dropped.

:func:`demo_scenario` is the ~30 s story the integration tests and the demo
camera config are built on; its ground-truth positions are exported as
constants below and written into the clip's JSON sidecar.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from gridsight.synth.render import Layout

Point = tuple[float, float]


@dataclass
class Track:
    id: int
    cls: str  # registry name: person, litter, garbage_bag, or a distractor kind
    appear: float  # seconds
    disappear: float  # seconds (exclusive)
    keyframes: list[tuple[float, float, float]]  # (t, x, y): bottom-centre, normalised; clamped outside the range
    style: dict[str, Any] = field(default_factory=dict)  # appearance overrides for the registry sampler
    carried_by: int | None = None  # person track id holding this object until `release`
    release: float | None = None  # when it leaves the hand
    lower_s: float = 0.5  # placed down over this long before `release` (dropped items fall faster)
    size_px: float | None = None  # fixed pixel size (litter long side / bag height); None = perspective
    facing: str | None = None  # persons: fixed facing; None = from the walking direction
    label: str | None = "auto"  # annotation label; "auto" = the registry's label

    def visible(self, t: float) -> bool:
        return self.appear <= t < self.disappear

    def position(self, t: float) -> Point:
        ts = [k[0] for k in self.keyframes]
        i = bisect.bisect_right(ts, t)
        if i == 0:
            return self.keyframes[0][1], self.keyframes[0][2]
        if i == len(ts):
            return self.keyframes[-1][1], self.keyframes[-1][2]
        (t0, x0, y0), (t1, x1, y1) = self.keyframes[i - 1], self.keyframes[i]
        a = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        return x0 + (x1 - x0) * a, y0 + (y1 - y0) * a

    def velocity(self, t: float, dt: float = 0.05) -> Point:
        (xa, ya), (xb, yb) = self.position(t - dt), self.position(t + dt)
        return (xb - xa) / (2 * dt), (yb - ya) / (2 * dt)

    def static_intervals(self, min_s: float = 0.5) -> list[dict[str, float]]:
        """Spans (within appear..disappear, after release if carried) where the object does not move."""
        start = self.appear
        if self.carried_by is not None and self.release is not None:
            start = max(start, self.release)
        end = self.disappear
        if end <= start:
            return []
        times = [start] + [k[0] for k in self.keyframes if start < k[0] < end] + [end]
        spans: list[list] = []  # [t0, t1, (x, y)]
        for t0, t1 in zip(times, times[1:]):
            p0, p1 = self.position(t0), self.position(t1)
            if p0 != p1:
                continue
            if spans and spans[-1][1] == t0 and spans[-1][2] == p0:
                spans[-1][1] = t1
            else:
                spans.append([t0, t1, p0])
        return [
            {"from": round(t0, 3), "until": round(t1, 3), "x": round(p[0], 4), "y": round(p[1], 4)}
            for t0, t1, p in spans
            if t1 - t0 >= min_s
        ]


@dataclass
class Scenario:
    name: str
    duration: float
    tracks: list[Track]
    background_seed: int = 7
    layout: dict[str, float] | None = None  # Layout overrides as fractions of the frame height
    n_distractors: int | None = None
    zones: dict[str, list[Point]] = field(default_factory=dict)  # suggested zones, normalised polygons
    clear_ground: list[tuple[float, float, float, float]] = field(default_factory=list)  # normalised rects kept free of stains/leaves
    scene: str = "street"  # background: street, corridor or elevator (indoor: a random room; `layout` must be None)

    def track(self, track_id: int) -> Track:
        return next(t for t in self.tracks if t.id == track_id)

    def make_layout(self, size: tuple[int, int]) -> Layout | None:
        if self.layout is None:
            return None
        W, H = size
        f = self.layout
        return Layout(W, H, f["facade_bottom"] * H, f["far_kerb"] * H, f["near_kerb"] * H, f["horizon"] * H, f["person_px_bottom"] * H)


# --------------------------------------------------------------------------- the demo story

DEMO_DURATION_S = 30.0
#: Demo camera zones (normalised polygons) that the demo config draws.
WEST_KERB: list[Point] = [(0.05, 0.70), (0.45, 0.70), (0.45, 1.0), (0.05, 1.0)]
EAST_KERB: list[Point] = [(0.55, 0.70), (0.95, 0.70), (0.95, 1.0), (0.55, 1.0)]
#: Ground truth (normalised bottom-centre positions, seconds).
DEMO_BAG_POS: Point = (0.25, 0.85)
DEMO_BAG_PLACED_S = 6.0
DEMO_LITTER_POS: Point = (0.72, 0.88)
DEMO_LITTER_DROPPED_S = 13.0
DEMO_LOITER_POS: Point = (0.65, 0.80)
DEMO_LOITER_S = (19.5, 27.0)
#: Track ids in the demo scenario.
PEDESTRIAN, PERSON_A, BAG, PERSON_B, LITTER, PERSON_C = 1, 2, 3, 4, 5, 6

DEMO_LAYOUT = {
    "facade_bottom": 0.36,
    "far_kerb": 0.42,
    "near_kerb": 0.64,
    "horizon": -0.25,
    "person_px_bottom": 0.5,
}


def demo_scenario() -> Scenario:
    """About 30 s on one street with a pavement across the lower part of the frame.

    * 0.8-5.6 s: a pedestrian crosses left to right and leaves (no litter).
    * 3-10 s: person A walks in from the left carrying a garbage bag, stops at
      x~0.21, puts the bag down at (0.25, 0.85) at 6 s (it stays to the end)
      and walks back out to the left by ~9.5 s.
    * 10-18 s: person B walks in from the right, drops a bottle at
      (0.72, 0.88) at 13 s (it stays to the end) and leaves on the left by ~18 s.
    * 17.5-29 s: person C walks in from the right, stands still at
      (0.65, 0.80), inside east-kerb, from 19.5 to 27 s, then leaves to the right.
      A loitering person is not litter: a negative for littering rules.
    """
    bx, by = DEMO_BAG_POS
    lx, ly = DEMO_LITTER_POS
    cx, cy = DEMO_LOITER_POS
    tracks = [
        Track(PEDESTRIAN, "person", 0.8, 5.6, [(0.8, -0.06, 0.74), (5.6, 1.06, 0.745)],
              style={"top": (40, 40, 170), "bottom": (110, 70, 40), "lower": "trousers", "hat": None, "backpack": None, "height_m": 1.72}),
        Track(PERSON_A, "person", 3.0, 9.6, [(3.0, -0.06, 0.80), (5.0, 0.205, 0.80), (6.5, 0.205, 0.80), (9.6, -0.07, 0.81)],
              style={"top": (60, 120, 40), "bottom": (30, 30, 30), "lower": "trousers", "jacket": None, "hat": None, "backpack": None, "height_m": 1.75}),
        Track(BAG, "garbage_bag", 3.0, DEMO_DURATION_S, [(0.0, bx, by)], carried_by=PERSON_A, release=DEMO_BAG_PLACED_S, lower_s=0.6,
              style={"colour_name": "black", "colour": (30, 30, 33), "aspect": 1.0, "lean": 0.0}, size_px=56.0),
        Track(PERSON_B, "person", 10.0, 18.0, [(10.0, 1.06, 0.835), (13.0, 0.73, 0.835), (13.4, 0.73, 0.835), (18.0, -0.07, 0.83)],
              style={"top": (170, 90, 30), "bottom": (120, 160, 180), "lower": "trousers", "jacket": None, "hat": None, "backpack": None, "height_m": 1.68}),
        Track(LITTER, "litter", 10.0, DEMO_DURATION_S, [(0.0, lx, ly)], carried_by=PERSON_B, release=DEMO_LITTER_DROPPED_S, lower_s=0.25,
              style={"kind": "bottle", "body": (200, 212, 206), "accent": (40, 40, 200), "cap": (200, 120, 30), "upright": False, "angle": 32.0},
              size_px=40.0),
        Track(PERSON_C, "person", 17.5, 29.0, [(17.5, 1.06, 0.80), (DEMO_LOITER_S[0], cx, cy), (DEMO_LOITER_S[1], cx, cy), (29.0, 1.07, 0.80)],
              style={"top": (235, 235, 235), "bottom": (40, 40, 40), "lower": "trousers", "jacket": (120, 50, 100), "hat": None, "backpack": None, "height_m": 1.7}),
    ]
    return Scenario(
        name="demo-littering",
        duration=DEMO_DURATION_S,
        tracks=tracks,
        background_seed=7,
        layout=DEMO_LAYOUT,
        n_distractors=None,
        zones={"west-kerb": WEST_KERB, "east-kerb": EAST_KERB},
        clear_ground=[(0.0, 0.6, 1.0, 1.0)],  # no leaf clusters or stains on the pavement where the story happens
    )


def short_scenario(duration: float = 2.0) -> Scenario:
    """A tiny scenario for tests: a bag already on the ground in west-kerb and a
    person walking across."""
    bx, by = DEMO_BAG_POS
    return Scenario(
        name="short",
        duration=duration,
        tracks=[
            Track(1, "garbage_bag", 0.0, duration, [(0.0, bx, by)], style={"colour_name": "black", "colour": (30, 30, 33)}, size_px=56.0),
            Track(2, "person", 0.2, duration, [(0.2, -0.05, 0.8), (duration, 0.6, 0.8)]),
        ],
        background_seed=7,
        layout=DEMO_LAYOUT,
        zones={"west-kerb": WEST_KERB, "east-kerb": EAST_KERB},
        clear_ground=[(0.0, 0.6, 1.0, 1.0)],
    )
