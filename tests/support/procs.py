"""The waits and ports only tests need (a timed-out wait is a test failure). Child
processes themselves are gridsight.processes.ChildProcess (the demo supervises its
children with it); the API as a child is tests/support/api.py."""

from __future__ import annotations

import signal
import socket
import subprocess
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


class ServerProcess:
    """A server the tests start, stop (SIGTERM) and kill (SIGKILL) on a loopback port: its child
    process, its output in a log file under a work directory, and waiting until it answers.
    Subclasses build the command line and say what "answers" means."""

    name = "server"

    def __init__(self, workdir: Path, output_name: str) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self._output_path = self.workdir / output_name
        self._output = None

    def _spawn(self, argv: list[str], ready, timeout_s: float, error=RuntimeError) -> None:
        """Run ``argv``; return once ``ready()`` is true, raise ``error`` with the log's tail if it
        exits or is not ready within ``timeout_s`` (then it is killed)."""
        self._output = open(self._output_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self._output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise error(f"{self.name} exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            if ready():
                return
            time.sleep(0.05)
        self.kill()
        raise error(f"{self.name} on {self.port} not ready in {timeout_s:.0f}s: {self.log_text()[-2000:]}")

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: gone without a goodbye, like a crashed host."""
        self._end(signal.SIGKILL)

    def _end(self, sig) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._output is not None:
            self._output.close()
            self._output = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self._log_path().read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_path(self) -> Path:
        return self._output_path
