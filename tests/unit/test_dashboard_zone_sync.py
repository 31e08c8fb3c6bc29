"""Zones edited in the API reach a running camera without a restart
(streams.sync.zones), tested against a fake API client and a real pipeline."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from inference.clock import FakeClock
from inference.detections import Detections
from inference.rules import DwellRule, DwellRuleSpec, EventPhase
from inference.zones import PolygonZone
from streams.pipeline import CameraPipeline, WorkOrderTemplate
from streams.sync.zones import ZoneSync

WEST = [[0.05, 0.7], [0.45, 0.7], [0.45, 1.0], [0.05, 1.0]]
EAST = [[0.55, 0.7], [0.95, 0.7], [0.95, 1.0], [0.55, 1.0]]
MOVED_WEST = [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]
FRAME = (100, 100)


class FakeApi:
    def __init__(self) -> None:
        self.zones: dict[str, list[dict] | None] = {}
        self.calls: list[str] = []

    def get_camera_zones(self, camera_id: str) -> list[dict] | None:
        self.calls.append(camera_id)
        return self.zones.get(camera_id, [])


def rule(rule_id: str, zone_id: str, polygon, clock) -> DwellRule:
    spec = DwellRuleSpec(rule_id=rule_id, zone=PolygonZone.from_points(zone_id, polygon),
                         labels=frozenset({"litter"}), min_dwell_s=2, grace_s=1, cooldown_s=60)
    return DwellRule(spec, "street-01", clock)


def pipeline(clock=None) -> CameraPipeline:
    clock = clock or FakeClock(1000.0)
    template = WorkOrderTemplate("06010", "暴露垃圾 exposed garbage", "normal", None, None)
    rules = [(rule("west-litter", "west-kerb", WEST, clock), template),
             (rule("west-bags", "west-kerb", WEST, clock), template),
             (rule("east-litter", "east-kerb", EAST, clock), template)]
    source = SimpleNamespace(started=False)  # never touched by a zone change
    return CameraPipeline("street-01", source, detector=None, tracker=None, rules=rules, clock=clock,
                          submit_order=lambda key, payload: None)


def polygons(p: CameraPipeline) -> dict[str, list]:
    return {r.spec.rule_id: r.spec.zone.polygon.tolist() for r, _ in p.rules}


def test_an_api_zone_replaces_the_polygon_of_every_rule_watching_it(caplog: pytest.LogCaptureFixture) -> None:
    api, cam = FakeApi(), pipeline()
    sync = ZoneSync(api, lambda: [cam], interval_s=5)
    assert sync.sync_once() == 0  # the API has no zones yet: the config's stay
    api.zones["street-01"] = [{"zone_id": "west-kerb", "polygon": MOVED_WEST},
                              {"zone_id": "unused-by-rules", "polygon": EAST}]
    with caplog.at_level("INFO", logger="streams.sync.zones"):
        assert sync.sync_once() == 1
    got = polygons(cam)
    assert got["west-litter"] == MOVED_WEST and got["west-bags"] == MOVED_WEST
    assert got["east-litter"] == EAST
    assert "unused-by-rules" not in cam.zones_in_use()
    line = next(r.getMessage() for r in caplog.records if "updated" in r.getMessage())
    assert "zone west-kerb updated from the API" in line and "west-litter, west-bags" in line
    assert sync.sync_once() == 0  # unchanged: nothing to do, nothing logged
    assert sync.updates == 1


def test_a_deleted_api_zone_falls_back_to_the_config_file() -> None:
    api, cam = FakeApi(), pipeline()
    sync = ZoneSync(api, lambda: [cam], interval_s=5)
    api.zones["street-01"] = [{"zone_id": "west-kerb", "polygon": MOVED_WEST}]
    sync.sync_once()
    api.zones["street-01"] = []
    assert sync.sync_once() == 1
    assert polygons(cam)["west-litter"] == WEST


def test_unreachable_api_keeps_the_current_zones(caplog: pytest.LogCaptureFixture) -> None:
    api, cam = FakeApi(), pipeline()
    sync = ZoneSync(api, lambda: [cam], interval_s=5)
    api.zones["street-01"] = [{"zone_id": "west-kerb", "polygon": MOVED_WEST}]
    sync.sync_once()
    api.zones["street-01"] = None  # network error or a token that may not read zones
    with caplog.at_level("WARNING", logger="streams.sync.zones"):
        for _ in range(5):
            assert sync.sync_once() == 0
    assert polygons(cam)["west-litter"] == MOVED_WEST
    assert sum("cannot read its zones" in r.getMessage() for r in caplog.records) == 1


def test_an_unusable_polygon_is_skipped_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    api, cam = FakeApi(), pipeline()
    sync = ZoneSync(api, lambda: [cam], interval_s=5)
    bow_tie = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]
    api.zones["street-01"] = [{"zone_id": "west-kerb", "polygon": bow_tie}, {"zone_id": "east-kerb", "polygon": "junk"}]
    with caplog.at_level("WARNING", logger="streams.sync.zones"):
        assert sync.sync_once() == 0
        assert sync.sync_once() == 0
    assert polygons(cam)["west-litter"] == WEST and polygons(cam)["east-litter"] == EAST
    messages = [r.getMessage() for r in caplog.records]
    assert sum("self-intersects" in m for m in messages) == 1


def test_a_running_rule_keeps_its_state_and_uses_the_new_zone() -> None:
    clock = FakeClock(1000.0)
    cam = pipeline(clock)
    west = cam.rules[0][0]
    bag_in_both = Detections(np.array([[20, 80, 30, 95]], np.float32), np.array([0.9]), np.array(["litter"], object), np.array([5]))
    events = []
    for _ in range(6):
        clock.advance(0.5)
        events += west.update(bag_in_both, FRAME)
    assert [e.phase for e in events] == [EventPhase.START]
    api = FakeApi()
    # The zone moves up and away from the bag: the open event ends after grace, it does not restart.
    api.zones["street-01"] = [{"zone_id": "west-kerb", "polygon": [[0.0, 0.0], [0.5, 0.0], [0.5, 0.4], [0.0, 0.4]]}]
    ZoneSync(api, lambda: [cam], interval_s=5).sync_once()
    assert west.active
    later = []
    for _ in range(4):
        clock.advance(0.5)
        later += west.update(bag_in_both, FRAME)
    assert [e.phase for e in later] == [EventPhase.END]


def test_replace_zone_refuses_another_zone_id() -> None:
    cam = pipeline()
    with pytest.raises(ValueError):
        cam.rules[0][0].replace_zone(PolygonZone.from_points("east-kerb", EAST))
    assert cam.replace_zone(PolygonZone.from_points("nobody-watches", EAST)) == []


def test_the_thread_syncs_at_start_then_every_interval_and_stops() -> None:
    api, cam = FakeApi(), pipeline()
    api.zones["street-01"] = [{"zone_id": "west-kerb", "polygon": MOVED_WEST}]
    sync = ZoneSync(api, lambda: [cam], interval_s=0.05)
    sync.start()
    deadline = time.monotonic() + 5
    while len(api.calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    sync.stop()
    assert len(api.calls) >= 3 and polygons(cam)["west-litter"] == MOVED_WEST
    assert not any(t.name == "zone-sync" and t.is_alive() for t in threading.enumerate())


def test_interval_zero_means_no_sync() -> None:
    config = SimpleNamespace(worker=SimpleNamespace(zone_sync_interval_s=0))
    assert ZoneSync.from_config(config, FakeApi(), list) is None
    config.worker.zone_sync_interval_s = 2
    assert ZoneSync.from_config(config, FakeApi(), list).interval_s == 2
