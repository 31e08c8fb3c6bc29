"""One consumer of the Redis Stream: reads, claims, hands each message to the filing
service (:mod:`api.services.filing`), acks or dead-letters it. See :mod:`api.ingest`."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.metrics import ApiMetrics
from api.schemas_workflow import EventEndResult, EvidenceFollowUpResult
from api.services.filing import FilingRefused, FilingService, Outcome, read_event_end, read_evidence_follow_up
from api.settings import Settings

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


class PermanentFailure(Exception):
    """The message can never be stored: dead-letter it. ``counted``: the filing service has
    already counted the refusal in the work-order metric."""

    def __init__(self, message: str, *, counted: bool = False) -> None:
        super().__init__(message)
        self.counted = counted


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


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _transient_db_error(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _event_message(handle: Callable[[], EventEndResult | EvidenceFollowUpResult]) -> str:
    """A message about a rule event (an end, an evidence follow-up) handled: its outcome; a refusal is final."""
    try:
        return handle().outcome.value
    except FilingRefused as refused:
        raise PermanentFailure(refused.message) from None


class StreamIngestor:
    def __init__(
        self,
        cfg: Settings,
        sessions: sessionmaker[Session],
        filing: FilingService,
        *,
        consumer: str | None = None,
        metrics: ApiMetrics | None = None,
        client: redis.Redis | None = None,
    ) -> None:
        assert cfg.redis_url, "ingest needs GRIDSIGHT_REDIS_URL"
        self.cfg = cfg
        self.stream = cfg.redis_stream
        self.group = cfg.redis_group
        self.dead_stream = f"{cfg.redis_stream}:dead"
        self.consumer = consumer or cfg.ingest_consumer or default_consumer()
        self._client = client or redis.Redis.from_url(
            cfg.redis_url, decode_responses=True, socket_connect_timeout=3,
            # A blocking XREADGROUP must not trip the socket timeout.
            socket_timeout=cfg.ingest_block_ms / 1000 + 5,
        )
        self._sessions = sessions
        self._filing = filing
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
            "evidence_follow_up": self._evidence_follow_up,
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
                handler(session, key, payload)
        except PermanentFailure as exc:
            self._dead_letter(entry_id, fields, str(exc))
            self._count(kind, "dead_letter", order_counted=exc.counted)
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

    # Every kind goes through the filing service, as the HTTP routes do; a refusal is final.
    def _work_order(self, session: Session, key: str, payload: dict) -> str:
        try:
            return self._filing.file_payload(session, payload, key, source="stream",
                                             given_as="the message key").outcome.value
        except FilingRefused as refused:
            raise PermanentFailure(refused.message, counted=True) from None

    def _event_end(self, session: Session, key: str, payload: dict) -> str:
        return _event_message(lambda: self._filing.end_event(session, read_event_end(payload), key,
                                                             given_as="the message key"))

    def _evidence_follow_up(self, session: Session, key: str, payload: dict) -> str:
        return _event_message(lambda: self._filing.add_follow_up(session, read_evidence_follow_up(payload), key,
                                                                 given_as="the message key"))

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
    def _count(self, kind: str, result: str, *, order_counted: bool = False) -> None:
        if self._metrics is not None:
            self._metrics.ingest_messages.labels(kind, result).inc()
        if kind == "work_order" and result == "dead_letter" and not order_counted:
            self._filing.count("stream", Outcome.REJECTED)  # refused before it reached the service

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
