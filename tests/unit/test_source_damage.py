"""Camera errors and damaged video are reported, not lost (issue 13, section 6).

* A file that cannot be opened ends in ``error`` with its reason, and stays there when the
  pipeline stops its source ("stopped by request" used to overwrite it within a millisecond).
* Frames FFmpeg flags corrupt (error concealment), frames predicted from them until the next
  key frame, and frames of packets the demuxer flags corrupt are counted and not analysed;
  above ``max_corrupt_ratio`` the camera is degraded (status reason, /health, metrics).
* A truncated file ends in ``error``, not in a healthy "end of file".

The damaged clips are made here: a PyAV-encoded clip with random bytes written over the
middle of one packet, and the same clip cut off halfway through a packet.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import av
import pytest

from inference.clock import FrameClock
from streams.backoff import Backoff
from api.contract.wire import CameraState
from streams.metrics import WorkerMetrics, pipeline_families
from streams.delivery.outbox import DurableOutbox, OutboxPusher
from streams.pipeline import CameraPipeline
from streams.sources.source import CameraSource, SourceOptions
from streams.delivery.status import StatusReporter
from streams.runtime import Worker, WorkerRuntime
from streams.worker import StaticCameras
from tests.support.media import damage_packet, make_corrupt_file, make_h264_clip, truncate_in_packet, video_packets
from tests.support.status_events import StatusRecorder

FRAMES, GOP, DAMAGED = 60, 30, 18  # packet 18 is a P-frame; the next key frame is 30


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("damage")
    clean = make_h264_clip(root / "clean.mp4", frames=FRAMES, gop=GOP)
    clean_ts = make_h264_clip(root / "clean.ts", frames=FRAMES, gop=GOP)
    return SimpleNamespace(
        clean=clean,
        middle=damage_packet(clean, root / "middle.mp4", DAMAGED),
        truncated=truncate_in_packet(clean, root / "truncated.mp4", 40),
        truncated_ts=truncate_in_packet(clean_ts, root / "truncated.ts", 40),
        unreadable=make_corrupt_file(root / "unreadable.mp4"),
    )


def run_file(path, *, analysis_fps=None, **options):
    rec = StatusRecorder()
    src = CameraSource("cam", str(path), analysis_fps=analysis_fps, options=SourceOptions(**options), on_status=rec)
    src.start()
    frames = []
    while (frame := src.read(timeout=10)) is not None:
        frames.append(frame)
    assert src.ended
    src.stop()  # what the pipeline does once its source has ended
    return src, frames, rec


def _decode_flags(path, thread_type=None):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if thread_type:
            stream.thread_type = thread_type
        return [frame.is_corrupt for packet in container.demux(stream) for frame in packet.decode()]


@pytest.mark.parametrize("thread_type", [None, "AUTO"])  # live sources decode with PyAV's default, files with AUTO
def test_pyav_flags_the_concealed_frame_as_corrupt(clips, thread_type):
    """Pins the library behaviour the source relies on: VideoFrame.is_corrupt (decode_error_flags or
    AV_FRAME_FLAG_CORRUPT) is set on the frame FFmpeg concealed, and only on it."""
    assert video_packets(clips.clean)[GOP][2] and not video_packets(clips.clean)[DAMAGED][2]
    assert not any(_decode_flags(clips.clean, thread_type))
    flags = _decode_flags(clips.middle, thread_type)
    assert len(flags) == FRAMES and [i for i, bad in enumerate(flags) if bad] == [DAMAGED]


def test_pyav_flags_the_packet_cut_short_by_truncation(clips):
    with av.open(str(clips.truncated)) as container:
        stream = container.streams.video[0]
        assert stream.frames == FRAMES  # the index (written first) still lists every frame
        packets = [p for p in container.demux(stream) if p.size]
    assert len(packets) == 41 and packets[-1].is_corrupt and not any(p.is_corrupt for p in packets[:-1])


def test_clean_file_has_no_corrupt_frames(clips):
    src, frames, rec = run_file(clips.clean)
    stats = src.stats()
    assert (stats["corrupt_frames"], stats["decode_errors"], len(frames)) == (0, 0, FRAMES)
    assert src.degraded_reason is None and src.state == "stopped"
    assert rec.events[-1].reason == "end of file"


def test_damaged_frames_are_counted_skipped_and_degrade_the_camera(clips):
    src, frames, rec = run_file(clips.middle)
    stats = src.stats()
    # The concealed frame and the P-frames predicted from it, up to the next key frame.
    damaged = set(range(DAMAGED, GOP))
    assert stats["corrupt_frames"] == len(damaged) and stats["frames_decoded"] == FRAMES
    assert [f.frame_id for f in frames] == [i for i in range(FRAMES) if i not in damaged]
    assert stats["corrupt_ratio"] == pytest.approx(len(damaged) / FRAMES, abs=1e-3)
    reason = src.degraded_reason
    assert reason is not None and "12 of 60 frames corrupt" in reason and "limit 5.0%" in reason
    assert stats["degraded"] == reason
    # Reported while online (the status' reason), and still said when the file has ended.
    online = [e for e in rec.events if e.state is CameraState.ONLINE]
    assert any(e.reason == reason for e in online)
    assert rec.events[-1].state is CameraState.STOPPED and reason in rec.events[-1].reason
    assert rec.events[-1].details["corrupt_frames"] == len(damaged)


def test_below_the_configured_ratio_the_camera_is_not_degraded(clips):
    src, frames, _rec = run_file(clips.middle, max_corrupt_ratio=0.25)
    assert src.stats()["corrupt_frames"] == GOP - DAMAGED and len(frames) == FRAMES - (GOP - DAMAGED)
    assert src.degraded_reason is None


def test_a_sampled_camera_takes_the_next_clean_frame_instead(clips):
    _src, frames, _rec = run_file(clips.middle, analysis_fps=5)
    ids = [f.frame_id for f in frames]
    assert not any(DAMAGED <= i < GOP for i in ids)
    assert GOP in ids  # the key frame that ends the damage is analysed at once


@pytest.mark.parametrize("name, reason", [
    ("truncated", "file truncated: its index lists 60 frames, its data ends in frame 41"),
    ("truncated_ts", "file truncated or damaged at its end"),  # no index: the last frame is cut short
])
def test_a_truncated_file_ends_in_error_and_stays_there(clips, name, reason):
    src, frames, rec = run_file(getattr(clips, name))
    assert 35 <= len(frames) <= 41  # what was there was analysed
    assert src.state == "error" and src.reason.startswith(reason), src.reason
    assert [e.state.value for e in rec.events if e.state is not CameraState.ONLINE] == ["connecting", "error"]


def test_an_unreadable_file_ends_in_error_through_the_pipeline_and_degrades_health(clips, tmp_path):
    rec = StatusRecorder()
    source = CameraSource("cam-bad", str(clips.unreadable), analysis_fps=2, on_status=rec)
    pipeline = CameraPipeline("cam-bad", source, None, None, [], FrameClock(), lambda key, payload: None)
    pipeline.run(threading.Event())  # returns once the source has ended; stops the source itself
    assert source.state == "error" and source.reason.startswith("invalid data")
    # No "stopped by request" after the error: that is what the API and /health used to see.
    assert [e.state.value for e in rec.events] == ["connecting", "error"]
    outbox = DurableOutbox(tmp_path / "spool")
    worker = Worker(WorkerRuntime(outbox, OutboxPusher(outbox, None, Backoff(0.5, 30.0)), None), StaticCameras([pipeline]))
    health = worker.health()
    assert health["status"] == "degraded" and health["cameras"] == {"cam-bad": "error"}
    assert "cam-bad" in health["degraded"]["cameras"]


def test_api_keeps_the_error_and_its_reason_for_an_unreadable_file(clips, client):
    """The status reporter forwards the latest status only: the error must be it."""
    from streams.delivery.api_client import ApiClient

    api = ApiClient("http://testserver")
    api._client = client  # the FastAPI TestClient is an httpx.Client
    reporter = StatusReporter(api)
    source = CameraSource("cam-bad", str(clips.unreadable), on_status=reporter)
    pipeline = CameraPipeline("cam-bad", source, None, None, [], FrameClock(), lambda key, payload: None)
    pipeline.run(threading.Event())
    reporter.flush()
    body = client.get("/api/v1/cameras/cam-bad").json()
    assert body["state"] == "error" and body["reason"].startswith("invalid data")
    assert body["last_error"] == body["reason"]


def test_damaged_video_is_in_health_and_metrics(clips, tmp_path):
    from streams.sources.source import damaged_video

    src, _frames, _rec = run_file(clips.middle)
    pipeline = CameraPipeline("cam-d", src, None, None, [], FrameClock(), lambda key, payload: None)
    outbox = DurableOutbox(tmp_path / "spool")
    health = Worker(WorkerRuntime(outbox, OutboxPusher(outbox, None, Backoff(0.5, 30.0)), None), StaticCameras([pipeline])).health()
    assert health["status"] == "degraded"
    assert health["degraded"]["video"].startswith("cam-d: damaged video: 12 of 60 frames corrupt")
    assert damaged_video([pipeline]) == health["degraded"]["video"]

    metrics = WorkerMetrics("w1")
    metrics.add_collector(lambda: pipeline_families([pipeline]))
    text = metrics.exposition().decode()
    assert 'gridsight_worker_corrupt_frames_total{camera="cam-d"} 12.0' in text
    assert 'gridsight_worker_video_damaged{camera="cam-d"} 1.0' in text
    assert 'gridsight_worker_corrupt_ratio{camera="cam-d"} 0.2' in text


def test_source_config_bounds_the_corrupt_ratio():
    from pydantic import ValidationError

    from streams.config import SourceConfig

    assert SourceConfig().max_corrupt_ratio == 0.05 and SourceConfig().corrupt_window_s == 60
    for bad in ({"max_corrupt_ratio": -0.1}, {"max_corrupt_ratio": 1.5}, {"corrupt_window_s": 0}):
        with pytest.raises(ValidationError):
            SourceConfig(**bad)
