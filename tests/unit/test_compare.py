"""``gridsight compare``: the Comparison shape the registry stores, and the verdict's margins
and tolerances on fixed inputs (no model is run here; the integration test runs one)."""

from __future__ import annotations

import json

import httpx
import pytest

from gridsight.ml.compare import Margins, build_comparison, load_shadow, put_comparison, verdict
from gridsight.ml.evaluate import ClassQuality, ModelEvaluation


def _evaluation(map50: float, litter_recall: float) -> ModelEvaluation:
    classes = [ClassQuality("person", 40, 0.9, 0.8, 0.85, 0.6, 0.3, 0.85),
               ClassQuality("litter", 12, 0.7, litter_recall, map50, 0.3, 0.25, 0.6)]
    return ModelEvaluation("m", "data.yaml", "val", 320, {"precision": 0.8, "recall": 0.7, "map50": map50, "map50_95": 0.4}, classes,
                           pr_curves={"person": [[0.0, 1.0], [1.0, 0.2]], "litter": [[0.0, 0.9], [1.0, 0.0]]})


def _summary(tp: int, fp: int, fn: int) -> dict:
    def score(tp, fp, fn):
        return {"tp": tp, "fp": fp, "fn": fn, "precision": tp / (tp + fp) if tp + fp else 1.0,
                "recall": tp / (tp + fn) if tp + fn else 1.0, "mean_delay_s": None}
    return {"rules": {"littering": score(tp, fp, fn), "ebike_in_elevator": score(1, 0, 0)}, "overall": score(tp + 1, fp, fn)}


def _comparison(margins: Margins = Margins()) -> dict:
    refs = {"candidate": {"name": "site", "version": "5", "sha256": "a" * 64},
            "current": {"name": "gridsight-demo", "version": "4", "sha256": "b" * 64}}
    return build_comparison(refs, {"candidate": _evaluation(0.62, 0.7), "current": _evaluation(0.30, 0.2)},
                            {"candidate": _summary(3, 0, 1), "current": _summary(0, 0, 4)},
                            {"path": "/d/data.yaml", "fingerprint": "c" * 64, "images": 150}, "/clips", None, margins)


def test_the_comparison_has_exactly_the_registry_shape():
    c = _comparison()
    assert set(c) == {"version", "created_at", "candidate", "current", "detection", "events", "shadow", "verdict"}
    assert c["version"] == 1 and c["created_at"].endswith("+00:00")
    assert set(c["candidate"]) == set(c["current"]) == {"name", "version", "sha256"}
    d = c["detection"]
    assert set(d) == {"data", "overall", "per_class", "pr_curves"} and set(d["data"]) == {"path", "fingerprint", "images"}
    assert set(d["overall"]["candidate"]) == {"precision", "recall", "map50", "map50_95"}
    assert d["per_class"]["litter"]["candidate"] == {"precision": 0.7, "recall": 0.7, "map50": 0.62, "instances": 12}
    assert d["per_class"]["litter"]["current"]["recall"] == 0.2
    assert d["pr_curves"]["person"]["current"] == [[0.0, 1.0], [1.0, 0.2]]
    e = c["events"]
    assert set(e) == {"scenarios", "overall", "per_rule"} and e["scenarios"] == "/clips"
    assert e["overall"]["current"] == {"precision": 1.0, "recall": 0.2, "tp": 1, "fp": 0, "fn": 4}
    assert set(e["per_rule"]) == {"littering", "ebike_in_elevator"}
    assert set(e["per_rule"]["littering"]["candidate"]) == {"precision", "recall", "tp", "fp", "fn"}
    assert c["shadow"] is None
    assert c["verdict"]["better"] is True and isinstance(c["verdict"]["reasons"], list)
    assert len(json.dumps(c)) < 2 * 1024 * 1024  # the registry's limit


def _overall(cand_map, cur_map, cand_er, cur_er, cand_ep=1.0, cur_ep=1.0):
    return ({"candidate": {"map50": cand_map}, "current": {"map50": cur_map}},
            {"candidate": {"recall": cand_er, "precision": cand_ep}, "current": {"recall": cur_er, "precision": cur_ep}})


@pytest.mark.parametrize("numbers, better, why", [
    (_overall(0.50, 0.50, 0.90, 0.25), True, "event recall 0.250 -> 0.900 (+0.650): improved"),
    (_overall(0.55, 0.50, 0.25, 0.25), True, "mAP50 0.500 -> 0.550 (+0.050): improved"),
    (_overall(0.50, 0.50, 0.33, 0.25), False, "not better: neither"),  # +0.08 < the 0.10 margin
    (_overall(0.51, 0.50, 0.25, 0.25), False, "not better: neither"),  # +0.01 < the 0.02 margin
    (_overall(0.40, 0.50, 0.90, 0.25), False, "mAP50 0.500 -> 0.400 (-0.100): regressed"),
    (_overall(0.60, 0.50, 0.20, 0.25), False, "event recall 0.250 -> 0.200 (-0.050): regressed"),
    (_overall(0.50, 0.50, 0.90, 0.25, 0.80, 1.00), False, "event precision 1.000 -> 0.800 (-0.200): regressed"),
    (_overall(0.49, 0.50, 0.90, 0.25, 0.97, 1.00), True, "better: an improvement"),  # drops within tolerance
])
def test_verdict_margins_and_tolerances(numbers, better, why):
    result = verdict(*numbers)
    assert result["better"] is better
    assert any(r.startswith(why) for r in result["reasons"]), result["reasons"]


def test_margins_are_configurable_and_bounded():
    strict = Margins(event_recall_margin=0.7)
    assert verdict(*_overall(0.50, 0.50, 0.90, 0.25), strict)["better"] is False
    with pytest.raises(ValueError, match="event_recall_margin"):
        Margins(event_recall_margin=-0.1)


def test_shadow_report_rows_are_kept(tmp_path):
    rows = tmp_path / "shadow.json"
    rows.write_text(json.dumps([{"rule_id": "litter", "agreement": 0.9}]))
    assert load_shadow(rows) == {"source": str(rows), "rows": [{"rule_id": "litter", "agreement": 0.9}]}
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ValueError, match="cannot be read as JSON"):
        load_shadow(bad)


def test_put_sends_the_comparison_to_the_candidates_record():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(method=request.method, path=request.url.path, body=json.loads(request.content),
                    auth=request.headers.get("authorization"))
        return httpx.Response(200, json={"name": "site", "version": "5", "comparison": seen["body"]})

    c = _comparison()
    with httpx.Client(base_url="http://registry", transport=httpx.MockTransport(handler),
                      headers={"Authorization": "Bearer t0k"}) as client:
        record = put_comparison(c, "http://registry", None, client=client)
    assert seen["method"] == "PUT" and seen["path"] == "/api/v1/models/site/5/comparison"
    assert seen["body"] == c and record["comparison"] == c and seen["auth"] == "Bearer t0k"

    refused = httpx.MockTransport(lambda request: httpx.Response(404, text='{"detail":"no model site 5"}'))
    with httpx.Client(base_url="http://registry", transport=refused) as client:
        with pytest.raises(ValueError, match="answered 404"):
            put_comparison(c, "http://registry", None, client=client)
