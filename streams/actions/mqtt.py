"""The MQTT sink: edge actions published to a broker (Eclipse Mosquitto on site, as a rule).

paho-mqtt's network thread keeps the connection (connect, keepalive, reconnect with its
exponential delay between ``reconnect_min_s`` and ``reconnect_max_s``); this sink's sender
thread moves messages from the bounded queue to paho only while the broker is connected,
at most ``MAX_INFLIGHT`` unacknowledged at a time. So what waits during an outage waits in
the bounded queue, under its drop policy and counted, and what paho already holds unacked
when the connection drops is resent by paho after the reconnect (QoS 1: at least once).

Retained topics: ``{prefix}/state/{camera}/{zone}`` (which events are active there; latest
wins and is republished after every reconnect, so it never depends on the queue) and
``{prefix}/workers/{worker}`` (``online``; the broker publishes the will, ``offline``, when
the worker vanishes). Credentials go to paho only; nothing here logs them.
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import ssl
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from streams.actions.queue import DELIVERED, DROPPED, ActionMessage, BoundedQueue
from streams.actions.sink import Sink
from streams.config.actions import MqttBrokerConfig

log = logging.getLogger(__name__)

MAX_INFLIGHT = 20  # unacknowledged QoS 1 messages handed to paho at a time
CONNECT_GRACE_S = 3.0  # a worker that has just started is "connecting", not degraded, this long
WAKE_S = 0.5  # the sender looks at its queue at least this often


class MqttSink(Sink):
    kind = "mqtt"

    def __init__(self, config: MqttBrokerConfig, worker_name: str, *, observe_latency=None,
                 client: paho.Client | None = None) -> None:
        super().__init__("mqtt", BoundedQueue(config.queue_size, config.drop_policy), observe_latency=observe_latency)
        self.config = config
        self.address = f"{config.host}:{config.port}"
        self.availability_topic = f"{config.topic_prefix}/workers/{topic_level(worker_name)}"
        self._client = client if client is not None else self._new_client(config, worker_name)
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._acks: collections.deque[int] = collections.deque()  # mids paho acknowledged (its thread -> ours)
        self._pending: dict[int, ActionMessage] = {}  # mid -> message handed to paho, not yet acknowledged
        self._states: dict[str, bytes] = {}  # retained state topic -> latest body
        self._dirty_states: set[str] = set()
        self._state_lock = threading.Lock()
        self._started_at = time.monotonic()
        self._down_since: float | None = None  # monotonic time the current outage began; None: up or never tried
        self._down_reason = "not connected yet"
        self._ever_connected = False
        self._refused = False  # the broker's last answer was a refusal (bad credentials, not authorised)
        self._session_up = False  # paho's thread only: the current socket got a successful CONNACK
        self._dropped_at_outage = 0
        self.connects = 0

    @staticmethod
    def _new_client(config: MqttBrokerConfig, worker_name: str) -> paho.Client:
        client_id = config.client_id or f"gridsight-{socket.gethostname()}-{os.getpid()}"
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311, clean_session=True)
        if config.username is not None:
            client.username_pw_set(config.username, config.password.get_secret_value() if config.password else None)
        if config.tls:
            client.tls_set(ca_certs=str(config.ca_file) if config.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        return client

    # -- the camera's side --------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def set_state(self, topic: str, body: bytes) -> None:
        """The retained state of a zone changed: sent next (latest wins), and again after a reconnect."""
        with self._state_lock:
            self._states[topic] = body
            self._dirty_states.add(topic)
        self._wake.set()

    # -- paho's thread --------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused = True  # reported at once: waiting out the start-up grace will not change its mind
            self._went_down(f"the broker refused the connection: {reason_code}")
            return
        self._refused = False
        self.connects += 1
        self._session_up = True
        client.publish(self.availability_topic, b"online", qos=1, retain=True)
        with self._state_lock:
            self._dirty_states = set(self._states)
        if self._down_since is not None and self._ever_connected:
            log.warning("edge actions: MQTT broker %s is back after %.1f s; %d queued message(s) going out, "
                        "%d dropped while it was away (%s)", self.address, time.monotonic() - self._down_since,
                        len(self.queue), self.queue.dropped - self._dropped_at_outage, self.queue.policy)
        else:
            log.info("edge actions: connected to MQTT broker %s", self.address)
        self._ever_connected = True
        self._down_since = None
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_up, self._session_up = self._session_up, False
        if self._stop.is_set():
            return
        if was_up:
            self._went_down(f"connection lost ({reason_code})")
        elif self._down_since is None:
            self._went_down(f"connection closed before the broker accepted it ({reason_code})")
        # else: paho follows a refused CONNACK with on_disconnect too; the refusal stays the reason

    def _on_connect_fail(self, client, userdata) -> None:
        self._went_down("unreachable (connection failed)")

    def _went_down(self, reason: str) -> None:
        self._connected.clear()
        self._down_reason = reason
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._dropped_at_outage = self.queue.dropped
            log.warning("edge actions: MQTT broker %s %s; messages wait in a queue of %d (%s, counted); "
                        "reconnecting with backoff %g-%g s; the cameras keep analysing", self.address, reason,
                        self.queue.size, self.queue.policy, self.config.reconnect_min_s, self.config.reconnect_max_s)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._acks.append(mid)
        self._wake.set()

    # -- the sender's thread ---------------------------------------------------------------
    def start(self) -> None:
        c = self._client
        c.on_connect, c.on_disconnect, c.on_connect_fail = self._on_connect, self._on_disconnect, self._on_connect_fail
        c.on_publish = self._on_publish
        c.will_set(self.availability_topic, b"offline", qos=1, retain=True)
        self._started_at = time.monotonic()
        c.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive_s)
        c.loop_start()
        super().start()

    def _run(self) -> None:
        while True:
            self._wake.wait(WAKE_S)
            self._wake.clear()
            self._settle_acks()
            if self._stop.is_set() and (not self._connected.is_set() or time.monotonic() >= self._flush_deadline
                                        or (not len(self.queue) and not self._pending)):
                return
            if not self._connected.is_set():
                continue
            self._publish_states()
            while len(self._pending) < MAX_INFLIGHT and (message := self.queue.get(timeout=0)) is not None:
                self._publish(message)

    def _publish(self, message: ActionMessage) -> None:
        info = self._client.publish(message.target, message.body, qos=message.qos, retain=message.retain)
        if message.qos == 0 and info.rc != paho.MQTT_ERR_SUCCESS:
            self.queue.put_back(message)  # not connected after all: paho drops QoS 0 it cannot write
            self._connected.clear()
            return
        self._pending[info.mid] = message  # QoS 1 without a connection: paho keeps it and sends it on reconnect

    def _publish_states(self) -> None:
        with self._state_lock:
            dirty = [(topic, self._states[topic]) for topic in sorted(self._dirty_states)]
            self._dirty_states.clear()
        for topic, body in dirty:
            self._client.publish(topic, body, qos=1, retain=True)

    def _settle_acks(self) -> None:
        while self._acks:
            message = self._pending.pop(self._acks.popleft(), None)
            if message is not None:
                self.finish(message, DELIVERED)

    def stop(self, flush_timeout_s: float) -> None:
        super().stop(flush_timeout_s)
        self._settle_acks()
        for message in self._pending.values():
            self.finish(message, DROPPED, "the worker stopped before the broker acknowledged it")
        self._pending.clear()
        if self._connected.is_set():
            try:
                self._client.publish(self.availability_topic, b"offline", qos=1, retain=True).wait_for_publish(1.0)
            except (RuntimeError, ValueError):  # the connection dropped just now: the broker sends the will instead
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()  # on_disconnect ignores a stopping sink: not up any more, and a second stop is a no-op

    # -- what the runtime reads -------------------------------------------------------------
    @property
    def up(self) -> bool:
        return self._connected.is_set()

    def problem(self) -> str | None:
        if self._connected.is_set():
            return None
        since = self._down_since if self._down_since is not None else self._started_at
        away = time.monotonic() - since
        if not self._ever_connected and not self._refused and time.monotonic() - self._started_at < CONNECT_GRACE_S:
            return None
        return (f"MQTT broker {self.address} away for {away:.0f} s ({self._down_reason}); {len(self.queue)} "
                f"message(s) queued, {self.queue.dropped} dropped ({self.queue.policy})")

    def stats(self) -> dict:
        return {**super().stats(), "inflight": len(self._pending), "connects": self.connects}


def topic_level(value: str) -> str:
    """One topic level from an id: MQTT's separators and wildcards become '_'."""
    return "".join("_" if ch in "/+#" or ch.isspace() or ch == "\x00" else ch for ch in value) or "_"
