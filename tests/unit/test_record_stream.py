"""Detect and record streams (issue 16): the config's detect_url/record_url, boxes mapped between
the two resolutions, the record capture's bounds and failures (a fake opener stands in for
PyAV), and the evidence recorder taking the full-resolution frames or falling back."""

from __future__ import annotations

import copy
import logging
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from inference.clock import FakeClock
from inference.detections import Detections
from streams.config import ConfigError, parse_config
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from streams.record_evidence import map_boxes
from streams.sources.record import RecordCapture, RecordLimits
from streams.thread_priority import MAX_NICE, current_thread_nice
from tests.support.evidence_frames import BAG, FPS, T0, ZONE, frame
from tests.unit.test_evidence_buffer import Event

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo.yaml"
SECRET = "rtsp://admin:s3cret@cam.example/"


def camera(**fields):
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    raw["cameras"]["street-01"].update(fields)
    return parse_config(raw, DEMO).cameras["street-01"]


# -- config ------------------------------------------------------------------------------------
def test_one_url_is_analysed_and_evidence_comes_from_the_analysed_frames():
    cam = camera(url=SECRET + "main")
    assert cam.analysed_url() == SECRET + "main" and cam.evidence_url() is None


def test_a_detect_url_makes_url_the_record_stream_unless_record_url_names_another():
    cam = camera(url=SECRET + "main", detect_url=SECRET + "sub")
    assert (cam.analysed_url(), cam.evidence_url()) == (SECRET + "sub", SECRET + "main")
    cam = camera(url=SECRET + "main", detect_url=SECRET + "sub", record_url=SECRET + "rec")
    assert cam.evidence_url() == SECRET + "rec"
    assert "s3cret" not in repr(cam)


@pytest.mark.parametrize("fields", [
    {"detect_url": SECRET + "sub", "record_url": SECRET + "sub"},
    {"record_url": SECRET + "main"},  # no detect_url: url is analysed
])
def test_a_record_stream_that_is_the_analysed_one_is_one_line_without_the_url(fields):
    with pytest.raises(ConfigError) as err:
        camera(url=SECRET + "main", **fields)
    message = str(err.value)
    assert "record_url is the stream analysed" in message
    assert "s3cret" not in message and len(message.strip().splitlines()) <= 2, message


# -- box mapping -------------------------------------------------------------------------------
def test_boxes_map_by_each_axis_ratio_between_the_two_frames():
    boxes = Detections(np.array([[64, 36, 128, 90]]), [0.9], np.array(["garbage_bag"], dtype=object), [7])
    mapped = map_boxes(boxes, (640, 360), (1920, 1080))
    assert mapped.xyxy.tolist() == [[192, 108, 384, 270]]
    assert mapped.tracker_id.tolist() == [7] and mapped.labels.tolist() == ["garbage_bag"]
    # A 4:3 substream of a 16:9 main stream: x and y scale differently.
    assert map_boxes(boxes, (704, 576), (1920, 1080)).xyxy[0].tolist() == pytest.approx(
        [64 * 1920 / 704, 36 * 1080 / 576, 128 * 1920 / 704, 90 * 1080 / 576], rel=1e-5)


# -- the capture, on a fake container ----------------------------------------------------------
class FakeFrame:
    def __init__(self, key: bool, size=(320, 180)):
        self.key_frame = key
        self._size = size

    def to_ndarray(self, format):
        return np.full((self._size[1], self._size[0], 3), 128, np.uint8)


class FakePacket:
    def __init__(self, frame, advance, delay_s=0.0):
        self._frame, self._advance, self._delay = frame, advance, delay_s

    def decode(self):
        if self._delay:
            time.sleep(self._delay)  # a slow stream: real wall time passes
        self._advance()
        return [self._frame]


class FakeContainer:
    """A stream of frames 1/fps apart on ``clock``; the first ``lead`` are not key frames."""

    def __init__(self, clock: FakeClock, fps: float, lead: int = 0, delay_s: float = 0.0):
        self.streams = type("S", (), {"video": ["v"]})()
        self._clock, self._fps, self._lead, self._delay = clock, fps, lead, delay_s
        self.closed = False

    def demux(self, _stream):
        i = 0
        while True:
            yield FakePacket(FakeFrame(i == self._lead or (i > self._lead and i % 25 == 0)),
                             lambda: self._clock.advance(1.0 / self._fps), self._delay)
            i += 1

    def close(self):
        self.closed = True


class FakeOpener:
    def __init__(self, make):
        self.make, self.opened = make, []

    def open(self):
        container = self.make()
        self.opened.append(container)
        return container


def wait_settled(capture, until, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not capture.settled(until):
        assert time.monotonic() < deadline, "the capture never settled"
        time.sleep(0.01)
    while capture.capturing:
        assert time.monotonic() < deadline, "the capture thread never ended"
        time.sleep(0.01)


def test_a_capture_waits_for_a_key_frame_keeps_the_clip_rate_until_the_window_ends_and_closes():
    clock = FakeClock(T0)
    opener = FakeOpener(lambda: FakeContainer(clock, fps=25, lead=10))
    capture = RecordCapture("rtsp://cam/main", clock=clock, limits=RecordLimits(fps=5), opener=opener)
    capture.request(T0 + 3.0)
    wait_settled(capture, T0 + 3.0)
    frames = capture.frames(T0, T0 + 10)
    assert frames[0].captured_at == pytest.approx(T0 + 11 / 25)  # the first key frame, not the 10 before it
    assert all(f.captured_at <= T0 + 3.0 for f in frames)
    assert np.diff([f.captured_at for f in frames]) == pytest.approx(0.2, abs=0.041)
    assert len(opener.opened) == 1 and opener.opened[0].closed
    assert capture.stats() == {"record_stream": "ok", "record_reason": None, "record_captures": 1, "record_failures": 0}
    assert (frames[0].width, frames[0].height) == (320, 180)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
@pytest.mark.parametrize("nice", [10, 0])
def test_the_capture_runs_below_the_cameras_priority_and_leaves_theirs_alone(nice):
    clock = FakeClock(T0)
    seen = []

    def make():
        seen.append(current_thread_nice())  # opened on the capture thread
        return FakeContainer(clock, fps=10)

    base = current_thread_nice()
    capture = RecordCapture("rtsp://cam/main", clock=clock, limits=RecordLimits(fps=5, nice=nice),
                            opener=FakeOpener(make))
    capture.request(T0 + 1.0)
    wait_settled(capture, T0 + 1.0)
    assert seen == [min(MAX_NICE, base + nice)]
    assert current_thread_nice() == base


def test_record_limits_refuse_a_nice_value_out_of_range():
    with pytest.raises(ValueError, match="nice must be 0-19"):
        RecordLimits(nice=20)
    with pytest.raises(ValueError, match="nice must be 0-19"):
        RecordLimits(nice=-1)


def test_overlapping_requests_share_one_capture_and_the_frame_limit_bounds_it():
    clock = FakeClock(T0)
    gate = threading.Event()
    opener = FakeOpener(lambda: (gate.wait(5), FakeContainer(clock, fps=10))[1])
    capture = RecordCapture("rtsp://cam/main", clock=clock, limits=RecordLimits(fps=10, max_frames=8), opener=opener)
    capture.request(T0 + 1.0)
    capture.request(T0 + 5.0)  # a second event while the first capture opens: the same capture, extended
    gate.set()
    wait_settled(capture, T0 + 5.0)
    assert len(opener.opened) == 1
    assert len(capture.frames(T0, T0 + 10)) == 8
    assert capture.state == "failed" and "frame limit" in capture.failure


def test_a_request_that_comes_while_the_capture_closes_is_captured_too():
    clock = FakeClock(T0)
    closing, release = threading.Event(), threading.Event()

    class SlowToClose(FakeContainer):
        def close(self):
            closing.set()
            release.wait(5)  # an RTSP teardown taking its time
            super().close()

    opener = FakeOpener(lambda: SlowToClose(clock, fps=10))
    capture = RecordCapture("rtsp://cam/main", clock=clock, limits=RecordLimits(fps=10), opener=opener)
    capture.request(T0 + 1.0)
    assert closing.wait(5)
    capture.request(T0 + 2.5)  # a second event, after the first window was covered
    release.set()
    wait_settled(capture, T0 + 2.5)
    assert len(opener.opened) == 2 and capture.state == "ok"
    assert capture.frames(T0, T0 + 10)[-1].captured_at >= T0 + 2.3


def test_an_unreachable_record_stream_fails_with_a_redacted_reason():
    def refuse():
        raise ConnectionRefusedError(111, "Connection refused: rtsp://admin:s3cret@cam/main")

    capture = RecordCapture("rtsp://admin:s3cret@cam/main", clock=FakeClock(T0), opener=FakeOpener(refuse))
    capture.request(T0 + 3.0)
    wait_settled(capture, T0 + 3.0)
    assert capture.state == "failed" and capture.frames(0, 2 * T0) == []
    assert "s3cret" not in capture.failure and "s3cret" not in repr(capture)


def test_a_slow_capture_is_settled_by_its_wall_time_limit():
    clock = FakeClock(T0)
    opener = FakeOpener(lambda: FakeContainer(clock, fps=0.5, delay_s=0.05))  # 50 ms of wall time a frame
    capture = RecordCapture("rtsp://cam/main", clock=clock, limits=RecordLimits(fps=5, max_wall_s=0.3), opener=opener)
    capture.request(T0 + 1e6)  # a window it cannot reach in time
    started = time.monotonic()
    wait_settled(capture, T0 + 1e6)
    assert time.monotonic() - started < 3.0
    assert capture.state == "failed" and capture.failure.startswith("timed out")


# -- the recorder with a record stream ---------------------------------------------------------
class ScriptedCapture:
    """The recorder's side of a RecordCapture: frames appear when the test says so."""

    def __init__(self):
        self.requests, self.failure, self._frames, self.done = [], None, [], False

    def request(self, until):
        self.requests.append(until)

    def settled(self, until):
        return self.done

    def frames(self, since, until):
        return [f for f in self._frames if since <= f.captured_at <= until]

    def stats(self):
        return {"record_stream": "failed" if self.failure else "ok", "record_reason": self.failure}

    def add(self, image, at):
        from inference.evidence import encode_jpeg
        from streams.sources.record import RecordFrame

        self._frames.append(RecordFrame(at, encode_jpeg(image, 90), image.shape[1], image.shape[0]))


def red_box_near(jpeg: bytes, xyxy, tolerance=4) -> bool:
    """The snapshot's red triggering box is drawn on ``xyxy`` (its left edge's column is red)."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    column = image[y1 + 5:y2 - 5, max(0, x1 - tolerance):x1 + tolerance + 1].astype(int)
    red = (column[..., 2] > 150) & (column[..., 1] < 90) & (column[..., 0] < 90)
    return bool(red.any(axis=1).mean() > 0.8)


def run_event(recorder, capture_frames=None):
    """Frames 0..4 s of a 640x360 analysed stream with the bag; START on frame 4 s; then the post window."""
    small = Detections(BAG.xyxy / 2, BAG.confidence, BAG.labels, BAG.tracker_id)  # BAG is in 1280x720 pixels
    for i in range(4 * FPS + 1):
        recorder.observe(frame(i, (640, 360)), small)
    event = Event("e1", started_at=T0 + 2, track_ids=(7,), detections=small)
    assert recorder.open(event, zone=ZONE, frame=frame(4 * FPS, (640, 360)), tracked=small, caption="cam-1") == []
    done = []
    for i in range(4 * FPS + 1, 8 * FPS):
        if capture_frames is not None and i == 5 * FPS:
            capture_frames()
        done += recorder.observe(frame(i, (640, 360)), small)
    return small, done


def test_evidence_waits_for_the_record_stream_and_is_full_resolution_with_mapped_boxes():
    capture = ScriptedCapture()
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3), record=capture)

    def arrive():
        for k in range(1, 15):  # 1080p frames from 0.2 s after START to past the window
            capture.add(np.full((1080, 1920, 3), 90, np.uint8), T0 + 4 + k * 0.2)

    small, done = run_event(recorder, capture_frames=None)
    assert done == [] and capture.requests == [T0 + 7.0]  # post window passed, capture not settled: waits
    arrive()
    capture.done = True
    [evidence] = recorder.observe(frame(8 * FPS, (640, 360)), small)
    items = {i.kind: i.data for i in evidence.items}
    assert list(items) == ["snapshot", "frame", "before", "after", "clip"]
    for kind in ("snapshot", "frame", "after"):
        assert cv2.imdecode(np.frombuffer(items[kind], np.uint8), cv2.IMREAD_COLOR).shape == (1080, 1920, 3), kind
    assert evidence.boxes_to == ((640, 360), (1920, 1080))
    mapped = map_boxes(small, *evidence.boxes_to).xyxy[0]
    assert mapped.tolist() == pytest.approx([1350, 750, 1470, 900])
    assert red_box_near(items["snapshot"], mapped) and red_box_near(items["after"], mapped)


def test_a_failed_record_stream_costs_the_resolution_not_the_order(caplog):
    capture = ScriptedCapture()
    capture.done, capture.failure = True, "connection refused"
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3), record=capture)
    with caplog.at_level(logging.WARNING, logger="streams.evidence_buffer"):
        small, [evidence] = run_event(recorder)
    items = {i.kind: i.data for i in evidence.items}
    assert evidence.boxes_to is None and evidence.post_window_seen
    assert cv2.imdecode(np.frombuffer(items["frame"], np.uint8), cv2.IMREAD_COLOR).shape == (360, 640, 3)
    assert [r.getMessage() for r in caplog.records] == [
        "evidence e1: no record stream frames (connection refused); evidence from the analysed frames"]
    assert recorder.record_fallbacks == 1, "counted, for the camera's stats, /health and metrics"


def test_a_replay_analyses_the_clip_alone_whatever_streams_the_camera_names(tmp_path):
    from gridsight.ml.replay import _replay_config

    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw["cameras"]["street-01"].update(url=SECRET + "main", detect_url=SECRET + "sub", record_url=SECRET + "rec")
    clip = tmp_path / "clip.mp4"
    camera = _replay_config(parse_config(raw, DEMO), "street-01", clip, None).cameras["street-01"]
    assert (camera.analysed_url(), camera.evidence_url()) == (str(clip), None)


def test_the_factory_opens_a_record_stream_only_where_frame_times_can_meet(caplog):
    from streams.pipeline_factory import _record_for

    settings = EvidenceSettings(post_s=3)
    assert _record_for("street-01", camera(url=SECRET + "main"), settings) is None  # one stream: no record stream
    capture = _record_for("street-01", camera(url=SECRET + "main", detect_url=SECRET + "sub"), settings)
    assert capture.limits == RecordLimits(fps=5.0, max_frames=20, max_wall_s=5 + 3 + 2.0)  # demo: open_timeout_s 5
    assert "s3cret" not in repr(capture) and not capture.capturing  # nothing opened before an event
    with caplog.at_level(logging.WARNING, logger="streams.pipeline_factory"):
        assert _record_for("street-01", camera(url=SECRET + "main", detect_url="/clips/sub.mp4"), settings) is None
    assert "record stream not used" in caplog.text and "s3cret" not in caplog.text


def test_the_pipeline_files_the_order_with_its_boxes_in_the_record_frames_pixels():
    import base64
    from types import SimpleNamespace

    from inference.clock import FrameClock
    from inference.rules import EventPhase
    from streams.pipeline import CameraPipeline, WorkOrderTemplate
    from tests.support.evidence_frames import ScriptedRule
    from tests.unit.test_pipeline_evidence import START_AT, TRACKED, Outbox, event

    capture, outbox = ScriptedCapture(), Outbox()
    start = event(EventPhase.START, START_AT)
    pipe = CameraPipeline(
        "cam-1", None, SimpleNamespace(name="m", version="1", detect=lambda images: [TRACKED]),
        SimpleNamespace(update=lambda detections, timestamp: detections),
        [(ScriptedRule({START_AT: [start]}), WorkOrderTemplate("06010", "exposed garbage", "normal", None, None))],
        FrameClock(), outbox.order, evidence=EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3), record=capture))
    pipe.source = SimpleNamespace(stats=lambda: {})
    for i in range(START_AT + 3 * FPS + 1):  # frames are 1280x720: the record stream is twice that
        if i == START_AT + FPS:
            for k in range(1, 12):
                capture.add(np.full((1440, 2560, 3), 90, np.uint8), start.at + k * 0.3)
            capture.done = True
        pipe.process(frame(i))
    [payload] = outbox.orders
    [bag] = [b["xyxy"] for b in payload["boxes"] if b["label"] == "garbage_bag"]
    assert bag == [2 * v for v in BAG.xyxy[0].tolist()]
    raw = next(e for e in payload["evidence"] if e["kind"] == "frame")
    image = cv2.imdecode(np.frombuffer(base64.b64decode(raw["data_b64"]), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (1440, 2560, 3)
    assert pipe.stats()["record_stream"] == "ok" and pipe.record_stream_state["record_reason"] is None
    assert pipe.stats()["record_fallbacks"] == 0


def test_a_camera_whose_record_stream_gives_nothing_counts_each_fallback_in_stats_and_metrics():
    from types import SimpleNamespace

    from inference.clock import FrameClock
    from inference.rules import EventPhase
    from streams.metrics import pipeline_families
    from streams.pipeline import CameraPipeline, WorkOrderTemplate
    from tests.support.evidence_frames import ScriptedRule
    from tests.unit.test_pipeline_evidence import START_AT, TRACKED, Outbox, event

    capture, outbox = ScriptedCapture(), Outbox()
    capture.done, capture.failure = True, "connection refused"
    pipe = CameraPipeline(
        "cam-1", None, SimpleNamespace(name="m", version="1", detect=lambda images: [TRACKED]),
        SimpleNamespace(update=lambda detections, timestamp: detections),
        [(ScriptedRule({START_AT: [event(EventPhase.START, START_AT)]}),
          WorkOrderTemplate("06010", "exposed garbage", "normal", None, None))],
        FrameClock(), outbox.order, evidence=EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3), record=capture))
    pipe.source = SimpleNamespace(stats=lambda: {}, state="online")
    pipe.governor = None
    for i in range(START_AT + 3 * FPS + 1):
        pipe.process(frame(i))
    assert len(outbox.orders) == 1 and pipe.stats()["record_fallbacks"] == 1
    [family] = [f for f in pipeline_families([pipe]) if f.name == "gridsight_worker_record_fallbacks"]
    assert [(s.labels, s.value) for s in family.samples if s.name.endswith("_total")] == [({"camera": "cam-1"}, 1.0)]
