"""The lowest analysis rate at which a rule still means what it says.

City rules are slow (minutes of dwell), so 1-2 analysed frames a second is the natural
setting and the fps shedder may go lower. Below some rate a rule silently stops working:
a dwell sampled twice is a guess, a person who walks more than a body width between
frames cannot be followed to see them leave their rubbish behind, and "3 of 5 frames" in
a lift only warns while the doors are open if those 5 frames fit in the seconds they are.

A rule's minimum is the larger of

* what its preset's semantics need (:attr:`inference.rules.presets.Preset.min_analysis_fps`,
  with the reason), and
* what its timings need: :data:`LOOKS_PER_DWELL` analysed frames within its dwell, and
  for littering :data:`LOOKS_PER_PATH` frames of a person's path within its path window.

The worker refuses a camera analysed below a rule's minimum and never sheds it lower
(streams.shedding); the rate sweep (gridsight.ml.scenario_eval.sweep) scores every family at
every rate at or above its rules' minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inference.rules.littering import LitteringRuleSpec
from inference.rules.presets import get_preset

#: Analysed frames a dwell must span: entry, the middle (a missed frame is tolerated) and the end.
LOOKS_PER_DWELL = 3
#: Frames of a person's recent path needed to place a drop near it and see them leave.
LOOKS_PER_PATH = 3
#: Below this no rule is analysed: one frame in 5 s is the slowest the tracker is tested at.
ABSOLUTE_MIN_FPS = 0.2


@dataclass(frozen=True)
class MinRate:
    fps: float
    reason: str

    def __str__(self) -> str:
        return f"{self.fps:g} fps ({self.reason})"


def rule_min_fps(kind: str, fields: Mapping[str, Any], preset: str | None = None) -> MinRate:
    """The minimum analysis rate of one rule, from its kind, its config fields and its preset."""
    candidates = [MinRate(ABSOLUTE_MIN_FPS, "the slowest rate the tracker is tested at")]
    if preset is not None:
        p = get_preset(preset)
        if p.min_analysis_fps:
            candidates.append(MinRate(p.min_analysis_fps, p.rate_why or f"preset {preset}"))
    dwell = fields.get("min_dwell_s")
    if kind in ("dwell", "co_occurrence", "littering") and dwell:
        candidates.append(MinRate(LOOKS_PER_DWELL / float(dwell),
                                  f"{LOOKS_PER_DWELL} analysed frames within its {float(dwell):g} s dwell"))
    if kind == "littering":
        window = float(fields.get("path_window_s") or LitteringRuleSpec.path_window_s)
        candidates.append(MinRate(LOOKS_PER_PATH / window,
                                  f"{LOOKS_PER_PATH} frames of a person's path within its {window:g} s path window"))
    return max(candidates, key=lambda c: c.fps)
