"""A 4 fps stream of uniformly grey frames, each a level unique to its moment, and the
detections the evidence tests put on them (shared by the evidence and pipeline tests)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from inference.detections import Detections
from inference.frames import VideoFrame
from inference.zones import PolygonZone

T0 = 1_700_000_000.0
FPS = 4  # 0.25 s steps are exact in binary, so window edges are not at the mercy of rounding
ZONE = PolygonZone.from_points("kerb", [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]])
BAG = Detections(np.array([[900, 500, 980, 600]]), [0.9], np.array(["garbage_bag"], dtype=object), [7])
PERSON = Detections(np.array([[100, 300, 180, 560]]), [0.8], np.array(["person"], dtype=object), [3])


def grey(index: int) -> int:
    return 20 + (index * 3) % 220


def frame(index: int, size: tuple[int, int] = (1280, 720)) -> VideoFrame:
    """Frame ``index`` of a 4 fps stream: uniformly grey, a level unique to its moment."""
    width, height = size
    return VideoFrame(np.full((height, width, 3), grey(index), np.uint8), index, T0 + index / FPS, "cam-1")


class ScriptedRule:
    """Any rule will do (the pipeline must not depend on a rule kind): the events it emits, by
    the number of the frame it is updated on."""

    def __init__(self, script: dict[int, list], rule_id: str = "kerb-litter") -> None:
        self.spec = SimpleNamespace(rule_id=rule_id, zone=ZONE)
        self._script = script
        self._frames = 0

    def update(self, detections, frame_size):
        events = self._script.get(self._frames, [])
        self._frames += 1
        return events
