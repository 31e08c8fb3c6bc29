"""The waits and ports only tests need (a timed-out wait is a test failure). Child
processes themselves are gridsight.processes.ChildProcess (the demo supervises its
children with it); the API as a child is tests/support/api.py."""

from __future__ import annotations

import socket
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.25, on_timeout=lambda: ""):
    """Poll ``predicate`` until it returns something truthy; return that, or fail saying what was awaited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}\n{on_timeout()}")


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback TCP port nobody listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
