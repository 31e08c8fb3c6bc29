"""Camera faults seen from outside: through the worker's log and the API's camera status."""

from __future__ import annotations

import json
import re
import signal

import httpx
import pytest

from tests.support.media import make_test_clip
from tests.support.procs import free_port, wait_until
from tests.support.rtsp import RtspServer, requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server]

CAMERA = "street-01"
FAST_SOURCE = {"open_timeout_s": 2, "read_timeout_s": 2, "backoff_initial_s": 0.3, "backoff_max_s": 1.0, "offline_after_failures": 3}


def frames_analysed(worker) -> int:
    counts = re.findall(r"'frames_analysed': (\d+)", worker.log_text())
    return int(counts[-1]) if counts else 0


def states(api, camera_id=CAMERA) -> list[str]:
    detail = api.camera(camera_id) or {}
    return [h["state"] for h in reversed(detail.get("history", []))]


def test_rtsp_server_stopped_mid_stream_then_restarted(tmp_path, api, start_worker):
    clip = make_test_clip(tmp_path / "loop.mp4", seconds=20, fps=15, size=(320, 240))
    with RtspServer({"/cam": clip}, loop=True) as rtsp:
        worker = start_worker(api.url, rtsp.url("/cam"), source=FAST_SOURCE)
        wait_until(lambda: "online" in states(api), 60, "camera online", on_timeout=worker.log_text)
        wait_until(lambda: frames_analysed(worker) > 0, 30, "analysis running", on_timeout=worker.log_text)
        rtsp.kill()
        print("injected: RTSP server killed mid-stream")
        wait_until(lambda: "reconnecting" in states(api), 30, "status reconnecting", on_timeout=worker.log_text)
        reason = next(h["reason"] for h in api.camera(CAMERA)["history"] if h["state"] == "reconnecting")
        assert reason, "a reconnect must say why"
        rtsp.start()
        print("injected: RTSP server restarted on the same port")
        wait_until(lambda: states(api)[-1:] == ["online"] and states(api).count("online") >= 2, 60, "back online", on_timeout=worker.log_text)
        analysed_before = frames_analysed(worker)
        wait_until(lambda: frames_analysed(worker) > analysed_before + 5, 30, "analysis resumed", on_timeout=worker.log_text)
        assert worker.alive
    print(f"checked: states {states(api)}")


def test_unreachable_camera_goes_offline_with_reason_and_worker_keeps_running(api, start_worker):
    secret = "s3cr3t-pw"
    url = f"rtsp://admin:{secret}@127.0.0.1:{free_port()}/nothing-here"
    worker = start_worker(api.url, url, source=FAST_SOURCE)
    detail = wait_until(lambda: (d := api.camera(CAMERA)) and d["state"] == "offline" and d, 60, "offline status", on_timeout=worker.log_text)
    print(f"injected: camera URL with nothing listening; status reason: {detail['reason']!r}")
    assert detail["reason"] and len(detail["reason"]) > 5
    assert worker.alive, "one dead camera must not stop the worker"
    everything = json.dumps(detail) + httpx.get(f"{api.url}/api/v1/cameras", timeout=5).text + worker.log_text()
    assert secret not in everything, "credentials leaked into status, API output or logs"
    assert "offline" in worker.log_text()
    assert worker.stop(signal.SIGINT, timeout_s=15) == 0, worker.log_text()[-2000:]
