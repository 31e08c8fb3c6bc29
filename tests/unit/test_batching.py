"""streams.batching.BatchingDetector: batches by size, by deadline, when every camera waits;
errors reach every caller of the batch; a full queue blocks or rejects; close releases waiters."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from streams.batching import BatchingDetector, DetectorClosed, QueueFull, resolve_device
from tests.support.procs import wait_until


class FakeDetector:
    name = "fake"
    version = "fake 1"

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[int] = []
        self.fail = fail
        self.gate = threading.Event()
        self.gate.set()
        self.entered = 0  # detect() calls begun: the model is busy from here

    def detect(self, images):
        self.entered += 1
        self.gate.wait(5)
        self.calls.append(len(images))
        if self.fail is not None:
            raise self.fail
        return [int(im[0, 0, 0]) for im in images]  # "detections": the image's marker value


def image(value: int, shape=(8, 8, 3)) -> np.ndarray:
    return np.full(shape, value, np.uint8)


def call_in_threads(det, values, shape=(8, 8, 3)):
    results, errors = {}, {}

    def one(v):
        try:
            results[v] = det.detect_timed([image(v, shape)])
        except Exception as exc:  # noqa: BLE001
            errors[v] = exc

    threads = [threading.Thread(target=one, args=(v,)) for v in values]
    for t in threads:
        t.start()
    return threads, results, errors


def busy_model(**settings):
    """A detector whose model is held busy by a first image (value 100) until ``fake.gate.set()``."""
    fake = FakeDetector(fail=settings.pop("fail", None))
    fake.gate.clear()
    det = BatchingDetector(fake, **settings)
    hold, hold_results, _ = call_in_threads(det, [100])
    wait_until(lambda: fake.entered == 1, 5, "the first image in the model", poll_s=0.01)
    return fake, det, hold, hold_results


def wait_queued(det, n: int) -> None:
    """Until ``n`` images wait in the detector's queue (the callers' threads got that far)."""
    wait_until(lambda: det.stats()["queue_depth"] == n, 5, f"{n} image(s) queued", poll_s=0.01)


def test_batch_forms_by_size_and_each_caller_gets_its_own_result():
    fake, det, first, _ = busy_model(max_batch=4, batch_deadline_ms=10_000)
    try:
        # The first image occupies the (held) model; four more queue behind it.
        threads, results, errors = call_in_threads(det, [1, 2, 3, 4])
        wait_queued(det, 4)
        fake.gate.set()
        for t in threads + first:
            t.join(5)
        assert not errors
        assert {v: r[0] for v, r in results.items()} == {v: [v] for v in (1, 2, 3, 4)}
        assert fake.calls == [1, 4]
        assert det.stats()["batch_size_histogram"] == {1: 1, 4: 1}
        assert det.triggers["size"] == 1
    finally:
        det.close()


def test_batch_forms_by_deadline_when_another_camera_is_active_but_silent():
    fake = FakeDetector()
    det = BatchingDetector(fake, max_batch=8, batch_deadline_ms=150)
    try:
        # Camera B has been seen lately, so camera A's lone frame waits for it -- up to the deadline.
        det.detect([image(9)])  # from this (test) thread: one active caller
        t, results, errors = call_in_threads(det, [5])
        t[0].join(5)
        assert not errors
        detections, inference_s, waited_s = results[5]
        assert detections == [5]
        assert 0.12 <= waited_s < 1.0
        assert det.triggers["deadline"] == 1
        assert inference_s >= 0
    finally:
        det.close()


def test_single_camera_never_waits_for_the_deadline():
    det = BatchingDetector(FakeDetector(), max_batch=8, batch_deadline_ms=5_000)
    try:
        started = time.perf_counter()
        assert det.detect([image(1)]) == [1]
        assert det.detect([image(2), image(3)]) == [2, 3]  # one call's images share a batch
        assert time.perf_counter() - started < 1.0
        assert det.triggers["all_waiting"] == 2
        assert det.batch_sizes[2] == 1
    finally:
        det.close()


def test_only_images_of_one_shape_share_a_batch():
    fake, det, hold, _ = busy_model(max_batch=8, batch_deadline_ms=50)
    try:
        a, ra, _ = call_in_threads(det, [1, 2], shape=(8, 8, 3))
        b, rb, _ = call_in_threads(det, [3], shape=(4, 8, 3))
        wait_queued(det, 3)
        fake.gate.set()
        for t in hold + a + b:
            t.join(5)
        assert sorted(fake.calls) == [1, 1, 2]
        assert ra[1][0] == [1] and rb[3][0] == [3]
    finally:
        det.close()


def test_a_model_error_reaches_every_caller_of_the_batch_and_the_detector_goes_on():
    fake, det, hold, _ = busy_model(max_batch=3, batch_deadline_ms=10_000, fail=ValueError("boom"))
    try:
        threads, results, errors = call_in_threads(det, [1, 2, 3])
        wait_queued(det, 3)
        fake.gate.set()
        for t in threads + hold:
            t.join(5)
        assert not results
        assert set(errors) == {1, 2, 3} and all(isinstance(e, ValueError) for e in errors.values())
        assert det.stats()["errors"] == 2
        fake.fail = None
        # The inference thread survived. (A full batch: a lone image would wait out the 10 s
        # deadline for the callers above, still counted as active.)
        assert det.detect([image(7), image(8), image(9)]) == [7, 8, 9]
    finally:
        det.close()


def full_queue(when_full):
    """A detector whose model is busy (held) and whose one-image queue is full."""
    fake, det, hold, _ = busy_model(max_batch=1, batch_deadline_ms=0, max_queue=1, when_full=when_full)
    queued, queued_results, _ = call_in_threads(det, [1])  # fills the queue
    wait_queued(det, 1)
    return fake, det, hold + queued, queued_results


@pytest.mark.parametrize("when_full", ["reject", "block"])
def test_a_full_queue_rejects_or_blocks_by_policy(when_full):
    fake, det, threads, queued_results = full_queue(when_full)
    try:
        if when_full == "reject":
            with pytest.raises(QueueFull):
                det.detect([image(2)])
            assert det.stats()["rejected"] == 1
        else:
            blocked, results, _ = call_in_threads(det, [2])
            # Waiting for room shows no state to wait on: give the caller 0.2 s to (wrongly) get through.
            blocked[0].join(0.2)
            assert blocked[0].is_alive() and not results  # backpressure: waiting for room
            threads += blocked
        fake.gate.set()
        for t in threads:
            t.join(5)
        assert queued_results[1][0] == [1]
        if when_full == "block":
            assert results[2][0] == [2]
    finally:
        det.close()


def test_close_releases_every_waiter_and_refuses_new_calls():
    fake, det, hold, hres = busy_model(max_batch=8, batch_deadline_ms=10_000)
    threads, results, errors = call_in_threads(det, [1, 2])
    wait_queued(det, 2)
    closer = threading.Thread(target=det.close, kwargs={"timeout": 5})
    closer.start()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert set(errors) == {1, 2} and all(isinstance(e, DetectorClosed) for e in errors.values())
    fake.gate.set()  # the batch already in the model still completes
    closer.join(5)
    hold[0].join(5)
    assert hres[100][0] == [100]
    with pytest.raises(DetectorClosed):
        det.detect([image(3)])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        BatchingDetector(FakeDetector(), max_batch=0)
    with pytest.raises(ValueError):
        BatchingDetector(FakeDetector(), max_batch=4, max_queue=2)
    with pytest.raises(ValueError):
        BatchingDetector(FakeDetector(), when_full="drop")


def test_cuda_request_falls_back_to_cpu_with_a_log_line(caplog, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level("WARNING"):
        assert resolve_device("cuda:0") == "cpu"
    assert "falling back to the CPU" in caplog.text
    assert resolve_device("cpu") == "cpu"


def test_the_worker_shares_each_model_through_the_configured_detector(monkeypatch, caplog):
    """max_batch > 1: a BatchingDetector; 1: the plain lock. backend goes to the manifest loader,
    and a CUDA device on a host without CUDA becomes the CPU with a log line."""
    import torch

    from streams.config import load_config
    from streams import pipeline_factory, shared_detector
    from streams.pipeline import SharedDetector

    loaded = []

    class FakeYolo(FakeDetector):
        backend_choice = staticmethod(lambda manifest, *, backend, device: SimpleNamespace(backend="pytorch"))

        @classmethod
        def from_manifest(cls, manifest, *, backend, **kwargs):
            loaded.append((backend, kwargs["device"]))
            return cls()

    monkeypatch.setattr(shared_detector, "YoloDetector", FakeYolo)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "demo.yaml", check_models=False)
    model = config.models["demo"]
    assert (model.backend, model.max_batch, model.batch_deadline_ms) == ("auto", 8, 20.0)

    batched = pipeline_factory.load_detectors(config, {"demo"})["demo"]
    assert isinstance(batched, BatchingDetector) and batched.max_batch == 8
    assert batched.detect([image(4)]) == [4]
    batched.close()

    config.models["demo"] = model.model_copy(update={"max_batch": 1, "backend": "onnx", "device": "cuda:0"})
    with caplog.at_level("WARNING"):
        plain = pipeline_factory.load_detectors(config, {"demo"})["demo"]
    assert isinstance(plain, SharedDetector)
    assert loaded == [("auto", "cpu"), ("onnx", "cpu")]
    assert "falling back to the CPU" in caplog.text


@pytest.mark.parametrize("field,value", [("max_batch", 0), ("max_batch", 257), ("batch_deadline_ms", -1),
                                         ("batch_deadline_ms", 5000), ("backend", "tflite")])  # no such backend (openvino is one since issue 16)
def test_model_batching_settings_are_bounded(field, value):
    from pydantic import ValidationError

    from streams.config import ModelConfig

    with pytest.raises(ValidationError):
        ModelConfig(manifest="m.yaml", **{field: value})


def test_copies_of_the_model_run_batches_at_once_each_on_its_own_thread():
    """Inference streams: two copies, one thread each; while one copy's batch runs, the other takes
    the next; each copy is only ever called from one thread (so it needs no lock)."""

    class Copy(FakeDetector):
        def __init__(self):
            super().__init__()
            self.threads = set()

        def detect(self, images):
            self.threads.add(threading.get_ident())
            return super().detect(images)

    first, second = Copy(), Copy()
    first.gate.clear()
    second.gate.clear()
    det = BatchingDetector([first, second], max_batch=1, batch_deadline_ms=0)
    assert det.streams == 2
    threads, results, errors = call_in_threads(det, [1, 2])
    wait_until(lambda: first.entered == 1 and second.entered == 1, 5, "both copies busy at once")
    first.gate.set()
    second.gate.set()
    for t in threads:
        t.join(5)
    assert not errors and {v: r[0] for v, r in results.items()} == {1: [1], 2: [2]}
    assert len(first.threads) == len(second.threads) == 1 and first.threads != second.threads
    det.close()
    with pytest.raises(ValueError):
        BatchingDetector([])


def test_a_camera_in_the_other_streams_batch_counts_as_waiting():
    """Two cameras, two copies: camera 1's frame is in one copy's running batch, so camera 2's frame
    cannot be waiting for it; it goes at once ("all_waiting"), not after the 5 s deadline."""
    first, second = FakeDetector(), FakeDetector()
    first.gate.clear()
    second.gate.clear()
    det = BatchingDetector([first, second], max_batch=8, batch_deadline_ms=5_000)
    threads, _results, _errors = call_in_threads(det, [1])
    wait_until(lambda: first.entered + second.entered == 1, 3, "camera 1 alone: its batch goes")
    more, _results2, _ = call_in_threads(det, [2])
    wait_until(lambda: first.entered + second.entered == 2, 3, "camera 2's batch, well before the 5 s deadline")
    assert det.stats()["triggers"] == {"all_waiting": 2}
    first.gate.set()
    second.gate.set()
    for t in threads + more:
        t.join(5)
    assert not det._running  # nothing in flight is left counted: an idle camera is not "waiting"
    det.close()


def _model(**fields):
    from streams.config.camera import ModelConfig

    return ModelConfig(manifest="weights/gridsight-demo-v4.yaml", **fields)


@pytest.mark.parametrize(("fields", "backend", "cpus", "streams"), [
    ({}, "openvino", 2, 2),  # auto: two on two cores
    ({}, "openvino-int8", 16, 2),
    ({}, "openvino", 1, 1),
    ({}, "onnx", 2, 1),  # ONNX Runtime, PyTorch, TensorRT: one batch at a time
    ({}, "pytorch", 8, 1),
    ({"max_batch": 1}, "openvino", 2, 1),  # no batching: the plain lock
    ({"inference_streams": 4}, "openvino", 16, 4),
    ({"inference_streams": 3}, "tensorrt", 16, 1),
])
def test_inference_streams_follow_the_backend_and_the_cores(fields, backend, cpus, streams):
    from streams.shared_detector import inference_streams

    assert inference_streams(_model(**fields), backend, cpus) == streams


def test_inference_streams_are_bounded_in_the_config():
    from pydantic import ValidationError

    for bad in (0, 17, "two"):
        with pytest.raises(ValidationError):
            _model(inference_streams=bad)


def test_load_shared_loads_a_copy_per_stream_with_the_cores_shared_out(monkeypatch):
    from streams import shared_detector
    from streams.pipeline import SharedDetector

    monkeypatch.setattr(shared_detector.os, "cpu_count", lambda: 8)
    asked = []

    def load(cpu_threads):
        asked.append(cpu_threads)
        fake = FakeDetector()
        fake.backend = "openvino"
        return fake

    det = shared_detector.load_shared(load, _model(inference_streams=4), "m", "openvino")
    assert asked == [2, 2, 2, 2] and det.streams == 4, "one copy per stream and no other"
    assert det.detect([image(3)]) == [3]
    det.close()
    asked.clear()
    plain = shared_detector.load_shared(load, _model(max_batch=1), "m", "openvino")
    assert asked == [None] and isinstance(plain, SharedDetector)
    asked.clear()
    onnx = shared_detector.load_shared(load, _model(inference_streams=4), "m", "onnx")
    assert asked == [None] and getattr(onnx, "streams", 1) == 1, "streams are for OpenVINO only"
    onnx.close()


def test_load_model_finds_the_backend_from_the_manifest_and_loads_only_the_copies_it_runs(monkeypatch, tmp_path):
    from streams import shared_detector

    monkeypatch.setattr(shared_detector.os, "cpu_count", lambda: 4)
    asked = []

    class FakeYolo(FakeDetector):
        backend_choice = staticmethod(lambda manifest, *, backend, device: SimpleNamespace(backend="openvino"))

        @classmethod
        def from_manifest(cls, manifest, *, backend, cpu_threads, **kwargs):
            asked.append((str(manifest), backend, cpu_threads))
            return cls()

    monkeypatch.setattr(shared_detector, "YoloDetector", FakeYolo)
    det = shared_detector.load_model(tmp_path / "m.yaml", _model(inference_streams=2, backend="openvino"), "m")
    assert asked == [(str(tmp_path / "m.yaml"), "openvino", 2)] * 2 and det.streams == 2
    det.close()
