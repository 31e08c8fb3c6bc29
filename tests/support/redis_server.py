"""A private ``redis-server`` on a loopback port, for tests that stop and kill it.

Never touches the shared instance on 6379. With ``persistent=True`` it keeps an
append-only file fsynced on every write (``appendfsync always``), so a kill -9
and a restart on the same port lose nothing - the deployment's setting for
the stream (see docker-compose.yml).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from tests.support.procs import ServerProcess, free_port

REDIS_SERVER = shutil.which("redis-server")

requires_redis_server = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server on PATH")


class RedisServer(ServerProcess):
    name = "redis-server"

    def __init__(self, *, port: int | None = None, persistent: bool = False, workdir: Path | None = None) -> None:
        super().__init__(Path(workdir or tempfile.mkdtemp(prefix="gs-redis-")), "redis.log")
        self.port = port or free_port()
        self.persistent = persistent

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=5, **kwargs)

    def start(self, timeout_s: float = 10.0) -> "RedisServer":
        argv = [REDIS_SERVER or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", "--daemonize", "no", "--protected-mode", "yes"]
        argv += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self._spawn(argv, self._answers, timeout_s)
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGTERM: redis finishes writing its AOF and exits."""
        super().stop()

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
