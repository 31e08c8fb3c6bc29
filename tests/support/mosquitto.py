"""A private Eclipse Mosquitto broker on a loopback port, and a subscriber to watch it, for the
edge-action tests (issue 19). Never touches a broker someone else runs. Usage::

    broker = MosquittoBroker(tmp_path, users={"gridsight": "s3cret"}).start()
    with Subscriber(broker.host, broker.port, username="gridsight", password="s3cret").start() as sub:
        got = sub.wait_for(lambda m: m.topic == "gridsight/alerts/cam1", 5, "the alert")
        sub.json(got)["event"]["id"]
    broker.kill()     # SIGKILL: no goodbye, like a crashed host
    broker.restart()  # the same port again

``start()`` returns once a raw MQTT CONNECT on the port is answered with a CONNACK (any
return code: a broker that refuses bad credentials is still up), so a test never races
the broker's listener.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.procs import ServerProcess, free_port, wait_until

DEBIAN_MOSQUITTO = "/usr/sbin/mosquitto"
DEBIAN_MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


def mosquitto_binary() -> str | None:
    """The broker's executable: Debian's /usr/sbin/mosquitto, else one on PATH; None: not installed."""
    if os.access(DEBIAN_MOSQUITTO, os.X_OK):
        return DEBIAN_MOSQUITTO
    return shutil.which("mosquitto")


def mosquitto_passwd_binary() -> str | None:
    if os.access(DEBIAN_MOSQUITTO_PASSWD, os.X_OK):
        return DEBIAN_MOSQUITTO_PASSWD
    return shutil.which("mosquitto_passwd")


requires_mosquitto = pytest.mark.skipif(mosquitto_binary() is None,
                                        reason="needs the mosquitto broker (Debian package mosquitto)")


class MosquittoError(RuntimeError):
    pass


def mqtt_connack(host: str, port: int, timeout_s: float = 1.0) -> int | None:
    """Send a bare MQTT 3.1.1 CONNECT; the CONNACK's return code, or None when nothing answered."""
    client_id = b"gs-probe-%d" % os.getpid()
    variable = b"\x00\x04MQTT\x04\x02\x00\x05"  # protocol name, level 4 (3.1.1), clean session, keepalive 5 s
    payload = struct.pack("!H", len(client_id)) + client_id
    body = variable + payload
    packet = b"\x10" + bytes([len(body)]) + body  # body < 128 bytes: one length byte
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(packet)
            answer = b""
            while len(answer) < 4:
                chunk = sock.recv(4 - len(answer))
                if not chunk:
                    return None
                answer += chunk
            if answer[0] != 0x20:
                return None
            sock.sendall(b"\xe0\x00")  # DISCONNECT, so the broker logs a clean goodbye
            return answer[3]
    except OSError:
        return None


class MosquittoBroker(ServerProcess):
    """``users``: name -> password (anonymous clients refused); ``persistence``: sessions, subscriptions
    and queued/retained messages survive stop(), kill() and start() (saved on every change)."""

    name = "mosquitto"

    def __init__(self, workdir: Path, *, port: int | None = None, users: dict[str, str] | None = None,
                 persistence: bool = False) -> None:
        super().__init__(workdir, "mosquitto.stdout")
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.users = dict(users or {})
        self.persistence = persistence
        self.conf_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> "MosquittoBroker":
        binary = mosquitto_binary()
        if binary is None:
            raise MosquittoError("mosquitto is not installed")
        if self.running:
            raise MosquittoError(f"broker on {self.port} already running")
        self._write_conf()
        self._spawn([binary, "-c", str(self.conf_path)], lambda: mqtt_connack(self.host, self.port) is not None,
                    timeout_s, error=MosquittoError)
        return self

    def stop(self) -> None:
        """SIGTERM: the broker saves its persistence file (if any) and closes connections."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: gone without a goodbye; clients find out from their socket (or keepalive)."""
        self._end(signal.SIGKILL)

    def restart(self, timeout_s: float = 10.0) -> "MosquittoBroker":
        self.stop()
        return self.start(timeout_s)

    def _end(self, sig) -> None:
        super()._end(sig)
        wait_until(self._port_closed, 5, f"port {self.port} closed after mosquitto ended", poll_s=0.02)

    def _port_closed(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex((self.host, self.port)) != 0

    def _write_conf(self) -> None:
        lines = [f"listener {self.port} {self.host}",
                 f"allow_anonymous {'false' if self.users else 'true'}",
                 f"log_dest file {self.log_path}",
                 "log_type error", "log_type warning", "log_type notice", "log_type information",
                 "connection_messages true",
                 f"persistence {'true' if self.persistence else 'false'}"]
        if os.geteuid() == 0:
            lines.append("user root")  # as root it would switch to user 'mosquitto', who cannot write workdir
        if self.persistence:
            # saved after every change (a subscription, a retained or queued message), not every 30 min,
            # so a SIGKILL loses nothing: a durable subscriber's session survives kill() + start()
            lines += [f"persistence_location {self.workdir}/", "autosave_interval 1", "autosave_on_changes true"]
        if self.users:
            lines.append(f"password_file {self._write_password_file()}")
        self.conf_path.write_text("\n".join(lines) + "\n")

    def _write_password_file(self) -> Path:
        tool = mosquitto_passwd_binary()
        if tool is None:
            raise MosquittoError("mosquitto_passwd is not installed (Debian package mosquitto)")
        path = self.workdir / "passwords"
        path.unlink(missing_ok=True)
        for i, (user, password) in enumerate(sorted(self.users.items())):
            argv = [tool, "-b"] + (["-c"] if i == 0 else []) + [str(path), user, password]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            if done.returncode != 0:
                raise MosquittoError(f"mosquitto_passwd failed for user {user!r}: {done.stderr.strip()}")
        return path

    # -- what tests read ----------------------------------------------------------------
    def log_text(self) -> str:
        parts = []
        for path in (self.log_path, self._output_path):
            try:
                parts.append(path.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "".join(parts)

    def __enter__(self) -> "MosquittoBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    received_at: float  # time.time() when paho handed it over


class Subscriber:
    """A paho-mqtt (callback API v2) client that records every message on ``topics``."""

    def __init__(self, host: str, port: int, topics=("gridsight/#",), *, username: str | None = None,
                 password: str | None = None, client_id: str | None = None, clean_session: bool = True) -> None:
        self.host, self.port = host, port
        self.topics = tuple(topics)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "",
                                   protocol=paho.MQTTv311, clean_session=clean_session)
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._subscribed = threading.Event()
        self._refused: str | None = None
        self._started = False

    def start(self, timeout_s: float = 10.0) -> "Subscriber":
        """Connect and subscribe; returns once the broker's SUBACK came (so nothing published later is missed)."""
        if self._started:
            return self
        self._started = True
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s) or self._refused:
            self.stop()
            raise MosquittoError(f"subscriber on {self.host}:{self.port} not subscribed to {self.topics}: "
                                 f"{self._refused or f'no SUBACK in {timeout_s:.0f}s'}")
        return self

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._client.disconnect()
            self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused = f"the broker refused the connection: {reason_code}"
            self._subscribed.set()
            return
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(code) for code in reason_codes if code.is_failure]
        if failed:
            self._refused = f"subscription refused: {', '.join(failed)}"
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        got = Received(message.topic, bytes(message.payload), bool(message.retain), message.qos, time.time())
        with self._lock:
            self._messages.append(got)

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    @staticmethod
    def json(received: Received) -> dict:
        return json.loads(received.payload)

    def wait_for(self, predicate, timeout_s: float, what: str) -> Received:
        """The first message (so far or to come) ``predicate`` accepts; a timeout fails naming ``what``."""
        def first():
            return next((m for m in self.messages if predicate(m)), None)

        return wait_until(first, timeout_s, what, poll_s=0.01,
                          on_timeout=lambda: f"received: {[(m.topic, m.payload[:80]) for m in self.messages]}")

    def __enter__(self) -> "Subscriber":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class CallbackLog:
    """A bare paho client (callback API v2, MQTT 3.1.1, as MqttSink builds it) recording which connection
    callbacks fire, in order, as (name, reason): pins the paho semantics the sink relies on."""

    def __init__(self, port: int, password: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pin-{port}-{password}", protocol=paho.MQTTv311)
        if password is not None:
            self.client.username_pw_set("gridsight", password)
        self.client.reconnect_delay_set(0.1, 0.2)
        self.client.on_connect = lambda c, u, flags, rc, props: self._add("connect", str(rc))
        self.client.on_disconnect = lambda c, u, flags, rc, props: self._add("disconnect", str(rc))
        self.client.on_connect_fail = lambda c, u: self._add("connect_fail", "")
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _add(self, name: str, detail: str) -> None:
        with self._lock:
            self.calls.append((name, detail))

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.calls]

    def count(self, name: str) -> int:
        return self.names().count(name)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
