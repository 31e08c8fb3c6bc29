"""CameraSource against a real RTSP server (GstRtspServer subprocess) and real files.

Every wait here has an explicit deadline; the whole file runs in well under 90 s.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

import av
import pytest

from streams.sources.failures import describe_failure
from api.contract.wire import CameraState
from streams.sources.source import CameraSource, DropPolicy, SourceOptions
from tests.support.media import make_corrupt_file, make_test_clip
from tests.support.procs import free_port
from tests.support.rtsp import RtspServer, requires_rtsp_server
from tests.support.status_events import StatusRecorder

pytestmark = pytest.mark.integration

FAST = SourceOptions(open_timeout_s=2.0, read_timeout_s=2.0, backoff_initial_s=0.2,
                     backoff_max_s=1.0, jitter_fraction=0.2, offline_after_failures=3)


def read_frames(source: CameraSource, seconds: float) -> list:
    frames, deadline = [], time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        frame = source.read(timeout=min(remaining, 0.5))
        if frame is not None:
            frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def clip():
    return make_test_clip(seconds=4, fps=15, size=(320, 240))


@pytest.fixture(scope="module")
def server(clip):
    with RtspServer({"/street": clip}, loop=True) as srv:
        yield srv


@pytest.fixture
def sources():
    """Sources a test creates are always stopped, even when an assertion fails."""
    made: list[CameraSource] = []
    yield made
    for src in made:
        src.stop(timeout=5)


@requires_rtsp_server
def test_rtsp_online_and_frames_at_analysis_fps(server, sources):
    rec = StatusRecorder()
    src = CameraSource("cam-a", server.url("/street"), analysis_fps=5, options=FAST, on_status=rec)
    sources.append(src)
    assert src.policy is DropPolicy.LATEST
    src.start()
    rec.wait_for(CameraState.ONLINE, timeout=10)
    assert rec.states[:2] == ["connecting", "online"]
    read_frames(src, 1.0)  # skip the burst of frames buffered while ffmpeg probed the stream
    frames = read_frames(src, 3.0)
    assert 12 <= len(frames) <= 18, len(frames)  # ~5 fps for 3 s
    assert {f.camera_id for f in frames} == {"cam-a"}
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    assert frames[0].image.dtype.name == "uint8" and frames[0].image.shape == (240, 320, 3)
    ids = [f.frame_id for f in frames]
    assert ids == sorted(set(ids))
    assert all(2 <= b - a <= 4 for a, b in zip(ids, ids[1:])), ids  # every 3rd of 15 fps
    assert abs(frames[-1].captured_at - time.time()) < 2.0  # live: wall clock at receipt
    stats = src.stats()
    assert stats["state"] == "online" and stats["reconnects"] == 0
    assert stats["frames_decoded"] >= 3 * stats["frames_sampled"] - 3
    assert 10 <= stats["fps_in"] <= 20, stats
    t0 = time.monotonic()
    assert src.stop(timeout=5)
    assert time.monotonic() - t0 < 3.0
    assert rec.states[-1] == "stopped"
    assert src.ended and src.read(timeout=0.1) is None


@requires_rtsp_server
def test_rtsp_server_restart_reconnects(clip, sources):
    with RtspServer({"/street": clip}, loop=True) as srv:
        rec = StatusRecorder()
        src = CameraSource("cam-b", srv.url("/street"), analysis_fps=5, options=FAST,
                           on_status=rec)
        sources.append(src)
        src.start()
        rec.wait_for(CameraState.ONLINE, timeout=10)
        before = read_frames(src, 1.0)
        assert before

        n = len(rec.events)
        srv.stop()  # mid-stream
        event = rec.wait_for(CameraState.RECONNECTING, timeout=5, after=n)
        assert event.reason and event.attempt == 1 and event.retry_in_s is not None
        assert "stream ended" in event.reason or "timed out" in event.reason, event.reason
        read_frames(src, 0.5)  # drain what was decoded before the drop

        srv.start()  # same port
        rec.wait_for(CameraState.ONLINE, timeout=10, after=n)
        after = read_frames(src, 1.5)
    assert after, rec.states
    assert after[0].frame_id > before[-1].frame_id  # frame ids continue across reconnects
    assert src.stats()["reconnects"] >= 1


@requires_rtsp_server
def test_stalled_stream_hits_read_timeout_and_recovers(clip, sources):
    """The server freezes (SIGSTOP) with the TCP connection still open: no EOF ever comes,
    only the read timeout can notice."""
    opts = SourceOptions(open_timeout_s=1.5, read_timeout_s=1.5, backoff_initial_s=0.2,
                         backoff_max_s=0.5, offline_after_failures=5)
    with RtspServer({"/street": clip}, loop=True) as srv:
        rec = StatusRecorder()
        src = CameraSource("cam-t", srv.url("/street"), analysis_fps=5, options=opts,
                           on_status=rec)
        sources.append(src)
        src.start()
        rec.wait_for(CameraState.ONLINE, timeout=10)
        read_frames(src, 0.5)
        n = len(rec.events)
        os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            event = rec.wait_for(CameraState.RECONNECTING, timeout=6, after=n)
            assert event.reason == "no data for 1.5 s (read timeout)"
            read_frames(src, 0.3)
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        rec.wait_for(CameraState.ONLINE, timeout=10, after=n)
        assert read_frames(src, 1.0)


@requires_rtsp_server
@pytest.mark.parametrize("kind", ["refused", "not_found"])
def test_unreachable_goes_offline_and_stops_promptly(kind, server, sources):
    if kind == "refused":
        url, expected = f"rtsp://127.0.0.1:{free_port()}/street", "connection refused"
    else:
        url, expected = server.url("/no-such-camera"), "404 Not Found"
    rec = StatusRecorder()
    src = CameraSource("cam-c", url, analysis_fps=5, options=FAST, on_status=rec)
    sources.append(src)
    src.start()
    offline = rec.wait_for(CameraState.OFFLINE, timeout=10)
    assert offline.reason == expected
    assert offline.attempt == FAST.offline_after_failures
    assert rec.states[:4] == ["connecting", "reconnecting", "reconnecting", "offline"]
    assert src.read(timeout=0.3) is None
    assert not src.ended  # still retrying in the background
    time.sleep(1.5)
    assert src.stats()["reconnects"] > FAST.offline_after_failures  # kept retrying
    # Every attempt is reported with its number (the status used to stay at attempt 3 for good).
    offline_attempts = [e.attempt for e in rec.events if e.state is CameraState.OFFLINE]
    assert offline_attempts == list(range(3, 3 + len(offline_attempts))) and len(offline_attempts) >= 2
    t0 = time.monotonic()
    assert src.stop(timeout=5)
    assert time.monotonic() - t0 < 1.5
    assert rec.states[-1] == "stopped"


def test_silent_server_times_out_and_stop_is_bounded(sources):
    """A peer that accepts TCP but never answers must not hang the reader."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        port = listener.getsockname()[1]
        opts = SourceOptions(open_timeout_s=1.0, read_timeout_s=1.0, backoff_initial_s=0.1,
                             backoff_max_s=0.2, offline_after_failures=2)
        rec = StatusRecorder()
        src = CameraSource("cam-s", f"rtsp://admin:s3cret@127.0.0.1:{port}/x", options=opts,
                           on_status=rec)
        sources.append(src)
        t0 = time.monotonic()
        src.start()
        first = rec.wait_for(CameraState.RECONNECTING, timeout=6)
        assert first.reason == "timed out after 1.0 s opening stream"
        assert 0.9 <= time.monotonic() - t0 < 3.0
        assert rec.wait_for(CameraState.OFFLINE, timeout=6).reason == first.reason
        # stop while the reader is blocked inside av.open: bounded by the open timeout
        t0 = time.monotonic()
        assert src.stop(timeout=3)
        assert time.monotonic() - t0 < 1.6
    finally:
        listener.close()


def test_corrupt_file_reports_error_without_frames(tmp_path, sources):
    bad = make_corrupt_file(tmp_path / "corrupt.mp4")
    rec = StatusRecorder()
    src = CameraSource("cam-d", str(bad), analysis_fps=5, options=FAST, on_status=rec)
    sources.append(src)
    src.start()
    error = rec.wait_for(CameraState.ERROR, timeout=5)
    assert error.reason.startswith("invalid data"), error.reason
    assert src.read(timeout=2) is None
    assert src.ended
    assert src.stats()["frames_decoded"] == 0 and "online" not in rec.states


@requires_rtsp_server
def test_credentials_never_leak(server, sources, caplog):
    caplog.set_level(logging.DEBUG)
    secret_user, secret_pw = "admin", "s3cret"
    urls = {
        "ok": server.url("/street", secret_user, secret_pw),
        "404": server.url("/nope", secret_user, secret_pw),
        "refused": f"rtsp://{secret_user}:{secret_pw}@127.0.0.1:{free_port()}/x",
    }
    # Sanity: PyAV itself does put the password in its exception text.
    with pytest.raises(av.error.HTTPNotFoundError) as raw:
        av.open(urls["404"], options={"rtsp_transport": "tcp"}, timeout=(2, 2))
    assert secret_pw in str(raw.value)
    reason = describe_failure(raw.value, phase="open", elapsed_s=0.0, timeout_s=2.0,
                              url=urls["404"]).reason
    assert reason == "404 Not Found"

    recs = {}
    for name, url in urls.items():
        recs[name] = StatusRecorder()
        src = CameraSource(f"cam-{name}", url, analysis_fps=5, options=FAST, on_status=recs[name])
        sources.append(src)
        src.start()
        assert secret_pw not in repr(src) and secret_pw not in src.display_url
    recs["ok"].wait_for(CameraState.ONLINE, timeout=10)
    recs["404"].wait_for(CameraState.OFFLINE, timeout=10)
    recs["refused"].wait_for(CameraState.OFFLINE, timeout=10)
    texts = [str(s.stats()) + repr(s) for s in sources]
    for src in list(sources):
        src.stop(timeout=5)
    for rec in recs.values():
        for event in rec.events:
            texts.append(str(event.to_dict()))
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    assert any("***:***@" in t for t in texts)  # the URLs were there, redacted
    for text in texts:
        assert secret_pw not in text, text
        assert f"{secret_user}:" not in text, text


def test_file_block_mode_delivers_every_sampled_frame_and_ends(clip, sources):
    rec = StatusRecorder()
    src = CameraSource("cam-f", str(clip), analysis_fps=5, options=FAST, on_status=rec)
    sources.append(src)
    assert src.policy is DropPolicy.BLOCK
    t_open = time.time()
    src.start()
    frames = []
    deadline = time.monotonic() + 20
    while not src.ended and time.monotonic() < deadline:
        frame = src.read(timeout=1)
        if frame is not None:
            frames.append(frame)
            time.sleep(0.02)  # a slow consumer: BLOCK makes the reader wait, not drop
    assert src.ended
    assert abs(len(frames) - 4 * 5) <= 1, len(frames)
    assert [f.frame_id for f in frames][:4] == [0, 3, 6, 9]
    gaps = {round(b.captured_at - a.captured_at, 3) for a, b in zip(frames, frames[1:])}
    assert gaps == {0.2}  # open time + pts: a consistent clock, not decode speed
    assert t_open - 1 <= frames[0].captured_at <= t_open + 2
    stats = src.stats()
    assert stats["frames_dropped"] == 0 and stats["frames_delivered"] == len(frames)
    assert stats["frames_decoded"] == 60
    rec.wait_for(CameraState.STOPPED, timeout=2)
    assert rec.states == ["connecting", "online", "stopped"]
    assert rec.events[-1].reason == "end of file"


def test_file_realtime_loop_and_latest_drops(tmp_path, sources):
    short = make_test_clip(tmp_path / "short.mp4", seconds=1, fps=15)
    opts = SourceOptions(realtime=True, loop=True, drop_policy=DropPolicy.LATEST)
    src = CameraSource("cam-g", str(short), analysis_fps=None, options=opts)
    sources.append(src)
    src.start()
    t0 = time.monotonic()
    frames = []
    while time.monotonic() - t0 < 2.5:
        frame = src.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
            time.sleep(0.15)  # slower than 15 fps: LATEST must drop, not queue up
    stats = src.stats()
    # Paced at native rate: ~37 decoded in 2.5 s (not the thousands a fast decode gives),
    # across more than one pass of the 15-frame clip.
    assert 25 <= stats["frames_decoded"] <= 45, stats
    assert stats["frames_dropped"] > 0 and not src.ended
    assert all(b.captured_at > a.captured_at for a, b in zip(frames, frames[1:]))
    assert all(b.frame_id > a.frame_id for a, b in zip(frames, frames[1:]))
