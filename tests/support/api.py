"""The one way the tests (and benchmarks/) start the API: ``gridsight serve`` as a child
process on a free loopback port, with its own database and evidence directory.

    with ApiServer(tmp_path) as api:                      # SQLite under tmp_path, dev mode (loopback)
        httpx.get(f"{api.url}/health")
    ApiServer(tmp_path, tokens=TOKENS)                     # tokens on, dev mode off
    ApiServer(tmp_path, redis_url=redis.url)               # with the Redis stream ingest inside it
    ApiServer(tmp_path, env={"GRIDSIGHT_MERGE_WINDOW": "PT0S"}, database_url=pg_url)

The child's environment is this process's without any ``GRIDSIGHT_*`` variable (so a
developer's shell cannot change what a test runs against), plus what is asked for.
``stop()`` then ``start()`` again keeps the port, database and evidence; every run
writes its own log (``logs/api-N.log`` under the work directory)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx

from gridsight.processes import ChildProcess, gridsight_argv, wait_http_ok
from tests.support.procs import free_port

STREAM = "gridsight:orders"  # the Redis stream the cluster tests' workers and API share
WEBHOOK_SECRET = secrets.token_urlsafe(24)  # a secured API refuses to start without one


class ApiServer:
    def __init__(self, workdir: Path, *, database_url: str | None = None, evidence_dir: Path | None = None,
                 tokens: dict | None = None, env: dict[str, str] | None = None, redis_url: str | None = None,
                 stream: str = STREAM, claim_idle_s: float = 5.0, cwd: Path | None = None,
                 log_level: str | None = None, ready_timeout_s: float = 60.0) -> None:
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{self.workdir / 'gridsight.db'}"
        self.evidence_dir = Path(evidence_dir) if evidence_dir else self.workdir / "evidence"
        self.cwd = Path(cwd) if cwd else None
        self.log_level = log_level
        self.ready_timeout_s = ready_timeout_s
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSIGHT_")}
        if self.cwd is not None:  # another checkout: its packages first on the path
            self.env["PYTHONPATH"] = str(self.cwd)
        if tokens is not None:
            self.env.update({"GRIDSIGHT_DEV_MODE": "false", "GRIDSIGHT_TOKENS": json.dumps(tokens),
                             "GRIDSIGHT_WEBHOOK_SECRET": WEBHOOK_SECRET})
        if redis_url is not None:
            self.env.update({"GRIDSIGHT_REDIS_URL": redis_url, "GRIDSIGHT_REDIS_STREAM": stream,
                             "GRIDSIGHT_INGEST_CLAIM_IDLE_S": str(claim_idle_s), "GRIDSIGHT_INGEST_BLOCK_MS": "500"})
        self.env.update(env or {})
        self.proc: ChildProcess | None = None
        self._runs = 0

    def argv(self) -> list[str]:
        args = ["--log-level", self.log_level] if self.log_level else []
        return gridsight_argv(*args, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                              "--database-url", self.database_url, "--evidence-dir", str(self.evidence_dir))

    def start(self) -> "ApiServer":
        """Start it and wait for ``/health`` to answer 200 (an exit or a timeout is an error with its log)."""
        self._runs += 1
        log = self.workdir / "logs" / f"api-{self._runs}.log"
        self.proc = ChildProcess("api", self.argv(), log, env=self.env, cwd=self.cwd).start()
        wait_http_ok(f"{self.url}/health", self.ready_timeout_s, self.proc)
        return self

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        """Ask it to stop (SIGINT: graceful), kill it if it does not; its exit status."""
        return self.proc.stop(sig) if self.proc is not None else None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive

    @property
    def pid(self) -> int:
        assert self.proc is not None and self.proc.proc is not None, "not started"
        return self.proc.proc.pid

    def log_text(self) -> str:
        """The current (latest) run's log."""
        return self.proc.log_text() if self.proc is not None else ""

    # -- reading it back ---------------------------------------------------------------------
    def client(self, token: str | None = None, timeout: float = 10) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def orders(self, **params) -> list[dict]:
        response = httpx.get(f"{self.url}/api/v1/work-orders", params={"limit": 200, **params}, timeout=10)
        response.raise_for_status()
        return response.json()["items"]

    def camera(self, camera_id: str) -> dict | None:
        response = httpx.get(f"{self.url}/api/v1/cameras/{camera_id}", timeout=10)
        return response.json() if response.status_code == 200 else None

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10).text

    def stored_orders(self, *columns: str) -> list[tuple]:
        """``columns`` of every stored order, read from the SQLite file itself (works while the API is down)."""
        assert self.database_url.startswith("sqlite:///"), "stored_orders reads a SQLite database"
        db = Path(self.database_url.removeprefix("sqlite:///"))
        if not db.exists():
            return []
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            return list(conn.execute(f"SELECT {', '.join(columns)} FROM work_orders ORDER BY id"))

    def stored_evidence(self, kind: str) -> list[tuple]:
        """(order's detected_at, the file's created_at) of every stored evidence file of ``kind``."""
        assert self.database_url.startswith("sqlite:///"), "stored_evidence reads a SQLite database"
        db = Path(self.database_url.removeprefix("sqlite:///"))
        if not db.exists():
            return []
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            return list(conn.execute("SELECT w.detected_at, e.created_at FROM evidence e JOIN work_orders w "
                                     "ON w.id = e.work_order_id WHERE e.kind = ? ORDER BY e.id", (kind,)))

    def stored_keys(self) -> list[str]:
        """Idempotency keys of every stored order."""
        return [key for (key,) in self.stored_orders("idempotency_key")]
