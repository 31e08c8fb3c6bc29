"""The worker's side of the event bus: spooled records go to a Redis Stream.

:class:`RedisPublisher` is a drop-in ``Sender`` for the durable outbox: the
outbox deletes a record only after ``XADD`` has returned, so while Redis is
unreachable records wait on disk and are published in order when it returns.
A reply lost after a successful XADD means the record is published twice; the
idempotency key in the message lets the API's ingest store it once.

One stream entry per record, all values strings::

    v=1  kind=work_order  key=<idempotency key>  payload=<JSON>  worker=<name>  published_at=<unix s>

``kind`` is whatever the record is ("work_order", "event_end", ...): the
publisher does not interpret it, the ingest dispatches on it.
"""

from __future__ import annotations

import json
import logging
import time

import redis

from streams.delivery.outbox import SendResult

log = logging.getLogger(__name__)

MESSAGE_VERSION = "1"
# Redis errors that mean "try again later" rather than "this record is bad". A
# ResponseError (OOM under maxmemory, READONLY replica after a failover, LOADING)
# is also retryable: nothing about the record itself can make XADD fail.
RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError)


def encode_message(kind: str, key: str, payload: dict, worker: str, published_at: float | None = None) -> dict[str, str]:
    return {
        "v": MESSAGE_VERSION,
        "kind": kind,
        "key": key,
        "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        "worker": worker,
        "published_at": f"{time.time() if published_at is None else published_at:.6f}",
    }


def make_redis(url: str, *, socket_timeout_s: float = 3.0, decode_responses: bool = True) -> redis.Redis:
    """A client that fails fast (bounded connect and command timeouts) and retries nothing by itself."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=socket_timeout_s,
        decode_responses=decode_responses,
        health_check_interval=30,
    )


class RedisPublisher:
    def __init__(self, client: redis.Redis, stream: str, worker: str, *, observe=None) -> None:
        self._client = client
        self.stream = stream
        self.worker = worker
        self._observe = observe  # callable(seconds, ok: bool) for metrics
        self.published = 0

    def publish(self, kind: str, key: str, payload: dict) -> SendResult:
        fields = encode_message(kind, key, payload, self.worker)
        started = time.perf_counter()
        try:
            entry_id = self._client.xadd(self.stream, fields)
        except RETRYABLE as exc:
            if self._observe:
                self._observe(time.perf_counter() - started, False)
            return SendResult(None, f"redis: {type(exc).__name__}: {exc}")
        if self._observe:
            self._observe(time.perf_counter() - started, True)
        self.published += 1
        return SendResult(201, str(entry_id))

    # The outbox's Sender protocol. A record kind other than work orders comes in
    # through ``send(kind, ...)`` (or a ``send_<kind>`` method the outbox looks up).
    def send_work_order(self, payload: dict, idempotency_key: str) -> SendResult:
        return self.publish("work_order", idempotency_key, payload)

    def send_event_end(self, payload: dict, idempotency_key: str) -> SendResult:
        return self.publish("event_end", idempotency_key, payload)

    def send_evidence_follow_up(self, payload: dict, idempotency_key: str) -> SendResult:
        return self.publish("evidence_follow_up", idempotency_key, payload)

    def send(self, kind: str, payload: dict, idempotency_key: str) -> SendResult:
        return self.publish(kind, idempotency_key, payload)
