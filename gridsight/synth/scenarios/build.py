"""Small builders for scripted tracks and zones, so each scenario reads as its story.

Times are clip seconds, positions the normalised bottom-centre (ground contact point) of
the object, as in :class:`~gridsight.synth.scenario.Track`.
"""

from __future__ import annotations

import dataclasses

from gridsight.synth.scenario import Point, Scenario, Track
from gridsight.synth.scenarios.spec import Expected, RuleLine, ScenarioCase, ZoneSpec

#: The street every outdoor scenario uses (fractions of the frame height): facades above
#: 0.36, far pavement to 0.42, road to 0.64, near pavement below.
STREET = {"facade_bottom": 0.36, "far_kerb": 0.42, "near_kerb": 0.64, "horizon": -0.25, "person_px_bottom": 0.5}
#: A street with a wide far pavement in front of the shops (shopfront cases).
SHOP_STREET = {"facade_bottom": 0.30, "far_kerb": 0.50, "near_kerb": 0.70, "horizon": -0.35, "person_px_bottom": 0.5}


def rect(x0: float, y0: float, x1: float, y1: float) -> tuple[Point, ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def zone(kind: str, x0: float, y0: float, x1: float, y1: float) -> ZoneSpec:
    return ZoneSpec(kind, rect(x0, y0, x1, y1))


def still(tid: int, cls: str, at: Point, appear: float, disappear: float, **kw) -> Track:
    """An object standing at one point from ``appear`` until ``disappear``."""
    return Track(tid, cls, appear, disappear, [(appear, at[0], at[1])], **kw)


def path(tid: int, cls: str, *keys: tuple[float, float, float], **kw) -> Track:
    """An object moving through keyframes ``(t, x, y)``; visible from the first to the last."""
    return Track(tid, cls, keys[0][0], keys[-1][0], list(keys), **kw)


def beside(tid: int, cls: str, leader: Track, dx: float, dy: float = 0.0, **kw) -> Track:
    """An object moving with ``leader`` at a fixed offset (an e-bike pushed, a cart pulled)."""
    keys = [(t, x + dx, y + dy) for t, x, y in leader.keyframes]
    return Track(tid, cls, leader.appear, leader.disappear, keys, **kw)


def scenario(name: str, duration: float, tracks: list[Track], *, scene: str = "street", seed: int = 11,
             layout: dict | None = None) -> Scenario:
    """A :class:`Scenario` with no random distractors (nothing unscripted may trigger a rule)
    and the ground kept free of clutter; indoor scenes are passed to the renderer when it
    knows them."""
    kwargs = dict(name=name, duration=duration, tracks=tracks, background_seed=seed, n_distractors=0,
                  clear_ground=[(0.0, 0.0, 1.0, 1.0)])
    if scene == "street":
        kwargs["layout"] = layout or STREET
    if scene != "street" and "scene" in {f.name for f in dataclasses.fields(Scenario)}:
        kwargs["scene"] = scene
    return Scenario(**kwargs)


def case(name: str, description: str, duration: float, tracks: list[Track], zones: dict[str, ZoneSpec],
         rules: dict[str, RuleLine], events=(), *, seed: int, scene: str = "street", layout: dict | None = None) -> ScenarioCase:
    """A :class:`ScenarioCase` whose scenario has the case's name (see :func:`scenario`)."""
    return ScenarioCase(name, description, scene, scenario(name, duration, tracks, scene=scene, seed=seed, layout=layout),
                        zones=zones, rules=rules, events=list(events))
