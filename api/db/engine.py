"""Engine and session creation. SQLite gets WAL and a busy timeout, and
SQLAlchemy (not the sqlite3 driver) emits BEGIN so that write sessions can
take the write lock up front.

SQLite allows one writer at a time. Within an API process its writes take
turns deliberately: write sessions use an engine of their own with a single
connection (:func:`writer_engine`), so a writer waits for that connection, in
order and woken as soon as it is free, without holding one of the readers'
connections; ``BEGIN IMMEDIATE`` and the busy timeout then only arbitrate
between processes (another API replica, the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool


# Execution option read by the BEGIN hook; only SQLite looks at it.
_SQLITE_BEGIN = "gridsight_sqlite_begin"
# Each SQLite engine's busy timeout, for the writer engine made from it.
_busy_timeouts: "WeakKeyDictionary[Engine, float]" = WeakKeyDictionary()


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(database_url: str, *, sqlite_busy_timeout_s: float = 30.0) -> Engine:
    """Build an engine without connecting (no I/O happens here)."""
    url = make_url(database_url)
    if not is_sqlite(url):
        # pre_ping lets the pool survive a database restart without a 500 per stale connection.
        return create_engine(url, pool_pre_ping=True)

    kwargs: dict[str, Any] = {}
    if sqlite_file(url) is None:
        # An in-memory database exists per connection: share one (tests only, no concurrency).
        kwargs["poolclass"] = StaticPool
    return _sqlite_engine(url, sqlite_busy_timeout_s, **kwargs)


def _sqlite_engine(url: URL, sqlite_busy_timeout_s: float, **kwargs: Any) -> Engine:
    kwargs["connect_args"] = {"check_same_thread": False, "timeout": sqlite_busy_timeout_s}
    engine = create_engine(url, **kwargs)
    _busy_timeouts[engine] = sqlite_busy_timeout_s
    busy_ms = int(sqlite_busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver's implicit BEGIN skips SELECTs; a read-then-write transaction in WAL
        # mode then fails with SQLITE_BUSY at once instead of waiting. We emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            # WAL: readers (dashboard GETs) never block the writer (worker POSTs) and vice versa.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            # Durable enough with WAL (a power cut loses at most the last commits, never corrupts).
            cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def writer_engine(engine: Engine) -> Engine:
    """The engine for write sessions: ``engine`` itself except on SQLite.

    On a SQLite file, a second engine on the same database with a pool of one
    connection, the process's one writer: a write transaction holds it from
    its first statement to its commit or rollback, the next writer waits for
    it (up to the busy timeout) without taking a reader's connection, so
    readers (``/health``, dashboards) never queue behind writers. Its
    transactions start with BEGIN IMMEDIATE: taking the write lock before the
    first read means a writer never fails on a stale snapshot, and another
    process's writer waits on the busy timeout. Dispose of it with ``engine``."""
    if engine.dialect.name != "sqlite":
        return engine
    immediate = {_SQLITE_BEGIN: "IMMEDIATE"}
    if sqlite_file(engine.url) is None:
        return engine.execution_options(**immediate)  # in-memory: one shared connection anyway
    busy_s = _busy_timeouts.get(engine, 30.0)
    writer = _sqlite_engine(engine.url, busy_s, pool_size=1, max_overflow=0, pool_timeout=busy_s)
    return writer.execution_options(**immediate)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: routes serialise the objects after committing.
    return sessionmaker(bind=engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
