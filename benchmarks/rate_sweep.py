"""Event-level precision and recall per rule family at analysis rates 0.5-8 fps.

The scenario stories are rendered at 8 fps (``--set ci``: the committed CI stories, 384x216;
``--set long``: the same stories 4x slower at 640x360, where slow rates see whole dwells),
decoded and detected once, then sampled at each rate with the worker's own frame sampler and
run through a fresh tracker and the worker's rules (gridsight.ml.scenario_eval.sweep). Rules are
scored only at rates at or above their minimum (inference.rates).

The baseline, measured in the same run on the same detections, is the tracker as it was
before issue 13: ``lost_track_buffer`` in analysed frames (the library counts 30-fps frames)
and IoU-only association.

    .venv/bin/python benchmarks/rate_sweep.py [--set ci|long] [--model M] [--oracle] [--clips DIR]

Writes ``benchmarks/results/<machine>/rate_sweep-<set>[-oracle].json`` and prints the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import supervision as sv

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("YOLO_OFFLINE", "1")

from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE, load_cases  # noqa: E402
from gridsight.ml.scenario_eval.sweep import BASE_FPS, detect_cases, render_sweep_clips, sweep, table  # noqa: E402
from inference.detections import Detections  # noqa: E402
from scenario_eval import machine, results_dir  # noqa: E402


class BaselineTracker:
    """The tracker before issue 13: buffer = seconds x analysed fps, read by the library as
    30-fps frames (a lost track lived seconds x fps / 30 s), IoU-only matching."""

    def __init__(self, *, frame_rate, lost_track_seconds=3.0, activation_threshold=0.35, high_confidence_threshold=0.35,
                 label_thresholds=None):
        from trackers import ByteTrackTracker

        self._make = lambda floor: ByteTrackTracker(
            lost_track_buffer=max(1, int(round(lost_track_seconds * frame_rate))), frame_rate=frame_rate,
            track_activation_threshold=min(activation_threshold, floor), high_conf_det_threshold=min(high_confidence_threshold, floor),
            minimum_consecutive_frames=2)
        self._floors = dict(label_thresholds or {})
        self._per_label, self._offset = {}, {}

    def update(self, detections: Detections, timestamp: float) -> Detections:
        parts = []
        for label in sorted(set(detections.labels.tolist()) | set(self._per_label)):
            if label not in self._per_label:
                self._per_label[label] = self._make(self._floors.get(label, 1.0))
                self._offset[label] = len(self._offset) * 1_000_000
            sub = detections.with_labels([label])
            out = self._per_label[label].update(sv.Detections(
                xyxy=sub.xyxy.astype(np.float32).reshape(-1, 4), confidence=sub.confidence.astype(np.float32),
                class_id=np.zeros(len(sub), dtype=int)), timestamp=timestamp)
            if len(out):
                ids = np.asarray(out.tracker_id, dtype=np.int64)
                parts.append(Detections(out.xyxy, out.confidence, np.full(len(out), label, dtype=object),
                                        np.where(ids >= 0, ids + self._offset[label], ids)))
        return Detections.merge(parts)


def render_long(out_dir: Path, factor: float = 4.0) -> Path:
    from gridsight.synth.scenarios import long_cases
    from gridsight.synth.scenarios.generate import render_case

    for case in long_cases(factor):
        if not (out_dir / f"{case.name}.json").exists():
            render_case(dataclasses.replace(case, fps=BASE_FPS), out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["ci", "long"], default="ci")
    ap.add_argument("--model", default="weights/gridsight-demo-v4.yaml")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--oracle", action="store_true", help="ground-truth boxes instead of the model")
    ap.add_argument("--clips", help="where the 8-fps renders are cached (default var/sweep/<set>)")
    args = ap.parse_args(argv)

    info = machine(args.device)
    clips = Path(args.clips or REPO / "var" / "sweep" / args.set)
    clips.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cases = load_cases(render_sweep_clips(clips) if args.set == "ci" else render_long(clips))
    render_s = time.perf_counter() - started
    detector = None
    if not args.oracle:
        from inference.models.detector import YoloDetector

        detector = YoloDetector.from_manifest(REPO / args.model, confidence=DEFAULT_CONFIDENCE, device=args.device)
    detected = detect_cases(cases, detector)
    results = {}
    for name, tracker in (("gridsight", None), ("baseline", BaselineTracker)):
        kwargs = {"tracker_class": tracker} if tracker else {}
        results[name] = sweep(cases, detector, detected=detected, **kwargs)
        print(f"\n{name} tracker ({'oracle' if detector is None else args.model}, {args.set} set, "
              f"{len(cases)} clips rendered at {BASE_FPS} fps): P/R (events scored)\n{table(results[name])}")
    info["load_average_at_end"] = os.getloadavg()
    out = results_dir(info) / f"rate_sweep-{args.set}{'-oracle' if args.oracle else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "set": args.set, "detector": "oracle" if detector is None else args.model,
               "render_seconds": round(render_s, 1), "trackers": results}
    out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"\nresults written: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
