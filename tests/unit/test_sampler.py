import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from inference.clock import FakeClock
from streams.sources.buffer import DropPolicy, FrameBuffer
from inference.frames import VideoFrame
from streams.sources.sampler import FrameSampler


def _timestamps(fps, seconds, start=0.0):
    # Exact rational pts, converted the way PyAV's frame.time does.
    return [start + float(Fraction(i, fps)) for i in range(int(seconds * fps))]


def _sampled(sampler, timestamps):
    return [ts for ts in timestamps if sampler.should_sample(ts)]


@pytest.mark.parametrize(("src_fps", "fps", "expected"), [(15, 5, 20), (15, 4, 16), (25, 2, 8),
                                                          (30, 10, 40), (15, 15, 60), (15, 30, 60)])
def test_sampling_rate_matches_analysis_fps(src_fps, fps, expected):
    assert len(_sampled(FrameSampler(fps), _timestamps(src_fps, 4))) == expected


def test_sampled_frames_are_evenly_spaced():
    picked = _sampled(FrameSampler(5), _timestamps(15, 2))
    gaps = {round(b - a, 6) for a, b in zip(picked, picked[1:])}
    assert gaps == {0.2}


@pytest.mark.parametrize("fps", [None, 0])
def test_no_analysis_fps_samples_everything(fps):
    ts = _timestamps(15, 1)
    assert _sampled(FrameSampler(fps), ts) == ts


def test_timestamps_going_backwards_restart_the_timeline():
    s = FrameSampler(5)
    first = _sampled(s, _timestamps(15, 1, start=100.0))
    second = _sampled(s, _timestamps(15, 1))  # reconnect / file loop: pts restart at 0
    assert len(first) == 5 and len(second) == 5 and second[0] == 0.0


def test_gap_does_not_cause_a_catch_up_burst():
    s = FrameSampler(5)
    _sampled(s, _timestamps(15, 1))
    after_gap = _sampled(s, _timestamps(15, 1, start=10.0))
    assert len(after_gap) == 5


def test_reset_samples_next_frame():
    s = FrameSampler(1)
    assert s.should_sample(0.0) and not s.should_sample(0.5)
    s.reset()
    assert s.should_sample(0.5)


def test_negative_fps_rejected():
    with pytest.raises(ValueError):
        FrameSampler(-1)


def _frame(i, clock):
    return VideoFrame(np.zeros((2, 2, 3), np.uint8), i, clock.advance(0.1), "cam")


def test_latest_keeps_only_the_freshest_and_counts_drops():
    clock = FakeClock()
    buf = FrameBuffer(DropPolicy.LATEST, capacity=1)
    for i in range(5):
        assert buf.put(_frame(i, clock)) is True
    got = buf.get(timeout=0)
    assert got.frame_id == 4
    assert buf.dropped == 4 and buf.delivered == 1
    assert buf.get(timeout=0.01) is None  # nothing stale left behind


def test_latest_never_blocks_the_producer():
    clock = FakeClock()
    buf = FrameBuffer(DropPolicy.LATEST, capacity=2)
    t0 = time.monotonic()
    for i in range(1000):
        buf.put(_frame(i, clock))
    assert time.monotonic() - t0 < 1.0
    assert [buf.get(0).frame_id, buf.get(0).frame_id] == [998, 999]
    assert buf.dropped == 998


def test_block_never_drops_and_preserves_order():
    clock = FakeClock()
    buf = FrameBuffer(DropPolicy.BLOCK, capacity=2)
    frames = [_frame(i, clock) for i in range(50)]

    def produce():
        for f in frames:
            assert buf.put(f)
        buf.close()

    t = threading.Thread(target=produce)
    t.start()
    got = []
    while (item := buf.get(timeout=2)) is not None:
        got.append(item.frame_id)
    t.join(2)
    assert got == list(range(50))
    assert buf.dropped == 0 and buf.delivered == 50 and buf.exhausted


def test_block_producer_waits_for_consumer():
    clock = FakeClock()
    buf = FrameBuffer(DropPolicy.BLOCK, capacity=1)
    assert buf.put(_frame(0, clock))
    assert buf.put(_frame(1, clock), timeout=0.05) is False  # full: would block
    assert len(buf) == 1 and buf.dropped == 0


def test_close_wakes_a_blocked_producer_and_reader():
    clock = FakeClock()
    buf = FrameBuffer(DropPolicy.BLOCK, capacity=1)
    buf.put(_frame(0, clock))
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("put", buf.put(_frame(1, clock))))
    t.start()
    time.sleep(0.05)
    buf.close()
    t.join(1)
    assert result["put"] is False
    assert buf.get(0).frame_id == 0  # what was buffered before the end is still delivered
    assert buf.get(1) is None and buf.exhausted


def test_close_discard_drops_pending_and_ends_immediately():
    clock = FakeClock()
    buf = FrameBuffer(DropPolicy.LATEST)
    buf.put(_frame(0, clock))
    buf.close(discard=True)
    assert buf.exhausted
    assert buf.put(_frame(1, clock)) is False
    t0 = time.monotonic()
    assert buf.get(timeout=5) is None
    assert time.monotonic() - t0 < 0.5


def test_get_times_out():
    buf = FrameBuffer(DropPolicy.LATEST)
    t0 = time.monotonic()
    assert buf.get(timeout=0.05) is None
    assert 0.04 <= time.monotonic() - t0 < 1.0
    assert not buf.exhausted


def test_policy_accepts_string_value():
    assert FrameBuffer("block").policy is DropPolicy.BLOCK
