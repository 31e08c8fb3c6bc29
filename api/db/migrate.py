"""Schema migrations, run programmatically (the app calls :func:`upgrade` at
start-up) so an installed package migrates its own database: the scripts live
in ``api/db/migrations`` inside the package.

Command line::

    python -m api.db.migrate upgrade            # to head, GRIDSIGHT_DATABASE_URL or --database-url
    python -m api.db.migrate current
    python -m api.db.migrate revision -m "add x" # autogenerate a new script (developers)

Databases made before migrations existed (``metadata.create_all``) hold the
revision-0001 tables without an ``alembic_version`` table; they are stamped
0001 and then upgraded, keeping their data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from api.db.engine import make_engine, sqlite_file
from api.settings import SettingsInvalid, load_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"


def _config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _disable_sqlite_fks(connection: Connection) -> None:
    # Batch migrations copy and drop tables; with foreign keys on, dropping "cameras"
    # would cascade-delete its status history. The pragma only works outside a
    # transaction, hence the raw DBAPI call before SQLAlchemy begins one.
    if connection.dialect.name == "sqlite":
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent; safe on every start)."""
    with engine.connect() as connection:
        _disable_sqlite_fks(connection)
        tables = set(inspect(connection).get_table_names())
        connection.rollback()
        cfg = _config(connection)
        if "alembic_version" not in tables and "work_orders" in tables:
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, revision)
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def prepare_storage(engine: Engine) -> None:
    """Start-up work: create the SQLite parent directory, then migrate to the
    newest schema (``alembic upgrade head``, run in-process)."""
    if engine.dialect.name == "sqlite":
        path = sqlite_file(engine.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(engine)


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m api.db.migrate", description="GridSight schema migrations")
    parser.add_argument("--database-url", help="default: GRIDSIGHT_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade")
    up.add_argument("revision", nargs="?", default="head")
    sub.add_parser("current")
    rev = sub.add_parser("revision")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    try:
        url = args.database_url or load_settings().database_url
    except SettingsInvalid as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    engine = make_engine(url)
    if args.command == "upgrade":
        upgrade(engine, args.revision)
        print(f"database at {current(engine)}")
    elif args.command == "current":
        print(current(engine) or "(empty database)")
    else:
        with engine.connect() as connection:
            command.revision(_config(connection), message=args.message, autogenerate=True)
            connection.commit()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
