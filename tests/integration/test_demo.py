"""`gridsight demo`, the README's main job: work orders within a minute, Ctrl-C stops everything."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.support.procs import free_port
from tests.support.rtsp import requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_demo_files_orders_within_a_minute_and_ctrl_c_stops_it(tmp_path):
    api_port, rtsp_port = free_port(), free_port()
    log_path = tmp_path / "demo.out"
    with open(log_path, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "gridsight.cli", "demo", "--workdir", str(tmp_path / "demo"),
             "--api-port", str(api_port), "--rtsp-port", str(rtsp_port)],
            stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            started = time.monotonic()
            while time.monotonic() - started < 120:
                text = log_path.read_text(errors="replace")
                if text.count("NEW WORK ORDER") >= 2 or demo.poll() is not None:
                    break
                time.sleep(1)
            text = log_path.read_text(errors="replace")
            camera_up = text.index("RTSP camera up")
            assert text.count("NEW WORK ORDER") >= 2, text[-3000:]
            print(f"checked: 2 orders {time.monotonic() - started:.0f}s after start")
            demo.send_signal(signal.SIGINT)
            assert demo.wait(30) == 0, text[-3000:]
        finally:
            if demo.poll() is None:
                demo.send_signal(signal.SIGINT)
                try:
                    demo.wait(30)
                except subprocess.TimeoutExpired:
                    demo.kill()
    text = log_path.read_text(errors="replace")
    assert camera_up < text.index("NEW WORK ORDER")
    assert re.search(r"zone=west-kerb labels=\S*garbage_bag", text) and re.search(r"zone=east-kerb labels=\S*litter", text), text[-3000:]
    assert "demo stopping" in text
    assert not port_in_use(api_port) and not port_in_use(rtsp_port), "children outlived the demo"
