"""What a scenario clip is: a scripted scene, the camera config that watches it, and the
incidents that config should report.

A :class:`ScenarioCase` holds

* ``scenario``: the :class:`~gridsight.synth.scenario.Scenario` (tracks, background seed,
  layout) that :func:`gridsight.synth.clip.write_clip` renders;
* ``zones``: zone id -> :class:`ZoneSpec` (kind and normalised polygon), as a worker config
  draws them;
* ``rules``: rule id -> :class:`RuleLine`, a one-line preset rule (``{preset, zone}`` plus
  overrides, typically a dwell shortened to seconds so the clip stays short);
* ``events``: the ground truth, one :class:`Expected` per incident a rule must report (rule
  id, start and end in clip seconds). A case without events is a pure negative: every
  START it produces is a false positive.

:meth:`ScenarioCase.camera_config` turns zones and rules into the ``cameras.<id>`` section of
a worker config, so the evaluation builds its rules with the worker's own factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridsight.synth.render.domain import DomainShift
from gridsight.synth.scenario import Point, Scenario

#: Zone kinds the rule presets know (a preset may insist on one).
ZONE_KINDS = ("elevator", "corridor", "facade", "road", "pavement", "shopfront", "fire_lane", "parking", "any")


@dataclass(frozen=True)
class ZoneSpec:
    kind: str
    polygon: tuple[Point, ...]

    def __post_init__(self) -> None:
        if self.kind not in ZONE_KINDS:
            raise ValueError(f"zone kind {self.kind!r} is not one of {ZONE_KINDS}")


@dataclass(frozen=True)
class RuleLine:
    preset: str
    zone: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        return {"preset": self.preset, "zone": self.zone, **self.overrides}


@dataclass(frozen=True)
class Expected:
    rule: str  # rule id in the case's rules
    start_s: float  # the violation begins
    end_s: float  # it ends (object gone) or the clip ends


@dataclass
class ScenarioCase:
    name: str
    description: str
    scene: str  # background: street, corridor, elevator
    scenario: Scenario
    zones: dict[str, ZoneSpec]
    rules: dict[str, RuleLine]
    events: list[Expected] = field(default_factory=list)
    fps: int = 4  # rendered and analysed at this rate: every frame is analysed
    size: tuple[int, int] = (384, 216)
    seed: int = 0
    domain: DomainShift | None = None  # a shifted scene family (gridsight.synth.render.domain); None: the normal one

    def __post_init__(self) -> None:
        for rule_id, rule in self.rules.items():
            if rule.zone not in self.zones:
                raise ValueError(f"{self.name}: rule {rule_id} names unknown zone {rule.zone}")
        for ev in self.events:
            if ev.rule not in self.rules:
                raise ValueError(f"{self.name}: expected event names unknown rule {ev.rule}")
            if not 0 <= ev.start_s < ev.end_s <= self.scenario.duration:
                raise ValueError(f"{self.name}: expected event {ev} lies outside the clip")
        # The renderer draws the case's zones as the scenario's suggested zones.
        self.scenario.zones = {zid: list(z.polygon) for zid, z in self.zones.items()}

    @property
    def presets(self) -> list[str]:
        return sorted({r.preset for r in self.rules.values()})

    @property
    def negative(self) -> bool:
        return not self.events

    def camera_config(self, url: str, model: str = "model") -> dict[str, Any]:
        """The ``cameras.<id>`` mapping a worker config would hold for this clip."""
        return {
            "url": url,
            "model": model,
            "analysis_fps": self.fps,
            "zones": {zid: {"kind": z.kind, "polygon": [list(p) for p in z.polygon]} for zid, z in self.zones.items()},
            "rules": {rid: r.config() for rid, r in self.rules.items()},
        }

    def ground_truth(self) -> list[dict[str, Any]]:
        return [
            {"rule": e.rule, "preset": self.rules[e.rule].preset, "zone": self.rules[e.rule].zone,
             "start_s": e.start_s, "end_s": e.end_s}
            for e in self.events
        ]
