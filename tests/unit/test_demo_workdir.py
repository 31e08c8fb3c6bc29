"""What `gridsight demo` keeps between runs and what `--fresh` removes (issue 17, point 6): the
database, its evidence and spool as one unit; a kept database with missing evidence refused."""

from __future__ import annotations

import sqlite3

import pytest

from api.db.models import Evidence
from gridsight.demo.workdir import FRESH_HINT, DemoStateError, missing_evidence, prepare_workdir


def _earlier_run(workdir, evidence=("1/snap.jpg",)):
    """What a demo run leaves: a database naming evidence files, the files, a spool and the clip."""
    workdir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(workdir / "gridsight.db") as db:
        db.execute("CREATE TABLE evidence (id INTEGER PRIMARY KEY, path TEXT)")
        db.executemany("INSERT INTO evidence (path) VALUES (?)", [(p,) for p in evidence])
    for rel in evidence:
        (workdir / "evidence" / rel).parent.mkdir(parents=True, exist_ok=True)
        (workdir / "evidence" / rel).write_bytes(b"jpeg")
    (workdir / "spool").mkdir()
    (workdir / "spool" / "0001.json").write_text("{}")
    (workdir / "street.mp4").write_bytes(b"clip")


def test_the_check_reads_the_apis_own_evidence_table_and_column():
    assert Evidence.__tablename__ == "evidence" and "path" in Evidence.__table__.c


def test_a_second_run_keeps_database_evidence_and_spool(tmp_path):
    _earlier_run(tmp_path)
    prepared = prepare_workdir(tmp_path, fresh=False)
    assert prepared.kept and not prepared.removed
    assert (tmp_path / "gridsight.db").exists() and (tmp_path / "evidence" / "1" / "snap.jpg").exists()
    assert (tmp_path / "spool" / "0001.json").exists()
    [line] = prepared.lines(orders_kept=3)
    assert line == f"database kept: {tmp_path / 'gridsight.db'} with 3 work order(s) from earlier runs; {FRESH_HINT}"


def test_fresh_removes_database_evidence_and_spool_and_says_so(tmp_path):
    _earlier_run(tmp_path)
    (tmp_path / "gridsight.db-wal").write_bytes(b"")
    prepared = prepare_workdir(tmp_path, fresh=True)
    assert not prepared.kept
    for gone in ("gridsight.db", "gridsight.db-wal", "evidence", "spool"):
        assert not (tmp_path / gone).exists(), gone
    assert (tmp_path / "street.mp4").exists(), "the clip is not state: kept"
    assert prepared.lines()[0] == "fresh start: removed gridsight.db, gridsight.db-wal, evidence/, spool/"
    assert prepare_workdir(tmp_path, fresh=True).lines()[0] == "fresh start: nothing to remove"


def test_files_left_without_their_database_are_removed(tmp_path):
    _earlier_run(tmp_path)
    (tmp_path / "gridsight.db").unlink()
    prepared = prepare_workdir(tmp_path, fresh=False)
    assert not (tmp_path / "evidence").exists() and not (tmp_path / "spool").exists()
    assert prepared.lines()[0] == "removed evidence/, spool/: left without their database"
    assert prepared.lines()[1].startswith("database: ") and "(new; kept for the next run)" in prepared.lines()[1]


def test_a_kept_database_with_missing_evidence_is_refused_in_one_line(tmp_path):
    _earlier_run(tmp_path, evidence=("1/a.jpg", "1/b.jpg", "2/c.jpg"))
    (tmp_path / "evidence" / "1" / "b.jpg").unlink()
    with pytest.raises(DemoStateError) as refused:
        prepare_workdir(tmp_path, fresh=False)
    message = str(refused.value)
    assert "\n" not in message and "1 of 3 evidence file(s) that are missing" in message and "--fresh" in message
    assert (tmp_path / "gridsight.db").exists(), "refusing deletes nothing"


def test_a_database_the_api_never_migrated_has_nothing_missing(tmp_path):
    sqlite3.connect(tmp_path / "gridsight.db").close()
    assert missing_evidence(tmp_path / "gridsight.db", tmp_path / "evidence") == (0, 0)
    assert prepare_workdir(tmp_path, fresh=False).kept


def test_a_damaged_database_is_refused_in_one_line(tmp_path):
    (tmp_path / "gridsight.db").write_bytes(b"not a database" * 100)
    with pytest.raises(DemoStateError, match="damaged") as refused:
        prepare_workdir(tmp_path, fresh=False)
    assert "\n" not in str(refused.value)
