"""Process helpers for the tests: the demo's child-process supervision plus the
waits and ports only tests need (a timed-out wait is a test failure)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from gridsight.processes import (  # noqa: F401 (tests import them from here)
    SYSTEM_PYTHON,
    ChildProcess,
    gridsight_argv,
    system_python_env,
    wait_http_ok,
)

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
