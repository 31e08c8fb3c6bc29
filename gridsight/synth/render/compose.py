"""Composition: :class:`Placed` sprites, :class:`Scene` (layout, street, distractors, look) and
:class:`Annotation`. :func:`render_background` builds a Scene; :func:`compose` pastes sprites
far-to-near with contact shadows, applies the look and returns the frame with the exact tight
box of every labelled sprite's visible pixels (occlusion by nearer sprites and the frame edge
accounted for); :func:`render_frame` composes a Scene with moving objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridsight.synth.render.background import (
    Layout,
    Look,
    apply_look,
    render_street,
    sample_layout,
    sample_look,
)
from gridsight.synth.render.common import _pick
from gridsight.synth.render.distractors import DISTRACTOR_WEIGHTS
from gridsight.synth.render.domain import DomainScene, shift_frame
from gridsight.synth.render.indoor import render_indoor, sample_indoor_layout
from gridsight.synth.render.registry import OBJECTS
from gridsight.synth.render.sprite import Sprite
from gridsight.synth.render.waste import bin_row

_KERB_ROWS = ("near_walk", "far_walk")  # where bin rows and parked bicycles stand when a street is dressed
_ALPHA_ON = 0.3  # a sprite pixel counts as "drawn" (for boxes and occlusion) at this alpha


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
    layout: Layout  # layout.scene: "street", "corridor" or "elevator"
    base: np.ndarray  # float32 BGR background without sprites
    statics: list[Placed]  # unlabelled distractor sprites
    look: Look


def place(kind: str, style: dict, layout: Layout, x: float, y: float, label: str | None = None, track_id: int = -1, **state) -> Placed:
    """Draw a registered object at ground row y (sized by perspective) and place it."""
    spec = OBJECTS[kind]
    sprite = spec.draw(style, layout.ppm(y), **state)
    return Placed(kind, sprite, x, y, label=label if label is not None else spec.label, track_id=track_id)


def sample_distractors(rng: np.random.Generator, layout: Layout, n: int | None = None) -> list[Placed]:
    """Street furniture along the pavements and parked on the road: unlabelled kinds plus the
    labelled car, cone, bicycle (often in rows) and rows of sorting bins (one sprite per bin)."""
    names = list(DISTRACTOR_WEIGHTS)
    weights = np.array([DISTRACTOR_WEIGHTS[k] for k in names])
    n = int(rng.integers(2, 11)) if n is None else n
    out: list[Placed] = []
    for _ in range(n):
        name = _pick(rng, names, weights)
        spec = OBJECTS[name]
        region = _pick(rng, _KERB_ROWS if name in ("bin", "bicycle") else spec.where)
        lo, hi = layout.region(region)
        if name in ("tree", "bollard", "pole", "bin", "bicycle", "planter") and region == "near_walk":
            hi = lo + 0.35 * (hi - lo)  # street furniture lines up along the kerb
        if name == "car":
            lo, hi = (lo, lo + 0.3 * (hi - lo)) if rng.random() < 0.5 else (hi - 0.25 * (hi - lo), hi)
        y = rng.uniform(lo, hi)
        x = rng.uniform(-0.05, 1.05) * layout.width
        count = int(rng.integers(2, 5)) if name in ("bollard", "bicycle") and rng.random() < 0.6 else 1
        style = spec.sample(rng)
        for k in range(count):
            gap = (1.6 if name == "bollard" else 0.7) * layout.ppm(y)
            if name == "bin":
                out.extend(place("bin", st, layout, x + off * max(layout.ppm(y), 30.0 / st["h_m"]), y) for off, st in bin_row(style["seed"]))
                continue
            out.append(place(name, style if name != "bicycle" else spec.sample(rng), layout, x + k * gap, y))
    return out


def render_background(rng: np.random.Generator, size=(640, 360), layout: Layout | None = None, n_distractors: int | None = None,
                      keep_clear=(), scene: str = "street") -> Scene:
    """A random empty scene: ``scene`` is "street" (facades, pavements, road, dressed with
    :func:`sample_distractors`), "corridor" or "elevator" (see :mod:`.indoor`; no distractors).
    ``layout`` (optional) fixes the geometry; its ``scene`` wins over the argument."""
    scene = layout.scene if layout is not None else scene
    if scene != "street":
        layout = layout or sample_indoor_layout(rng, size, scene)
        return Scene(layout, render_indoor(rng, layout, keep_clear), [], sample_look(rng))
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
    if s.hanging or not on.any():
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


def _paste_all(base: np.ndarray, items: list[Placed], look: Look) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[int, int]]]:
    """Paste sprites far-to-near with contact shadows: (float image before the look, id map of
    which item drew each pixel (-1 none), each pasted item's origin)."""
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
    return img, idmap, origins


def _tight_box(mine: np.ndarray, x0: int, y0: int) -> tuple[float, float, float, float] | None:
    rows, cols = np.where(mine.any(1))[0], np.where(mine.any(0))[0]
    box = (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1), float(y0 + rows[-1] + 1))
    return None if box[2] - box[0] < 3 or box[3] - box[1] < 3 else box


def _annotations(items: list[Placed], idmap: np.ndarray, origins: dict[int, tuple[int, int]],
                 shown: np.ndarray | None = None) -> list[Annotation]:
    """Labelled items visible enough in ``idmap``; boxes from ``shown`` (an id map of the frame as
    finally shown, e.g. after a warp) when given, else from ``idmap``."""
    H, W = idmap.shape
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
        if shown is not None:
            mine, x0, y0 = shown == i, 0, 0
            if not mine.any():
                continue
        box = _tight_box(mine, x0, y0)
        if box is not None:
            anns.append(Annotation(p.label, box, seen / total, p.track_id))
    return anns


def compose(base: np.ndarray, items: list[Placed], look: Look, rng: np.random.Generator,
            domain: DomainScene | None = None) -> tuple[np.ndarray, list[Annotation]]:
    """Paste sprites far-to-near, apply the look; return (uint8 BGR frame, annotations).
    With ``domain`` the frame is then shifted (:func:`.domain.shift_frame`) and the boxes are
    taken from the pixels still visible after its warp."""
    img, idmap, origins = _paste_all(base, items, look)
    if domain is None:
        return apply_look(img, look, rng), _annotations(items, idmap, origins)
    shifted, shown = shift_frame(apply_look(img, look, rng), idmap, domain, rng)
    return shifted, _annotations(items, idmap, origins, shown)


def render_frame(scene: Scene, objects: list[Placed], rng: np.random.Generator,
                 domain: DomainScene | None = None) -> tuple[np.ndarray, list[Annotation]]:
    return compose(scene.base, scene.statics + objects, scene.look, rng, domain)
