"""The API's side of the event bus: a Redis Stream consumer group.

Enabled by ``GRIDSIGHT_REDIS_URL``: :func:`api.main.create_app` then runs one
:class:`StreamIngestor` thread per API process next to the HTTP server (several
API processes or replicas simply add consumers to the same group).

Delivery is at-least-once, storage exactly-once:

* ``XREADGROUP`` hands each entry to one consumer; the entry is ``XACK``-ed
  (and ``XDEL``-ed, so the stream does not grow without bound) only after the
  database transaction that stores it has committed.
* A consumer that dies between commit and ack leaves the entry pending; after
  ``ingest_claim_idle_s`` another consumer (or the restarted one) takes it with
  ``XAUTOCLAIM`` and handles it again. The work-order creation function is the
  one the HTTP POST uses, keyed by the message's idempotency key: a replay
  returns the stored order, a merge is recorded once. No duplicates.
* Database unavailable: the entry is not acked and is retried from this
  consumer's own pending list, with backoff; nothing is lost.
* A message that can never be stored (malformed JSON, schema violation, an
  idempotency key reused for another payload, or one that keeps failing
  ``ingest_max_deliveries`` times) goes to ``<stream>:dead`` with the reason
  and is acked, so it cannot block the stream.

Message format: see :mod:`streams.delivery.bus` (``kind``, ``key``, ``payload``,
``worker``, ``published_at``). Kinds: ``work_order`` and ``event_end``.

Trust: whoever can XADD to the stream can file orders, like a worker token on
the HTTP side. Protect Redis with a password/ACL and keep it on the private
network.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.crud import handling
from api.crud import work_orders as crud
from api.evidence import EvidenceError, EvidenceStore, decode_evidence
from api.metrics import ApiMetrics
from api.schemas import WorkOrderCreate
from api.schemas_workflow import EventEndIn
from api.settings import Settings

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


class IngestSettings(BaseSettings):
    """``GRIDSIGHT_REDIS_*`` / ``GRIDSIGHT_INGEST_*`` variables; no URL, no ingest."""

    model_config = SettingsConfigDict(env_prefix="GRIDSIGHT_", extra="ignore")

    redis_url: str | None = Field(default=None, description="Redis URL; set it to ingest work orders from the stream")
    redis_stream: str = Field(default="gridsight:orders", min_length=1, max_length=128, description="Stream workers publish to")
    redis_group: str = Field(default="gridsight-api", min_length=1, max_length=64, description="Consumer group of the API")
    ingest_consumer: str | None = Field(
        default=None, max_length=128, description="Consumer name; default <hostname>-<pid> (unique per process)"
    )
    ingest_threads: int = Field(
        default=1, ge=1, le=32,
        description="Consumers per API process; more help on PostgreSQL (parallel transactions), not on SQLite",
    )
    ingest_batch: int = Field(default=64, ge=1, le=1000, description="Entries read per XREADGROUP")
    ingest_block_ms: int = Field(default=1000, ge=10, le=60_000, description="How long one read waits for new entries")
    ingest_claim_idle_s: float = Field(
        default=30.0, ge=1, le=86_400, description="Claim entries left pending this long by another consumer"
    )
    ingest_max_deliveries: int = Field(
        default=10, ge=1, le=1000, description="Dead-letter a message that failed (not for a database outage) this often"
    )
    ingest_lag_degraded: int = Field(
        default=10_000, ge=1, description="/health reports the ingest degraded above this many undelivered entries"
    )
    ingest_delete_acked: bool = Field(default=True, description="XDEL entries once acked (this group is the only reader)")


class PermanentFailure(Exception):
    """The message can never be stored: dead-letter it."""


@dataclass
class IngestStatus:
    running: bool = False
    redis_ok: bool | None = None
    database_ok: bool | None = None
    lag: int | None = None
    pending: int | None = None
    last_error: str | None = None
    last_ingest_at: float | None = None  # unix seconds
    handled: int = 0


def _transient_db_error(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class StreamIngestor:
    def __init__(
        self,
        cfg: IngestSettings,
        sessions: sessionmaker[Session],
        store: EvidenceStore,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime],
        metrics: ApiMetrics | None = None,
        client: redis.Redis | None = None,
    ) -> None:
        assert cfg.redis_url, "ingest needs GRIDSIGHT_REDIS_URL"
        self.cfg = cfg
        self.stream = cfg.redis_stream
        self.group = cfg.redis_group
        self.dead_stream = f"{cfg.redis_stream}:dead"
        self.consumer = cfg.ingest_consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._client = client or redis.Redis.from_url(
            cfg.redis_url, decode_responses=True, socket_connect_timeout=3,
            # A blocking XREADGROUP must not trip the socket timeout.
            socket_timeout=cfg.ingest_block_ms / 1000 + 5,
        )
        self._sessions = sessions
        self._store = store
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self.status = IngestStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._group_ready = False
        self._read_own_pending = True  # start by finishing what this consumer name left
        self._failures: dict[str, int] = {}  # entry id -> failed attempts (not counting DB outages)
        self._next_claim = 0.0
        self._next_stats = 0.0
        self._backoff_s = 0.0
        self.handlers: dict[str, Callable[[Session, str, dict], str]] = {
            "work_order": self._work_order,
            "event_end": self._event_end,
        }

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> "StreamIngestor":
        self.status.running = True
        self._thread = threading.Thread(target=self._run, name="stream-ingest", daemon=True)
        self._thread.start()
        log.info("ingesting work orders from Redis stream %r, group %r, as consumer %r", self.stream, self.group, self.consumer)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.status.running = False
        try:
            self._client.close()
        except Exception:
            pass

    # -- loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
                self._backoff_s = 0.0
            except REDIS_DOWN as exc:
                self._redis(False, exc)
                self._group_ready = False
                self._pause()
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # Redis lost the group (restart without persistence, FLUSHALL)
                    log.warning("consumer group %r is gone; creating it again", self.group)
                    self._group_ready = False
                    continue
                log.error("ingest: Redis refused a command: %s", exc)
                self.status.last_error = f"redis: {exc}"
                self._pause()
            except Exception as exc:  # never let the thread die
                log.exception("ingest loop failed")
                self.status.last_error = f"{type(exc).__name__}: {exc}"
                self._pause()

    def _pause(self) -> None:
        self._backoff_s = min(5.0, max(0.2, self._backoff_s * 2))
        self._stop.wait(self._backoff_s)

    def step(self) -> int:
        """One round: (re)create the group, claim stale entries, read new ones, handle them."""
        if not self._group_ready:
            self._ensure_group()
        now = time.monotonic()
        handled = 0
        if now >= self._next_claim:
            self._next_claim = now + min(5.0, self.cfg.ingest_claim_idle_s / 2)
            handled += self._claim_stale()
        if now >= self._next_stats:
            self._next_stats = now + 2.0
            self._refresh_stats()
        if self._read_own_pending:
            entries = self._read("0")
            if not entries:
                self._read_own_pending = False
            handled += self._handle_all(entries)
            return handled
        handled += self._handle_all(self._read(">", block=True))
        return handled

    def _ensure_group(self) -> None:
        try:
            # From id 0: entries published before the first API ever started are not skipped.
            self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            log.info("created consumer group %r on %r", self.group, self.stream)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True
        self._read_own_pending = True
        self._redis(True)

    def _read(self, start: str, block: bool = False) -> list[tuple[str, dict]]:
        reply = self._client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self.cfg.ingest_batch,
            block=self.cfg.ingest_block_ms if block else None,
        )
        self._redis(True)
        entries = []
        for _stream, items in reply or []:
            entries.extend(items)
        return entries

    def _claim_stale(self) -> int:
        handled, cursor = 0, "0-0"
        for _ in range(100):  # bounded per round; the rest next round
            reply = self._client.xautoclaim(
                self.stream, self.group, self.consumer, min_idle_time=int(self.cfg.ingest_claim_idle_s * 1000),
                start_id=cursor, count=self.cfg.ingest_batch,
            )
            cursor, entries = reply[0], reply[1]
            entries = [e for e in entries if e and e[1] is not None]
            if entries:
                log.info("claimed %d entr(y/ies) left pending by a dead or stuck consumer", len(entries))
                if self._metrics is not None:
                    self._metrics.ingest_claimed.inc(len(entries))
                handled += self._handle_all(entries)
            if cursor in ("0-0", b"0-0") or self._stop.is_set():
                break
        return handled

    def _refresh_stats(self) -> None:
        lag = pending = None
        for group in self._client.xinfo_groups(self.stream):
            if group.get("name") == self.group:
                pending = int(group.get("pending") or 0)
                lag = group.get("lag")
                lag = int(lag) if lag is not None else None
        self.status.lag, self.status.pending = lag, pending
        if self._metrics is not None:
            if lag is not None:
                self._metrics.ingest_lag.set(lag)
            if pending is not None:
                self._metrics.ingest_pending.set(pending)

    # -- one message ----------------------------------------------------------------------
    def _handle_all(self, entries: list[tuple[str, dict]]) -> int:
        done = 0
        for entry_id, fields in entries:
            if self._stop.is_set():
                break
            if fields is None:  # deleted from the stream but still pending: nothing left to store
                self._ack(entry_id)
                continue
            if not self._handle(entry_id, fields):
                # Database trouble: stop this batch; the entries stay pending and are
                # read again from this consumer's own list after a pause.
                self._read_own_pending = True
                self._pause()
                break
            done += 1
        return done

    def _handle(self, entry_id: str, fields: dict) -> bool:
        """True when the entry is settled (stored, replayed or dead-lettered)."""
        kind = fields.get("kind", "work_order")
        try:
            handler = self.handlers.get(kind)
            if handler is None:
                raise PermanentFailure(f"unknown message kind {kind!r}")
            key = fields.get("key") or ""
            try:
                payload = json.loads(fields.get("payload") or "")
            except ValueError as exc:
                raise PermanentFailure(f"payload is not JSON: {exc}") from None
            if not isinstance(payload, dict):
                raise PermanentFailure("payload is not a JSON object")
            with self._sessions() as session:
                result = handler(session, key, payload)
        except PermanentFailure as exc:
            self._dead_letter(entry_id, fields, str(exc))
            self._count(kind, "dead_letter")
            return True
        except DataError as exc:  # a value the database refuses (NUL in text, out of range)
            self._dead_letter(entry_id, fields, f"database refused a value: {type(exc.orig).__name__}")
            self._count(kind, "dead_letter")
            return True
        except SQLAlchemyError as exc:
            if _transient_db_error(exc):
                self._db(False, exc)
                self._count(kind, "retry")
                return False
            return self._failed(entry_id, fields, kind, exc)
        except Exception as exc:
            return self._failed(entry_id, fields, kind, exc)
        self._db(True)
        self._ack(entry_id)
        self._failures.pop(entry_id, None)
        self._count(kind, "acked")
        if kind == "work_order" and self._metrics is not None:
            self._metrics.orders.labels("stream", result).inc()
        published = fields.get("published_at")
        if published and self._metrics is not None:
            try:
                self._metrics.ingest_latency.observe(max(0.0, time.time() - float(published)))
            except ValueError:
                pass
        self.status.handled += 1
        self.status.last_ingest_at = time.time()
        return True

    def _failed(self, entry_id: str, fields: dict, kind: str, exc: Exception) -> bool:
        attempts = self._failures.get(entry_id, 0) + 1
        self._failures[entry_id] = attempts
        log.error("ingest of %s (%s) failed, attempt %d: %s: %s", entry_id, kind, attempts, type(exc).__name__, exc)
        self.status.last_error = f"{type(exc).__name__}: {exc}"
        if attempts >= self.cfg.ingest_max_deliveries:
            self._dead_letter(entry_id, fields, f"failed {attempts} times, last: {type(exc).__name__}: {exc}")
            self._failures.pop(entry_id, None)
            self._count(kind, "dead_letter")
            return True
        self._count(kind, "retry")
        if len(self._failures) > 10_000:
            self._failures.clear()
        return False

    def _work_order(self, session: Session, key: str, payload: dict) -> str:
        try:
            body = WorkOrderCreate.model_validate(payload)
        except ValidationError as exc:
            raise PermanentFailure(f"invalid work order: {exc.error_count()} error(s): {exc.errors()[0]['msg']}") from None
        key = self._key(key, body.idempotency_key)
        evidence = self._evidence(body.evidence)
        try:
            result = crud.create_work_order(session, self._store, self._settings, body, key, evidence, now=self._clock())
        except crud.IdempotencyConflict as exc:
            raise PermanentFailure(f"idempotency key reused for a different payload (order {exc.order.order_no})") from None
        if result.created:
            return "created"
        return "merged" if result.merged and not result.replayed else "replayed"

    def _event_end(self, session: Session, key: str, payload: dict) -> str:
        try:
            body = EventEndIn.model_validate(payload)
        except ValidationError as exc:
            raise PermanentFailure(f"invalid event end: {exc.error_count()} error(s): {exc.errors()[0]['msg']}") from None
        key = self._key(key, body.idempotency_key)
        evidence = self._evidence(body.evidence)
        try:
            result = handling.event_end(session, self._store, self._settings, body, key, evidence, self._clock())
        except handling.EventKeyConflict:
            raise PermanentFailure("idempotency key reused for a different event-end message") from None
        return getattr(getattr(result, "outcome", None), "value", "ok")

    @staticmethod
    def _key(message_key: str, body_key: str | None) -> str:
        key = message_key or body_key or ""
        if not 8 <= len(key) <= 128:
            raise PermanentFailure("missing or malformed idempotency key")
        if body_key is not None and body_key != key:
            raise PermanentFailure("the message key and the payload's idempotency_key differ")
        return key

    def _evidence(self, items):
        try:
            return decode_evidence(items, self._settings.max_evidence_bytes, self._settings.max_image_pixels)
        except EvidenceError as exc:
            raise PermanentFailure(f"evidence: {exc}") from None

    def _ack(self, entry_id: str) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, entry_id)
        if self.cfg.ingest_delete_acked:
            pipe.xdel(self.stream, entry_id)
        pipe.execute()

    def _dead_letter(self, entry_id: str, fields: dict, reason: str) -> None:
        log.error("dead-lettering stream entry %s (%s): %s", entry_id, fields.get("kind"), reason)
        body = {k: v for k, v in fields.items() if isinstance(v, str)}
        body.update(dead_reason=reason[:2000], dead_entry_id=entry_id, dead_at=f"{time.time():.3f}")
        self._client.xadd(self.dead_stream, body, maxlen=100_000, approximate=True)
        self._ack(entry_id)

    # -- status ------------------------------------------------------------------------------
    def _count(self, kind: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.ingest_messages.labels(kind, result).inc()
            if kind == "work_order" and result == "dead_letter":
                self._metrics.orders.labels("stream", "rejected").inc()

    def _redis(self, ok: bool, exc: Exception | None = None) -> None:
        if ok and self.status.redis_ok is False:
            log.info("Redis reachable again; ingest resumes")
        elif not ok and self.status.redis_ok is not False:
            log.warning("ingest: Redis unreachable (%s); retrying", type(exc).__name__ if exc else "?")
        self.status.redis_ok = ok
        if not ok:
            self.status.last_error = f"redis: {type(exc).__name__ if exc else 'unreachable'}"
        if self._metrics is not None:
            self._metrics.redis_up.set(1 if ok else 0)

    def _db(self, ok: bool, exc: Exception | None = None) -> None:
        if not ok and self.status.database_ok is not False:
            log.warning("ingest: database unavailable (%s); entries stay pending and are retried", type(exc).__name__)
        elif ok and self.status.database_ok is False:
            log.info("ingest: database back; draining pending entries")
        self.status.database_ok = ok
        if not ok:
            self.status.last_error = f"database: {type(exc).__name__ if exc else 'unavailable'}"

    def health(self) -> dict:
        """The ingest component of /health."""
        s = self.status
        problems = []
        if not s.running:
            problems.append("not running")
        if s.redis_ok is False:
            problems.append("redis unreachable")
        if s.database_ok is False:
            problems.append("database unavailable for ingest")
        if s.lag is not None and s.lag > self.cfg.ingest_lag_degraded:
            problems.append(f"lag {s.lag} > {self.cfg.ingest_lag_degraded}")
        return {
            "status": "degraded" if problems else "ok",
            "detail": "; ".join(problems) or None,
            "lag": s.lag,
            "pending": s.pending,
            "consumer": self.consumer,
            "handled": s.handled,
        }


class IngestPool:
    """``ingest_threads`` consumers in one process, seen from outside as one ingest."""

    def __init__(self, members: list[StreamIngestor]) -> None:
        self.members = members

    def start(self) -> "IngestPool":
        for m in self.members:
            m.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        for m in self.members:
            m._stop.set()
        for m in self.members:
            m.stop(timeout_s)

    @property
    def status(self) -> IngestStatus:
        first = self.members[0].status
        merged = IngestStatus(**vars(first))
        merged.running = all(m.status.running for m in self.members)
        merged.redis_ok = None if all(m.status.redis_ok is None for m in self.members) else \
            all(m.status.redis_ok is not False for m in self.members)
        if any(m.status.database_ok is False for m in self.members):
            merged.database_ok = False
        merged.handled = sum(m.status.handled for m in self.members)
        return merged

    def health(self) -> dict:
        reports = [m.health() for m in self.members]
        merged = dict(reports[0])
        problems = sorted({r["detail"] for r in reports if r["detail"]})
        merged.update(status="degraded" if problems else "ok", detail="; ".join(problems) or None,
                      handled=sum(r["handled"] for r in reports), consumers=[r["consumer"] for r in reports])
        merged.pop("consumer", None)
        return merged


def start_ingest(app, cfg: IngestSettings | None = None) -> IngestPool | None:
    """Called from the app's lifespan: start the ingest when a Redis URL is configured."""
    cfg = cfg if cfg is not None else IngestSettings()
    if not cfg.redis_url:
        return None
    base = cfg.ingest_consumer or f"{socket.gethostname()}-{os.getpid()}"
    members = []
    for i in range(cfg.ingest_threads):
        name = base if cfg.ingest_threads == 1 else f"{base}-{i}"
        members.append(StreamIngestor(
            cfg.model_copy(update={"ingest_consumer": name}), app.state.write_sessions, app.state.evidence_store,
            app.state.settings, clock=app.state.clock, metrics=getattr(app.state, "metrics", None),
        ))
    pool = IngestPool(members)
    app.state.ingest = pool
    return pool.start()
