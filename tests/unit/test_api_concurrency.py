"""Concurrent writers against one database file: the UNIQUE key, not luck,
keeps an event to one order, and WAL keeps readers and writers apart."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.orders import evidence_files, jpeg_evidence, make_settings, order_body
from tests.support.api import ApiServer

WORKERS = 8


def test_same_key_from_separate_app_instances_creates_one_order(tmp_path: Path) -> None:
    # One app (own engine and pool) per thread: as close to separate API processes as a unit test gets.
    settings = make_settings(tmp_path)
    clients = [TestClient(create_app(settings)) for _ in range(WORKERS)]
    for c in clients:
        c.__enter__()
    barrier = threading.Barrier(WORKERS)
    body = order_body(evidence=[jpeg_evidence()])

    def post(client: TestClient) -> tuple[int, int]:
        barrier.wait()
        response = client.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": "key-race-00001"})
        return response.status_code, response.json().get("id", -1)

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(post, clients))
        codes = Counter(code for code, _ in results)
        assert codes == {201: 1, 200: WORKERS - 1}, results
        assert len({order_id for _, order_id in results}) == 1
        assert clients[0].get("/api/v1/work-orders").json()["total"] == 1
        assert len(evidence_files(settings.evidence_dir)) == 1
    finally:
        for c in clients:
            c.__exit__(None, None, None)


@pytest.mark.slow  # a real `gridsight serve` process
def test_real_server_same_key_and_distinct_keys_with_readers(tmp_path: Path) -> None:
    with ApiServer(tmp_path, env={"GRIDSIGHT_MERGE_WINDOW": "PT0S"}, log_level="WARNING") as api:
        base = api.url
        body = order_body(evidence=[jpeg_evidence()])
        barrier = threading.Barrier(WORKERS * 2)

        def same_key(_: int) -> int:
            barrier.wait()
            with httpx.Client(base_url=base, timeout=30) as http:
                headers = {"Idempotency-Key": "key-race-00002"}
                return http.post("/api/v1/work-orders", json=body, headers=headers).status_code

        def own_key_then_read(i: int) -> int:
            barrier.wait()
            with httpx.Client(base_url=base, timeout=30) as http:
                created = http.post(
                    "/api/v1/work-orders",
                    json=order_body(event_id=f"evt-{i}", evidence=[jpeg_evidence()]),
                    headers={"Idempotency-Key": f"key-distinct-{i:03d}"},
                ).status_code
                assert http.get("/api/v1/work-orders", params={"limit": 5}).status_code == 200
                return created

        with ThreadPoolExecutor(WORKERS * 2) as pool:
            same = [pool.submit(same_key, i) for i in range(WORKERS)]
            distinct = [pool.submit(own_key_then_read, i) for i in range(WORKERS)]
            same_codes = Counter(f.result() for f in same)
            distinct_codes = Counter(f.result() for f in distinct)
        assert same_codes == {201: 1, 200: WORKERS - 1}
        assert distinct_codes == {201: WORKERS}
        listing = httpx.get(f"{base}/api/v1/work-orders", params={"limit": 200}).json()
        assert listing["total"] == WORKERS + 1
        assert len({o["order_no"] for o in listing["items"]}) == WORKERS + 1


def test_lost_race_is_resolved_by_the_unique_constraint(tmp_path: Path, monkeypatch) -> None:
    """Make the fast-path lookup miss, as it does for the loser of a race on
    PostgreSQL: the insert must hit the UNIQUE key and answer with the winner."""
    from api.crud import work_orders as crud

    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        body = order_body(evidence=[jpeg_evidence()])
        first = client.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": "key-lost-race1"})
        assert first.status_code == 201
        real_find = crud.find_by_key
        calls = []

        def blind_first_lookup(session, key):  # type: ignore[no-untyped-def]
            calls.append(key)
            return None if len(calls) == 1 else real_find(session, key)

        monkeypatch.setattr(crud, "find_by_key", blind_first_lookup)
        replay = client.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": "key-lost-race1"})
        assert replay.status_code == 200, replay.text
        assert replay.json()["id"] == first.json()["id"]
        assert len(calls) == 2

        calls.clear()
        changed = order_body(confidence=0.1, evidence=[jpeg_evidence()])
        conflict = client.post("/api/v1/work-orders", json=changed, headers={"Idempotency-Key": "key-lost-race1"})
        assert conflict.status_code == 409
        monkeypatch.undo()
        assert client.get("/api/v1/work-orders").json()["total"] == 1
        # Only the winner's file exists: the loser never got past its failed insert.
        assert len(evidence_files(settings.evidence_dir)) == 1
