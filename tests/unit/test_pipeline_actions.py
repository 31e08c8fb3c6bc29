"""Edge actions fire from the pipeline the moment a rule emits (issue 19): on the frame that
fired it, before its evidence or its order (an emergency's order goes to the outbox on the
same frame, and must come after the action), for START, UPDATE and END; a hook that raises
is logged once and never stops the camera. The runtime reports the dispatcher in /health
and the metrics; the factory hands every pipeline the dispatcher's fire."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from inference.clock import FrameClock
from inference.detections import Detections
from inference.rules import EventPhase, RuleEvent
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from streams.pipeline import CameraPipeline, WorkOrderTemplate
from tests.support.evidence_frames import BAG, FPS, PERSON, T0, ScriptedRule, frame

TRACKED = Detections.merge([BAG, PERSON])
START, UPDATE, END = 8, 12, 26  # the frames the scripted rule emits on


def event(phase: EventPhase, index: int) -> RuleEvent:
    return RuleEvent(event_id="cam-1/lift/car/1", phase=phase, camera_id="cam-1", rule_id="lift", zone_id="kerb",
                     at=T0 + index / FPS, started_at=T0 + 1, labels=("ebike",), track_ids=(7,), max_confidence=0.9,
                     detections=BAG)



class Recorder:
    """The outbox and the dispatcher in one timeline: what reached which, in which order."""

    def __init__(self, *, raise_on_fire: bool = False) -> None:
        self.timeline: list[tuple] = []
        self.raise_on_fire = raise_on_fire

    def fire(self, camera_id, event, template, frame, tracked) -> None:
        self.timeline.append(("action", camera_id, event.phase, frame.frame_id, template.priority, len(tracked)))
        if self.raise_on_fire:
            raise RuntimeError("sink exploded")

    def order(self, key: str, payload: dict) -> None:
        self.timeline.append(("order", payload["event_id"]))

    def end(self, key: str, payload: dict) -> None:
        self.timeline.append(("end", payload["event_id"]))


def pipeline(recorder: Recorder, priority: str) -> CameraPipeline:
    script = {START: [event(EventPhase.START, START)], UPDATE: [event(EventPhase.UPDATE, UPDATE)],
              END: [event(EventPhase.END, END)]}
    detector = SimpleNamespace(name="gridsight-demo-v4", version="4", detect=lambda images: [TRACKED])
    tracker = SimpleNamespace(update=lambda detections, timestamp: detections)
    template = WorkOrderTemplate("X-EBIKE-ELEVATOR", "电动车进电梯", priority, "GC-1", None)
    pipe = CameraPipeline("cam-1", None, detector, tracker, [(ScriptedRule(script, "lift"), template)], FrameClock(),
                          recorder.order, evidence=EvidenceRecorder(EvidenceSettings(pre_s=4, post_s=3)),
                          on_rule_event=recorder.fire)
    pipe.submit_event_end = recorder.end
    return pipe


def run_until(pipe: CameraPipeline, recorder: Recorder, last: int) -> list[list[tuple]]:
    """Per frame index: what the frame added to the timeline."""
    added = []
    for i in range(last + 1):
        before = len(recorder.timeline)
        pipe.process(frame(i))
        added.append(recorder.timeline[before:])
    return added


def test_the_action_fires_on_the_frame_the_rule_emits_and_before_the_emergency_order():
    recorder = Recorder()
    added = run_until(pipeline(recorder, "emergency"), recorder, END)
    # The emergency order does not wait for its evidence, but it still comes after the action.
    assert added[START] == [("action", "cam-1", EventPhase.START, START, "emergency", 2), ("order", "cam-1/lift/car/1")]
    assert added[UPDATE] == [("action", "cam-1", EventPhase.UPDATE, UPDATE, "emergency", 2)]
    assert added[END] == [("action", "cam-1", EventPhase.END, END, "emergency", 2), ("end", "cam-1/lift/car/1")]
    assert [i for i, a in enumerate(added) if a] == [START, UPDATE, END]


def test_the_action_does_not_wait_for_the_evidence_window_of_a_normal_order():
    recorder = Recorder()
    added = run_until(pipeline(recorder, "normal"), recorder, END)
    assert added[START] == [("action", "cam-1", EventPhase.START, START, "normal", 2)]
    # The order follows post_s (3 s) of stream time later, with its after frame and clip.
    assert added[START + 3 * FPS] == [("order", "cam-1/lift/car/1")]


def test_a_raising_action_is_logged_once_and_the_camera_keeps_filing(caplog):
    recorder = Recorder(raise_on_fire=True)
    pipe = pipeline(recorder, "emergency")
    with caplog.at_level(logging.ERROR, logger="streams.pipeline"):
        run_until(pipe, recorder, END + 5)
    assert pipe.frames_analysed == END + 6 and pipe.action_errors == 3
    assert [entry[0] for entry in recorder.timeline] == ["action", "order", "action", "action", "end"]
    failures = [r for r in caplog.records if "edge action" in r.getMessage()]
    assert len(failures) == 1 and "keeps analysing" in failures[0].getMessage()


def test_without_a_dispatcher_nothing_changes():
    recorder = Recorder()
    pipe = pipeline(recorder, "emergency")
    pipe._on_rule_event = None
    run_until(pipe, recorder, END)
    assert [entry[0] for entry in recorder.timeline] == ["order", "end"]
