"""Event-level rule evaluation on the long scenario set: the CI stories slowed down (default 4x:
40-72 s clips, dwell 16-48 s), 640x360 at 5 fps, rendered into ``var/scenarios/long`` on first
use (not committed), then run through detector + ByteTrack + the worker's rules.

    .venv/bin/python benchmarks/scenario_eval.py [--model weights/gridsight-demo-v4.yaml] [--device cpu|cuda:0]
                                                 [--oracle] [--factor 4] [--clips DIR] [--render-only]

Writes ``benchmarks/results/<cpu or gpu>/scenario_eval[-oracle].json`` (machine, per-rule and
per-family precision, recall and delays, per-clip STARTs, timings) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE, evaluate, load_cases, report  # noqa: E402
from gridsight.hardware import cpu_model  # noqa: E402
from gridsight.synth.scenarios import long_cases  # noqa: E402
from gridsight.synth.scenarios.generate import render_case  # noqa: E402


def machine(device: str) -> dict:
    info = {"cpu": cpu_model(), "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "device": device, "load_average_at_start": os.getloadavg()}
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def results_dir(info: dict) -> Path:
    name = info.get("gpu") or f"{info['cpu']}-{info['cpus']}cpu"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "machine"
    return REPO / "benchmarks" / "results" / slug


def render_long(clips: Path, factor: float, only: list[str] | None = None) -> None:
    cases = [c for c in long_cases(factor) if not only or c.name in only]
    missing = [c for c in cases if not (clips / f"{c.name}.json").exists()]
    for i, case in enumerate(missing, 1):
        started = time.perf_counter()
        render_case(case, clips, crf=None)
        print(f"rendered {case.name} ({i}/{len(missing)}, {time.perf_counter() - started:.1f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="weights/gridsight-demo-v4.yaml")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--oracle", action="store_true", help="ground-truth boxes instead of the model")
    ap.add_argument("--factor", type=float, default=4.0, help="how many times slower than the CI clips")
    ap.add_argument("--clips", default="var/scenarios/long", help="where the long clips are (rendered if missing)")
    ap.add_argument("--only", nargs="*", help="only these scenarios (long names end in -long)")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--out", help="JSON path (default benchmarks/results/<machine>/scenario_eval[-oracle].json)")
    args = ap.parse_args(argv)

    clips = (REPO / args.clips) if not Path(args.clips).is_absolute() else Path(args.clips)
    render_long(clips, args.factor, args.only)
    if args.render_only:
        return 0
    detector = None
    if not args.oracle:
        from inference.models.detector import YoloDetector

        detector = YoloDetector.from_manifest(REPO / args.model, confidence=DEFAULT_CONFIDENCE, device=args.device)
    info = machine("cpu" if args.oracle else args.device)
    started = time.perf_counter()
    summary = evaluate(load_cases(clips, args.only), detector,
                       progress=lambda run: print(f"  {run.name:<40} {run.frames:>4} frames {run.seconds:6.1f} s", flush=True))
    took = time.perf_counter() - started
    summary = {"machine": info, "detector": "oracle" if detector is None else f"{detector.name} {detector.version}",
               "factor": args.factor, "wall_s": round(took, 1),
               "ms_per_frame": round(1000 * took / max(1, summary["frames"]), 1), **summary}
    out = Path(args.out) if args.out else results_dir(info) / f"scenario_eval{'-oracle' if args.oracle else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{summary['detector']} on {info.get('gpu') or info['cpu']}: {len(summary['clips'])} clips, "
          f"{summary['frames']} frames in {took:.1f} s ({summary['ms_per_frame']} ms/frame)")
    print(report(summary))
    print(f"results written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
