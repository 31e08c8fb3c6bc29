"""ObjectTracker across the analysis rates users run (0.2-10 fps), and the units of the
`trackers` library it wraps, read from its code and pinned here."""

from __future__ import annotations

import numpy as np
import pytest
from trackers import ByteTrackTracker

from inference.detections import Detections
from inference.tracking import LIBRARY_BUFFER_FPS, ObjectTracker, lost_track_buffer

RATES = [0.2, 0.5, 1, 2, 3, 5, 8, 10]
EPOCH = 1_800_000_000.0


def box(x: float, y: float, w: float, h: float, label: str = "person", conf: float = 0.8) -> Detections:
    return Detections(np.array([[x, y, x + w, y + h]], np.float32), np.array([conf], np.float32),
                      np.array([label], dtype=object))


def run(tracker: ObjectTracker, frames: list[tuple[float, Detections]]) -> list[int]:
    ids = []
    for t, dets in frames:
        out = tracker.update(dets, EPOCH + t)
        ids += [int(i) for i in out.tracker_id]
    return ids


@pytest.mark.parametrize("fps", [1, 2, 15, 30])
def test_the_library_counts_its_lost_track_buffer_in_30_fps_frames_at_any_frame_rate(fps):
    # trackers 2.6: maximum_time_without_update = lost_track_buffer / 30.0, frame_rate or not.
    tracker = ByteTrackTracker(lost_track_buffer=90, frame_rate=fps)
    assert tracker.maximum_time_without_update == pytest.approx(90 / LIBRARY_BUFFER_FPS)
    assert lost_track_buffer(3.0) == 90


def test_the_library_prunes_a_lost_track_after_that_many_seconds_of_stream_time():
    import supervision as sv

    tracker = ByteTrackTracker(lost_track_buffer=lost_track_buffer(2.0), frame_rate=1, track_activation_threshold=0.3,
                               high_conf_det_threshold=0.3, minimum_consecutive_frames=1)
    seen = sv.Detections(xyxy=np.array([[0, 0, 10, 10]], np.float32), confidence=np.array([0.9], np.float32),
                         class_id=np.zeros(1, int))
    empty = sv.Detections.empty()
    tracker.update(seen, timestamp=100.0)
    first = tracker.update(seen, timestamp=100.5).tracker_id[0]
    assert first >= 0
    tracker.update(empty, timestamp=102.0)  # lost for 1.5 s: within 2 s
    assert tracker.update(seen, timestamp=102.4).tracker_id[0] == first
    tracker.update(empty, timestamp=105.0)  # lost for 2.6 s: pruned
    assert tracker.update(seen, timestamp=105.1).tracker_id[0] != first


@pytest.mark.parametrize("fps", RATES)
def test_a_lost_track_is_kept_for_the_configured_seconds_at_any_analysis_rate(fps):
    tracker = ObjectTracker(frame_rate=fps, lost_track_seconds=3.0)
    assert tracker.lost_track_time_s == pytest.approx(max(3.0, 2.5 / fps))
    frames = [(i / fps, box(100, 100, 40, 40, "garbage_bag")) for i in range(4)]
    tracker_ids = run(tracker, frames)
    assert tracker_ids[1:] and len(set(tracker_ids[1:])) == 1 and tracker_ids[1] >= 0, (fps, tracker_ids)


@pytest.mark.parametrize("fps", [0.5, 1, 2, 3, 5, 8, 10])
def test_a_walking_person_keeps_one_id_at_every_rate_down_to_half_a_frame_per_second(fps):
    # 1.3 m/s: ~55 px a second for a person 40x120 px, i.e. 1.4 widths a second.
    tracker = ObjectTracker(frame_rate=fps)
    frames = [(i / fps, box(50 + 55 * i / fps, 100, 40, 120)) for i in range(int(20 * fps))]
    ids = run(tracker, frames)
    confirmed = [i for i in ids if i >= 0]
    assert len(set(confirmed)) == 1, (fps, ids)
    assert len(confirmed) >= len(ids) - 1, (fps, ids)  # confirmed from the second frame on


@pytest.mark.parametrize("fps", RATES)
def test_a_static_bag_keeps_one_id_through_missed_detections_down_to_0_2_fps(fps):
    tracker = ObjectTracker(frame_rate=fps)
    frames = []
    for i in range(max(12, int(60 * fps))):
        jitter = 2.0 * np.sin(i)
        dets = Detections.empty() if i % 4 == 3 else box(200 + jitter, 150, 30, 25, "garbage_bag", 0.6)
        frames.append((i / fps, dets))
    ids = [i for i in run(tracker, frames) if i >= 0]
    assert len(set(ids)) == 1, (fps, ids)


@pytest.mark.parametrize("fps", [0.5, 1, 2])
def test_two_people_walking_side_by_side_keep_their_own_ids_at_low_rates(fps):
    tracker = ObjectTracker(frame_rate=fps)
    per_frame = []
    for i in range(int(16 * fps)):
        x = 50 + 55 * i / fps
        a, b = box(x, 100, 40, 120), box(x, 300, 40, 120)
        dets = Detections.merge([a, b])
        out = tracker.update(dets, EPOCH + i / fps)
        per_frame.append({round(float(y1)): int(t) for (_x1, y1, _x2, _y2), t in zip(out.xyxy, out.tracker_id)})
    top = {f[100] for f in per_frame[1:]}
    bottom = {f[300] for f in per_frame[1:]}
    assert len(top) == 1 and len(bottom) == 1 and top != bottom, per_frame


def test_an_outage_longer_than_the_lost_track_time_still_ends_the_tracks():
    tracker = ObjectTracker(frame_rate=2, lost_track_seconds=3.0)
    before = run(tracker, [(i / 2, box(100, 100, 40, 40, "car")) for i in range(6)])
    after = run(tracker, [(60 + i / 2, box(100, 100, 40, 40, "car")) for i in range(3)])
    assert before[-1] >= 0 and after[-1] >= 0 and after[-1] != before[-1]


def test_far_boxes_of_another_size_are_never_matched_by_distance():
    tracker = ObjectTracker(frame_rate=1)
    walker = run(tracker, [(0, box(100, 100, 40, 120)), (1, box(100, 100, 40, 120))])[-1]
    # A box a tenth the area, two sizes away, a second later: another object, not the walker.
    other = run(tracker, [(2, box(200, 100, 12, 40)), (3, box(200, 100, 12, 40))])
    assert walker >= 0 and other[-1] >= 0 and other[-1] != walker


def test_a_bursty_stream_keeps_ids_through_stalls_and_catch_up_bursts():
    """A network that stalls 2.5 s and then delivers a burst (frames 40 ms apart): at 2 fps nominal
    the walker and the parked car keep their ids."""
    tracker = ObjectTracker(frame_rate=2)
    times, t = [], 0.0
    for cycle in range(6):
        times += [t + i * 0.5 for i in range(4)]  # 2 s of normal frames
        t += 1.5 + 2.5  # then a stall
        times += [t + i * 0.04 for i in range(5)]  # and a burst of buffered frames
        t += 0.2
    walker_ids, car_ids = set(), set()
    for i, ts in enumerate(sorted(times)):
        walker = box(50 + 40 * ts, 100, 40, 120)
        car = box(600, 300, 160, 90, "car")
        out = tracker.update(Detections.merge([walker, car]), EPOCH + ts)
        if i >= 2:
            walker_ids |= {int(t) for t, lab in zip(out.tracker_id, out.labels) if lab == "person"}
            car_ids |= {int(t) for t, lab in zip(out.tracker_id, out.labels) if lab == "car"}
    assert len(walker_ids) == 1 and len(car_ids) == 1 and -1 not in walker_ids | car_ids, (walker_ids, car_ids)
