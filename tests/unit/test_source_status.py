"""A camera's status keeps telling the truth while it is down and while it delivers (issue 13).

* After ``offline``, every reconnect attempt is still reported (the status carries the current
  attempt and next retry: it used to stay at "attempt 3, retry in 3.36 s" for good), while the
  log reports attempts at a bounded rate (1 to 5 each, then at most one line a minute).
* While frames arrive the current status is re-sent at a bounded rate with the newest frame's
  time, so the API's ``last_seen_at`` moves (it never did), and such a repeat does not fill the
  camera's history.
"""

from __future__ import annotations

import logging

import pytest

from inference.clock import FakeClock
from api.contract.wire import CameraState, CameraStatusEvent
from streams.sources.source import CameraSource, SourceOptions
from streams.sources.status import LOG_EVERY_ATTEMPT_UNTIL, REPEAT_LOG_INTERVAL_S, StatusTracker
from tests.support.media import make_h264_clip
from tests.support.procs import free_port
from tests.support.status_events import StatusRecorder

T0 = 1_795_000_000.0


def _attempt_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "streams.sources.source" and "attempt" in r.getMessage()]


def test_offline_camera_reports_every_attempt_and_logs_them_at_a_bounded_rate(caplog):
    clock = FakeClock(T0)  # the log's rate limit runs on it: no real minute has to pass
    rec = StatusRecorder()
    options = SourceOptions(backoff_initial_s=0.01, backoff_max_s=0.02, jitter_fraction=0.0, offline_after_failures=3,
                            open_timeout_s=2.0, read_timeout_s=2.0, hwaccel=None)
    src = CameraSource("cam-off", f"rtsp://127.0.0.1:{free_port()}/x", options=options, on_status=rec, clock=clock)
    caplog.set_level(logging.INFO, logger="streams.sources.source")
    src.start()
    try:
        events = rec.wait_until(lambda evs: sum(e.state is CameraState.OFFLINE for e in evs) >= 20)
        failures = [e for e in events if e.state is not CameraState.CONNECTING]
        # Each attempt is reported with its own number and retry, offline ones included.
        assert [e.attempt for e in failures] == list(range(1, len(failures) + 1))
        assert [e.state.value for e in failures[:4]] == ["reconnecting", "reconnecting", "offline", "offline"]
        assert all(e.retry_in_s is not None and 0 < e.retry_in_s <= 0.02 for e in failures)
        # ... but only attempts 1 to 5 were logged: no minute has passed on the camera's clock.
        lines = _attempt_lines(caplog)
        assert [int(line.split("(attempt ")[1].split(",")[0]) for line in lines] == list(range(1, LOG_EVERY_ATTEMPT_UNTIL + 1))
        clock.advance(REPEAT_LOG_INTERVAL_S + 1)
        seen = len(events)
        rec.wait_until(lambda evs: len(evs) > seen + 2)
        lines = _attempt_lines(caplog)
        assert len(lines) == LOG_EVERY_ATTEMPT_UNTIL + 1  # one more line for the new minute
        assert "earlier attempt(s) not logged" in lines[-1] and "camera cam-off offline: connection refused" in lines[-1]
    finally:
        assert src.stop(timeout=5)
    assert rec.events[-1].state is CameraState.STOPPED


def test_status_tracker_heartbeat_is_bounded_and_carries_the_newest_frame():
    clock = FakeClock(T0)
    sent: list[CameraStatusEvent] = []
    tracker = StatusTracker("cam", "file.mp4", sent.append, clock, str, details=lambda: {"corrupt_frames": 2},
                            heartbeat_s=15.0)
    tracker.set(CameraState.ONLINE)
    online = sent[-1]
    assert online.last_frame_at is None and online.details == {"url": "file.mp4", "corrupt_frames": 2}
    for i in range(1, 15):
        assert not tracker.frame(T0 + i)
    assert len(sent) == 1
    assert tracker.frame(T0 + 15.5)
    beat = sent[-1]
    # The same state, entered at the same time: only the frame time is new.
    assert (beat.state, beat.at, beat.reason, beat.last_frame_at) == (CameraState.ONLINE, online.at, None, T0 + 15.5)
    assert not tracker.frame(T0 + 20) and tracker.frame(T0 + 31)
    tracker.set(CameraState.STOPPED, "end of file")
    assert sent[-1].last_frame_at == T0 + 31  # transitions carry it too
    assert not tracker.frame(T0 + 100)  # nothing after stopped


def test_a_delivering_camera_moves_last_seen_at_in_the_api(client, tmp_path):
    from streams.delivery.api_client import ApiClient
    from streams.delivery.status import StatusReporter

    api = ApiClient("http://testserver")
    api._client = client  # the FastAPI TestClient is an httpx.Client
    reporter = StatusReporter(api)
    sent: list[CameraStatusEvent] = []

    def on_status(event: CameraStatusEvent) -> None:
        sent.append(event)
        reporter(event)
        reporter.flush()  # what the reporter thread does on every change

    clip = make_h264_clip(tmp_path / "clip.mp4", frames=30)
    # Paced at 15 fps for 2 s, a heartbeat at most every 0.5 s.
    src = CameraSource("cam-live", str(clip), options=SourceOptions(realtime=True, heartbeat_s=0.5, hwaccel=None),
                       on_status=on_status).start()
    while src.read(timeout=10) is not None:
        pass
    src.stop()
    beats = [e for e in sent if e.state is CameraState.ONLINE and e.last_frame_at is not None]
    assert 2 <= len(beats) <= 5
    body = client.get("/api/v1/cameras/cam-live").json()
    assert body["state"] == "stopped" and body["last_seen_at"] is not None
    assert body["last_seen_at"] > body["last_online_at"]
    assert [h["state"] for h in body["history"]] == ["stopped", "online", "connecting"]


@pytest.mark.parametrize("state", ["offline", "error"])
def test_offline_or_error_log_lines_say_the_attempt(state, caplog):
    clock = FakeClock(T0)
    tracker = StatusTracker("cam", "rtsp://x", None, clock, str)
    caplog.set_level(logging.INFO, logger="streams.sources.source")
    for attempt in range(1, 30):
        tracker.set(CameraState(state), "connection refused", attempt=attempt, retry_in_s=30.0, force=True)
        clock.advance(30.0)
    lines = _attempt_lines(caplog)
    # 1..5, then one a minute: attempts 7, 9, ... (every second 30-s retry)
    assert [int(line.split("(attempt ")[1].split(",")[0]) for line in lines][:7] == [1, 2, 3, 4, 5, 7, 9]
    assert tracker.attempt == 29 and tracker.retry_in_s == 30.0
