"""CameraPipeline files a START's work order once its evidence is complete (post_s of
stream time later), at once for emergencies, and never loses one that is still
collecting when the source ends, the camera stalls or the pipeline stops. An incident
reopened after its END was sent is reported again, and the API merges the report."""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import dataclass
from types import SimpleNamespace

import av
import pytest

from api.schemas import Priority, WorkOrderCreate
from inference.clock import FrameClock
from inference.detections import Detections
from inference.rules import EventPhase, RuleEvent
from streams import evidence_buffer, evidence_files
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from streams.evidence_writer import EvidenceLane, EvidencePool
from streams.pipeline import CameraPipeline, WorkOrderTemplate
from tests.support.evidence_frames import BAG, FPS, PERSON, T0, ScriptedRule, frame
from tests.support.procs import wait_until

TRACKED = Detections.merge([BAG, PERSON])
START_AT = 10 * FPS  # the frame index the rule fires on


@dataclass(frozen=True)
class Event(RuleEvent):
    # Declared here too, so these tests run whether or not RuleEvent has the field yet.
    reopened: bool = False


def event(phase: EventPhase, index: int, **extra) -> Event:
    return Event(event_id="cam-1/kerb-litter/kerb/1", phase=phase, camera_id="cam-1", rule_id="kerb-litter",
                 zone_id="kerb", at=T0 + index / FPS, started_at=T0 + 5, labels=("garbage_bag",), track_ids=(7,),
                 max_confidence=0.9, detections=BAG, **extra)



class ListSource:
    """Frames, then either the end of the stream or (``live``) silence."""

    def __init__(self, frames, *, live: bool = False, on_read=None) -> None:
        self._frames = list(frames)
        self._live = live
        self._on_read = on_read
        self.stopped = False

    def start(self) -> None: ...

    def stop(self) -> None:
        self.stopped = True

    @property
    def ended(self) -> bool:
        return not self._frames and not self._live

    def read(self, timeout=None):
        if self._on_read is not None:
            self._on_read(len(self._frames))
        return self._frames.pop(0) if self._frames else None


class Outbox:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict]] = []  # (kind, key, payload), in submission order

    def order(self, key: str, payload: dict) -> None:
        self.records.append(("work_order", key, payload))

    def end(self, key: str, payload: dict) -> None:
        self.records.append(("event_end", key, payload))

    def follow_up(self, key: str, payload: dict) -> None:
        self.records.append(("evidence_follow_up", key, payload))

    @property
    def orders(self) -> list[dict]:
        return [p for kind, _k, p in self.records if kind == "work_order"]


def pipeline(script, source=None, *, priority="normal", settings=None, wall_clock=None, lane=None):
    outbox = Outbox()
    detector = SimpleNamespace(name="gridsight-demo-v1", version="1", detect=lambda images: [TRACKED])
    tracker = SimpleNamespace(update=lambda detections, timestamp: detections)
    template = WorkOrderTemplate("06010", "暴露垃圾 exposed garbage", priority, "GC-0101-07", None)
    recorder = EvidenceRecorder(settings or EvidenceSettings(pre_s=4, post_s=3),
                                **({"wall_clock": wall_clock} if wall_clock else {}))
    pipe = CameraPipeline("cam-1", source, detector, tracker, [(ScriptedRule(script), template)], FrameClock(),
                          outbox.order, evidence=recorder, evidence_lane=lane)
    pipe.submit_event_end = outbox.end
    return pipe, outbox


def kinds(payload: dict) -> list[str]:
    return [e["kind"] for e in payload["evidence"]]


def test_the_order_waits_post_s_of_stream_time_and_carries_all_evidence() -> None:
    start = event(EventPhase.START, START_AT)
    pipe, outbox = pipeline({START_AT: [start]})
    for i in range(START_AT + 3 * FPS):
        pipe.process(frame(i))
    assert outbox.records == [], "the order must wait for its after frame and clip"
    pipe.process(frame(START_AT + 3 * FPS))  # 3 s of stream after START
    [(kind, key, payload)] = outbox.records
    assert kind == "work_order" and key == start.idempotency_key()  # unchanged: retries still dedupe
    assert kinds(payload) == ["snapshot", "frame", "before", "after", "clip"]
    assert [e["content_type"] for e in payload["evidence"]] == ["image/jpeg"] * 4 + ["video/mp4"]
    order = WorkOrderCreate.model_validate(payload)  # what the API will accept
    assert order.detected_at.timestamp() == start.at and order.event_id == start.event_id
    clip = next(e for e in order.evidence if e.kind.value == "clip")
    with av.open(io.BytesIO(base64.b64decode(clip.data_b64))) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4 * FPS + 1 + 3 * FPS


@pytest.mark.parametrize("priority", ["emergency", Priority.EMERGENCY])
def test_an_emergency_order_is_filed_on_the_start_frame(priority) -> None:
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, priority=priority)
    for i in range(START_AT + 1):
        pipe.process(frame(i))
    [payload] = outbox.orders
    # Key and before frames, and the pre-roll already buffered; no after frame to wait for.
    assert kinds(payload) == ["snapshot", "frame", "before", "clip"]
    for i in range(START_AT + 1, START_AT + 5 * FPS):
        pipe.process(frame(i))
    assert len(outbox.orders) == 1


def clip_frames(item: dict) -> int:
    with av.open(io.BytesIO(base64.b64decode(item["data_b64"]))) as container:
        return sum(1 for _ in container.decode(video=0))


def test_an_emergency_orders_clip_follows_it_where_the_worker_takes_follow_ups() -> None:
    start = event(EventPhase.START, START_AT)
    pipe, outbox = pipeline({START_AT: [start]}, priority="emergency")
    pipe.submit_evidence_follow_up = outbox.follow_up
    for i in range(START_AT + 1):
        pipe.process(frame(i))
    assert [(kind, key) for kind, key, _p in outbox.records] == [
        ("work_order", start.idempotency_key()), ("evidence_follow_up", f"{start.idempotency_key()}-clip")]
    order, follow_up = outbox.records[0][2], outbox.records[1][2]
    assert kinds(order) == ["snapshot", "frame", "before"] and WorkOrderCreate.model_validate(order)
    assert follow_up["event_id"] == start.event_id and follow_up["camera_id"] == "cam-1"
    [clip] = follow_up["evidence"]
    assert clip["kind"] == "clip" and clip_frames(clip) == 4 * FPS + 1, "the same pre-roll the order carried"
    assert pipe.delivery.follow_ups == 1


def test_a_normal_order_keeps_its_clip_even_where_the_worker_takes_follow_ups() -> None:
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]})
    pipe.submit_evidence_follow_up = outbox.follow_up
    for i in range(START_AT + 3 * FPS + 1):
        pipe.process(frame(i))
    assert [kind for kind, _k, _p in outbox.records] == ["work_order"]
    assert kinds(outbox.orders[0]) == ["snapshot", "frame", "before", "after", "clip"]


def test_an_order_still_collecting_is_filed_when_the_source_ends() -> None:
    frames = [frame(i) for i in range(START_AT + FPS)]  # the file ends 1 s after START
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, ListSource(frames))
    pipe.run(threading.Event())
    [payload] = outbox.orders
    assert kinds(payload) == ["snapshot", "frame", "before", "after", "clip"]
    assert pipe.analysis_stopped.is_set() and pipe.source.stopped


def test_an_order_still_collecting_is_filed_when_the_pipeline_is_stopped() -> None:
    stop = threading.Event()
    frames = [frame(i) for i in range(START_AT + 2)]
    source = ListSource(frames, live=True, on_read=lambda left: stop.set() if left == 0 else None)
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, source)
    pipe.run(stop)
    [payload] = outbox.orders
    assert kinds(payload) == ["snapshot", "frame", "before", "after", "clip"]


def test_a_stalled_camera_files_the_order_after_a_bounded_wall_time() -> None:
    wall = [0.0]
    stop = threading.Event()

    def on_read(left: int) -> None:
        if left == 0:  # the camera went silent: each empty read is half a second of wall time
            wall[0] += 0.5
            if wall[0] > 60:
                stop.set()

    frames = [frame(i) for i in range(START_AT + 2)]
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, ListSource(frames, live=True, on_read=on_read),
                            settings=EvidenceSettings(pre_s=4, post_s=3, stall_s=10), wall_clock=lambda: wall[0])
    filed_at = []
    pipe.delivery.submit_order = lambda key, payload: filed_at.append(wall[0])
    pipe.run(stop)
    assert filed_at == [13.0], "filed once, post_s + stall_s after START, while the camera was still silent"


def test_an_end_within_post_s_files_the_order_first() -> None:
    script = {START_AT: [event(EventPhase.START, START_AT)], START_AT + FPS: [event(EventPhase.END, START_AT + FPS)]}
    pipe, outbox = pipeline(script)
    for i in range(START_AT + 2 * FPS):
        pipe.process(frame(i))
    assert [kind for kind, _k, _p in outbox.records] == ["work_order", "event_end"]
    assert kinds(outbox.orders[0]) == ["snapshot", "frame", "before", "after", "clip"]


def test_the_default_recorder_is_used_when_none_is_given() -> None:
    detector = SimpleNamespace(name="m", version="1", detect=lambda images: [TRACKED])
    tracker = SimpleNamespace(update=lambda detections, timestamp: detections)
    filed = []
    template = WorkOrderTemplate("06010", "x", "normal", None, None)
    pipe = CameraPipeline("cam-1", None, detector, tracker, [(ScriptedRule({2: [event(EventPhase.START, 2)]}), template)],
                          FrameClock(), lambda key, payload: filed.append(payload))
    for i in range(3):
        pipe.process(frame(i, (320, 180)))
    assert filed == [] and pipe.flush_evidence() == 1
    # No after frame yet, and the frame nearest "before" is the key frame itself: left out.
    assert kinds(filed[0]) == ["snapshot", "frame", "clip"]


# ---- a reopened incident -----------------------------------------------------------------------

REOPEN_SCRIPT_FRAMES = (START_AT, START_AT + 5 * FPS, START_AT + 8 * FPS)


def reopened_incident(*, send_ends: bool = True):
    """START, its END, then the same incident reopened within the rule's merge window (and an
    ordinary UPDATE before it, which files nothing)."""
    start_at, end_at, reopen_at = REOPEN_SCRIPT_FRAMES
    script = {start_at: [event(EventPhase.START, start_at)], start_at + 1: [event(EventPhase.UPDATE, start_at + 1)],
              end_at: [event(EventPhase.END, end_at)], reopen_at: [event(EventPhase.UPDATE, reopen_at, reopened=True)]}
    pipe, outbox = pipeline(script)
    if not send_ends:
        pipe.submit_event_end = None
    for i in range(reopen_at + 3 * FPS + 1):
        pipe.process(frame(i))
    return outbox


def test_a_reopened_incident_is_reported_after_its_end_with_its_own_evidence() -> None:
    outbox = reopened_incident()
    assert [kind for kind, _k, _p in outbox.records] == ["work_order", "event_end", "work_order"]
    (_, first_key, first), (_, end_key, end), (_, again_key, again) = outbox.records
    assert end["event_id"] == first["event_id"]  # the END still names the original order
    assert again["event_id"].startswith(first["event_id"] + "@") and again_key not in (first_key, end_key)
    assert WorkOrderCreate.model_validate(again).detected_at.timestamp() == event(EventPhase.UPDATE, REOPEN_SCRIPT_FRAMES[2]).at
    assert kinds(again) == ["snapshot", "frame", "before", "after", "clip"]
    # The report's identity is a function of the incident and the reopen time: a replay files the same one.
    assert [k for _kind, k, _p in reopened_incident().records] == [first_key, end_key, again_key]


def test_without_ends_sent_a_reopen_stays_inside_the_filed_order() -> None:
    outbox = reopened_incident(send_ends=False)
    assert [kind for kind, _k, _p in outbox.records] == ["work_order"]


def test_the_api_merges_the_reopen_report_into_the_open_order(tmp_path) -> None:
    import datetime as dt

    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.support.ops import SUP, WORKER, FakeClock, secured_settings

    when = dt.datetime.fromtimestamp(T0, dt.timezone.utc)
    app = create_app(secured_settings(tmp_path, merge_window=dt.timedelta(hours=1)), clock=FakeClock(when + dt.timedelta(minutes=5)))
    paths = {"work_order": "/api/v1/work-orders", "event_end": "/api/v1/events/end"}
    with TestClient(app) as client:
        replies = [client.post(paths[kind], json=payload, headers={**WORKER, "Idempotency-Key": key})
                   for kind, key, payload in reopened_incident().records]
        assert [r.status_code for r in replies] == [201, 200, 200], [r.text for r in replies]
        order = replies[0].json()
        assert replies[2].headers["work-order-merged"] == "true" and replies[2].json()["id"] == order["id"]
        merged = client.get(f"/api/v1/work-orders/{order['id']}", headers=SUP).json()
        assert merged["repeat_count"] == 1
        assert client.get("/api/v1/work-orders", headers=SUP).json()["total"] == 1


# ---- evidence made off the camera's thread (streams.evidence_writer) -----------------------------

@pytest.fixture
def pool():
    pool = EvidencePool(threads=2)
    yield pool
    pool.shutdown()


@pytest.fixture
def slow_files(monkeypatch):
    """Making the files waits for the returned gate (and records the thread that made them)."""
    gate, threads = threading.Event(), []
    real = evidence_files.make_files

    def gated(closed, clip, **kw):
        threads.append(threading.current_thread().name)
        assert gate.wait(10), "the test never opened the gate"
        return real(closed, clip, **kw)

    monkeypatch.setattr(evidence_buffer, "make_files", gated)
    return SimpleNamespace(gate=gate, threads=threads)


def test_with_a_pool_the_camera_goes_on_while_its_orders_evidence_is_made(pool, slow_files) -> None:
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, priority="emergency",
                            lane=EvidenceLane(pool, "cam-1"))
    for i in range(START_AT + 2 * FPS):  # the camera analyses 2 s more while the files are still being made
        pipe.process(frame(i))
    assert outbox.records == [] and pipe.evidence_lane.pending == 1
    slow_files.gate.set()
    assert pipe.evidence_lane.wait_idle(10)
    [payload] = outbox.orders
    assert kinds(payload) == ["snapshot", "frame", "before", "clip"]
    assert slow_files.threads and all(name.startswith("evidence") for name in slow_files.threads)
    assert pipe.evidence_lane.pending == 0


def test_with_a_pool_an_end_still_reaches_the_outbox_after_its_order(pool, slow_files) -> None:
    script = {START_AT: [event(EventPhase.START, START_AT)], START_AT + FPS: [event(EventPhase.END, START_AT + FPS)]}
    pipe, outbox = pipeline(script, lane=EvidenceLane(pool, "cam-1"))
    for i in range(START_AT + 2 * FPS):
        pipe.process(frame(i))
    assert outbox.records == [], "the END is made (fast) but waits behind its order's files"
    slow_files.gate.set()
    assert pipe.evidence_lane.wait_idle(10)
    assert [kind for kind, _k, _p in outbox.records] == ["work_order", "event_end"]
    assert kinds(outbox.orders[0]) == ["snapshot", "frame", "before", "after", "clip"]


def test_with_a_pool_a_stopping_camera_delivers_every_order_before_it_says_it_stopped(pool, slow_files) -> None:
    frames = [frame(i) for i in range(START_AT + FPS)]
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, ListSource(frames),
                            lane=EvidenceLane(pool, "cam-1"))
    runner = threading.Thread(target=pipe.run, args=(threading.Event(),))
    runner.start()
    wait_until(lambda: slow_files.threads, 10, "the order's files being made")
    assert not pipe.analysis_stopped.is_set(), "stopped is said only once the outbox has the order"
    slow_files.gate.set()
    runner.join(10)
    assert pipe.analysis_stopped.is_set() and len(outbox.orders) == 1


def test_with_a_pool_the_clip_is_made_after_the_order_and_spooled_behind_it(pool, slow_files) -> None:
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, priority="emergency",
                            lane=EvidenceLane(pool, "cam-1"))
    pipe.submit_evidence_follow_up = outbox.follow_up
    for i in range(START_AT + 1):
        pipe.process(frame(i))
    assert pipe.evidence_lane.pending == 2 and outbox.records == [], "order and clip both wait for the files"
    slow_files.gate.set()
    assert pipe.evidence_lane.wait_idle(10)
    assert [kind for kind, _k, _p in outbox.records] == ["work_order", "evidence_follow_up"]


def test_with_a_pool_an_order_whose_files_fail_goes_without_them(pool, monkeypatch, caplog) -> None:
    def broken(closed, clip, **kw):
        raise MemoryError("no room to decode the clip")

    monkeypatch.setattr(evidence_buffer, "make_files", broken)
    pipe, outbox = pipeline({START_AT: [event(EventPhase.START, START_AT)]}, priority="emergency",
                            lane=EvidenceLane(pool, "cam-1"))
    for i in range(START_AT + 1):
        pipe.process(frame(i))
    assert pipe.evidence_lane.wait_idle(10)
    [payload] = outbox.orders
    assert payload["evidence"] == [] and WorkOrderCreate.model_validate(payload).event_id
    assert "evidence could not be made; the order goes without it" in caplog.text


def test_orders_are_the_same_whichever_thread_makes_their_files() -> None:
    script = {START_AT: [event(EventPhase.START, START_AT)], START_AT + FPS: [event(EventPhase.END, START_AT + FPS)]}
    filed = {}
    for threads in (0, 1, 3):  # 0: on the camera's thread
        evidence_pool = EvidencePool(threads) if threads else None
        pipe, outbox = pipeline(script, lane=EvidenceLane(evidence_pool, "cam-1"))
        for i in range(START_AT + 2 * FPS):
            pipe.process(frame(i))
        assert pipe.evidence_lane.wait_idle(10)
        if evidence_pool is not None:
            evidence_pool.shutdown()
        assert [kind for kind, _k, _p in outbox.records] == ["work_order", "event_end"]
        order, end = outbox.records[0][2], outbox.records[1][2]
        images = {e["kind"]: e["data_b64"] for e in order["evidence"] if e["kind"] != "clip"}
        filed[threads] = (order["event_id"], end["event_id"], kinds(order), images)
    assert filed[0][3] and filed[0] == filed[1] == filed[3], "same order, same END, same images drawn"
