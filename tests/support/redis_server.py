"""A private ``redis-server`` on a loopback port, for tests that stop and kill it.

Never touches the shared instance on 6379. With ``persistent=True`` it keeps an
append-only file fsynced on every write (``appendfsync always``), so a kill -9
and a restart on the same port lose nothing - the deployment's setting for
the stream (see docker-compose.yml).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from tests.support.procs import free_port

REDIS_SERVER = shutil.which("redis-server")

requires_redis_server = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server on PATH")


class RedisServer:
    def __init__(self, *, port: int | None = None, persistent: bool = False, workdir: Path | None = None) -> None:
        self.port = port or free_port()
        self.persistent = persistent
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="gs-redis-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=5, **kwargs)

    def start(self, timeout_s: float = 10.0) -> "RedisServer":
        argv = [REDIS_SERVER or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", "--daemonize", "no", "--protected-mode", "yes"]
        argv += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self._log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                if self.client().ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server on {self.port} not ready in {timeout_s:.0f}s: {self.log_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM: redis finishes writing its AOF and exits."""
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
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return (self.workdir / "redis.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
