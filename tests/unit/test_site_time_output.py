"""What a person reads on the site's clock (issue 17 point 5): the time burnt into
evidence frames, the log lines of every process, and how the worker hands its
configured zone to both."""

from __future__ import annotations

import datetime as dt
import io
import logging

import cv2
import numpy as np
import pytest

from inference import evidence, site_time
from inference.detections import Detections
from inference.zones import PolygonZone
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings
from tests.support.evidence_frames import BAG, FPS, T0, ZONE, frame

BERLIN = site_time.site_zone("Europe/Berlin")
DEC_2_0052_UTC = dt.datetime(2026, 12, 2, 0, 52, 1, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture
def drawn_text(monkeypatch) -> list[str]:
    """Every string cv2.putText burns into a frame (the real drawing still happens)."""
    texts: list[str] = []
    real = cv2.putText

    def spy(image, text, *args, **kwargs):
        texts.append(text)
        return real(image, text, *args, **kwargs)

    monkeypatch.setattr(evidence.cv2, "putText", spy)
    return texts


def _banner(texts: list[str]) -> str:
    [banner] = [t for t in texts if "UTC" in t]
    return banner


def test_snapshot_stamp_is_site_time_with_offset_by_default_shanghai(drawn_text: list[str]) -> None:
    image = np.zeros((120, 200, 3), np.uint8)
    zone = PolygonZone.from_points("z", [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9)])
    evidence.annotate(image, zone, Detections.empty(), caption="cam-1 / r", captured_at=DEC_2_0052_UTC)
    assert _banner(drawn_text) == "cam-1 / r  2026-12-02 08:52:01 UTC+08:00"
    drawn_text.clear()
    summer = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone.utc).timestamp()
    evidence.render_snapshot(image, zone, Detections.empty(), caption="cam-1 / r", captured_at=summer, time_zone=BERLIN)
    assert _banner(drawn_text) == "cam-1 / r  2026-07-01 12:00:00 UTC+02:00"


def test_every_evidence_file_of_an_event_is_stamped_in_the_configured_zone(drawn_text: list[str]) -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=0, site_zone=BERLIN))
    for i in range(40):
        recorder.observe(frame(i), BAG)

    class Event:  # the fields the recorder reads of a rule's START
        event_id, started_at, track_ids, detections, before_at, actor_track_ids = "e1", T0 + 6, (7,), BAG, None, ()

    [done] = recorder.open(Event(), zone=ZONE, frame=frame(39), tracked=BAG, caption="cam-1 / litter")
    assert {item.kind for item in done.items} >= {"snapshot", "before", "clip"}
    stamps = [t for t in drawn_text if "UTC" in t]
    assert len(stamps) >= 3  # snapshot, before and each clip frame
    expected = {site_time.stamp_text(T0 + n / FPS, BERLIN) for n in range(40)}
    assert all(s.split("  ")[-1] in expected and s.endswith("UTC+01:00") for s in stamps), stamps
    # The tests' T0 (14 Nov 2023 22:13:20 UTC) is 23:13:20 in Berlin, 06:13:20 the next day in Shanghai.
    assert site_time.stamp_text(T0, BERLIN) == "2023-11-14 23:13:20 UTC+01:00"


def test_log_lines_are_on_the_site_clock_with_milliseconds_and_offset(monkeypatch) -> None:
    from gridsight import logs

    monkeypatch.setenv("GRIDSIGHT_SITE_TIMEZONE", "Asia/Shanghai")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        logs.configure_logging("INFO")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        record = logging.LogRecord("gridsight", logging.INFO, __file__, 1, "worker started", None, None)
        record.created, record.msecs = DEC_2_0052_UTC + 0.25, 250.0
        root.handlers[0].handle(record)
        assert stream.getvalue() == "2026-12-02 08:52:01.250+08:00 INFO    gridsight: worker started\n"
        logs.use_site_timezone(BERLIN)  # what `gridsight worker` does once its config is read
        root.handlers[0].handle(record)
        assert stream.getvalue().splitlines()[-1].startswith("2026-12-02 01:52:01.250+01:00 INFO ")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_logging_falls_back_to_the_default_while_the_name_is_unknown() -> None:
    from gridsight.logs import zone_from_env

    assert zone_from_env({"GRIDSIGHT_SITE_TIMEZONE": "Asia/Shangai"}).key == "Asia/Shanghai"
    assert zone_from_env({"GRIDSIGHT_SITE_TIMEZONE": "Europe/Berlin"}).key == "Europe/Berlin"
    assert zone_from_env({}).key == "Asia/Shanghai"


def test_demo_order_lines_are_on_the_site_clock() -> None:
    from gridsight.demo.feed import FeedPrinter

    order = {"id": 7, "order_no": "GS-20261202-000007", "status": "dispatched", "category_code": "06010",
             "category_name": "exposed garbage", "priority": "normal", "camera_id": "street-01", "zone_id": "west-kerb",
             "labels": ["garbage_bag"], "confidence": 0.9, "detected_at": "2026-12-02T06:00:00+00:00",
             "deadline_at": "2026-12-04T06:00:00Z", "evidence": []}
    entry = {"at": "2026-12-02T06:01:02.5+00:00", "actor": "system", "action": "overdue", "data": {}}
    printer = FeedPrinter("http://127.0.0.1:8000", zone=BERLIN)
    assert printer.show({"entry": entry, "work_order": order}).startswith(
        "  07:01:02 overdue    GS-20261202-000007: past its deadline 2026-12-04 07:00:00")
    created = printer.show({"entry": {**entry, "action": "created"}, "work_order": order})
    assert "detected_at=2026-12-02 07:00:00 deadline=2026-12-04 07:00:00" in created
    assert FeedPrinter("http://127.0.0.1:8000").zone.key == "Asia/Shanghai"
