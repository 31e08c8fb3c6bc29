"""Run scenario clips through detector -> tracker -> rules and score the rule STARTs.

Each clip is an mp4 with a JSON sidecar (see :mod:`gridsight.synth.scenarios`) holding the
camera config that watches it (zones with kinds, preset rules) and its ground-truth events.
The stages are the worker's own: :class:`~inference.models.detector.YoloDetector` from a pinned
manifest, :class:`~inference.tracking.ObjectTracker` with the camera's tracker settings, and
the rules built by the worker's rule factory from the camera config, driven frame by frame on
a :class:`~inference.clock.FrameClock` in stream time exactly as
:meth:`streams.pipeline.CameraPipeline.process` drives them (evidence and submission are left
out: they do not decide whether an event starts).

``--oracle`` replaces the model with the clip's ground-truth boxes, so rule logic is measured
without detector errors.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from gridsight.ml.scenario_eval.matching import (
    DEFAULT_TOLERANCE_S,
    DetectedStart,
    GroundTruthEvent,
    format_table,
    match_events,
    summarise,
)
from gridsight.synth.scenarios.generate import SIDECAR_KEY
from inference.clock import FrameClock
from inference.detections import Detections
from inference.tracking import ObjectTracker

#: Stream time of a clip's first frame (any fixed value: only differences matter).
EPOCH = 1_800_000_000.0
#: A camera's confidence floor, as in configs/demo.yaml: below the tracker's 0.35, so weak
#: boxes extend tracks but never start one.
DEFAULT_CONFIDENCE = 0.2

RuleBuilder = Callable[[str, Any, FrameClock], list]


@dataclass
class ClipCase:
    name: str
    video: Path
    sidecar: dict

    @property
    def spec(self) -> dict:
        return self.sidecar[SIDECAR_KEY]

    @property
    def fps(self) -> float:
        return float(self.sidecar["fps"])

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.sidecar["size"]
        return int(w), int(h)

    def truth(self) -> list[GroundTruthEvent]:
        return [GroundTruthEvent(self.name, e["rule"], e["preset"], e["zone"], float(e["start_s"]), float(e["end_s"]))
                for e in self.spec["events"]]

    def presets(self) -> dict[str, str]:
        """rule id -> preset."""
        return {rid: r["preset"] for rid, r in self.spec["camera"]["rules"].items()}


def load_cases(directory: Path, names: list[str] | None = None) -> list[ClipCase]:
    """The scenario clips in ``directory`` (sidecars carrying a scenario spec), by name."""
    cases = []
    for path in sorted(Path(directory).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if SIDECAR_KEY not in data:
            continue
        video = path.with_suffix(".mp4")
        if not video.exists():
            raise FileNotFoundError(f"{path} has no clip {video.name}")
        cases.append(ClipCase(data[SIDECAR_KEY]["name"], video, data))
    if names:
        missing = sorted(set(names) - {c.name for c in cases})
        if missing:
            raise ValueError(f"no scenario clip named {missing} in {directory}")
        cases = [c for c in cases if c.name in names]
    if not cases:
        raise FileNotFoundError(f"no scenario clips (<name>.mp4 + <name>.json) in {directory}")
    return cases


def camera_from_spec(camera_id: str, raw: dict):
    """Validate the clip's camera mapping with the worker's config schema."""
    from streams.config import GridSightConfig

    # The model entry only satisfies the schema; the evaluation supplies its own detector.
    config = GridSightConfig.model_validate({"models": {raw["model"]: {"manifest": "unused.yaml"}}, "cameras": {camera_id: raw}})
    return config.cameras[camera_id]


def worker_rule_builder() -> RuleBuilder:
    from streams.rule_factory import build_rules

    return build_rules


class OracleDetector:
    """The clip's ground-truth boxes as detections (confidence 0.9): the rules see perfect input."""

    name = "oracle"
    version = "ground-truth"

    def __init__(self, sidecar: dict) -> None:
        w, h = sidecar["size"]
        scale = np.array([w, h, w, h], dtype=np.float32)
        self._frames: dict[int, list[tuple[str, np.ndarray]]] = {}
        for obj in sidecar["objects"]:  # classes are canonical labels (the renderer's CLASSES)
            for index, box in obj["boxes"].items():
                self._frames.setdefault(int(index), []).append((obj["class"], np.asarray(box, dtype=np.float32) * scale))

    def frame(self, index: int) -> Detections:
        items = self._frames.get(index, [])
        if not items:
            return Detections.empty()
        return Detections(np.stack([b for _, b in items]), np.full(len(items), 0.9, np.float32),
                          np.array([lab for lab, _ in items], dtype=object))


def _video_frames(path: Path) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, pts seconds, BGR image), decoded with PyAV as the worker's file source does."""
    import av

    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            yield index, float(frame.time), frame.to_ndarray(format="bgr24")


@dataclass
class ClipRun:
    name: str
    starts: list[DetectedStart] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    detect_seconds: float = 0.0


def run_clip(case: ClipCase, detector=None, rule_builder: RuleBuilder | None = None, camera_id: str = "scenario") -> ClipRun:
    """Drive one clip through the stages; ``detector=None`` uses the oracle (no decoding)."""
    started = time.perf_counter()
    camera = camera_from_spec(camera_id, case.spec["camera"])
    run = ClipRun(case.name)
    if detector is None:
        oracle = OracleDetector(case.sidecar)
        frames = ((i, i / case.fps, None) for i in range(int(case.sidecar["frame_count"])))
    else:
        frames = _video_frames(case.video)

    def detected() -> Iterator[tuple[float, Detections]]:
        for index, t, image in frames:
            t0 = time.perf_counter()
            detections = oracle.frame(index) if image is None else detector.detect([image])[0]
            run.detect_seconds += time.perf_counter() - t0
            run.frames += 1
            yield t, detections

    run.starts = drive(case, camera, detected(), rule_builder=rule_builder, camera_id=camera_id,
                       label_thresholds=getattr(detector, "class_confidence", None))
    run.seconds = time.perf_counter() - started
    return run


def drive(case: ClipCase, camera, frames: Iterable[tuple[float, Detections]], *, rule_builder: RuleBuilder | None = None,
          camera_id: str = "scenario", label_thresholds: dict[str, float] | None = None,
          tracker_class=ObjectTracker) -> list[DetectedStart]:
    """The worker's tracker and rules for ``camera`` on (clip seconds, detections), in stream time
    as :meth:`streams.pipeline.CameraPipeline.process` drives them: the rule STARTs."""
    clock = FrameClock()
    rules = (rule_builder or worker_rule_builder())(camera_id, camera, clock)
    tracker = tracker_class(
        frame_rate=camera.analysis_fps,
        lost_track_seconds=camera.tracker.lost_track_seconds,
        activation_threshold=camera.tracker.activation_threshold,
        high_confidence_threshold=camera.tracker.high_confidence_threshold,
        label_thresholds=label_thresholds,  # as the worker: per-label floors start tracks
    )
    presets, overrides, (w, h) = case.presets(), case.spec["camera"]["rules"], case.size
    starts = []
    for t, detections in frames:
        captured_at = EPOCH + t
        tracked = tracker.update(detections, timestamp=captured_at)
        clock.advance_to(captured_at)
        for rule, _template in rules:
            for event in rule.update(tracked, (w, h)):
                if event.phase.value != "start":
                    continue
                dwell = _min_dwell(rule, overrides.get(event.rule_id, {}))
                starts.append(DetectedStart(case.name, event.rule_id, presets.get(event.rule_id, event.rule_id),
                                            event.zone_id, round(event.at - EPOCH, 3), dwell))
    return starts


def _min_dwell(rule, line: dict) -> float:
    spec = getattr(rule, "spec", None)
    value = getattr(spec, "min_dwell_s", None)
    if value is None:
        value = line.get("min_dwell_s", 0.0)
    return float(value)


def evaluate(cases: list[ClipCase], detector=None, rule_builder: RuleBuilder | None = None,
             tolerance_s: float = DEFAULT_TOLERANCE_S, progress: Callable[[ClipRun], None] | None = None) -> dict:
    """Run every clip and score all STARTs against all ground truth; JSON-ready."""
    truth: list[GroundTruthEvent] = []
    starts: list[DetectedStart] = []
    clips = []
    presets: set[str] = set()
    for case in cases:
        run = run_clip(case, detector, rule_builder)
        if progress:
            progress(run)
        truth += case.truth()
        starts += run.starts
        presets |= set(case.presets().values())
        clips.append({
            "name": case.name,
            "negative": not case.spec["events"],
            "presets": sorted(set(case.presets().values())),
            "expected": case.spec["events"],
            "starts": [{"rule": s.rule_id, "zone": s.zone_id, "at_s": s.at_s} for s in run.starts],
            "frames": run.frames,
            "seconds": round(run.seconds, 3),
            "detect_ms_per_frame": round(1000 * run.detect_seconds / max(1, run.frames), 2),
        })
    result = match_events(truth, starts, tolerance_s)
    summary = summarise(result, presets)
    summary["clips"] = clips
    summary["tolerance_s"] = tolerance_s
    summary["frames"] = sum(c["frames"] for c in clips)
    summary["seconds"] = round(sum(c["seconds"] for c in clips), 3)
    return summary


def report(summary: dict) -> str:
    return format_table(summary)
