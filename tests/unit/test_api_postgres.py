"""The key API paths against a real PostgreSQL (127.0.0.1:5432, trust auth).

Each test session creates its own database and drops it afterwards; the tests
skip only when no server answers. Override with GRIDSIGHT_TEST_PG_DSN."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.orders import JPEG, jpeg_evidence, make_settings, order_body, post_order

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")



@pytest.fixture
def pg_client(pg_database: str, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, database_url=pg_database))) as client:
        yield client
        with client.app.state.engine.begin() as conn:
            conn.exec_driver_sql(
                "TRUNCATE evidence, work_orders, camera_status_events, cameras RESTART IDENTITY CASCADE"
            )


def test_health(pg_client: TestClient) -> None:
    assert pg_client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_create_replay_conflict(pg_client: TestClient) -> None:
    body = order_body(evidence=[jpeg_evidence()])
    first = post_order(pg_client, body, "key-pg-000001")
    assert first.status_code == 201, first.text
    replay = post_order(pg_client, body, "key-pg-000001")
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    conflict = post_order(pg_client, order_body(confidence=0.2), "key-pg-000001")
    assert conflict.status_code == 409
    order = first.json()
    assert order["detected_at"] == "2026-11-23T02:00:00+00:00"
    assert order["deadline_at"] == "2026-11-25T02:00:00+00:00"
    download = pg_client.get(order["evidence"][0]["url"])
    assert download.content == JPEG and download.headers["content-type"] == "image/jpeg"


def test_list_filters_and_pages(pg_client: TestClient) -> None:
    t0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)
    for i in range(6):
        body = order_body(
            event_id=f"e{i}",
            camera_id="cam-x" if i % 2 else "cam-y",
            detected_at=(t0 + dt.timedelta(minutes=i // 2)).isoformat(),  # pairs share an instant
        )
        assert post_order(pg_client, body, f"key-pg-list-{i}").status_code == 201
    seen = []
    for offset in (0, 2, 4):
        page = pg_client.get("/api/v1/work-orders", params={"limit": 2, "offset": offset}).json()
        assert page["total"] == 6
        seen += [o["id"] for o in page["items"]]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 6
    filtered = pg_client.get("/api/v1/work-orders", params={"camera_id": "cam-x", "since": "2026-11-23T10:01:00+08:00"})
    assert filtered.json()["total"] == 2


def test_concurrent_same_key_creates_one_order(pg_database: str, pg_client: TestClient, tmp_path: Path) -> None:
    # Separate apps and pools: the losers' inserts block on the winner's row, then fail on the UNIQUE key.
    settings = make_settings(tmp_path, database_url=pg_database)
    apps = [TestClient(create_app(settings)) for _ in range(6)]
    for c in apps:
        c.__enter__()
    barrier = threading.Barrier(len(apps))
    body = order_body(evidence=[jpeg_evidence()])

    def post(client: TestClient) -> int:
        barrier.wait()
        return post_order(client, body, "key-pg-race-01").status_code

    try:
        with ThreadPoolExecutor(len(apps)) as pool:
            codes = Counter(pool.map(post, apps))
    finally:
        for c in apps:
            c.__exit__(None, None, None)
    assert codes == {201: 1, 200: len(apps) - 1}
    assert pg_client.get("/api/v1/work-orders").json()["total"] == 1


def test_camera_status(pg_client: TestClient) -> None:
    response = pg_client.put(
        "/api/v1/cameras/cam-pg/status",
        json={"state": "error", "at": 1_795_000_000.5, "reason": "rtsp://admin:pw99@cam/1 refused"},
    )
    assert response.status_code == 200, response.text
    body = pg_client.get("/api/v1/cameras/cam-pg").json()
    assert "pw99" not in str(body)
    assert body["at"] == dt.datetime.fromtimestamp(1_795_000_000.5, dt.timezone.utc).isoformat()
    assert body["at"].endswith(".500000+00:00")


def test_values_postgres_refuses_are_422_not_500(pg_client: TestClient) -> None:
    # Text with NUL passes validation but PostgreSQL cannot store it.
    response = post_order(pg_client, order_body(address="No.1\x00 street"), "key-pg-nul-001")
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
    assert pg_client.get("/api/v1/work-orders", params={"camera_id": "a\x00b"}).status_code == 422
    assert pg_client.get("/api/v1/work-orders").json()["total"] == 0


def test_migrated_schema_workflow_jobs_and_merge_on_postgres(pg_database: str, pg_client: TestClient, tmp_path: Path) -> None:
    from api.jobs import run_overdue_job
    from api.db.migrate import current, head
    from tests.support.ops import FakeClock

    assert current(pg_client.app.state.engine) == head()
    clock = FakeClock()
    settings = make_settings(tmp_path, database_url=pg_database, merge_window=dt.timedelta(hours=24))
    with TestClient(create_app(settings, clock=clock)) as client:
        first = post_order(client, order_body(), "key-pg-flow-01").json()
        merged = post_order(client, order_body(event_id="evt-2"), "key-pg-flow-02")
        assert merged.status_code == 200 and merged.json()["repeat_count"] == 1
        for state in ("filed", "dispatched", "accepted"):
            moved = client.post(f"/api/v1/work-orders/{first['id']}/transitions", json={"to": state})
            assert moved.status_code == 200, moved.text
        illegal = client.post(f"/api/v1/work-orders/{first['id']}/transitions", json={"to": "closed"})
        assert illegal.status_code == 409 and illegal.json()["allowed"]
        report = run_overdue_job(client.app.state.write_sessions, settings, clock.now + dt.timedelta(days=3))
        assert report.overdue == [first["id"]] and report.escalated == [first["id"]]
        actions = [e["action"] for e in client.get(f"/api/v1/work-orders/{first['id']}/timeline").json()["items"]]
        assert actions == ["created", "merged", "transition", "transition", "transition", "overdue", "escalated"]
        at = "2026-11-30T00:00:00+08:00"
        baseline = client.get("/api/v1/stats/baselines", params={"at": at, "unit": "category"}).json()
        assert baseline["items"][0]["current"] == 1


def test_concurrent_repeats_of_one_problem_make_one_order(pg_database: str, tmp_path: Path) -> None:
    """Different events for the same zone and category arriving at the same instant merge
    into one order: PostgreSQL does not serialise writers the way SQLite does."""
    settings = make_settings(tmp_path, database_url=pg_database, merge_window=dt.timedelta(hours=24))
    apps = [create_app(settings) for _ in range(6)]
    clients = [TestClient(app).__enter__() for app in apps]
    try:
        barrier = threading.Barrier(len(clients))

        def post(i: int):
            barrier.wait()
            return post_order(clients[i], order_body(event_id=f"race-{i}"), f"key-race-{i:06d}").status_code

        with ThreadPoolExecutor(len(clients)) as pool:
            codes = Counter(pool.map(post, range(len(clients))))
        orders = clients[0].get("/api/v1/work-orders").json()
        assert orders["total"] == 1, (codes, [(o["id"], o["event_id"]) for o in orders["items"]])
        assert codes == Counter({201: 1, 200: len(clients) - 1})
    finally:
        for client in clients:
            client.__exit__(None, None, None)
        with apps[0].state.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE evidence, work_orders, camera_status_events, cameras RESTART IDENTITY CASCADE")
