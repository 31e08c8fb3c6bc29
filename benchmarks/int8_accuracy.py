"""Accuracy cost of the OpenVINO exports (issue 16): the same model as PyTorch, OpenVINO FP32 and
OpenVINO INT8, on the held-out synthetic test set (mAP50, mAP50-95: gridsight.ml.evaluate, the
validator ultralytics runs for `gridsight eval`) and on the scenario clips (event-level precision
and recall of rule STARTs: gridsight.ml.scenario_eval, the worker's detector, tracker and rules).

    .venv/bin/python benchmarks/int8_accuracy.py [--model weights/gridsight-demo-v4.yaml]
        [--scenarios tests/data/scenarios] [--n-test 250] [--out PATH]

Runs the exports the manifest records (``gridsight export --format openvino [--int8]`` first).
The test set is the manifest's own (seed 1000, 250 images: never used for training, checkpoint
selection or INT8 calibration, which renders seed 3000). Writes
``benchmarks/results/<machine>/int8_accuracy.json`` and prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from benchmarks.scenario_eval import machine, results_dir  # noqa: E402
from gridsight.ml.evaluate import evaluate_detector  # noqa: E402
from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE, evaluate, load_cases  # noqa: E402
from inference.models.backend import choose_backend  # noqa: E402
from inference.models.detector import YoloDetector, pin_openvino_f32  # noqa: E402
from inference.models.manifest import load_manifest  # noqa: E402

BACKENDS = ("pytorch", "openvino", "openvino-int8")


def one_backend(manifest_path: Path, backend: str, data_yaml: Path, cases) -> dict:
    manifest, weights = load_manifest(manifest_path)
    choice = choose_backend(manifest, weights, manifest_path.parent, requested=backend, log_choice=False)
    pin_openvino_f32()  # as the detector runs it
    t0 = time.perf_counter()
    ev = evaluate_detector(choice.path, data_yaml, split="val", imgsz=manifest.input_size, label=backend)
    t1 = time.perf_counter()
    detector = YoloDetector.from_manifest(manifest_path, backend=backend, confidence=DEFAULT_CONFIDENCE)
    events = evaluate(cases, detector)
    t2 = time.perf_counter()
    return {"backend": backend, "path": choice.path.name, "test_set": ev.overall,
            "per_class_map50": {c.name: c.map50 for c in ev.classes},
            "events": events["overall"], "event_families": events["families"],
            "eval_s": round(t1 - t0, 1), "scenario_s": round(t2 - t1, 1)}


def table(rows: list[dict]) -> str:
    lines = [f"{'backend':<15}{'mAP50':>8}{'mAP50-95':>10}{'P':>7}{'R':>7}   {'event P':>8}{'event R':>8}{'TP':>5}{'FP':>4}{'FN':>4}"]
    for r in rows:
        t, e = r["test_set"], r["events"]
        lines.append(f"{r['backend']:<15}{t['map50']:>8.4f}{t['map50_95']:>10.4f}{t['precision']:>7.3f}{t['recall']:>7.3f}   "
                     f"{e['precision']:>8.3f}{e['recall']:>8.3f}{e['tp']:>5}{e['fp']:>4}{e['fn']:>4}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="weights/gridsight-demo-v4.yaml")
    ap.add_argument("--scenarios", default="tests/data/scenarios")
    ap.add_argument("--n-test", type=int, default=250)
    ap.add_argument("--test-seed", type=int, default=1000)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    from gridsight.synth.dataset import generate_dataset

    manifest_path = (REPO / args.model).resolve()
    info = machine("cpu")
    cases = load_cases(REPO / args.scenarios)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gridsight-int8-acc-") as tmp:
        data_yaml = generate_dataset(Path(tmp), 0, args.n_test, seed=args.test_seed, workers=2)
        for backend in BACKENDS:
            rows.append(one_backend(manifest_path, backend, data_yaml, cases))
            print(f"{backend}: done ({rows[-1]['eval_s']} + {rows[-1]['scenario_s']} s)", flush=True)
    info["load_average_at_end"] = os.getloadavg()
    result = {"machine": info, "model": args.model, "test_set": {"generator": "gridsight.synth.dataset.generate_dataset",
              "seed": args.test_seed, "images": args.n_test, "size": [640, 360]},
              "scenarios": {"dir": args.scenarios, "clips": len(cases), "confidence": DEFAULT_CONFIDENCE},
              "rows": rows, "table": table(rows).splitlines()}
    out = Path(args.out) if args.out else results_dir(info) / "int8_accuracy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(rows))
    print(f"results written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
