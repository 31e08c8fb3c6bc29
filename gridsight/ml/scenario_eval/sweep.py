"""The scenario clips at many analysis rates: event-level precision and recall per family
per rate, the way a camera analysed at that rate would see them.

The clips are rendered at :data:`BASE_FPS` (8 fps; the committed CI set is 4 fps, too coarse
for 5 and 8). Each clip is decoded and run through the detector **once**; every rate then
samples those frames with the worker's own :class:`streams.sources.sampler.FrameSampler` by their
timestamps (so 3 and 5 fps get the uneven intervals a real 25-fps stream sampled at 3 fps
gives too) and drives a fresh tracker and the worker's rules on them, exactly as
:func:`gridsight.ml.scenario_eval.runner.run_clip` does at a single rate.

Only rules whose minimum rate (:func:`inference.rates.rule_min_fps`) is at or below a rate
are scored at it, ground truth and detections alike: below its minimum a config asking for
that rate is refused at start, so nobody runs it there.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

from gridsight.ml.scenario_eval.matching import DEFAULT_TOLERANCE_S, FAMILIES, DetectedStart, match_events, summarise
from gridsight.ml.scenario_eval.runner import ClipCase, OracleDetector, _video_frames, camera_from_spec, drive, load_cases
from inference.detections import Detections
from inference.tracking import ObjectTracker

BASE_FPS = 8
RATES: tuple[float, ...] = (0.5, 1, 2, 3, 5, 8)


def render_sweep_clips(out_dir: Path, names: list[str] | None = None) -> Path:
    """Render the CI scenario cases at BASE_FPS into ``out_dir`` (skipping clips already there)."""
    from gridsight.synth.scenarios import ci_cases
    from gridsight.synth.scenarios.generate import render_case

    out_dir = Path(out_dir)
    for case in ci_cases():
        if names and case.name not in names:
            continue
        if (out_dir / f"{case.name}.mp4").exists() and (out_dir / f"{case.name}.json").exists():
            continue
        render_case(dataclasses.replace(case, fps=BASE_FPS), out_dir)
    return out_dir


def detect_all(case: ClipCase, detector=None) -> list[tuple[float, Detections]]:
    """(clip seconds, detections) for every frame of the clip; ``detector=None``: the oracle."""
    if detector is None:
        oracle = OracleDetector(case.sidecar)
        return [(i / case.fps, oracle.frame(i)) for i in range(int(case.sidecar["frame_count"]))]
    return [(t, detector.detect([image])[0]) for _index, t, image in _video_frames(case.video)]


def rule_minimums(case: ClipCase) -> dict[str, float]:
    """rule id -> its minimum analysis fps, from the clip's camera config."""
    return {rid: low.fps for rid, low in camera_from_spec("scenario", case.spec["camera"]).rule_minimums().items()}


def run_at_rate(case: ClipCase, frames: list[tuple[float, Detections]], fps: float, rule_builder=None,
                label_thresholds: dict[str, float] | None = None, tracker_class=ObjectTracker,
                rules: set[str] | None = None) -> list[DetectedStart]:
    """The rule STARTs a camera analysed at ``fps`` would file on this clip, with only the
    ``rules`` given (default: all; a rule below its minimum rate is refused by the config)."""
    from streams.sources.sampler import FrameSampler

    raw = {**case.spec["camera"], "analysis_fps": fps}
    if rules is not None:
        raw["rules"] = {rid: r for rid, r in raw["rules"].items() if rid in rules}
        if not raw["rules"]:
            return []
    sampler = FrameSampler(fps)
    sampled = ((t, detections) for t, detections in frames if sampler.should_sample(t))
    return drive(case, camera_from_spec("scenario", raw), sampled, rule_builder=rule_builder,
                 label_thresholds=label_thresholds, tracker_class=tracker_class)


def detect_cases(cases: list[ClipCase], detector=None, progress: Callable[[str], None] | None = None) -> list:
    """Decode and detect every clip once: (case, frames, rule minimums) for :func:`sweep`."""
    per_clip = []
    for case in cases:
        t0 = time.perf_counter()
        per_clip.append((case, detect_all(case, detector), rule_minimums(case)))
        if progress:
            progress(f"{case.name}: {len(per_clip[-1][1])} frames detected in {time.perf_counter() - t0:.1f} s")
    return per_clip


def sweep(cases: list[ClipCase], detector=None, rates: tuple[float, ...] = RATES,
          tolerance_s: float = DEFAULT_TOLERANCE_S, progress: Callable[[str], None] | None = None,
          detected: list | None = None, tracker_class=ObjectTracker) -> dict:
    """Per rate: the summary of :func:`gridsight.ml.scenario_eval.matching.summarise` over the rules
    whose minimum allows that rate, plus which rules were left out. ``detected``: the output of
    :func:`detect_cases` for these cases, to score several trackers on one detection pass."""
    started = time.perf_counter()
    label_thresholds = getattr(detector, "class_confidence", None)
    per_clip = detected if detected is not None else detect_cases(cases, detector, progress)
    detect_s = time.perf_counter() - started
    by_rate = {}
    for fps in rates:
        truth, starts, presets, excluded = [], [], set(), set()
        for case, frames, minimums in per_clip:
            allowed = {rid for rid, low in minimums.items() if low <= fps + 1e-9}
            excluded |= {case.presets()[rid] for rid in minimums if rid not in allowed}
            truth += [g for g in case.truth() if g.rule_id in allowed]
            starts += run_at_rate(case, frames, fps, label_thresholds=label_thresholds, tracker_class=tracker_class,
                                  rules=allowed)
            presets |= {case.presets()[rid] for rid in allowed}
        summary = summarise(match_events(truth, starts, tolerance_s), presets)
        summary["presets_below_their_minimum"] = sorted(excluded - presets)
        by_rate[f"{fps:g}"] = summary
        if progress:
            fams = ", ".join(f"{f} P={s['precision']:.2f} R={s['recall']:.2f}" for f, s in summary["families"].items())
            progress(f"{fps:g} fps: {fams}")
    return {
        "base_fps": BASE_FPS, "rates": [float(r) for r in rates], "tolerance_s": tolerance_s,
        "clips": len(cases), "detect_seconds": round(detect_s, 1),
        "seconds": round(time.perf_counter() - started, 1), "by_rate": by_rate,
        "minimum_fps_by_preset": _preset_minimums(per_clip),
    }


def _preset_minimums(per_clip) -> dict[str, float]:
    out: dict[str, float] = {}
    for case, _frames, minimums in per_clip:
        for rid, low in minimums.items():
            preset = case.presets()[rid]
            out[preset] = max(out.get(preset, 0.0), low)
    return dict(sorted(out.items()))


def table(result: dict) -> str:
    """Families down, rates across: ``P/R (events)``; ``-`` where no rule of the family may run."""
    rates = list(result["by_rate"])
    lines = [f"{'family':<10} " + " ".join(f"{r + ' fps':>16}" for r in rates)]
    for family in FAMILIES:
        cells = []
        for r in rates:
            s = result["by_rate"][r]["families"].get(family)
            cells.append(f"{'-':>16}" if s is None else f"{s['precision']:.2f}/{s['recall']:.2f} ({s['tp'] + s['fn']:>2})".rjust(16))
        lines.append(f"{family:<10} " + " ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m gridsight.ml.scenario_eval.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", default="var/sweep-clips", help="where the 8-fps renders are cached")
    p.add_argument("--model", default="weights/gridsight-demo-v4.yaml")
    p.add_argument("--oracle", action="store_true")
    p.add_argument("--out", help="JSON results")
    args = p.parse_args(argv)
    from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE

    cases = load_cases(render_sweep_clips(Path(args.clips)))
    detector = None
    if not args.oracle:
        from inference.models.detector import YoloDetector

        detector = YoloDetector.from_manifest(args.model, confidence=DEFAULT_CONFIDENCE, device="cpu")
    result = sweep(cases, detector, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
