"""The object registry: :data:`OBJECTS` maps a kind name to an :class:`ObjectKind` (``sample``
picks an appearance dict from an RNG, ``draw`` renders it as a Sprite at a given pixels-per-metre,
``where`` lists the ground regions it may stand in, ``label`` is the annotated class or ``None``
for an unlabelled distractor). The people, objects and distractors modules register themselves
here on import; adding a class is one :func:`register_object` call plus an entry in ``CLASSES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gridsight.synth.render.sprite import Sprite

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
