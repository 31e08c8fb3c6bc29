"""What the demo keeps between runs, and what `gridsight demo --fresh` removes.

The database, the evidence files it points at and the worker's spool (records not yet
delivered to that database) are one unit: kept together, removed together. A kept
database whose evidence files are gone would show broken order pages, so the demo
refuses it with one line instead of starting; files left without their database
(it was deleted by hand) are removed, since no page can show them any more.
The clip, the worker config and the logs are not state: the clip is re-rendered when
missing, the config and the logs are rewritten every run."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

DB_NAME = "gridsight.db"
DB_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal")
EVIDENCE_DIR = "evidence"
SPOOL_DIR = "spool"
FRESH_HINT = "`gridsight demo --fresh` (or `make demo DEMO_ARGS=--fresh`) starts clean"


class DemoStateError(Exception):
    """The kept state cannot be used; the message is one line for the operator."""


@dataclass
class Prepared:
    """What prepare_workdir found and did, worded for the terminal."""

    database: Path
    kept: bool  # an earlier run's database is used
    fresh: bool = False  # --fresh asked for it
    removed: list[str] = field(default_factory=list)  # what was removed, relative to the workdir

    def lines(self, orders_kept: int | None = None) -> list[str]:
        out = []
        if self.fresh:
            out.append(f"fresh start: removed {', '.join(self.removed)}" if self.removed
                       else "fresh start: nothing to remove")
        elif self.removed:
            out.append(f"removed {', '.join(self.removed)}: left without their database")
        if self.kept:
            count = "" if orders_kept is None else f" with {orders_kept} work order(s) from earlier runs"
            out.append(f"database kept: {self.database}{count}; {FRESH_HINT}")
        else:
            out.append(f"database: {self.database} (new; kept for the next run)")
        return out


def _remove(workdir: Path, names: tuple[str, ...]) -> list[str]:
    removed = []
    for name in names:
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(f"{name}/")
        elif path.exists():
            path.unlink()
            removed.append(name)
    return removed


def missing_evidence(database: Path, evidence_dir: Path) -> tuple[int, int]:
    """(files the database refers to, how many of them are missing); read-only."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            paths = [row[0] for row in db.execute("SELECT path FROM evidence")]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0, 0  # a database the API never migrated: nothing refers to a file yet
        raise DemoStateError(f"the kept database {database} cannot be read ({exc}); {FRESH_HINT}") from None
    except sqlite3.DatabaseError as exc:
        raise DemoStateError(f"the kept database {database} is damaged ({exc}); {FRESH_HINT}") from None
    root = evidence_dir.resolve()
    gone = sum(1 for p in paths if not (root / p).is_file())
    return len(paths), gone


def prepare_workdir(workdir: Path, fresh: bool) -> Prepared:
    """Keep or remove the database, evidence and spool; raise DemoStateError when they disagree."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / DB_NAME
    state = (*DB_FILES, EVIDENCE_DIR, SPOOL_DIR)
    if fresh:
        return Prepared(database, kept=False, fresh=True, removed=_remove(workdir, state))
    if not database.exists():
        # Evidence or spool without their database: nothing can show them; drop them with it.
        return Prepared(database, kept=False, removed=_remove(workdir, tuple(n for n in state if n != DB_NAME)))
    total, gone = missing_evidence(database, workdir / EVIDENCE_DIR)
    if gone:
        raise DemoStateError(
            f"the kept database {database} refers to {gone} of {total} evidence file(s) that are missing "
            f"under {workdir / EVIDENCE_DIR}; their order pages would be broken. {FRESH_HINT}"
        )
    return Prepared(database, kept=True)
