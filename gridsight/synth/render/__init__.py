"""Procedural scene renderer (OpenCV + numpy, deterministic per seed): streets, residential
corridors and elevator cars.

Pieces, from the bottom up:

* :class:`Drawing` collects vector primitives (polygons, thick polylines) in
  object-local pixel units and rasterises them supersampled into a
  :class:`Sprite`: premultiplied colour plus an alpha mask, an anchor (the
  point that touches the ground, or for hanging things the attachment point,
  ``Sprite.hanging``) and named points (a person's hand, an e-bike's socket).
* :data:`OBJECTS` is the object registry: ``name -> ObjectKind(sample, draw,
  where, label)``. ``sample(rng, **overrides)`` picks an appearance (a plain
  dict, so a clip can draw the same bag in every frame); ``draw(style, ppm,
  **state)`` renders it at ``ppm`` pixels per metre. Labelled kinds carry the
  class name they are annotated as (all of :data:`CLASSES`); distractors have
  ``label=None``. Adding a class is one ``register_object`` call plus an entry
  in :data:`CLASSES` (append only: class ids are baked into trained weights).
* :func:`render_background` draws a street (facades, shopfronts, far pavement,
  road, kerb, near pavement, flat clutter; ``scene="street"``, the default) or an
  indoor ``"corridor"`` / ``"elevator"``, samples street furniture (unlabelled
  distractors plus parked cars, bicycles, cones and bin rows, labelled) and a
  :class:`Look` (exposure, tint, noise, blur). ``Layout.region`` names the rows
  things stand in (far_walk, road, near_walk, facade; floor indoors) and
  ``Layout.x_range`` the columns (between the walls indoors).
* :func:`compose` pastes sprites in depth order (further first) onto the
  background, casts contact shadows, applies the look and returns the frame
  with the exact tight box of every labelled sprite's *visible* pixels
  (occlusion by nearer sprites and the frame edge are accounted for).
* :func:`random_image` renders one random annotated training image
  (street / corridor / elevator by :data:`SCENE_WEIGHTS`).

All randomness comes from a ``numpy.random.Generator`` passed in.

The code lives in focused modules: :mod:`.common` (classes, colour and RNG helpers),
:mod:`.sprite` (Drawing/Sprite), :mod:`.registry` (OBJECTS), :mod:`.people`,
:mod:`.objects` (litter, bags), :mod:`.waste` (bins, full bins, garbage piles),
:mod:`.vehicles` (car, truck, bicycle, wheelchair, stroller), :mod:`.ebike`,
:mod:`.street_violations` (stall, umbrella, goods, billboard, grill, cone, barrier),
:mod:`.piles` (piled sundries, scrap), :mod:`.hanging` (cable, laundry, banner,
power strip), :mod:`.distractors`, :mod:`.background` (layout, look, street),
:mod:`.indoor` (corridor, elevator), :mod:`.compose` and :mod:`.random_scenes`.
"""

from __future__ import annotations  # noqa: I001

# Import order matters (not isort order): it fixes the registration order of OBJECTS
# (person, litter, garbage_bag, the other labelled kinds, then the distractors).
from gridsight.synth.render.common import (  # noqa: F401
    CLASSES,
    sample_seeded,
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
from gridsight.synth.render.waste import bin_row, draw_bin, draw_garbage_pile  # noqa: F401
from gridsight.synth.render.vehicles import draw_bicycle, draw_car, draw_stroller, draw_truck, draw_wheelchair  # noqa: F401
from gridsight.synth.render.ebike import EBIKE_COLOURS, draw_ebike, sample_ebike  # noqa: F401
from gridsight.synth.render.street_violations import (  # noqa: F401
    draw_barrier,
    draw_billboard,
    draw_cone,
    draw_goods,
    draw_grill,
    draw_stall,
    draw_umbrella,
)
from gridsight.synth.render.piles import draw_pile, draw_scrap  # noqa: F401
from gridsight.synth.render.hanging import draw_banner, draw_cable, draw_laundry, draw_power_strip  # noqa: F401
from gridsight.synth.render.distractors import (  # noqa: F401
    DISTRACTOR_WEIGHTS,
    _draw_bench,
    _draw_bollard,
    _draw_cabinet,
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
from gridsight.synth.render.indoor import INDOOR_SCENES, render_indoor, sample_indoor_layout  # noqa: F401
from gridsight.synth.render.random_scenes import (  # noqa: F401
    SCENE_WEIGHTS,
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
    "INDOOR_SCENES",
    "SCENE_WEIGHTS",
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
    "render_indoor",
    "sample_indoor_layout",
    "sample_seeded",
    "bin_row",
    "render_street",
    "sample_bag",
    "sample_distractors",
    "sample_layout",
    "sample_litter",
    "sample_look",
    "sample_person",
    "stable_style",
]
