"""Event-level scoring: detected rule STARTs against ground-truth incidents.

A ground-truth event says "rule R should see an incident in zone Z that begins
at ``start_s`` and lasts until ``end_s``" (clip seconds). A detection is the
START of a rule event (one work order). Within one clip, a START matches a
ground-truth event of the same rule and zone when it falls in
``[start_s, end_s + tolerance_s]``; each side is used at most once, earliest
first. Unmatched STARTs are false positives (an order nobody should have
filed, or a second order for one incident), unmatched ground truth is a false
negative.

Detection delay is START minus ``start_s``. It includes the rule's configured
dwell (a 10 s dwell cannot fire before 10 s), so it is also reported as
``delay beyond dwell``: what the detector, tracker and sampling add.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable

from inference.rules.presets import PRESETS

#: The rule families (littering, ebike, street) and their presets, in the presets' order.
FAMILIES: dict[str, tuple[str, ...]] = {
    family: tuple(p.name for p in PRESETS.values() if p.family == family)
    for family in dict.fromkeys(p.family for p in PRESETS.values())
}
FAMILY_OF: dict[str, str] = {preset: family for family, presets in FAMILIES.items() for preset in presets}

DEFAULT_TOLERANCE_S = 3.0


@dataclass(frozen=True)
class GroundTruthEvent:
    clip: str
    rule_id: str  # the rule's id in the clip's camera config
    preset: str  # the preset it instantiates: what results are grouped by
    zone_id: str
    start_s: float  # the violation begins (object put down, vehicle stops)
    end_s: float  # it ends (object removed) or the clip ends


@dataclass(frozen=True)
class DetectedStart:
    clip: str
    rule_id: str
    preset: str
    zone_id: str
    at_s: float  # START time, clip seconds
    min_dwell_s: float = 0.0  # the rule's configured dwell, for "delay beyond dwell"


@dataclass(frozen=True)
class Match:
    truth: GroundTruthEvent
    detected: DetectedStart

    @property
    def delay_s(self) -> float:
        return self.detected.at_s - self.truth.start_s

    @property
    def delay_beyond_dwell_s(self) -> float:
        return self.delay_s - self.detected.min_dwell_s


@dataclass
class MatchResult:
    matches: list[Match] = field(default_factory=list)
    false_positives: list[DetectedStart] = field(default_factory=list)
    false_negatives: list[GroundTruthEvent] = field(default_factory=list)


def match_events(truth: Iterable[GroundTruthEvent], detected: Iterable[DetectedStart],
                 tolerance_s: float = DEFAULT_TOLERANCE_S) -> MatchResult:
    """One-to-one matching per (clip, rule, zone), ground truth and STARTs both in time order:
    each ground-truth event takes the earliest unused START inside its window."""
    result = MatchResult()
    truth, detected = list(truth), list(detected)
    keys = {(t.clip, t.rule_id, t.zone_id) for t in truth} | {(d.clip, d.rule_id, d.zone_id) for d in detected}
    for key in sorted(keys):
        gts = sorted((t for t in truth if (t.clip, t.rule_id, t.zone_id) == key), key=lambda t: (t.start_s, t.end_s))
        dets = sorted((d for d in detected if (d.clip, d.rule_id, d.zone_id) == key), key=lambda d: d.at_s)
        used = [False] * len(dets)
        for gt in gts:
            for i, det in enumerate(dets):
                if not used[i] and gt.start_s <= det.at_s <= gt.end_s + tolerance_s:
                    used[i] = True
                    result.matches.append(Match(gt, det))
                    break
            else:
                result.false_negatives.append(gt)
        result.false_positives.extend(d for d, u in zip(dets, used) if not u)
    return result


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    precision: float  # 1.0 when nothing was detected (no order filed, none wrong)
    recall: float  # 1.0 when there was nothing to find
    mean_delay_s: float | None
    max_delay_s: float | None
    mean_delay_beyond_dwell_s: float | None
    max_delay_beyond_dwell_s: float | None

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def score(matches: list[Match], false_positives: int, false_negatives: int) -> Score:
    tp = len(matches)
    delays = [m.delay_s for m in matches]
    beyond = [m.delay_beyond_dwell_s for m in matches]
    return Score(
        tp=tp,
        fp=false_positives,
        fn=false_negatives,
        precision=tp / (tp + false_positives) if tp + false_positives else 1.0,
        recall=tp / (tp + false_negatives) if tp + false_negatives else 1.0,
        mean_delay_s=sum(delays) / len(delays) if delays else None,
        max_delay_s=max(delays) if delays else None,
        mean_delay_beyond_dwell_s=sum(beyond) / len(beyond) if beyond else None,
        max_delay_beyond_dwell_s=max(beyond) if beyond else None,
    )


def score_by(result: MatchResult, key, presets: Iterable[str] = ()) -> dict[str, Score]:
    """Scores grouped by ``key(preset)`` (the preset itself, or its family); ``presets`` adds
    groups that had nothing to find and found nothing (a rule run only on negatives)."""
    groups: set[str] = {key(p) for p in presets}
    for item in [m.truth for m in result.matches] + result.false_positives + result.false_negatives:
        groups.add(key(item.preset))
    return {
        g: score(
            [m for m in result.matches if key(m.truth.preset) == g],
            sum(1 for d in result.false_positives if key(d.preset) == g),
            sum(1 for t in result.false_negatives if key(t.preset) == g),
        )
        for g in sorted(groups)
    }


def family_of(preset: str) -> str:
    return FAMILY_OF.get(preset, "other")


def summarise(result: MatchResult, presets: Iterable[str] = ()) -> dict:
    """Per preset, per family and overall scores plus the unmatched items, JSON-ready."""
    presets = list(presets)
    return {
        "rules": {k: s.as_dict() for k, s in score_by(result, lambda p: p, presets).items()},
        "families": {k: s.as_dict() for k, s in score_by(result, family_of, presets).items()},
        "overall": score(result.matches, len(result.false_positives), len(result.false_negatives)).as_dict(),
        "matches": [
            {**asdict(m.detected), "truth_start_s": m.truth.start_s, "truth_end_s": m.truth.end_s,
             "delay_s": round(m.delay_s, 3), "delay_beyond_dwell_s": round(m.delay_beyond_dwell_s, 3)}
            for m in result.matches
        ],
        "false_positives": [asdict(d) for d in result.false_positives],
        "false_negatives": [asdict(t) for t in result.false_negatives],
    }


def format_table(summary: dict) -> str:
    """A fixed-width table: one row per preset, grouped under its family, then the family totals."""
    head = f"{'rule':<28} {'TP':>3} {'FP':>3} {'FN':>3} {'prec':>5} {'rec':>5} {'delay mean/max s':>17} {'beyond dwell mean/max s':>24}"
    lines = [head, "-" * len(head)]

    def row(name: str, s: dict) -> str:
        def pair(a, b):
            return "-" if a is None else f"{a:.1f}/{b:.1f}"
        return (f"{name:<28} {s['tp']:>3} {s['fp']:>3} {s['fn']:>3} {s['precision']:>5.2f} {s['recall']:>5.2f} "
                f"{pair(s['mean_delay_s'], s['max_delay_s']):>17} {pair(s['mean_delay_beyond_dwell_s'], s['max_delay_beyond_dwell_s']):>24}")

    order = [p for presets in FAMILIES.values() for p in presets]
    rules = summary["rules"]
    for name in sorted(rules, key=lambda p: (order.index(p) if p in order else math.inf, p)):
        lines.append(row(name, rules[name]))
    lines.append("-" * len(head))
    for fam, s in summary["families"].items():
        lines.append(row(f"family {fam}", s))
    lines.append(row("overall", summary["overall"]))
    return "\n".join(lines)
