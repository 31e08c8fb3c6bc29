"""streams.evidence_buffer: the bounded frame buffer and the per-event evidence
recorder (key, before, after frames and the clip), on synthetic frames whose grey
level tells which moment they show."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import cv2
import numpy as np
import pytest

from inference.detections import Detections
from inference.frames import VideoFrame
from streams.evidence_buffer import EvidenceRecorder, EvidenceSettings, FrameRingBuffer
from tests.support.evidence_frames import BAG, FPS, PERSON, T0, ZONE, frame, grey


@dataclass(frozen=True)
class Event:
    """The fields the recorder reads of a rule's START (inference.rules.RuleEvent)."""

    event_id: str
    started_at: float
    track_ids: tuple[int, ...]
    detections: Detections
    before_at: float | None = None
    actor_track_ids: tuple[int, ...] = ()


def level_at_left_edge(jpeg: bytes) -> int:
    """Grey level of a patch outside the zone, the boxes and the caption banner."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    h, w = image.shape[:2]
    return int(image[h // 2 - 5: h // 2 + 5, w // 40: w // 40 + 10].mean())


def test_buffer_keeps_pre_s_of_every_frame_and_a_sparse_history_bounded_in_time() -> None:
    settings = EvidenceSettings(pre_s=4, history_s=20, history_step_s=5)
    buffer = FrameRingBuffer(settings)
    for i in range(60 * FPS):  # a minute of stream
        buffer.add(frame(i, (320, 180)), Detections.empty())
    newest = T0 + (60 * FPS - 1) / FPS
    recent = buffer.recent(newest - settings.pre_s)
    assert len(recent) == 4 * FPS + 1 and recent[0].captured_at == newest - 4
    # The sparse history: one frame per 5 s, nothing older than 20 s.
    assert len(buffer) - len(recent) == 4
    oldest = buffer.closest(T0)
    assert oldest.captured_at >= newest - settings.history_s


def test_buffer_is_bounded_in_bytes_and_stores_downscaled_jpeg() -> None:
    rng = np.random.default_rng(1)
    settings = EvidenceSettings(pre_s=4, max_buffer_bytes=1_000_000)
    buffer = FrameRingBuffer(settings)
    for i in range(20 * FPS):
        noisy = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)  # worst case for JPEG
        buffered = buffer.add(VideoFrame(noisy, i, T0 + i / FPS, "cam-1"), Detections.empty())
        assert buffer.nbytes <= settings.max_buffer_bytes or len(buffer) == 1
    assert buffered.scale == 0.5 and buffered.image().shape == (540, 960, 3)
    assert buffered.nbytes < noisy.nbytes / 4
    assert 1 <= len(buffer) < 4 * FPS + 1  # the byte cap, not pre_s, was the bound here


def test_before_frame_is_the_buffered_one_closest_to_before_at() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=4, post_s=0))
    for i in range(12 * FPS + 1):
        recorder.observe(frame(i), BAG)
    key = frame(12 * FPS)
    event = Event("e1", started_at=T0 + 8, track_ids=(7,), detections=BAG, before_at=T0 + 9.5)
    [evidence] = recorder.open(event, zone=ZONE, frame=key, tracked=BAG, caption="cam-1 / litter")
    before = dict((i.kind, i.data) for i in evidence.items)["before"]
    assert abs(level_at_left_edge(before) - grey(int(9.5 * FPS))) <= 2


def test_before_frame_defaults_to_a_few_seconds_before_started_at_from_the_history() -> None:
    # A 30 s dwell: started_at lies far beyond the 4 s pre-roll, in the sparse history.
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=4, post_s=0, history_step_s=2, before_lead_s=3))
    for i in range(40 * FPS + 1):
        recorder.observe(frame(i), BAG)
    event = Event("e1", started_at=T0 + 10, track_ids=(7,), detections=BAG)
    [evidence] = recorder.open(event, zone=ZONE, frame=frame(40 * FPS), tracked=BAG, caption="c")
    before = dict((i.kind, i.data) for i in evidence.items)["before"]
    chosen = round((level_at_left_edge(before) - 20) / 3)  # grey() back to the frame index
    assert abs(chosen / FPS - 7.0) <= 1.0, f"before frame at {chosen / FPS} s, wanted ~7 s (step 2 s)"


def collect(recorder: EvidenceRecorder, event: Event, start: int, stop: int, tracked=BAG):
    """Observe frames up to ``start``, open the event on it, observe on to ``stop``; what came back."""
    for i in range(start + 1):
        recorder.observe(frame(i), tracked)
    done = recorder.open(event, zone=ZONE, frame=frame(start), tracked=tracked, caption="cam-1 / litter / 06010")
    for i in range(start + 1, stop + 1):
        done += recorder.observe(frame(i), tracked)
    return done


def test_clip_spans_pre_and_post_window_decodes_and_stays_small() -> None:
    settings = EvidenceSettings(pre_s=4, post_s=3)
    recorder = EvidenceRecorder(settings)
    event = Event("e1", started_at=T0 + 4, track_ids=(7,), detections=BAG, actor_track_ids=(3,))
    tracked = Detections.merge([BAG, PERSON])
    start = 10 * FPS
    done = collect(recorder, event, start, start + 3 * FPS - 1, tracked)
    assert done == [] and recorder.pending_ids == ["e1"], "must wait for post_s of stream time"
    [evidence] = recorder.observe(frame(start + 3 * FPS), tracked)
    assert evidence.post_window_seen and evidence.kinds == ["snapshot", "frame", "before", "after", "clip"]
    assert recorder.pending_ids == []
    items = {i.kind: i for i in evidence.items}
    assert all(items[k].content_type == "image/jpeg" and items[k].data[:3] == b"\xff\xd8\xff" for k in ("snapshot", "before", "after"))
    assert abs(level_at_left_edge(items["after"].data) - grey(start + 3 * FPS)) <= 2
    key = cv2.imdecode(np.frombuffer(items["snapshot"].data, np.uint8), cv2.IMREAD_COLOR)
    for x, y in ((900, 560), (100, 450)):  # left edges of the bag and of the person who left it (an actor)
        b, g, r = (int(v) for v in key[y, x])
        assert r > 180 and g < 80 and b < 80, (x, y, (b, g, r))

    clip = items["clip"]
    assert clip.content_type == "video/mp4" and clip.data[4:8] == b"ftyp"
    assert len(clip.data) <= settings.max_clip_bytes
    expected_frames = 4 * FPS + 1 + 3 * FPS  # pre-roll including the key frame, then post_s
    assert evidence.clip_frames == expected_frames
    with av.open(io.BytesIO(clip.data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        decoded = list(container.decode(stream))
        duration_s = container.duration / av.time_base
    assert len(decoded) == expected_frames
    assert decoded[0].format.name == "yuv420p"
    assert (decoded[0].width, decoded[0].height) == (640, 360)
    # 7 s of stream, plus the last frame's own quarter second.
    assert duration_s == pytest.approx(7.25, abs=0.05)
    # Drawn on: the zone is tinted amber, the key frame is in there.
    middle = decoded[4 * FPS].to_ndarray(format="bgr24")
    assert abs(int(middle[300, 600, 2]) - int(middle[300, 600, 0])) > 10  # inside the zone: not grey any more
    assert abs(int(middle[180, 20].mean()) - grey(start)) <= 4


def test_clip_of_odd_sized_frames_gets_even_dimensions() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=1, post_s=1))
    event = Event("e1", started_at=T0, track_ids=(7,), detections=BAG)
    for i in range(2 * FPS):
        recorder.observe(frame(i, (1279, 719)), BAG)
    recorder.open(event, zone=ZONE, frame=frame(2 * FPS - 1, (1279, 719)), tracked=BAG, caption="c")
    [evidence] = recorder.flush()
    clip = next(i for i in evidence.items if i.kind == "clip")
    with av.open(io.BytesIO(clip.data)) as container:
        first = next(container.decode(video=0))
    assert first.width % 2 == 0 and first.height % 2 == 0 and first.width == 640


def test_flush_sends_what_was_collected() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3))
    event = Event("e1", started_at=T0 + 1, track_ids=(7,), detections=BAG)
    assert collect(recorder, event, 4 * FPS, 4 * FPS + 2) == []
    [evidence] = recorder.flush()
    assert not evidence.post_window_seen
    assert evidence.kinds == ["snapshot", "frame", "before", "after", "clip"]
    assert evidence.clip_frames == 2 * FPS + 1 + 2
    assert recorder.flush() == [] and recorder.pending_ids == []


def test_without_waiting_there_is_no_after_frame_and_the_clip_is_the_pre_roll() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3))
    for i in range(4 * FPS + 1):
        recorder.observe(frame(i), BAG)
    event = Event("e1", started_at=T0 + 1, track_ids=(7,), detections=BAG)
    [evidence] = recorder.open(event, zone=ZONE, frame=frame(4 * FPS), tracked=BAG, caption="c", wait=False)
    assert evidence.kinds == ["snapshot", "frame", "before", "clip"] and evidence.clip_frames == 2 * FPS + 1
    assert recorder.pending_ids == []


def test_clip_later_makes_every_file_but_the_clip_and_then_the_same_clip() -> None:
    def emergency():
        recorder = EvidenceRecorder(EvidenceSettings(pre_s=2, post_s=3))
        for i in range(4 * FPS + 1):
            recorder.observe(frame(i), BAG)
        event = Event("e1", started_at=T0 + 1, track_ids=(7,), detections=BAG)
        [evidence] = recorder.open(event, zone=ZONE, frame=frame(4 * FPS), tracked=BAG, caption="c", wait=False)
        return evidence

    whole, split = emergency().build(), emergency().build(clip_later=True)
    assert split.kinds == ["snapshot", "frame", "before"]
    clip = split.build_clip()
    assert clip is not None and clip.kind == "clip" and clip.content_type == "video/mp4"
    with av.open(io.BytesIO(clip.data)) as container:
        frames = len(list(container.decode(video=0)))
    assert frames == whole.clip_frames == 2 * FPS + 1
    assert whole.build_clip() is None, "a clip made with the files is not made twice"


def test_a_stalled_stream_sends_after_post_s_plus_stall_s_of_wall_time() -> None:
    wall = [100.0]
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=1, post_s=3, stall_s=10), wall_clock=lambda: wall[0])
    event = Event("e1", started_at=T0, track_ids=(7,), detections=BAG)
    collect(recorder, event, 2 * FPS, 2 * FPS + 1)
    wall[0] += 12.9
    assert recorder.overdue() == []
    wall[0] += 0.2
    [evidence] = recorder.overdue()
    assert evidence.event is event and not evidence.post_window_seen


def test_a_stream_that_jumps_forward_does_not_put_the_far_frame_in_the_clip() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=1, post_s=3, stall_s=10))
    event = Event("e1", started_at=T0, track_ids=(7,), detections=BAG)
    collect(recorder, event, 2 * FPS, 2 * FPS + 1)
    [evidence] = recorder.observe(frame(2 * FPS + 60 * FPS), BAG)  # back after a minute offline
    assert evidence.clip_frames == FPS + 1 + 1
    after = next(i for i in evidence.items if i.kind == "after")
    assert abs(level_at_left_edge(after.data) - grey(2 * FPS + 1)) <= 2


def test_collections_are_bounded_the_oldest_goes_out_early() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=1, post_s=30, max_pending=2))
    for i in range(FPS):
        recorder.observe(frame(i), BAG)
    sent = []
    for n in range(3):
        sent += recorder.open(Event(f"e{n}", T0, (7,), BAG), zone=ZONE, frame=frame(FPS - 1), tracked=BAG, caption="c")
    assert [e.event.event_id for e in sent] == ["e0"] and recorder.pending_ids == ["e1", "e2"]


def test_finish_sends_one_event_now() -> None:
    recorder = EvidenceRecorder(EvidenceSettings(pre_s=1, post_s=3))
    collect(recorder, Event("e1", T0, (7,), BAG), FPS, FPS + 1)
    assert recorder.finish("unknown") == []
    [evidence] = recorder.finish("e1")
    assert evidence.event.event_id == "e1" and recorder.pending_ids == []


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        EvidenceSettings(post_s=-1)
    with pytest.raises(ValueError):
        EvidenceSettings(max_pending=0)
