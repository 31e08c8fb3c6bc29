"""Scenario clips with ground-truth incidents, one family of rule presets per module.

Every preset has at least one positive case (an incident it must report, with its start
and end) and negatives (look-alikes it must stay quiet on: a person who keeps their bag, a
vendor passing through without stopping, a wheelchair and a stroller in the lift).

* :func:`ci_cases`: short (10-20 s), 384x216 at 4 fps, dwell shortened to seconds; rendered
  into ``tests/data/scenarios`` and committed.
* :func:`shifted_cases`: some of the CI stories in a shifted scene family (night, sodium lamps,
  rain, a high oblique camera), for fine-tuning and comparison; generated, not committed.
* :func:`long_cases`: the same stories slowed down ``factor`` times, 640x360 at 5 fps, with
  dwell scaled alike; generated for the benchmark, not committed.

Render with ``python -m gridsight.synth.scenarios --out DIR [--set ci|long]``; evaluate with
``gridsight eval-scenarios --scenarios DIR``.
"""

from __future__ import annotations

import dataclasses

from gridsight.synth.render.domain import DomainShift, parse_domain
from gridsight.synth.scenarios import ebike, littering, street
from gridsight.synth.scenarios.spec import Expected, RuleLine, ScenarioCase, ZoneSpec

FAMILY_MODULES = {"littering": littering, "ebike": ebike, "street": street}
CI_DIR = "tests/data/scenarios"


def ci_cases() -> list[ScenarioCase]:
    cases = [make() for module in FAMILY_MODULES.values() for make in module.CASES]
    names = [c.name for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate scenario names {dup}")
    return cases


def stretched(case: ScenarioCase, factor: float, size=(640, 360), fps: int = 5) -> ScenarioCase:
    """The same story ``factor`` times slower: every time (keyframes, appearances, releases,
    dwell and other ``*_s`` overrides, ground truth) scaled, rendered larger."""
    sc = case.scenario
    tracks = [
        dataclasses.replace(
            t, appear=t.appear * factor, disappear=t.disappear * factor,
            keyframes=[(k[0] * factor, k[1], k[2]) for k in t.keyframes],
            release=None if t.release is None else t.release * factor, lower_s=t.lower_s,
        )
        for t in sc.tracks
    ]
    scenario = dataclasses.replace(sc, name=f"{sc.name}-long", duration=sc.duration * factor, tracks=tracks)
    rules = {
        rid: RuleLine(r.preset, r.zone, {k: (v * factor if k.endswith("_s") else v) for k, v in r.overrides.items()})
        for rid, r in case.rules.items()
    }
    events = [Expected(e.rule, e.start_s * factor, e.end_s * factor) for e in case.events]
    return ScenarioCase(f"{case.name}-long", case.description, case.scene, scenario, dict(case.zones), rules, events,
                        fps=fps, size=size, seed=case.seed)


def long_cases(factor: float = 4.0) -> list[ScenarioCase]:
    return [stretched(c, factor) for c in ci_cases()]


#: The shifted set: littering, exposed garbage, e-bike and street-fence stories the demo
#: weights report in the normal domain, plus negatives.
SHIFTED_NAMES = ("littering-drop", "littering-can", "exposed-garbage-bag", "exposed-garbage-pile", "littering-passers-by",
                 "ebike-in-elevator", "ebike-in-corridor", "person-in-elevator", "occupy-road-stall", "illegal-parking-car")


def shifted_cases(domain: str | DomainShift = "night_sodium", names: tuple[str, ...] | None = SHIFTED_NAMES) -> list[ScenarioCase]:
    """CI cases re-rendered in a shifted scene family (``<name>-<family>``, e.g.
    ``littering-drop-night``); ``names=None`` shifts every CI case."""
    shift = parse_domain(domain) if isinstance(domain, str) else domain
    if shift is None:
        raise ValueError("shifted_cases needs a domain, e.g. night_sodium")
    suffix = shift.name.split("_")[0]
    picked = [c for c in ci_cases() if names is None or c.name in names]
    return [dataclasses.replace(c, name=f"{c.name}-{suffix}", domain=shift,
                                scenario=dataclasses.replace(c.scenario, name=f"{c.scenario.name}-{suffix}"))
            for c in picked]


__all__ = ["CI_DIR", "Expected", "RuleLine", "ScenarioCase", "ZoneSpec", "ci_cases", "long_cases", "shifted_cases", "stretched"]
