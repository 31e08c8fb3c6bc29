"""Silence is a bug: a camera that analyses frames but can file nothing says so."""

from __future__ import annotations

import numpy as np

from streams.analysis_health import AnalysisWatch, analysis_problems


def test_boxes_without_a_confirmed_track_for_a_minute_is_a_problem():
    watch = AnalysisWatch(1.0)
    for i in range(130):  # 65 s at 2 fps, a box on every frame, never a confirmed track
        watch.observe(1000 + i / 2, detected=1, confirmed=0)
    problems = watch.problems()
    assert "silent_tracker" in problems and "64 s" in problems["silent_tracker"] and "130 box" in problems["silent_tracker"]


def test_an_empty_scene_or_a_confirmed_track_is_not_a_problem():
    empty, tracked = AnalysisWatch(1.0), AnalysisWatch(1.0)
    for i in range(200):
        empty.observe(1000 + i / 2, detected=0, confirmed=0)
        tracked.observe(1000 + i / 2, detected=2, confirmed=1 if i % 50 == 0 else 0)
    assert empty.problems() == {} and tracked.problems() == {}


def test_analysed_slower_than_the_rules_need_is_a_problem():
    watch = AnalysisWatch(2.0, "3 of 5 frames while the doors are open")
    for i in range(40):  # 1 fps for 40 s
        watch.observe(1000 + i, detected=0, confirmed=0)
    assert "too_slow" in watch.problems() and "doors" in watch.problems()["too_slow"]
    assert AnalysisWatch(2.0).problems() == {}  # nothing measured yet: no verdict


def test_overloaded_at_the_floor_is_a_problem_and_health_names_the_camera():
    class Pipe:
        camera_id = "cam-7"

        def __init__(self, problems):
            self._p = problems

        def health_problems(self):
            return self._p

    watch = AnalysisWatch(1.0)
    watch.observe(1.0, 0, 0)
    reason = watch.problems(overloaded_at_floor=True)["overloaded"]
    line = analysis_problems([Pipe([reason]), Pipe([])])
    assert line.startswith("cam-7: overloaded") and analysis_problems([Pipe([])]) is None


def _pipeline(activation: float, fps: float = 2.0):
    from types import SimpleNamespace

    from inference.clock import FrameClock
    from inference.tracking import ObjectTracker
    from streams.pipeline import CameraPipeline
    from tests.support.evidence_frames import BAG

    # The detector sees a bag at 0.6 on every frame; the tracker is real.
    weak_bag = BAG.__class__(BAG.xyxy, [0.6], BAG.labels)
    detector = SimpleNamespace(name="m", version="1", detect=lambda images: [weak_bag])
    tracker = ObjectTracker(frame_rate=fps, activation_threshold=activation, high_confidence_threshold=activation)
    source = SimpleNamespace(stats=lambda: {"state": "online"})
    return CameraPipeline("cam-9", source, detector, tracker, [], FrameClock(), lambda k, p: None,
                          watch=AnalysisWatch(1.0))


def _feed(pipe, seconds: float, fps: float = 2.0):
    from inference.frames import VideoFrame

    image = np.zeros((72, 128, 3), np.uint8)
    for i in range(int(seconds * fps)):
        pipe.process(VideoFrame(image, i, 1_700_000_000.0 + i / fps, "cam-9"))


def test_a_pipeline_whose_tracker_never_confirms_reports_it_and_counts_confirmed_boxes(caplog):
    silent = _pipeline(activation=0.9)  # boxes at 0.6 can never start a track
    with caplog.at_level("WARNING", logger="streams.pipeline"):
        _feed(silent, 70)
    [problem] = silent.health_problems()
    assert "confirmed no track" in problem and silent.stats()["confirmed_boxes"] == 0
    assert any("cam-9: tracker confirmed no track" in r.getMessage() for r in caplog.records)
    healthy = _pipeline(activation=0.35)
    _feed(healthy, 70)
    assert healthy.health_problems() == [] and healthy.stats()["confirmed_boxes"] >= 139
    assert healthy.stats()["rule_evaluations"] == 0  # no rules in this pipeline
