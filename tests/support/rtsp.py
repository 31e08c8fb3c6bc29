"""Start/stop the real RTSP test server (gridsight/demo/rtsp_server.py) from tests.

The server needs Debian's python (gi + GstRtspServer); the venv has no gi, so it
always runs as a ``/usr/bin/python3`` subprocess. Usage::

    with RtspServer({"/street": clip}) as server:
        url = server.url("/street")                    # rtsp://127.0.0.1:PORT/street
        url = server.url("/street", "admin", "s3cret")  # with credentials
        server.stop()    # or kill(): the clients see the stream end
        server.start()   # same port again
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from gridsight.processes import SYSTEM_PYTHON, system_python_env
from tests.support.procs import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "gridsight" / "demo" / "rtsp_server.py"




def rtsp_server_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = ("import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer")
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


requires_rtsp_server = pytest.mark.skipif(
    not rtsp_server_available(), reason="needs /usr/bin/python3 with gi + GstRtspServer"
)


class RtspServerError(RuntimeError):
    pass


class RtspServer:
    def __init__(self, mounts: dict[str, str | os.PathLike], *, port: int | None = None,
                 loop: bool = True, host: str = "127.0.0.1", ready_timeout_s: float = 20.0):
        self.mounts = {m: Path(p) for m, p in mounts.items()}
        self.host = host
        self.port = port or free_port(host)
        self.loop = loop
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen | None = None
        self._stderr = None

    # -- URLs ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"rtsp://{self.host}:{self.port}"

    def url(self, mount: str, user: str | None = None, password: str | None = None) -> str:
        creds = ""
        if user is not None:
            creds = f"{user}:{password}@" if password is not None else f"{user}@"
        return f"rtsp://{creds}{self.host}:{self.port}{mount}"

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> RtspServer:
        if self.running:
            raise RtspServerError("server already running")
        cmd = [SYSTEM_PYTHON, str(SCRIPT), "--host", self.host, "--port", str(self.port)]
        for mount, path in self.mounts.items():
            cmd += ["--mount", f"{mount}={path}"]
        if self.loop:
            cmd.append("--loop")
        env = system_python_env()
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: it can never fill up
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, env=env)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(self.ready_timeout_s)
        line = lines[0] if lines else ""
        if line.startswith("READY "):
            return
        if lines and not line:  # stdout closed: the process is exiting, let it finish
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        exited = self.proc.poll() is not None
        self.kill()
        what = (f"exited with code {self.proc.returncode} before READY" if exited
                else f"not ready within {self.ready_timeout_s:.0f} s (killed)")
        raise RtspServerError(
            f"RTSP server on port {self.port} {what}; stdout={line!r}; stderr:\n{self.stderr()}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._close_pipes()

    def kill(self) -> None:
        """SIGKILL: the server vanishes without any RTSP teardown, like a dead camera."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close_pipes()

    def restart(self) -> RtspServer:
        self.stop()
        return self.start()

    def _close_pipes(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def sessions(self, mount: str) -> int:
        """Client sessions the server has opened on ``mount`` so far (one per RTSP client)."""
        return self.stderr().count(f"rtsp_server: client session on {mount}\n")

    def wait_port_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex((self.host, self.port)) != 0:
                    return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
