"""``gridsight compare``: a candidate model against the current one, before it is promoted.

One comparison gathers, for both models, what decides a promotion:

* detection quality on a held-out labelled split (per class P/R/mAP50 and the PR curves, from
  :func:`gridsight.ml.evaluate.evaluate_detector`);
* event-level precision and recall per rule on scenario clips (the worker's tracker and rules,
  :mod:`gridsight.ml.scenario_eval`): what the operations centre actually receives;
* optionally the shadow report from live cameras (``gridsight shadow-report --out``);
* a verdict. The candidate is better only if event recall rises by at least
  ``event_recall_margin`` or mAP50 by at least ``map50_margin``, and neither of them, nor event
  precision, falls by more than its tolerance. Every check is listed in ``reasons``.

The JSON is the registry's "Comparison" shape (``version`` 1); the API stores it with the
candidate (``PUT /api/v1/models/{name}/{version}/comparison``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

COMPARISON_VERSION = 1
EVENT_KEYS = ("precision", "recall", "tp", "fp", "fn")


@dataclass(frozen=True)
class Margins:
    """What counts as better, and how much of a drop is tolerated."""

    event_recall_margin: float = 0.10  # event recall must rise this much (a seed's luck moves it less)...
    map50_margin: float = 0.02  # ...or mAP50 this much
    event_recall_tolerance: float = 0.02  # and none may fall by more than its tolerance
    map50_tolerance: float = 0.02
    event_precision_tolerance: float = 0.05

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


def _delta(label: str, cand: float, cur: float) -> str:
    return f"{label} {cur:.3f} -> {cand:.3f} ({cand - cur:+.3f})"


def verdict(detection_overall: dict[str, dict], events_overall: dict[str, dict], margins: Margins = Margins()) -> dict:
    """``{"better": bool, "reasons": [str]}`` from the overall numbers of both models
    (``{"candidate": {...}, "current": {...}}`` each)."""
    cand_d, cur_d = detection_overall["candidate"], detection_overall["current"]
    cand_e, cur_e = events_overall["candidate"], events_overall["current"]
    d_recall = cand_e["recall"] - cur_e["recall"]
    d_map = cand_d["map50"] - cur_d["map50"]
    d_prec = cand_e["precision"] - cur_e["precision"]
    reasons, improved, regressed = [], False, False
    for label, delta, margin, cand, cur in (("event recall", d_recall, margins.event_recall_margin, cand_e["recall"], cur_e["recall"]),
                                            ("mAP50", d_map, margins.map50_margin, cand_d["map50"], cur_d["map50"])):
        if delta >= margin:
            improved = True
            reasons.append(f"{_delta(label, cand, cur)}: improved by at least the margin {margin:+.3f}")
        else:
            reasons.append(f"{_delta(label, cand, cur)}: short of the improvement margin {margin:+.3f}")
    for label, delta, tol, cand, cur in (
            ("event recall", d_recall, margins.event_recall_tolerance, cand_e["recall"], cur_e["recall"]),
            ("mAP50", d_map, margins.map50_tolerance, cand_d["map50"], cur_d["map50"]),
            ("event precision", d_prec, margins.event_precision_tolerance, cand_e["precision"], cur_e["precision"])):
        if delta < -tol:
            regressed = True
            reasons.append(f"{_delta(label, cand, cur)}: regressed beyond the tolerance {tol:.3f}")
    if not improved:
        reasons.append("not better: neither event recall nor mAP50 improved by its margin")
    elif regressed:
        reasons.append("not better: a regression beyond tolerance outweighs the improvement")
    else:
        reasons.append("better: an improvement by its margin and no regression beyond tolerance")
    return {"better": improved and not regressed, "reasons": reasons}


def _model_ref(manifest_path: Path) -> dict[str, str]:
    from inference.models.manifest import load_manifest, verify_weights

    manifest, weights = load_manifest(manifest_path)
    verify_weights(manifest, weights, manifest_path)
    return {"name": manifest.name, "version": manifest.version, "sha256": manifest.sha256 or ""}


def _quality(c) -> dict[str, Any]:
    return {"precision": c.precision, "recall": c.recall, "map50": c.map50, "instances": c.instances}


def detection_section(evaluations: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The ``detection`` block from two :class:`~gridsight.ml.evaluate.ModelEvaluation` (keys candidate, current)."""
    labels: list[str] = []
    for e in evaluations.values():
        labels += [c.name for c in e.classes if c.name not in labels]
    per_class, curves = {}, {}
    for label in labels:
        per_class[label] = {role: next((_quality(c) for c in e.classes if c.name == label), None) for role, e in evaluations.items()}
        curves[label] = {role: e.pr_curves.get(label, []) for role, e in evaluations.items()}
    overall = {role: {k: e.overall[k] for k in ("precision", "recall", "map50", "map50_95")} for role, e in evaluations.items()}
    return {"data": data, "overall": overall, "per_class": per_class, "pr_curves": curves}


def events_section(summaries: dict[str, dict], scenarios: str) -> dict[str, Any]:
    """The ``events`` block from two scenario-evaluation summaries (keys candidate, current)."""
    rules = sorted({r for s in summaries.values() for r in s["rules"]})
    pick = lambda s: {k: s[k] for k in EVENT_KEYS}  # noqa: E731
    return {
        "scenarios": scenarios,
        "overall": {role: pick(s["overall"]) for role, s in summaries.items()},
        "per_rule": {rule: {role: pick(s["rules"][rule]) if rule in s["rules"] else None for role, s in summaries.items()}
                     for rule in rules},
    }


def load_shadow(path: Path | None) -> dict | None:
    """A shadow report file (``gridsight shadow-report --out``: a list of rows, or an object)."""
    if path is None:
        return None
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"shadow report {path} cannot be read as JSON: {exc}") from None
    if isinstance(doc, list):
        return {"source": str(path), "rows": doc}
    if isinstance(doc, dict):
        return doc
    raise ValueError(f"shadow report {path} must be a JSON list of rows or an object")


def compare_models(candidate: Path, current: Path, data_yaml: Path, scenarios: Path, *, split: str = "val",
                   shadow: Path | None = None, margins: Margins = Margins(), imgsz: int | None = None) -> dict[str, Any]:
    """Evaluate both models and build the comparison (the registry's "Comparison" shape)."""
    from gridsight.ml.dataset_check import check_dataset
    from gridsight.ml.evaluate import evaluate_detector
    from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE, evaluate, load_cases
    from inference.models.detector import YoloDetector
    from inference.models.manifest import load_manifest

    shadow_doc = load_shadow(shadow)
    refs = {"candidate": _model_ref(Path(candidate)), "current": _model_ref(Path(current))}
    report = check_dataset(data_yaml, required_splits=(split,))
    if not report.ok:
        raise ValueError(f"{data_yaml}: the held-out set has errors; its numbers would be wrong:\n{report.summary()}")
    cases = load_cases(Path(scenarios))
    evaluations, summaries = {}, {}
    for role, path in (("candidate", Path(candidate)), ("current", Path(current))):
        manifest, weights = load_manifest(path)
        evaluations[role] = evaluate_detector(weights, data_yaml, split=split, imgsz=imgsz or manifest.input_size,
                                              label=f"{manifest.name} v{manifest.version}")
        summaries[role] = evaluate(cases, YoloDetector.from_manifest(path, confidence=DEFAULT_CONFIDENCE))
    data = {"path": str(Path(data_yaml).resolve()), "fingerprint": report.fingerprint, "images": report.images.get(split, 0)}
    return build_comparison(refs, evaluations, summaries, data, str(scenarios), shadow_doc, margins)


def build_comparison(refs: dict[str, dict], evaluations: dict[str, Any], summaries: dict[str, dict], data: dict[str, Any],
                     scenarios: str, shadow: dict | None, margins: Margins = Margins()) -> dict[str, Any]:
    """The comparison from both models' references, evaluations and scenario summaries."""
    detection = detection_section(evaluations, data)
    events = events_section(summaries, scenarios)
    return {
        "version": COMPARISON_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "candidate": refs["candidate"], "current": refs["current"],
        "detection": detection, "events": events, "shadow": shadow,
        "verdict": verdict(detection["overall"], events["overall"], margins),
    }


def put_comparison(comparison: dict, api_url: str, token: str | None, *, client=None) -> dict:
    """Store the comparison with the candidate in the API's registry; returns the model record."""
    import httpx

    from gridsight.ml.api_client import api_client, refusal_detail

    cand = comparison["candidate"]
    path = f"/api/v1/models/{cand['name']}/{cand['version']}/comparison"
    with api_client(api_url, token, client=client) as http:
        try:
            response = http.put(path, json=comparison)
        except httpx.HTTPError as exc:
            raise ValueError(f"the API at {api_url} could not be reached: {exc}") from None
    if response.status_code != 200:
        raise ValueError(f"PUT {path} answered {response.status_code}: {refusal_detail(response)}")
    return response.json()


def format_summary(comparison: dict) -> str:
    """A few lines for the terminal: overall numbers of both models, per rule, the verdict."""
    d, e = comparison["detection"]["overall"], comparison["events"]["overall"]
    cand, cur = comparison["candidate"], comparison["current"]
    lines = [f"candidate {cand['name']} v{cand['version']} vs current {cur['name']} v{cur['version']}",
             f"  mAP50 {d['current']['map50']:.3f} -> {d['candidate']['map50']:.3f}; "
             f"event P {e['current']['precision']:.2f} -> {e['candidate']['precision']:.2f}, "
             f"R {e['current']['recall']:.2f} -> {e['candidate']['recall']:.2f}"]
    for rule, row in comparison["events"]["per_rule"].items():
        if row["candidate"] and row["current"]:
            lines.append(f"  {rule:<24} R {row['current']['recall']:.2f} -> {row['candidate']['recall']:.2f}  "
                         f"P {row['current']['precision']:.2f} -> {row['candidate']['precision']:.2f}")
    lines.append(("BETTER" if comparison["verdict"]["better"] else "NOT BETTER") + ": " + "; ".join(comparison["verdict"]["reasons"]))
    return "\n".join(lines)
