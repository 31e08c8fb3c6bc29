"""The worker's model sync (streams.sync.models) against a fake registry on httpx.MockTransport:
a new assignment is fetched, checked, loaded and swapped in once; a bad checksum, a 404, corrupt
weights or labels the rules need keep the old model and say why in /health and a failed report;
an unreachable API keeps what runs. And the pipeline across a swap: every frame analysed by
exactly one model, none dropped, orders after the swap carrying the new model."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import yaml

from api.contract.models import ModelLoadReport
from inference.clock import FrameClock
from inference.detections import Detections
from inference.rules import EventPhase, RuleEvent
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from streams.metrics import WorkerMetrics
from streams.model_loader import ModelFiles
from streams.pipeline import CameraPipeline, WorkOrderTemplate
from streams.sync.model_client import ModelRegistryClient
from streams.sync.models import ModelSync
from tests.support.evidence_frames import BAG, FPS, T0, ScriptedRule, frame
from tests.support.site_configs import REPO, camera, site

V4 = REPO / "weights" / "gridsight-demo-v4.yaml"
LITTER_RULE = {"kind": "dwell", "zone": "kerb", "labels": ["litter", "garbage_bag"], "min_dwell_s": 4,
               "category_code": "06010", "category_name": "暴露垃圾 exposed garbage", "priority": "normal"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_version(name: str, version: str, *, weights: bytes = b"weights", labels: dict | None = None) -> dict:
    """A model version's files (path -> bytes): a manifest like v4's, renamed, over ``weights``."""
    manifest = yaml.safe_load(V4.read_text(encoding="utf-8"))
    manifest.update(name=name, version=version, file=f"{name}.pt", sha256=sha(weights), exports=[])
    if labels is not None:
        manifest.update(canonical_labels=labels, class_confidence={})
    return {f"{name}.yaml": yaml.safe_dump(manifest).encode(), f"{name}.pt": weights}


class Registry:
    """The API's model registry as far as a worker sees it."""

    def __init__(self) -> None:
        self.models: dict[tuple[str, str], dict[str, bytes]] = {}
        self.listed: dict[tuple[str, str], dict[str, bytes]] = {}  # what the assignment says (default: the files)
        self.assigned: dict[str, tuple[str, str, int]] = {}  # camera -> (name, version, assignment id)
        self.reports: list[ModelLoadReport] = []
        self.file_gets: list[str] = []
        self.down = False

    def assign(self, cameras, name: str, version: str, assignment_id: int) -> None:
        for camera_id in cameras:
            self.assigned[camera_id] = (name, version, assignment_id)

    def _assignment(self, camera_id: str) -> dict:
        name, version, assignment_id = self.assigned[camera_id]
        files = self.listed.get((name, version), self.models[(name, version)])
        return {"camera_id": camera_id, "model_name": name, "model_version": version, "manifest": f"{name}.yaml",
                "files": [{"path": p, "sha256": sha(b), "size": len(b)} for p, b in files.items()],
                "assignment_id": assignment_id, "scope": "all"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path == "/api/v1/models/assignments":
            cameras = request.url.params["cameras"].split(",")
            return httpx.Response(200, json={"version": 1, "assignments": [
                self._assignment(c) for c in cameras if c in self.assigned]})
        if path == "/api/v1/models/load-reports":
            self.reports.append(ModelLoadReport.from_wire(json.loads(request.content)))
            return httpx.Response(202, json={})
        _, _, _, _, name, version, _, file_path = path.split("/", 7)
        self.file_gets.append(file_path)
        data = self.models.get((name, version), {}).get(file_path)
        return httpx.Response(200, content=data) if data is not None else httpx.Response(404, json={"detail": "no such file"})


class FakeDetector:
    def __init__(self, name: str, version: str, *, labels=(BAG,)) -> None:
        self.name, self.version = name, version
        self.frames: list[int] = []  # the grey level of each image seen (frame() makes it unique per frame)
        self._labels = labels
        self.closed = False

    def detect(self, images):
        self.frames += [int(image[0, 0, 0]) for image in images]
        return [Detections.merge(list(self._labels)) for _ in images]

    def close(self) -> None:
        self.closed = True


class Loads:
    """The loader the sync is given: records each load, returns a FakeDetector (or raises)."""

    def __init__(self) -> None:
        self.calls: list[Path] = []

    def __call__(self, manifest_path: Path, model, name: str):
        self.calls.append(manifest_path)
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
        return FakeDetector(manifest["name"], str(manifest["version"]))


def make_pipeline(camera_id: str, detector, rules=None, *, script=None, template=None, source=None):
    outbox: list[dict] = []
    template = template or WorkOrderTemplate("06010", "暴露垃圾 exposed garbage", "emergency", "GC-0101-07", None)
    tracker = SimpleNamespace(update=lambda detections, timestamp: detections)
    source = source if source is not None else SimpleNamespace(stats=dict)
    pipeline = CameraPipeline(camera_id, source, detector, tracker, [(ScriptedRule(script or {}), template)],
                              FrameClock(), lambda key, payload: outbox.append(payload),
                              evidence=EvidenceRecorder(EvidenceSettings(pre_s=1, post_s=1)))
    pipeline.camera_config = camera(site(rules or {"litter": LITTER_RULE}))
    pipeline.outbox = outbox
    return pipeline


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def config_detector() -> FakeDetector:
    return FakeDetector("gridsight-demo-v1", "1")


def model_sync(registry, pipelines, config_detector, tmp_path, *, load=None, metrics=None) -> ModelSync:
    client = ModelRegistryClient("http://api.test", transport=httpx.MockTransport(registry.handle))
    files = ModelFiles(tmp_path / "cache", client.fetch_file, max_bytes=50 * 2**20)
    models = camera_models()
    return ModelSync(client, lambda: pipelines, {"demo": config_detector}, models, files, worker="w-1",
                     load=load if load is not None else Loads(), metrics=metrics, clock=lambda: T0)


def camera_models():
    from streams.config import parse_config
    from tests.support.site_configs import DEMO

    return parse_config(site({"litter": LITTER_RULE}), DEMO).models


def test_an_assignment_is_fetched_checked_loaded_and_swapped_in_once(registry, config_detector, tmp_path) -> None:
    registry.models[("city", "5")] = model_version("city", "5")
    registry.assign(["street-01", "street-02"], "city", "5", 7)
    cams = [make_pipeline("street-01", config_detector), make_pipeline("street-02", config_detector)]
    loads, metrics = Loads(), WorkerMetrics("w-1")
    sync = model_sync(registry, cams, config_detector, tmp_path, load=loads, metrics=metrics)
    assert sync.sync_once() and sync.sync_once()
    assert len(loads.calls) == 1, "two cameras on one assigned model share one instance, loaded once"
    assert cams[0].detector is cams[1].detector and cams[0].model_version == "city 5"
    assert [(p.model_assignment_id, p.stats()["model"]) for p in cams] == [(7, "city 5"), (7, "city 5")]
    assert [(r.camera_id, r.state, r.assignment_id, r.running_version) for r in registry.reports] == [
        ("street-01", "loaded", 7, "5"), ("street-02", "loaded", 7, "5")]
    assert sorted(registry.file_gets) == ["city.pt", "city.yaml"], "each file fetched once"
    assert sync.problems() == {} and sync.health_fields()["models"]["street-01"]["state"] == "loaded"
    assert metrics.registry.get_sample_value("gridsight_worker_model_swaps_total", {"camera": "street-01"}) == 1
    # Promoted again (a new assignment id, the same version): no load, no fetch, reported once more.
    registry.assign(["street-01"], "city", "5", 8)
    assert sync.sync_once()
    assert len(loads.calls) == 1 and cams[0].model_assignment_id == 8 and len(registry.file_gets) == 2
    assert registry.reports[-1].assignment_id == 8 and sync.swaps == 2


def test_a_checksum_mismatch_keeps_the_old_model_says_why_and_is_not_retried(registry, config_detector, tmp_path,
                                                                            caplog) -> None:
    registry.models[("city", "6")] = model_version("city", "6")
    served = registry.models[("city", "6")]
    registry.listed[("city", "6")] = {**served, "city.pt": b"WEIGHTS"}  # as long as b"weights", another sha256
    registry.assign(["street-01"], "city", "6", 9)
    cam = make_pipeline("street-01", config_detector)
    loads, metrics = Loads(), WorkerMetrics("w-1")
    sync = model_sync(registry, [cam], config_detector, tmp_path, load=loads, metrics=metrics)
    with caplog.at_level(logging.WARNING):
        sync.sync_once()
        sync.sync_once()
    assert cam.detector is config_detector and cam.model_assignment_id is None and loads.calls == []
    [line] = sync.problems().values()
    assert line.startswith("street-01: assigned city 6 not loaded: checksum mismatch for city.pt: the registry says")
    [report] = registry.reports
    assert (report.state, report.running_version, report.assignment_id) == ("failed", "1", 9)
    assert "checksum mismatch" in report.reason
    assert registry.file_gets.count("city.pt") == 1, "a checksum failure is not fetched again for the same assignment"
    assert caplog.text.count("not loaded") == 1
    assert metrics.registry.get_sample_value("gridsight_worker_model_load_failures_total", {"camera": "street-01"}) == 1
    kept = sorted(p.name for p in (tmp_path / "cache" / "city" / "6").iterdir())
    assert kept == ["city.yaml"], "a file that failed its check is not kept, nor its partial download"


def test_a_failed_assignment_rolled_back_to_the_one_running_clears_the_health_line(registry, config_detector,
                                                                                   tmp_path) -> None:
    registry.models[("city", "5")] = model_version("city", "5")
    registry.models[("city", "6")] = {}  # listed, never served: fails
    registry.listed[("city", "6")] = model_version("city", "6")
    registry.assign(["street-01"], "city", "5", 7)
    cam = make_pipeline("street-01", config_detector)
    sync = model_sync(registry, [cam], config_detector, tmp_path)
    sync.sync_once()
    registry.assign(["street-01"], "city", "6", 8)
    sync.sync_once()
    assert "assigned city 6 not loaded" in sync.problems()["model"] and cam.model_assignment_id == 7
    registry.assign(["street-01"], "city", "5", 7)  # the camera scope rolled back: the "all" assignment again
    sync.sync_once()
    assert sync.problems() == {} and sync.health_fields()["models"]["street-01"]["state"] == "loaded"


def test_a_model_without_the_labels_the_rules_need_is_refused_before_loading(registry, config_detector,
                                                                             tmp_path) -> None:
    registry.models[("people", "1")] = model_version("people", "1", labels={"person": "person"})
    registry.assign(["street-01"], "people", "1", 3)
    cam = make_pipeline("street-01", config_detector)
    loads = Loads()
    sync = model_sync(registry, [cam], config_detector, tmp_path, load=loads)
    sync.sync_once()
    assert cam.detector is config_detector and loads.calls == []
    assert "its rules need labels the model does not provide" in sync.problems()["model"]
    assert "garbage_bag" in registry.reports[-1].reason and registry.reports[-1].state == "failed"


def test_a_file_the_registry_does_not_have_keeps_the_old_model(registry, config_detector, tmp_path) -> None:
    registry.listed[("city", "7")] = model_version("city", "7")
    registry.models[("city", "7")] = {}  # listed, but every GET answers 404
    registry.assign(["street-01"], "city", "7", 4)
    cam = make_pipeline("street-01", config_detector)
    sync = model_sync(registry, [cam], config_detector, tmp_path)
    sync.sync_once()
    assert cam.detector is config_detector
    assert "HTTP 404: no such file" in sync.problems()["model"]


@pytest.mark.slow  # imports torch and ultralytics (about 10 s on 2 busy cores)
def test_corrupt_weights_with_matching_checksums_fail_to_load_with_one_line(registry, config_detector,
                                                                            tmp_path) -> None:
    """The real loader (inference.models.detector) on a file that is no model at all."""
    registry.models[("city", "8")] = model_version("city", "8", weights=b"\x00not a torch file" * 64)
    registry.assign(["street-01"], "city", "8", 5)
    cam = make_pipeline("street-01", config_detector)
    from streams.model_loader import load_detector

    sync = model_sync(registry, [cam], config_detector, tmp_path, load=load_detector)
    sync.sync_once()
    assert cam.detector is config_detector
    reason = registry.reports[-1].reason
    assert "is not a YOLO model" in reason and "\n" not in reason and "Traceback" not in reason
    assert str(tmp_path) not in reason, "the cache directory is left out of the reason"


def test_an_unreachable_api_keeps_what_runs_and_logs_once_per_change(registry, config_detector, tmp_path,
                                                                     caplog) -> None:
    registry.models[("city", "5")] = model_version("city", "5")
    registry.assign(["street-01"], "city", "5", 7)
    cam = make_pipeline("street-01", config_detector)
    sync = model_sync(registry, [cam], config_detector, tmp_path)
    registry.down = True
    with caplog.at_level(logging.INFO, logger="streams.sync.models"):
        assert [sync.sync_once() for _ in range(3)] == [False, False, False]
        assert cam.detector is config_detector and sync.problems() == {}
        assert "ConnectError" in sync.health_fields()["model_registry"]
        registry.down = False
        assert sync.sync_once()
    assert caplog.text.count("cannot read the cameras' assignments") == 1
    assert caplog.text.count("assignments readable again") == 1
    assert cam.model_version == "city 5"


def test_a_report_the_api_missed_is_sent_at_the_next_pass(registry, config_detector, tmp_path) -> None:
    registry.models[("city", "5")] = model_version("city", "5")
    registry.assign(["street-01"], "city", "5", 7)
    cam = make_pipeline("street-01", config_detector)
    sync = model_sync(registry, [cam], config_detector, tmp_path)
    handle = registry.handle

    def reports_down(request):
        if request.url.path.endswith("/load-reports"):
            raise httpx.ReadTimeout("timed out", request=request)
        return handle(request)

    registry.handle = reports_down
    sync._client = ModelRegistryClient("http://api.test", transport=httpx.MockTransport(lambda r: registry.handle(r)))
    sync.sync_once()
    assert registry.reports == [] and cam.model_version == "city 5"
    registry.handle = handle
    sync.sync_once()
    assert [r.state for r in registry.reports] == ["loaded"]


def test_no_assignment_any_more_goes_back_to_the_config_model_and_unloads(registry, config_detector,
                                                                          tmp_path) -> None:
    registry.models[("city", "5")] = model_version("city", "5")
    registry.assign(["street-01"], "city", "5", 7)
    cam = make_pipeline("street-01", config_detector)
    sync = model_sync(registry, [cam], config_detector, tmp_path)
    sync.sync_once()
    assigned = cam.detector
    registry.assigned.clear()  # rolled back past the first promotion
    sync.sync_once()
    assert cam.detector is config_detector and cam.model_assignment_id is None
    sync.sync_once()
    assert assigned.closed, "a loaded model no camera runs is stopped after two passes"


def test_files_already_in_the_cache_are_not_fetched_again(registry, config_detector, tmp_path) -> None:
    registry.models[("city", "5")] = model_version("city", "5")
    registry.assign(["street-01"], "city", "5", 7)
    model_sync(registry, [make_pipeline("street-01", config_detector)], config_detector, tmp_path).sync_once()
    registry.file_gets.clear()  # a restarted worker, the same cache
    cam = make_pipeline("street-01", config_detector)
    model_sync(registry, [cam], config_detector, tmp_path).sync_once()
    assert registry.file_gets == [] and cam.model_version == "city 5"


class SteadySource:
    """``count`` frames, handed out as fast as the pipeline takes them; then the end of the stream."""

    def __init__(self, count: int, on_frame=None) -> None:
        self._next, self.count, self._on_frame = 0, count, on_frame

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def stats(self) -> dict:
        return {}

    @property
    def ended(self) -> bool:
        return self._next >= self.count

    def read(self, timeout=None):
        if self.ended:
            return None
        if self._on_frame is not None:
            self._on_frame(self._next)
        self._next += 1
        return frame(self._next - 1)


def start_event(index: int) -> RuleEvent:
    return RuleEvent(event_id=f"street-01/litter/kerb/{index}", phase=EventPhase.START, camera_id="street-01",
                     rule_id="litter", zone_id="kerb", at=T0 + index / FPS, started_at=T0 + index / FPS,
                     labels=("garbage_bag",), track_ids=(7,), max_confidence=0.9, detections=BAG)


def test_every_frame_is_analysed_by_exactly_one_model_across_a_swap(config_detector) -> None:
    """The swap comes from another thread while frames flow; it waits for the frame in progress."""
    count, swap_at = 60, 30
    new = FakeDetector("city", "5")
    asked = threading.Event()
    source = SteadySource(count, on_frame=lambda i: asked.set() if i == swap_at else None)
    cam = make_pipeline("street-01", config_detector, source=source,
                        script={10: [start_event(10)], 50: [start_event(50)]})
    swapper = threading.Thread(target=lambda: (asked.wait(10), cam.replace_detector(new, 7)))
    swapper.start()
    cam.run(threading.Event())
    swapper.join(10)
    old_frames, new_frames = config_detector.frames, new.frames
    assert cam.frames_analysed == count == len(old_frames) + len(new_frames), "no frame dropped or analysed twice"
    assert len(old_frames) >= swap_at and new_frames, "the swap came while frames flowed"
    levels = [frame(i).image[0, 0, 0] for i in range(count)]
    assert old_frames + new_frames == [int(v) for v in levels], "the old model up to the swap, the new one after"
    assert [(o["model_name"], o["model_version"]) for o in cam.outbox] == [("gridsight-demo-v1", "1"), ("city", "5")]
    assert cam.model_swaps == 1 and cam.model_assignment_id == 7


def test_an_order_collecting_evidence_across_a_swap_keeps_the_model_that_saw_it(config_detector) -> None:
    template = WorkOrderTemplate("06010", "暴露垃圾 exposed garbage", "normal", "GC-0101-07", None)
    cam = make_pipeline("street-01", config_detector, script={4: [start_event(4)]}, template=template)
    for i in range(6):
        cam.process(frame(i))
    cam.replace_detector(FakeDetector("city", "5"), 7)
    for i in range(6, 6 + 2 * FPS):
        cam.process(frame(i))
    [order] = cam.outbox
    assert (order["model_name"], order["model_version"]) == ("gridsight-demo-v1", "1")


def test_cameras_batched_on_one_model_move_to_the_new_batcher_and_the_old_one_stops(registry, config_detector,
                                                                                    tmp_path) -> None:
    """max_batch 8 (the demo's): the assigned model is a BatchingDetector of its own; cameras keep
    analysing through the swap, each on one batcher at a time, and the unused one is closed."""
    from streams.batching import BatchingDetector
    from streams.shared_detector import share

    models = camera_models()
    old = share(config_detector, models["demo"], "model-demo")
    loaded: list = []

    def load(manifest_path, model, name):
        loaded.append(share(FakeDetector("city", "5"), model, name))
        return loaded[-1]

    registry.models[("city", "5")] = model_version("city", "5")
    registry.assign(["street-01", "street-02"], "city", "5", 7)
    cams = [make_pipeline(c, old) for c in ("street-01", "street-02")]
    sync = model_sync(registry, cams, old, tmp_path, load=load)
    stop, counts = threading.Event(), {c.camera_id: 0 for c in cams}

    def feed(cam) -> None:
        while not stop.is_set():
            cam.process(frame(counts[cam.camera_id] % 200))
            counts[cam.camera_id] += 1

    threads = [threading.Thread(target=feed, args=(c,)) for c in cams]
    for t in threads:
        t.start()
    try:
        wait = threading.Event()
        while min(counts.values()) < 5:
            wait.wait(0.01)
        sync.sync_once()
        [new] = loaded
        seen = dict(counts)
        while min(counts[c] - seen[c] for c in counts) < 5:
            wait.wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert isinstance(new, BatchingDetector) and all(c.detector is new for c in cams)
    assert new.stats()["images"] >= 10 and new.stats()["errors"] == 0
    assert [c.frames_analysed for c in cams] == [counts[c.camera_id] for c in cams], "every frame analysed"
    registry.assigned.clear()
    sync.sync_once()
    sync.sync_once()
    assert new.closed and all(c.detector is old for c in cams) and not old.closed
    old.close()
