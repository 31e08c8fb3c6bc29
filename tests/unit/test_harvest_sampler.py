"""The harvest sampler (streams.harvest.sampler): each reason fires when it should and not
otherwise; spacing, near-duplicates, the daily budget and per-reason caps; the reset at the
site's midnight on an injected clock; and the same scene analysed at 0.2 to 10 fps yields
comparable picks (every window is in stream seconds)."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from inference.clock import FakeClock
from inference.detections import Detections
from streams.harvest.sampler import HarvestSampler, SamplerSettings, thumb_difference, thumbnail

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLOOR = 0.35
W, H = 640, 360


def at_local(hour: int, minute: int = 0, second: int = 0, day: int = 2) -> float:
    """Unix seconds of a Shanghai wall-clock time on 2026-12-<day>."""
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


@functools.lru_cache(maxsize=512)
def image(pattern: int = 0, brightness: int = 60) -> np.ndarray:
    """A frame whose 64x36 thumbnail is a random pattern (seeded) over a background: two patterns
    differ by about 0.08 (not near-duplicates, not a scene change); brightness +100 is a scene change."""
    cells = np.random.default_rng(pattern).integers(0, 61, size=(36, 64)).astype(np.uint8) + brightness
    grey = np.kron(cells, np.ones((10, 10), np.uint8))
    return np.repeat(grey[:, :, None], 3, axis=2)


def boxes(*rows) -> Detections:
    """rows: (label, confidence, track id, x1) with a fixed box size."""
    if not rows:
        return Detections.empty()
    xyxy = [[x, 100, x + 60, 200] for _label, _conf, _track, x in rows]
    return Detections(np.array(xyxy, np.float32), np.array([r[1] for r in rows], np.float32),
                      np.array([r[0] for r in rows], dtype=object), np.array([r[2] for r in rows], np.int64))


class Feed:
    """A sampler on a FakeClock and what it picked."""

    def __init__(self, start: float = at_local(10, 15), **settings) -> None:
        self.clock = FakeClock(start)
        self.sampler = HarvestSampler(SamplerSettings(**settings), self.clock)
        self.picks: list[tuple[float, tuple[str, ...], dict]] = []

    def frame(self, at: float, img=None, raw: Detections | None = None, tracked: Detections | None = None,
              floors=None):
        self.clock.set(at)
        raw = raw if raw is not None else Detections.empty()
        tracked = tracked if tracked is not None else raw
        pick = self.sampler.observe(img if img is not None else image(int(at)), raw, tracked, floors or {}, FLOOR)
        if pick is not None:
            self.picks.append((at, pick.reasons, pick.detail))
        return pick


def primed(**settings) -> tuple[Feed, float]:
    """A feed whose first frame (the hour's time_of_day pick) is behind it; returns it and the next free time."""
    feed = Feed(**settings)
    start = feed.clock.now()
    first = feed.frame(start, image(1000))
    assert first is not None and first.reasons == ("time_of_day",)
    return feed, start + 60


def test_thumbnails_tell_patterns_from_scene_changes():
    a, b, bright = thumbnail(image(1)), thumbnail(image(2)), thumbnail(image(1, brightness=160))
    assert thumb_difference(a, a) == 0.0
    assert 0.02 < thumb_difference(a, b) < 0.12
    assert thumb_difference(a, bright) > 0.12


def test_a_detection_just_above_its_floor_is_uncertain():
    feed, t = primed()
    pick = feed.frame(t, raw=boxes(("person", FLOOR + 0.05, 1, 100)))
    assert pick is not None and pick.reasons == ("uncertain",)
    assert pick.detail["uncertain_labels"] == ["person"]


def test_a_confident_detection_or_an_empty_frame_is_not_picked():
    feed, t = primed()
    assert feed.frame(t, raw=boxes(("person", FLOOR + 0.3, 1, 100))) is None
    assert feed.frame(t + 30) is None
    assert feed.sampler.skipped == {}  # nothing fired, so nothing was skipped either


def test_uncertainty_is_judged_against_each_labels_own_floor():
    feed, t = primed()
    floors = {"litter": 0.5}
    assert feed.frame(t, raw=boxes(("person", 0.55, 1, 100)), floors=floors) is None  # 0.2 above the default floor
    pick = feed.frame(t + 30, raw=boxes(("litter", 0.55, 2, 300)), floors=floors)
    assert pick is not None and pick.detail["uncertain_labels"] == ["litter"]


def test_a_track_that_vanishes_and_returns_within_the_window_flickers():
    feed, t = primed(flicker_s=10.0, min_spacing_s=0.0)
    for i in range(5):
        assert feed.frame(t + i, tracked=boxes(("person", 0.9, 7, 100 + i))) is None
    assert feed.frame(t + 5) is None and feed.frame(t + 6) is None  # gone for two frames
    pick = feed.frame(t + 7, tracked=boxes(("person", 0.9, 7, 110)))
    assert pick is not None and pick.reasons == ("flicker",)
    assert pick.detail["flicker"][0]["track_id"] == 7 and pick.detail["flicker"][0]["kind"] == "returned"


def test_a_track_gone_longer_than_the_window_does_not_flicker():
    feed, t = primed(flicker_s=10.0, min_spacing_s=0.0)
    feed.frame(t, tracked=boxes(("person", 0.9, 7, 100)))
    for i in range(1, 25):
        feed.frame(t + i)
    assert feed.frame(t + 25, tracked=boxes(("person", 0.9, 7, 100))) is None


def test_a_new_track_of_another_label_on_a_vanished_ones_box_is_a_label_change():
    feed, t = primed(min_spacing_s=0.0)
    feed.frame(t, tracked=boxes(("bicycle", 0.9, 3, 200)))
    pick = feed.frame(t + 1, tracked=boxes(("ebike", 0.9, 4, 202)))
    assert pick is not None and pick.reasons == ("flicker",)
    assert pick.detail["flicker"][0] == {"track_id": 4, "kind": "label_changed", "absent_s": 0.0, "was": 3}
    # A new track somewhere else is just a new object.
    assert feed.frame(t + 2, tracked=boxes(("ebike", 0.9, 4, 202), ("person", 0.9, 5, 500))) is None


def test_the_first_frame_of_each_hour_is_picked_once_a_day():
    feed = Feed(start=at_local(10, 58))
    assert feed.frame(at_local(10, 58)).reasons == ("time_of_day",)
    assert feed.frame(at_local(10, 59)) is None
    assert feed.frame(at_local(11, 0, 5)).reasons == ("time_of_day",)
    assert feed.frame(at_local(11, 30)) is None
    assert [p[2]["hour"] for p in feed.picks] == [10, 11]


def test_a_change_of_light_is_a_scene_change_and_a_moving_pattern_is_not():
    feed, t = primed()
    for i in range(0, 30, 2):
        assert feed.frame(t + i, image(i)) is None  # a different pattern each time, same light
    pick = feed.frame(t + 40, image(7, brightness=160))
    assert pick is not None and pick.reasons == ("scene_change",)
    assert pick.detail["scene_change"] > 0.12
    assert feed.frame(t + 60, image(8, brightness=160)) is None  # the new light is now the reference


def test_frames_closer_than_the_spacing_are_skipped():
    feed, t = primed(min_spacing_s=10.0)
    unsure = boxes(("person", 0.38, 1, 100))
    assert feed.frame(t, raw=unsure) is not None
    assert feed.frame(t + 5, raw=unsure) is None
    assert feed.sampler.skipped["spacing"] == 1
    assert feed.frame(t + 10, raw=unsure) is not None


def test_a_near_duplicate_of_a_recent_pick_is_skipped():
    feed, t = primed(min_spacing_s=10.0)
    unsure = boxes(("person", 0.38, 1, 100))
    assert feed.frame(t, image(5), raw=unsure) is not None
    assert feed.frame(t + 20, image(5), raw=unsure) is None
    assert feed.sampler.skipped["duplicate"] == 1


def test_each_reason_has_its_cap_and_all_share_the_budget():
    caps = {"uncertain": 3, "flicker": 60, "time_of_day": 24, "scene_change": 60}
    feed, t = primed(budget_per_day=6, reason_caps=caps, min_spacing_s=1.0)
    unsure = boxes(("person", 0.38, 1, 100))
    for i in range(6):
        feed.frame(t + 2 * i, raw=unsure)
    assert feed.sampler.today_by_reason["uncertain"] == 3  # the cap, not the budget
    assert feed.sampler.skipped["cap"] == 3
    brightness = 60
    for i in range(6):  # scene changes may still use what is left of the day's budget
        brightness = 160 if brightness == 60 else 60
        feed.frame(t + 20 + 2 * i, image(i, brightness=brightness))
    assert feed.sampler.today == 6  # 1 time_of_day + 3 uncertain + 2 scene changes: the budget
    assert feed.sampler.today_by_reason["scene_change"] == 2
    assert feed.frame(t + 40, raw=unsure) is None
    assert feed.sampler.skipped["budget"] == 1


def test_the_budget_resets_at_the_sites_midnight_not_utcs():
    feed = Feed(start=at_local(7, 50), budget_per_day=2, min_spacing_s=1.0)
    unsure = boxes(("person", 0.38, 1, 100))
    feed.frame(at_local(7, 50), raw=unsure)
    feed.frame(at_local(7, 55), raw=unsure)
    # 08:00 in Shanghai is midnight UTC: still the same site day, the budget stays spent.
    assert feed.frame(at_local(8, 5), raw=unsure) is None
    assert feed.sampler.skipped["budget"] == 1
    assert feed.frame(at_local(23, 59, 50), raw=unsure) is None
    pick = feed.frame(at_local(0, 0, 10, day=3), raw=unsure)  # the site's midnight: a new day
    assert pick is not None and set(pick.reasons) == {"uncertain", "time_of_day"}
    assert feed.sampler.today == 1


def scene_at(t: float) -> tuple[np.ndarray, Detections, Detections]:
    """A 20-minute street: a person the model is unsure of in [60, 180) s; a confident person
    (track 5) in [300, 400) s who vanishes for [340, 345); the light goes up at 800 s. The
    pattern changes every 5 s, so frames 10 s apart are not near-duplicates."""
    img = image(int(t // 5), brightness=160 if t >= 800 else 60)
    raw = []
    if 60 <= t < 180:
        raw.append(("person", 0.38, -1, 100))
    if 300 <= t < 400 and not 340 <= t < 345:
        raw.append(("person", 0.9, 5, 400))
    found = boxes(*raw)
    tracked = found[found.tracker_id >= 0] if len(found) else found
    return img, found, tracked


@pytest.mark.parametrize("fps", [0.2, 1, 2, 5, 10])
def test_the_same_scene_yields_comparable_picks_at_any_analysis_rate(fps):
    start = at_local(10, 50)  # 11:00 falls at t = 600 s
    feed = Feed(start=start, min_spacing_s=10.0, flicker_s=10.0)
    for i in range(int(1200 * fps)):
        t = i / fps
        img, raw, tracked = scene_at(t)
        feed.frame(start + t, img, raw, tracked)
    by_reason = {reason: [round(at - start, 1) for at, reasons, _ in feed.picks if reason in reasons]
                 for reason in ("uncertain", "flicker", "time_of_day", "scene_change")}
    assert 11 <= len(by_reason["uncertain"]) <= 13, by_reason  # 120 s of doubt, one pick per 10 s
    assert by_reason["uncertain"][0] == pytest.approx(60, abs=1 / fps + 1e-6)
    assert len(by_reason["flicker"]) == 1 and 345 <= by_reason["flicker"][0] < 345 + 1 / fps + 1e-6, by_reason
    assert len(by_reason["time_of_day"]) == 2 and by_reason["time_of_day"][1] == pytest.approx(600, abs=1 / fps)
    assert len(by_reason["scene_change"]) == 1 and 800 <= by_reason["scene_change"][0] <= 800 + max(1, 1 / fps)
    assert len(feed.picks) == sum(map(len, by_reason.values()))  # no frame picked for two reasons here
