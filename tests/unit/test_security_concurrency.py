"""Issue 14 §1 and §4: bursts of one idempotency key, on SQLite and on PostgreSQL
(skipped only when no PostgreSQL server answers).

§1: 50 concurrent POSTs with one key and one body (a worker's outbox retrying
after a network blip) stalled the API on SQLite: the replay path kept its
BEGIN IMMEDIATE transaction (the write lock) open until the session closed,
after the response was serialised on another thread-pool thread, while every
other thread of the pool waited for that lock. 40 answered 500 after the busy
timeout. Now every request answers 201 or 200 with the one order.

§4: 50 concurrent POSTs with one key and 50 different bodies: one request
merged its event into the order the key had just created (200
``Work-Order-Merged``) instead of a 409, because on PostgreSQL the key was
looked up before the problem lock was taken and not again after it.

The apps run in-process (TestClient: one event loop, the default thread pool
of 40 threads, as under uvicorn) with 50 client threads."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.crud import work_orders as crud
from api.evidence import decode_evidence
from api.main import create_app
from api.db.models import OrderEvent, WorkOrder
from api.schemas import WorkOrderCreate
from tests.support.orders import evidence_files, jpeg_evidence, make_settings, order_body, post_order

BURST = 50  # more clients than the thread pool has threads (40)
# Short enough that a stalled burst fails within seconds, long enough for a loaded 2-core machine.
BUSY_TIMEOUT_S = 10.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path / 'db' / 'gridsight.db'}"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    # The merge window is on (the default 24 h): a repeat of an open order's problem merges into it.
    settings = make_settings(tmp_path, database_url=database_url, merge_window=dt.timedelta(hours=24),
                             sqlite_busy_timeout_s=BUSY_TIMEOUT_S)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _unique() -> dict[str, str]:
    # The PostgreSQL database is shared by the module's tests: a camera of its own keeps merges apart.
    tag = uuid.uuid4().hex[:10]
    return {"camera_id": f"cam-{tag}", "event_id": f"evt-{tag}"}


def _burst(client: TestClient, bodies: list[dict[str, Any]], key: str) -> list[Any]:
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> Any:
        barrier.wait()
        return post_order(client, body, key)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_retry_storm_with_one_key_and_one_body_answers_every_request(client: TestClient, tmp_path: Path) -> None:
    body = order_body(evidence=[jpeg_evidence()], **_unique())
    key = f"key-storm-{uuid.uuid4().hex[:12]}"
    health: list[int] = []
    probe = threading.Thread(target=lambda: health.append(client.get("/health").status_code))
    probe.start()
    responses = _burst(client, [body] * BURST, key)
    probe.join()
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 200: BURST - 1}, [(r.status_code, r.text[:200]) for r in responses if r.status_code >= 300]
    assert len({r.json()["id"] for r in responses}) == 1
    assert all(r.headers.get("idempotent-replayed") == "true" for r in responses if r.status_code == 200)
    assert health == [200]
    listing = client.get("/api/v1/work-orders", params={"camera_id": body["camera_id"]}).json()
    assert listing["total"] == 1
    # The API still answers afterwards, writes included.
    again = post_order(client, order_body(**_unique()), f"key-after-{uuid.uuid4().hex[:12]}")
    assert again.status_code == 201, again.text


def test_one_key_with_different_bodies_is_one_order_and_409s(client: TestClient) -> None:
    same = _unique()
    # Same problem (camera, zone, category), so a request that missed the key would merge into the new order.
    bodies = [order_body(confidence=round(0.30 + i / 1000, 3), **same) for i in range(BURST)]
    key = f"key-diff-{uuid.uuid4().hex[:12]}"
    responses = _burst(client, bodies, key)
    codes = Counter(r.status_code for r in responses)
    merged = [r for r in responses if r.headers.get("work-order-merged") == "true"]
    assert codes == {201: 1, 409: BURST - 1}, [(r.status_code, r.headers.get("work-order-merged")) for r in merged]
    assert not merged
    assert client.get("/api/v1/work-orders", params={"camera_id": same["camera_id"]}).json()["total"] == 1
    order = next(r.json() for r in responses if r.status_code == 201)
    assert order["repeat_count"] == 0
    with client.app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.idempotency_key == key)) == 0


def test_every_path_of_create_ends_its_transaction(client: TestClient) -> None:
    """Created, replayed, merged, merge replayed, conflict: the session is left
    without an open transaction (on SQLite an open write session holds the
    database's write lock until it closes)."""
    app = client.app
    settings, store = app.state.settings, app.state.evidence_store
    place = _unique()

    def create(key: str, **overrides: Any):  # type: ignore[no-untyped-def]
        body = WorkOrderCreate.model_validate(order_body(evidence=[jpeg_evidence()], **{**place, **overrides}))
        evidence = decode_evidence(body.evidence, settings.max_evidence_bytes, settings.max_image_pixels)
        with app.state.write_sessions() as session:
            try:
                result = crud.create_work_order(session, store, settings, body, key, evidence)
                crud.to_public(result.order)  # what the route answers with needs no further query
                return result
            finally:
                assert not session.in_transaction()

    first = create("key-paths-000001")
    assert first.created
    assert create("key-paths-000001").replayed
    merged = create("key-paths-000002", event_id="evt-repeat", confidence=0.5)
    assert merged.merged and not merged.replayed and merged.order.id == first.order.id
    assert create("key-paths-000002", event_id="evt-repeat", confidence=0.5).replayed
    with pytest.raises(crud.IdempotencyConflict):
        create("key-paths-000001", confidence=0.1)
    with pytest.raises(crud.IdempotencyConflict):
        create("key-paths-000002", confidence=0.1)
    with app.state.sessions() as session:
        assert session.scalar(
            select(func.count()).select_from(WorkOrder).where(WorkOrder.camera_id == place["camera_id"])
        ) == 1
    assert len(evidence_files(settings.evidence_dir)) >= 1
