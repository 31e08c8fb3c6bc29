"""The harvest uploader (streams.harvest.uploader) against httpx.MockTransport through the worker's
real ApiClient: batches of at most 16 valid HarvestBatch bodies with the raw frame and its boxes;
the named drop policy with counted drops; an API that is down and comes back loses nothing within
the bound (and says so once each way); a 4xx drops that batch once logged."""

from __future__ import annotations

import json
import logging
import threading

import cv2
import httpx
import numpy as np
import pytest

from api.contract.harvest import HarvestBatch
from inference.detections import Detections
from streams.backoff import Backoff
from streams.delivery.api_client import ApiClient
from streams.harvest.uploader import DROP_POLICY, REFUSED, RETRYING, SENDING, HarvestCandidate, HarvestUploader


class FakeApi:
    """POST /api/v1/harvest/frames as the contract says; ``mode``: up | down | refuse."""

    def __init__(self) -> None:
        self.mode = "up"
        self.batches: list[HarvestBatch] = []
        self.paths: list[str] = []
        self.tokens: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.tokens.append(request.headers.get("Authorization"))
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "refuse":
            return httpx.Response(422, json={"detail": "a frame lacks 'camera_id'"})
        batch = HarvestBatch.from_wire(json.loads(request.content))
        self.batches.append(batch)
        return httpx.Response(201, json={"batch_id": len(self.batches), "accepted": len(batch.frames),
                                         "duplicates": 0, "over_budget": 0})

    @property
    def frames(self):
        return [f for b in self.batches for f in b.frames]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def candidate(i: int, camera: str = "street-01") -> HarvestCandidate:
    frame = np.full((360, 640, 3), i % 250, np.uint8)
    raw = Detections(np.array([[64, 36, 128, 180], [320, 0, 640, 360]], np.float32), np.array([0.4, 0.9], np.float32),
                     np.array(["person", "garbage_bag"], dtype=object))
    tracked = Detections(raw.xyxy[:1], raw.confidence[:1], raw.labels[:1], np.array([42]))
    return HarvestCandidate(camera_id=camera, captured_at=1_760_000_000.0 + i, model_name="gridsight-demo",
                            model_version="v4", reasons=("uncertain",), image=frame, detections=raw, tracked=tracked,
                            detail={"uncertain_labels": ["person"], "i": i})


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def uploader(api: FakeApi, clock: Clock, **kwargs) -> HarvestUploader:
    client = ApiClient("http://api.test", token="worker-token", transport=httpx.MockTransport(api))
    return HarvestUploader(client, "worker-7", backoff=Backoff(1.0, 8.0, jitter_fraction=0.0), monotonic=clock,
                           **kwargs)


def drain(up: HarvestUploader, clock: Clock, rounds: int = 50) -> None:
    """Pump until nothing is pending, moving the fake clock past each backoff."""
    for _ in range(rounds):
        if not up.pending:
            return
        wait = up.pump()
        clock.now += wait
    raise AssertionError(f"still {up.pending} pending after {rounds} rounds: {up.stats()}")


def test_frames_go_in_batches_of_at_most_16_with_the_raw_frame_and_the_models_boxes(api, clock):
    up = uploader(api, clock, queue_max_frames=64, spool_max_frames=64)
    for i in range(40):
        up.offer(candidate(i))
    assert api.paths == []  # offering encodes and sends nothing: that is the uploader's thread's work
    drain(up, clock)
    assert [len(b.frames) for b in api.batches] == [16, 16, 8]
    assert set(api.paths) == {"/api/v1/harvest/frames"} and set(api.tokens) == {"Bearer worker-token"}
    assert all(b.worker == "worker-7" for b in api.batches)
    frame = api.frames[3]
    assert (frame.camera_id, frame.model_name, frame.model_version, frame.reasons) == \
        ("street-01", "gridsight-demo", "v4", ("uncertain",))
    assert frame.captured_at == 1_760_000_003.0 and frame.detail["i"] == 3
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3) and abs(int(image.mean()) - 3) <= 2  # raw: not annotated
    person, bag = frame.boxes
    assert (person.label, person.track_id) == ("person", 42)  # the tracked box's id rides with it
    assert (person.x1, person.y1, person.x2, person.y2) == (0.1, 0.1, 0.2, 0.5)
    assert (bag.label, bag.track_id, bag.x2, bag.y2) == ("garbage_bag", None, 1.0, 1.0)
    assert up.sent == 40 and up.batches_sent == 3 and up.dropped == {} and up.state == SENDING


def test_a_full_queue_drops_its_oldest_frames_and_counts_them(api, clock):
    up = uploader(api, clock, queue_max_frames=3)
    for i in range(5):
        up.offer(candidate(i))
    assert up.dropped == {"queue_full": 2} and up.stats()["drop_policy"] == DROP_POLICY == "drop_oldest"
    drain(up, clock)
    assert [f.detail["i"] for f in api.frames] == [2, 3, 4]


def test_an_api_outage_loses_nothing_within_the_bound_and_logs_once_each_way(api, clock, caplog):
    caplog.set_level(logging.INFO, logger="streams.harvest.uploader")
    up = uploader(api, clock, spool_max_frames=20)
    api.mode = "down"
    for i in range(12):
        up.offer(candidate(i))
        wait = up.pump()
        clock.now += min(wait, 0.5)  # time passes, but not always past the backoff
    assert up.state == RETRYING and up.sent == 0 and up.failed_attempts >= 2
    assert "cannot take frames" in up.problem()
    api.mode = "up"
    clock.now += 10.0
    drain(up, clock)
    assert sorted(f.detail["i"] for f in api.frames) == list(range(12))
    assert up.dropped == {} and up.state == SENDING and up.problem() is None
    lines = [r.getMessage() for r in caplog.records]
    assert sum("cannot take harvested frames" in line for line in lines) == 1
    assert sum("takes harvested frames" in line for line in lines) == 1


def test_during_a_long_outage_memory_holds_only_the_newest_frames(api, clock):
    up = uploader(api, clock, spool_max_frames=5)
    api.mode = "down"
    for i in range(12):
        up.offer(candidate(i))
        up.pump()
    assert up.pending == 5 and up.dropped == {"spool_full": 7}
    api.mode = "up"
    clock.now += 10.0
    drain(up, clock)
    assert [f.detail["i"] for f in api.frames] == [7, 8, 9, 10, 11]
    assert up.sent + sum(up.dropped.values()) == 12  # every frame accounted for


def test_a_refused_batch_is_dropped_counted_and_its_reason_logged_once(api, clock, caplog):
    up = uploader(api, clock, batch_max_frames=2)
    api.mode = "refuse"
    for i in range(4):
        up.offer(candidate(i))
    drain(up, clock)
    assert up.dropped == {"refused": 4} and up.state == REFUSED
    assert up.problem() == "harvesting is on but the API refuses it: HTTP 422: a frame lacks 'camera_id'"
    refusals = [r for r in caplog.records if "refuses harvested frames" in r.getMessage()]
    assert len(refusals) == 1 and "a frame lacks 'camera_id'" in refusals[0].getMessage()
    api.mode = "up"
    up.offer(candidate(9))
    drain(up, clock)
    assert up.state == SENDING and up.problem() is None and [f.detail["i"] for f in api.frames] == [9]


def test_a_frame_the_contract_refuses_is_counted_not_sent(api, clock):
    up = uploader(api, clock)
    tiny = candidate(1)
    up.offer(HarvestCandidate(**{**tiny.__dict__, "image": np.zeros((8, 8, 3), np.uint8)}))  # under 16 px
    up.offer(candidate(2))
    drain(up, clock)
    assert up.dropped == {"invalid": 1} and [f.detail["i"] for f in api.frames] == [2]


def test_the_uploaders_thread_sends_what_cameras_offer(api):
    sent = threading.Event()

    def observe(request):
        response = api(request)
        sent.set()
        return response

    client = ApiClient("http://api.test", transport=httpx.MockTransport(observe))
    up = HarvestUploader(client, "worker-7").start()
    try:
        up.offer(candidate(1))
        assert sent.wait(timeout=10)
    finally:
        up.stop()
    assert [f.detail["i"] for f in api.frames] == [1] and up.sent == 1


def test_stopping_gives_what_is_in_memory_one_bounded_last_try(api, clock):
    up = uploader(api, clock)
    api.mode = "down"
    for i in range(3):
        up.offer(candidate(i))
    up.pump()
    assert up.state == RETRYING and up.pending == 3
    api.mode = "up"
    clock.now += 0.01  # the backoff has not run out: the last flush does not wait for it
    up.stop(flush_timeout_s=5.0)
    assert sorted(f.detail["i"] for f in api.frames) == [0, 1, 2] and up.pending == 0


def test_stopping_while_the_api_is_down_gives_up_after_one_try(api, clock, caplog):
    caplog.set_level(logging.INFO, logger="streams.harvest.uploader")
    up = uploader(api, clock)
    api.mode = "down"
    up.offer(candidate(1))
    up.pump()
    tries = len(api.paths)
    up.stop(flush_timeout_s=5.0)
    assert len(api.paths) == tries + 1 and up.pending == 1
    assert "stopping with 1 frame(s) not sent" in caplog.text


def test_a_batch_too_large_for_the_api_is_split_not_dropped(clock):
    api = FakeApi()

    def at_most_four(request):
        if len(json.loads(request.content)["frames"]) > 4:
            return httpx.Response(413, json={"detail": "request body too large"})
        return api(request)

    client = ApiClient("http://api.test", transport=httpx.MockTransport(at_most_four))
    up = HarvestUploader(client, "worker-7", monotonic=clock, queue_max_frames=64)
    for i in range(10):
        up.offer(candidate(i))
    drain(up, clock)
    assert [len(b.frames) for b in api.batches] == [2] * 5 and up.dropped == {}  # 10 refused, 5 refused, then 2s
    assert sorted(f.detail["i"] for f in api.frames) == list(range(10))


def test_the_pipeline_hook_hands_over_references_with_the_model_that_saw_the_frame(api, clock):
    from types import SimpleNamespace

    from inference.clock import FakeClock
    from inference.frames import VideoFrame
    from streams.harvest.camera import CameraHarvester
    from streams.harvest.sampler import HarvestSampler, SamplerSettings
    from streams.metrics import harvest_families

    up = uploader(api, clock)
    stream = FakeClock(1_760_000_000.0)
    harvester = CameraHarvester("street-01", HarvestSampler(SamplerSettings(), stream), up, default_floor=0.35)
    c = candidate(5)
    frame = VideoFrame(image=c.image, frame_id=1, captured_at=stream.now(), camera_id="street-01")
    model = SimpleNamespace(name="gridsight-demo", version="v5", class_confidence={"person": 0.38})
    harvester.observe(frame, c.detections, c.tracked, model)
    assert harvester.offered == 1 and api.paths == []  # handed over, not yet encoded or sent
    assert up._queue[0].image is c.image  # a reference: nothing copied on the analysis thread
    # A detector that breaks the sampler costs the camera nothing: counted, logged once.
    harvester.observe(frame, c.detections, c.tracked, SimpleNamespace(class_confidence=42))
    assert harvester.errors == 1
    drain(up, clock)
    sent = api.frames[0]
    assert (sent.model_name, sent.model_version, sent.reasons) == ("gridsight-demo", "v5", ("uncertain", "time_of_day"))
    assert sent.detail["uncertain_labels"] == ["person"]  # 0.4 is within 0.1 of the model's person floor 0.38

    families = {f.name: f for f in harvest_families([SimpleNamespace(camera_id="street-01", harvest=harvester)])}
    picked = {tuple(s.labels.values()): s.value for s in families["gridsight_worker_harvest_frames"].samples}
    assert picked == {("street-01", "uncertain"): 1, ("street-01", "time_of_day"): 1}
    assert families["gridsight_worker_harvest_sent"].samples[0].value == 1
    assert harvest_families([SimpleNamespace(camera_id="gate", harvest=None)]) == []
