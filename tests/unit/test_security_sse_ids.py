"""Issue 14 §3: the live feed checks Last-Event-ID and after_id against the range
of the timeline's id column before the stream starts (a 422 with a message),
instead of answering 200 and breaking the chunked stream when the database
refuses the number (SQLite OverflowError, PostgreSQL 'integer out of range').
Run on SQLite and on PostgreSQL (skipped when no server answers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.ops import OP_A, file_order, secured_settings

INT4_MAX = 2**31 - 1  # TimelineEntry.id is an INTEGER column: 32 bits on PostgreSQL


@pytest.fixture(params=["sqlite", "postgresql"])
def feed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    overrides = {"sse_poll_s": 0.05}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("pg_database")
    with TestClient(create_app(secured_settings(tmp_path, **overrides))) as client:
        file_order(client, 1, event_id=f"evt-{uuid.uuid4().hex[:8]}")
        yield client
        if request.param == "postgresql":
            with client.app.state.engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE timeline_entries, evidence, work_orders RESTART IDENTITY CASCADE")


def _stream(client: TestClient, params: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    params = {"timeout_s": 0.3, **(params or {})}
    with client.stream("GET", "/api/v1/events/stream", params=params, headers={**OP_A, **(headers or {})}) as r:
        return r.status_code, "".join(r.iter_text())


@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), str(INT4_MAX + 1), "3000000000"])
def test_last_event_id_beyond_the_id_column_is_422_before_streaming(feed: TestClient, value: str) -> None:
    status, text = _stream(feed, headers={"Last-Event-ID": value})
    assert status == 422, text
    assert "Last-Event-ID" in text and str(INT4_MAX) in text


@pytest.mark.parametrize("value", [3_000_000_000, 2**62, INT4_MAX + 1])
def test_after_id_beyond_the_id_column_is_422_before_streaming(feed: TestClient, value: int) -> None:
    status, text = _stream(feed, params={"after_id": value})
    assert status == 422, text
    assert "after_id" in text and str(INT4_MAX) in text


def test_the_largest_id_the_column_holds_streams_normally(feed: TestClient) -> None:
    for request in ({"params": {"after_id": INT4_MAX}}, {"headers": {"Last-Event-ID": str(INT4_MAX)}}):
        status, text = _stream(feed, **request)
        assert status == 200 and text.startswith("retry: 3000")
        assert "id:" not in text  # nothing comes after the largest possible id
    status, text = _stream(feed, params={"after_id": 0})
    assert status == 200 and "event: order.created" in text


@pytest.mark.parametrize("value", [b"\xb2", b"\xd9\xa1", b"-1", b"+5", b" 7"])
def test_last_event_id_must_be_ascii_digits(feed: TestClient, value: bytes) -> None:
    # '\xb2' (superscript two, latin-1) passes str.isdigit() but not int(): a 500 before.
    status, text = _stream(feed, headers={"Last-Event-ID": value})
    assert status == 422, text
    assert "Last-Event-ID" in text
