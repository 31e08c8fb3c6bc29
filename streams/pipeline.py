"""One camera's analysis loop: source -> detector -> tracker -> rules -> evidence -> outbox.

Constructors take collaborators; ``streams.worker`` is the factory that reads
config and wires them.

A START's work order waits for its evidence: ``post_s`` (3 s) of stream time
after the rule fired, so the order carries the key frame, a before and an after
frame and a clip around the moment (streams.evidence_buffer). Emergency-tier
orders do not wait; where the worker takes follow-ups their clip is sent after them
(streams.order_delivery). Whatever is still collecting when the camera stalls, the
source ends or the pipeline stops is sent with what it has. An incident the rule
reopens after its END went to the API is filed again as a sighting (:func:`reopen_report`).

Edge actions (``on_rule_event``: streams.actions' dispatcher) see every event on the frame
that fired it, before its evidence or outbox, so a lift's warning never waits for either.

The model can be swapped while the camera runs (:meth:`CameraPipeline.replace_detector`, the
registry's assignment: streams.sync.models): between two frames, never during one.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from inference.clock import FrameClock
from inference.models.detector import Detector
from inference.detections import Detections
from inference.rules import EventPhase, Rule, RuleEvent
from inference.tracking import ObjectTracker
from inference.zones import PolygonZone
from streams.analysis_health import AnalysisWatch
from streams.evidence_buffer import EventEvidence, EvidenceRecorder
from streams.evidence_writer import EvidenceLane
from streams.order_delivery import EventDelivery
from inference.frames import VideoFrame
from api.contract.wire import Priority
from streams.shared_detector import SharedDetector  # noqa: F401 - re-exported: its home before streams.shared_detector
from streams.work_order_template import NO_WAIT_PRIORITIES, WorkOrderTemplate, reopen_report

log = logging.getLogger(__name__)


class CameraPipeline:
    # Set by the worker to send rule ENDs through its outbox (camera re-check);
    # None: ENDs are only logged, as before.
    submit_event_end: Callable[[str, dict], None] | None = None
    # Set by the worker to send an emergency order's clip after the order (evidence follow-up), so the
    # order is not held back by its encoding; None: the clip goes in the order, as before.
    submit_evidence_follow_up: Callable[[str, dict], None] | None = None
    # Set by the worker for shadowed cameras (streams.shadow.ShadowRunner): sees every
    # analysed frame and this frame's live events; it has no way to file an order.
    shadow = None
    harvest = None  # streams.harvest.CameraHarvester (factory): picks frames to label; encodes off this thread

    def __init__(
        self,
        camera_id: str,
        source,
        detector: Detector,
        tracker: ObjectTracker,
        rules: list[tuple[Rule, WorkOrderTemplate]],
        clock: FrameClock,
        submit_order: Callable[[str, dict], None],
        *,
        governor=None,
        observe_inference: Callable[[float], None] | None = None,
        evidence: EvidenceRecorder | None = None,
        watch: AnalysisWatch | None = None,
        on_rule_event: Callable[[str, RuleEvent, WorkOrderTemplate, VideoFrame, Detections], None] | None = None,
        evidence_lane: EvidenceLane | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.source = source
        self._detector = detector
        # Held for one frame's analysis; a model swap takes it, so no frame sees two models.
        self._frame_lock = threading.Lock()
        self.model_assignment_id: int | None = None  # the registry's assignment it runs; None: the config's model
        self.model_swaps = 0
        self._tracker = tracker
        self._rules = rules
        self._clock = clock
        self.governor = governor  # streams.shedding.FpsGovernor, or None: never shed
        self._observe_inference = observe_inference
        # Edge actions: called with (camera id, event, template, frame, tracked) as each event fires; never blocks.
        self._on_rule_event = on_rule_event
        self.action_errors = 0  # calls of on_rule_event that raised (the first is logged)
        self.frames_analysed = 0
        self.first_frame_at: float | None = None  # capture time of the first frame analysed
        self.events = {phase: 0 for phase in EventPhase}
        self.confirmed_boxes = 0  # analysed boxes that carried a confirmed track id
        self.confirmed_tracks_now = 0  # confirmed tracks on the newest analysed frame
        self.rule_evaluations = 0  # rule updates run (one per rule per analysed frame)
        # Names what keeps this camera from filing anything (health, log); None: not watched.
        self.watch = watch
        self._problems: dict[str, str] = {}
        self._problems_checked_at: float | None = None
        # The newest analysed frame, for streams.sync.snapshots (swapped whole, so other threads may read it).
        self.latest_frame: VideoFrame | None = None
        self._inference_ms_total = 0.0
        self._fps_ema: float | None = None  # analysed frames per second (EMA of intervals)
        self._last_done: float | None = None
        # Set once the analysis loop has exited (the source may still be closing):
        # from then on this pipeline files no more orders.
        self.analysis_stopped = threading.Event()
        self._evidence = evidence if evidence is not None else EvidenceRecorder()
        # Where evidence files are made and orders and ENDs handed to the outbox, in this camera's order:
        # the worker's pool (off this thread, streams.evidence_writer); without one, here and at once.
        self.evidence_lane = evidence_lane if evidence_lane is not None else EvidenceLane(None, camera_id)
        self.delivery = EventDelivery(camera_id, self.evidence_lane, submit_order)
        # START events whose order waits for its evidence: event id -> (event, template and model at START).
        self._awaiting: dict[str, tuple[RuleEvent, WorkOrderTemplate, tuple[str, str]]] = {}

    def replace_rules(self, rules: list[tuple[Rule, WorkOrderTemplate]]) -> None:
        """Swap the zone rules of a running camera (edited zones/rules); the source keeps running."""
        self._rules = list(rules)

    def replace_detector(self, detector: Detector, assignment_id: int | None = None) -> Detector:
        """Run ``detector`` from the next frame on (waits for the frame in progress); returns the old one.

        Orders of events started before keep the model that saw them; the tracker keeps its tracks,
        as labels are canonical whichever model produced them (docs/configuration.md)."""
        with self._frame_lock:
            old, self._detector = self._detector, detector
            self.model_assignment_id = assignment_id
            self.model_swaps += 1
        return old

    @property
    def detector(self) -> Detector:
        return self._detector

    @property
    def model_version(self) -> str | None:
        """The model analysing this camera's frames now, as "<name> <version>"; None for a detector
        that does not name itself (a test's stand-in), so stats and metrics never fail on it."""
        name = getattr(self._detector, "name", None)
        return None if name is None else f"{name} {getattr(self._detector, 'version', '?')}"

    @property
    def rules(self) -> list[tuple[Rule, WorkOrderTemplate]]:
        return list(self._rules)

    @property
    def clock(self) -> FrameClock:
        return self._clock

    def run(self, stop: threading.Event) -> None:
        self.source.start()
        try:
            while not stop.is_set():
                frame = self.source.read(timeout=0.5)
                if frame is None:
                    if self.source.ended:
                        log.info("camera %s: source ended", self.camera_id)
                        return
                    # No frames (camera offline, reconnecting): stream time stands still,
                    # so waiting orders go out after a bound in wall time instead.
                    self._submit_evidence(self._evidence.overdue())
                    continue
                self.process(frame)
        except Exception:
            # One camera's bug must not take the other cameras on this worker down with it.
            log.exception("camera %s: analysis loop crashed", self.camera_id)
        finally:
            try:
                self.flush_evidence()  # before analysis_stopped: from then on no orders are filed
                self.evidence_lane.wait_idle()
            except Exception:
                log.exception("camera %s: could not send the orders still collecting evidence", self.camera_id)
            self.analysis_stopped.set()
            self.source.stop()
            if self._evidence.record is not None:
                self._evidence.record.stop()

    def flush_evidence(self) -> int:
        """Send every order still collecting evidence, with what it has; returns how many."""
        ready = self._evidence.flush()
        if ready:
            log.info("camera %s: stopping; %d order(s) sent with the evidence collected so far", self.camera_id, len(ready))
        self._submit_evidence(ready)
        return len(ready)

    @property
    def last_captured_at(self) -> float | None:
        """Capture time of the newest analysed frame (for the stream-lag metric)."""
        frame = self.latest_frame
        return frame.captured_at if frame is not None else None

    def process(self, frame: VideoFrame) -> list[RuleEvent]:
        with self._frame_lock:  # one model for the whole frame (replace_detector waits for it)
            return self._analyse(frame)

    def _detect(self, frame: VideoFrame, started: float) -> tuple[Detections, float]:
        if hasattr(self._detector, "detect_timed"):
            batch, inference_s, _waited_s = self._detector.detect_timed([frame.image])
        else:
            batch = self._detector.detect([frame.image])
            inference_s = time.perf_counter() - started
        return batch[0], inference_s

    def _analyse(self, frame: VideoFrame) -> list[RuleEvent]:
        started = time.perf_counter()
        if self.first_frame_at is None:
            self.first_frame_at = frame.captured_at
        detections, inference_s = self._detect(frame, started)
        self._inference_ms_total += inference_s * 1000
        if self._observe_inference is not None:
            self._observe_inference(inference_s)
        tracked = self._tracker.update(detections, timestamp=frame.captured_at)
        self._clock.advance_to(frame.captured_at)
        self.frames_analysed += 1
        confirmed = int((tracked.tracker_id >= 0).sum()) if len(tracked) else 0
        self.confirmed_boxes += confirmed
        self.confirmed_tracks_now = confirmed
        self.rule_evaluations += len(self._rules)
        if self.watch is not None:
            self.watch.observe(frame.captured_at, len(detections), confirmed)
            self._check_problems(frame.captured_at)
        self.latest_frame = frame
        # Buffered before the rules run, so a START's clip ends on its own key frame.
        self._submit_evidence(self._evidence.observe(frame, tracked))
        emitted = []
        for rule, template in self._rules:
            for event in rule.update(tracked, (frame.width, frame.height)):
                self.events[event.phase] += 1
                emitted.append(event)
                self._fire_action(event, template, frame, tracked)  # first: no evidence or outbox before it
                self._on_event(event, template, frame, tracked, rule)
        if self.shadow is not None:
            self.shadow.observe(frame, emitted)
        if self.harvest is not None:  # keeps references only: the raw frame, boxes before and after tracking
            self.harvest.observe(frame, detections, tracked, self._detector)
        done = time.perf_counter()
        if self._last_done is not None and done > self._last_done:
            rate = 1.0 / (done - self._last_done)
            self._fps_ema = rate if self._fps_ema is None else 0.8 * self._fps_ema + 0.2 * rate
        self._last_done = done
        if self.governor is not None:
            before = self.governor.fps
            new_fps = self.governor.observe(done - started)
            if new_fps is not None:
                log.log(
                    logging.WARNING if new_fps < before else logging.INFO,
                    "camera %s: busy %.0f ms per analysed frame; analysis fps %s %.2f -> %.2f (configured %.2f)",
                    self.camera_id, (self.governor.busy_s or 0) * 1000, "shed" if new_fps < before else "restored",
                    before, new_fps, self.governor.target_fps,
                )
                self.source.set_analysis_fps(new_fps)
        return emitted

    def _check_problems(self, at: float) -> None:
        """Re-evaluate the watch every few stream seconds; log each problem as it starts and clears."""
        if self._problems_checked_at is not None and at - self._problems_checked_at < 5.0:
            return
        self._problems_checked_at = at
        overloaded = bool(getattr(self.governor, "overloaded_at_floor", False))
        problems = self.watch.problems(overloaded)
        for kind in problems.keys() - self._problems.keys():
            log.warning("camera %s: %s", self.camera_id, problems[kind])
        for kind in self._problems.keys() - problems.keys():
            log.info("camera %s: no longer %s", self.camera_id, kind.replace("_", " "))
        self._problems = problems

    def problem_kinds(self) -> list[str]:
        return list(self._problems)

    def health_problems(self) -> list[str]:
        """Why this camera cannot file events right now (empty: none known)."""
        return list(self._problems.values())

    def _fire_action(self, event: RuleEvent, template: WorkOrderTemplate, frame: VideoFrame, tracked: Detections) -> None:
        """Hand the event to the edge actions; their failure never stops the camera (logged once)."""
        if self._on_rule_event is None:
            return
        try:
            self._on_rule_event(self.camera_id, event, template, frame, tracked)
        except Exception:
            self.action_errors += 1
            if self.action_errors == 1:
                log.exception("camera %s: edge action for event %s failed; the camera keeps analysing "
                              "(further failures are counted, not logged)", self.camera_id, event.event_id)

    def _on_event(self, event: RuleEvent, template: WorkOrderTemplate, frame: VideoFrame, tracked: Detections,
                  rule: Rule) -> None:
        log.info(
            "camera %s: event %s %s zone=%s labels=%s dwell=%.1fs tracks=%s%s",
            self.camera_id, event.phase.value, event.rule_id, event.zone_id, ",".join(event.labels),
            event.dwell_s, list(event.track_ids), " (reopened)" if event.reopened else "",
        )
        if event.phase is EventPhase.END:
            # Its order must reach the outbox before the END that refers to it.
            self._submit_evidence(self._evidence.finish(event.event_id))
            if self.submit_event_end is not None:
                self._send_event_end(event, template, frame, tracked, rule)
            return
        if event.phase is EventPhase.UPDATE and event.reopened and self.submit_event_end is not None:
            event = reopen_report(event)
        elif event.phase is not EventPhase.START:
            return  # UPDATEs belong to an order already filed
        self._awaiting[event.event_id] = (event, template, (self._detector.name, self._detector.version))
        self._submit_evidence(self._evidence.open(
            event,
            zone=rule.spec.zone,
            frame=frame,
            tracked=tracked,
            caption=f"{self.camera_id} / {event.rule_id} / {template.category_code}",
            # Priority(...).value: a str enum prints as "Priority.EMERGENCY", not its value.
            wait=Priority(template.priority).value not in NO_WAIT_PRIORITIES,
        ))

    def _submit_evidence(self, ready: list[EventEvidence]) -> None:
        for evidence in ready:  # the files are made in the lane; which order they belong to is known now
            event, template, model = self._awaiting.pop(evidence.event.event_id)
            no_wait = Priority(template.priority).value in NO_WAIT_PRIORITIES
            self.delivery.file_order(evidence, event, template, model,
                                     clip_later=self.submit_evidence_follow_up if no_wait else None)

    def _send_event_end(self, event: RuleEvent, template: WorkOrderTemplate, frame: VideoFrame, tracked,
                        rule: Rule) -> None:
        self.delivery.event_end(event, frame, tracked, zone=rule.spec.zone, submit=self.submit_event_end,
                                caption=f"{self.camera_id} / {event.rule_id} / {template.category_code} / ended",
                                site_zone=self._evidence.settings.site_zone)

    def zones_in_use(self) -> dict[str, PolygonZone]:
        """The zones this camera's rules watch, by id."""
        return {rule.spec.zone.zone_id: rule.spec.zone for rule, _template in list(self._rules)}

    def replace_zone(self, zone: PolygonZone) -> list[str]:
        """Give every rule watching ``zone.zone_id`` the new polygon, without touching
        the source (streams.sync.zones); returns the ids of the rules changed."""
        changed = []
        for rule, _template in list(self._rules):
            if rule.spec.zone.zone_id == zone.zone_id:
                rule.replace_zone(zone)
                changed.append(rule.spec.rule_id)
        return changed

    def stats(self) -> dict:
        source_stats = self.source.stats()
        out = {
            "camera_id": self.camera_id,
            "frames_analysed": self.frames_analysed,
            "inference_ms_avg": round(self._inference_ms_total / self.frames_analysed, 1) if self.frames_analysed else None,
            "events_started": self.events[EventPhase.START],
            "confirmed_boxes": self.confirmed_boxes,
            "confirmed_tracks": self.confirmed_tracks_now,
            "rule_evaluations": self.rule_evaluations,
            "model": self.model_version,
            "model_assignment_id": self.model_assignment_id,
            **{k: v for k, v in source_stats.items() if k != "camera_id"},
        }
        if self.governor is not None:
            out["analysis_fps"] = round(self.governor.fps, 3)
        if (record := self.record_stream_state) is not None:  # a dead record stream must not be silent
            out.update(record)
        out["evidence_pending"] = self.evidence_lane.pending  # events whose files are being made off this thread
        return out

    @property
    def record_stream_state(self) -> dict | None:
        """The record stream's state, reason and counts, with the events whose evidence fell back to the
        analysed frames for want of its frames (None: the camera has no record stream)."""
        record = self._evidence.record
        return None if record is None else {**record.stats(), "record_fallbacks": self._evidence.record_fallbacks}

    @property
    def fps_analysed(self) -> float:
        """Analysed frames per second lately (0 once nothing has been analysed for 5 s)."""
        if self._last_done is None or time.perf_counter() - self._last_done > 5.0:
            return 0.0
        return self._fps_ema or 0.0
