"""``gridsight eval-scenarios``: the arguments and the command (imports stay lazy: the parser is
built on every ``gridsight`` call)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_MODEL = "weights/gridsight-demo-v4.yaml"
DEFAULT_SCENARIOS = "tests/data/scenarios"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help=f"directory of <name>.mp4 + <name>.json clips (default {DEFAULT_SCENARIOS})")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model manifest (default {DEFAULT_MODEL})")
    p.add_argument("--oracle", action="store_true", help="use the clips' ground-truth boxes instead of the model (rule errors only)")
    p.add_argument("--confidence", type=float, default=None, help="detector confidence floor (default 0.2, as the demo camera)")
    p.add_argument("--iou", type=float, default=0.5, help="detector NMS IoU")
    p.add_argument("--device", default="cpu", help="torch device for the model")
    p.add_argument("--tolerance", type=float, default=None, help="seconds a START may come after the incident ended (default 3)")
    p.add_argument("--only", nargs="*", help="evaluate only these scenario names")
    p.add_argument("--out", help="write the full results (per rule, family, clip, match) as JSON here")
    p.add_argument("--quiet", action="store_true", help="no per-clip progress lines")


def run_eval_scenarios(args) -> int:
    from gridsight.ml.scenario_eval.matching import DEFAULT_TOLERANCE_S
    from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE, evaluate, load_cases, report

    try:
        cases = load_cases(Path(args.scenarios), args.only)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    detector = None
    if not args.oracle:
        from inference.models.detector import YoloDetector
        from inference.models.manifest import ManifestError

        try:
            detector = YoloDetector.from_manifest(
                args.model, confidence=args.confidence or DEFAULT_CONFIDENCE, iou=args.iou, device=args.device,
            )
        except (ManifestError, FileNotFoundError, ValueError) as exc:
            print(f"error: model {args.model}: {exc}", file=sys.stderr)
            return 2

    def progress(run) -> None:
        if not args.quiet:
            starts = ", ".join(f"{s.rule_id}@{s.at_s:g}s" for s in run.starts) or "no events"
            print(f"  {run.name:<36} {run.frames:>4} frames {run.seconds:6.1f} s  {starts}", file=sys.stderr, flush=True)

    tolerance = DEFAULT_TOLERANCE_S if args.tolerance is None else args.tolerance
    summary = evaluate(cases, detector, tolerance_s=tolerance, progress=progress)
    summary["detector"] = "oracle (ground-truth boxes)" if detector is None else f"{detector.name} {detector.version} ({args.model})"
    summary["scenarios"] = str(args.scenarios)
    print(f"detector: {summary['detector']}; {len(cases)} clips, {summary['frames']} frames in {summary['seconds']:.1f} s; "
          f"START matches an incident of the same rule and zone within [start, end + {tolerance:g} s]")
    print(report(summary))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"results written: {out}")
    return 0
