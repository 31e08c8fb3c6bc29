"""``P:wake``: the pub/sub nudge that makes a worker tick now instead of at its next
heartbeat, after another worker released cameras or left, or the config changed."""

from __future__ import annotations

import threading

import redis

from streams.cluster.store import REDIS_ERRORS


class WakeListener:
    """Sets ``wake`` on every message on ``channel`` until ``stop`` is set; resubscribes
    (every 2 s) while Redis is unreachable. ``client`` has no command timeout: pub/sub
    blocks on reads."""

    def __init__(self, client: redis.Redis | None, channel: str, wake: threading.Event, stop: threading.Event) -> None:
        self._client = client
        self._channel = channel
        self._wake = wake
        self._stop = stop

    def start(self) -> None:
        threading.Thread(target=self._listen, name="cluster-wake", daemon=True).start()

    def _listen(self) -> None:
        if self._client is None:
            return
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        self._wake.set()
            except REDIS_ERRORS:
                self._stop.wait(2.0)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass
