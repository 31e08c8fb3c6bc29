"""`gridsight demo`, the README's main job: work orders within a minute, Ctrl-C stops everything;
the dashboard's address printed; every repeat and END shown; the database kept for the next run
and removed by --fresh (issue 17, points 2, 6 and 7)."""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from gridsight.demo.feed import EventFeed, FeedPrinter
from tests.support.api import ApiServer
from tests.support.orders import order_body
from tests.support.procs import free_port, wait_until
from tests.support.rtsp import requires_rtsp_server

pytestmark = [pytest.mark.integration]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Demo:
    """One `gridsight demo` run in a subprocess, its terminal output in a file."""

    def __init__(self, tmp_path, name: str, *args: str) -> None:
        self.api_port, self.rtsp_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.out_path = tmp_path / f"{name}.out"
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gridsight.cli", "demo", "--workdir", str(tmp_path / "demo"),
             "--api-port", str(self.api_port), "--rtsp-port", str(self.rtsp_port), *args],
            stdout=self._out, stderr=subprocess.STDOUT,
        )
        self.started = time.monotonic()

    @property
    def text(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_for(self, pattern: str, count: int = 1, timeout_s: float = 120) -> str:
        def seen():
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo exited with {self.proc.returncode}:\n{self.text[-3000:]}")
            return len(re.findall(pattern, self.text)) >= count

        wait_until(seen, timeout_s, f"{count} x {pattern!r} in the demo's output", poll_s=0.5,
                   on_timeout=lambda: self.text[-3000:])
        return self.text

    def interrupt(self) -> str:
        """Ctrl-C; it must exit 0 with its children gone."""
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(30) == 0, self.text[-3000:]
        assert not port_in_use(self.api_port) and not port_in_use(self.rtsp_port), "children outlived the demo"
        return self.text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._out.close()


COUNTS = r"\d+ order\(s\), \d+ repeat\(s\) merged into open orders, \d+ END\(s\)"


def said_alike(text: str) -> str:
    """The demo's count of this run and the worker's own last line say the same, in the same words."""
    demo = re.search(rf"demo stopping; this run: ({COUNTS})", text)
    worker = re.search(rf"worker: delivered this run ({COUNTS})", text)
    assert demo and worker and demo.group(1) == worker.group(1), text[-2000:]
    return demo.group(1)


def _first_run(tmp_path) -> str:
    """Two orders within a minute, the dashboard's pages answering, Ctrl-C."""
    demo = Demo(tmp_path, "run-1")
    try:
        demo.wait_for("NEW WORK ORDER", 2)
        print(f"checked: 2 orders {time.monotonic() - demo.started:.0f}s after start")
        text = demo.text
        for url in (f"{demo.api_url}/dashboard", f"{demo.api_url}/dashboard/live"):
            assert url in text, text[-3000:]
            assert httpx.get(url, timeout=10).status_code == 200, url
        assert f"open it: {demo.api_url}/dashboard/orders/1" in text
        return demo.interrupt()
    finally:
        demo.close()


@requires_rtsp_server
def test_demo_files_orders_keeps_them_for_the_next_run_and_fresh_removes_them(tmp_path):
    text = _first_run(tmp_path)
    db = tmp_path / "demo" / "gridsight.db"
    assert f"database: {db} (new; kept for the next run)" in text
    assert text.index("dashboard: ") < text.index("RTSP camera up") < text.index("NEW WORK ORDER")
    assert re.search(r"zone=west-kerb labels=\S*garbage_bag", text) and re.search(r"zone=east-kerb labels=\S*litter", text), text[-3000:]
    assert said_alike(text).startswith("2 order(s), 0 repeat(s)")  # the rules' cooldown: no repeat in one run
    with sqlite3.connect(db) as conn:
        first_events = {row[0] for row in conn.execute("SELECT event_id FROM work_orders")}
    assert len(first_events) == 2

    # Run 2, same workdir: the orders are still there, the clip's objects are repeats of them, and
    # when the clip loops the camera's ENDs are shown too.
    demo = Demo(tmp_path, "run-2")
    try:
        demo.wait_for(re.escape(f"database kept: {db} with 2 work order(s) from earlier runs"), timeout_s=60)
        demo.wait_for(r"\d\d:\d\d:\d\d repeat +GS-\S+: seen again in (west|east)-kerb", 2, timeout_s=90)
        demo.wait_for(r"\d\d:\d\d:\d\d END +GS-\S+: the camera sees (west|east)-kerb empty again", 2, timeout_s=90)
        text = demo.interrupt()
    finally:
        demo.close()
    assert "NEW WORK ORDER" not in text, "a kept open order takes the repeats"
    assert said_alike(text) == "0 order(s), 2 repeat(s) merged into open orders, 2 END(s)"

    # Run 3 with --fresh: it says what it removed, and the first runs' orders are gone.
    demo = Demo(tmp_path, "run-3", "--fresh")
    try:
        text = demo.wait_for("worker started", timeout_s=60)
        demo.interrupt()
    finally:
        demo.close()
    assert "fresh start: removed gridsight.db" in text and "evidence/" in text and "spool/" in text, text
    assert f"database: {db} (new; kept for the next run)" in text
    with sqlite3.connect(db) as conn:
        left = {row[0] for row in conn.execute("SELECT event_id FROM work_orders")}
    assert not left & first_events


def test_the_demo_feed_prints_what_operators_do_on_the_dashboard(tmp_path):
    """The feed the demo follows (the API's SSE) against a real API: a repeat, an END and a move."""
    with ApiServer(tmp_path) as api:
        feed = EventFeed(api.url).start()
        try:
            first = order_body(event_id="evt-1", detected_at="2026-12-02T10:00:00+08:00")
            order = httpx.post(f"{api.url}/api/v1/work-orders", json=first, headers={"Idempotency-Key": "demo-feed-1"}).raise_for_status().json()
            repeat = order_body(event_id="evt-2", detected_at="2026-12-02T10:05:00+08:00")
            httpx.post(f"{api.url}/api/v1/work-orders", json=repeat, headers={"Idempotency-Key": "demo-feed-2"}).raise_for_status()
            end = {"event_id": "evt-1", "camera_id": "cam-01", "zone_id": "zone-a", "rule_id": "exposed-garbage",
                   "ended_at": "2026-12-02T10:10:00+08:00"}
            httpx.post(f"{api.url}/api/v1/events/end", json=end, headers={"Idempotency-Key": "demo-feed-3"}).raise_for_status()
            httpx.post(f"{api.url}/api/v1/work-orders/{order['id']}/transitions", json={"to": "filed"}).raise_for_status()
            printer, printed = FeedPrinter(api.url), []
            wait_until(lambda: printed.extend(printer.show(m) for m in feed.drain()) or len(printed) >= 4, 20,
                       "4 feed messages", on_timeout=lambda: "\n".join(printed))
        finally:
            feed.stop()
    created, merged, ended, moved = printed
    no = order["order_no"]
    assert f">>> NEW WORK ORDER {no}" in created
    assert f"repeat     {no}: seen again in zone-a" in merged
    assert f"END        {no}: the camera sees zone-a empty again; recorded on the order, which does not change" in ended
    assert f"status     {no}: detected -> filed by" in moved
    assert printer.summary().startswith("1 order(s), 1 repeat(s) merged into open orders, 1 END(s)")
