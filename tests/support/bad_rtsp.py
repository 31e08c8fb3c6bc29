"""A misbehaving "camera" on a loopback port, for fault tests.

``garbage``: answers every connection with random bytes instead of RTSP.
``truncated``: speaks RTSP, then sends a DESCRIBE reply whose SDP body stops
half-way (Content-Length promises more) and hangs up - a stream cut short.

Runs as threads in the test process; the worker under test connects to it
like to any camera.
"""

from __future__ import annotations

import random
import re
import socket
import threading

from tests.support.procs import free_port

_SDP = (b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cut\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
        b"a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAA")


class BadRtspServer:
    def __init__(self, mode: str = "garbage") -> None:
        if mode not in ("garbage", "truncated"):
            raise ValueError(mode)
        self.mode = mode
        self.port = free_port()
        self.connections = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(16)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "BadRtspServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self.mode == "garbage":
                conn.recv(4096)
                conn.sendall(random.Random(self.connections).randbytes(4096))
                return
            buf = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    request, buf = buf.split(b"\r\n\r\n", 1)
                    match = re.search(rb"CSeq:\s*(\d+)", request)
                    cseq = match.group(1) if match else b"1"
                    if request.startswith(b"DESCRIBE"):
                        conn.sendall(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\nContent-Type: application/sdp\r\n"
                                     b"Content-Length: 400\r\n\r\n" + _SDP)
                        return  # cut off: the promised body never completes
                    conn.sendall(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n")
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass
