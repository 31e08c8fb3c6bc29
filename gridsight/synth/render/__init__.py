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

The code lives in focused modules: :mod:`.common` (classes, colour and RNG helpers),
:mod:`.sprite` (Drawing/Sprite), :mod:`.registry` (OBJECTS), :mod:`.people`,
:mod:`.objects` (litter, bags), :mod:`.distractors`, :mod:`.background` (layout, look,
street), :mod:`.compose` and :mod:`.random_scenes`. Importing the package registers the
object kinds in the original order (person, litter, garbage_bag, distractors).
"""

from __future__ import annotations  # noqa: I001

# Import order matters (not isort order): it fixes the registration order of OBJECTS
# (person, litter, garbage_bag, then the distractors), exactly as in the old single module.
from gridsight.synth.render.common import (  # noqa: F401
    CLASSES,
    Colour,
    stable_style,
    _clip_colour,
    _hsv,
    _jitter,
    _mix,
    _pick,
    _scale_colour,
    _seed,
)
from gridsight.synth.render.sprite import (  # noqa: F401
    Drawing,
    Sprite,
    _SHIFT,
    _ellipse_pts,
)
from gridsight.synth.render.registry import (
    OBJECTS,
    ObjectKind,
    register_object,
)
from gridsight.synth.render.people import (
    CLOTHES,
    HAIR,
    SKIN,
    TROUSERS,
    draw_person,
    sample_person,
)
from gridsight.synth.render.objects import (
    BAG_COLOURS,
    BAG_PX,
    LITTER_KINDS,
    LITTER_PX,
    draw_bag,
    draw_litter,
    sample_bag,
    sample_litter,
)
from gridsight.synth.render.distractors import (  # noqa: F401
    DISTRACTOR_WEIGHTS,
    _draw_bench,
    _draw_bike,
    _draw_bins,
    _draw_bollard,
    _draw_cabinet,
    _draw_car,
    _draw_cone,
    _draw_hydrant,
    _draw_planter,
    _draw_pole,
    _draw_tree,
    _sample_generic,
)
from gridsight.synth.render.background import (  # noqa: F401
    Layout,
    Look,
    apply_look,
    render_street,
    sample_layout,
    sample_look,
    _draw_facades,
    _flat_clutter,
    _lf_noise,
    _paving,
)
from gridsight.synth.render.compose import (  # noqa: F401
    Annotation,
    Placed,
    Scene,
    compose,
    place,
    render_background,
    render_frame,
    sample_distractors,
    _ALPHA_ON,
    _contact_shadow,
    _paste,
)
from gridsight.synth.render.random_scenes import (  # noqa: F401
    random_image,
    random_objects,
    _ground_point,
)

assert all(OBJECTS[c].label == c for c in CLASSES)

__all__ = [
    "BAG_COLOURS",
    "BAG_PX",
    "CLASSES",
    "CLOTHES",
    "DISTRACTOR_WEIGHTS",
    "HAIR",
    "LITTER_KINDS",
    "LITTER_PX",
    "OBJECTS",
    "SKIN",
    "TROUSERS",
    "Annotation",
    "Colour",
    "Drawing",
    "Layout",
    "Look",
    "ObjectKind",
    "Placed",
    "Scene",
    "Sprite",
    "apply_look",
    "compose",
    "draw_bag",
    "draw_litter",
    "draw_person",
    "place",
    "random_image",
    "random_objects",
    "register_object",
    "render_background",
    "render_frame",
    "render_street",
    "sample_bag",
    "sample_distractors",
    "sample_layout",
    "sample_litter",
    "sample_look",
    "sample_person",
    "stable_style",
]
