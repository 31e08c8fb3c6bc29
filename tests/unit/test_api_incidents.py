"""Repeats merge into the open order, recurrences link or reopen, and the
camera re-check moves an order in feedback on to verifying."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.ops import ADMIN, OP_A, SUP, WORKER, FakeClock, secured_settings, timeline, walk
from tests.support.orders import JPEG, jpeg_evidence, order_body, post_order

HOUR = dt.timedelta(hours=1)
T = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


def app(tmp_path: Path, clock: FakeClock, **overrides) -> TestClient:
    overrides.setdefault("merge_window", dt.timedelta(hours=24))
    return TestClient(create_app(secured_settings(tmp_path, **overrides), clock=clock))


def send(client: TestClient, n: int, at: dt.datetime, **overrides):
    overrides.setdefault("grid_cell", "cell-a")
    body = order_body(event_id=f"evt-{n}", detected_at=at.isoformat(), **overrides)
    return post_order(client, body, f"key-incident-{n:04d}", **WORKER)


def read(client: TestClient, response) -> dict:
    """The order a worker's POST filed or merged into (the worker itself gets only a receipt)."""
    assert response.status_code in (200, 201), response.text
    found = client.get(f"/api/v1/work-orders/{response.json()['id']}", headers=SUP)
    assert found.status_code == 200, found.text
    return found.json()


def test_repeat_within_window_merges_and_replays(tmp_path: Path, clock: FakeClock) -> None:
    with app(tmp_path, clock) as client:
        first = send(client, 1, T)
        assert first.status_code == 201
        repeat = send(client, 2, T + 20 * HOUR)
        assert repeat.status_code == 200, repeat.text
        assert repeat.headers["work-order-merged"] == "true" and "idempotent-replayed" not in repeat.headers
        assert repeat.json()["id"] == first.json()["id"] and read(client, repeat)["repeat_count"] == 1
        # The same message again is a replay of the merge, not a second repeat.
        again = send(client, 2, T + 20 * HOUR)
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert read(client, again)["repeat_count"] == 1
        assert send(client, 2, T + 21 * HOUR).status_code == 409  # same key, different payload
        # 24 h after the *last* sighting, not the first: still the same incident.
        assert send(client, 3, T + 43 * HOUR).json()["id"] == first.json()["id"]
        # Another category or zone is another problem.
        assert send(client, 4, T + HOUR, category_code="06042").status_code == 201
        assert send(client, 5, T + HOUR, zone_id="zone-other").status_code == 201
        # Beyond the window: a new order.
        assert send(client, 6, T + 80 * HOUR).status_code == 201
        entries = timeline(client, first.json()["id"])
        assert [e["action"] for e in entries] == ["created", "merged", "merged"]
        assert entries[1]["data"]["event_id"] == "evt-2"
        assert client.get("/api/v1/work-orders", headers=SUP).json()["total"] == 4


def test_rejected_orders_do_not_absorb_repeats(tmp_path: Path, clock: FakeClock) -> None:
    with app(tmp_path, clock) as client:
        first = send(client, 1, T).json()
        rejected = client.post(f"/api/v1/work-orders/{first['id']}/transitions",
                               json={"to": "rejected", "reason": "shadow"}, headers=OP_A)
        assert rejected.status_code == 200
        assert send(client, 2, T + HOUR).status_code == 201


def test_recurrence_after_closure_links_or_reopens(tmp_path: Path, clock: FakeClock) -> None:
    with app(tmp_path / "link", clock) as client:
        first = send(client, 1, T).json()
        walk(client, first["id"], "filed", "dispatched", "accepted", "in_progress", "feedback", "verifying", "closed")
        clock.advance(hours=1)
        again = send(client, 2, T + 30 * HOUR)
        assert again.status_code == 201 and read(client, again)["linked_order_id"] == first["id"]
        assert timeline(client, first["id"])[-1]["action"] == "recurrence"
    with app(tmp_path / "reopen", clock, recurrence_policy="reopen") as client:
        first = send(client, 1, T).json()
        walk(client, first["id"], "filed", "dispatched", "accepted", "in_progress", "feedback", "verifying", "closed")
        again = send(client, 2, T + 30 * HOUR)
        assert again.status_code == 200 and again.headers["work-order-merged"] == "true"
        reopened = read(client, again)
        assert (reopened["id"], reopened["status"], reopened["rework_count"]) == (first["id"], "rework", 1)
        assert reopened["closed_at"] is None


def end_message(n: int = 1, **overrides) -> dict:
    body = {"event_id": f"evt-{n}", "camera_id": "cam-01", "zone_id": "zone-a", "rule_id": "exposed-garbage",
            "ended_at": "2026-11-23T12:00:00+08:00", "evidence": [jpeg_evidence(kind="after")]}
    body.update(overrides)
    return body


def post_end(client: TestClient, body: dict, key: str):
    return client.post("/api/v1/events/end", json=body, headers={"Idempotency-Key": key, **WORKER})


def test_camera_recheck_verifies_an_order_in_feedback(tmp_path: Path, clock: FakeClock) -> None:
    with app(tmp_path, clock) as client:
        order = send(client, 1, T).json()
        early = post_end(client, end_message(), "end-key-00001")
        assert early.json() == {"outcome": "ignored", "work_order_id": order["id"], "status": "detected",
                                "replayed": False}
        walk(client, order["id"], "filed", "dispatched", "accepted", "in_progress", "feedback")
        done = post_end(client, end_message(ended_at="2026-11-23T13:00:00+08:00"), "end-key-00002")
        assert done.json()["outcome"] == "verified" and done.json()["status"] == "verifying"
        assert post_end(client, end_message(ended_at="2026-11-23T13:00:00+08:00"), "end-key-00002").json()["replayed"]
        assert post_end(client, end_message(ended_at="2026-11-23T14:00:00+08:00"), "end-key-00002").status_code == 409
        detail = client.get(f"/api/v1/work-orders/{order['id']}", headers=SUP).json()
        assert detail["verified_by_camera_at"] == "2026-11-23T05:00:00+00:00"
        proof = detail["evidence"][-1]
        assert proof["kind"] == "after" and client.get(proof["url"], headers=SUP).content == JPEG
        entry = timeline(client, order["id"])[-1]
        assert (entry["action"], entry["actor"], entry["from_status"], entry["to_status"]) == (
            "camera_recheck", "camera:cam-01", "feedback", "verifying")
        assert entry["data"]["evidence_ids"] == [proof["id"]]
        unknown = post_end(client, end_message(99), "end-key-00003").json()
        assert unknown == {"outcome": "unknown_event", "work_order_id": None, "status": None, "replayed": False}
        assert client.post("/api/v1/events/end", json=end_message(), headers=OP_A).status_code == 403
        assert post_end(client, end_message(), "short").status_code == 422


def test_camera_recheck_can_close(tmp_path: Path, clock: FakeClock) -> None:
    with app(tmp_path, clock, auto_close_on_recheck=True) as client:
        order = send(client, 1, T).json()
        walk(client, order["id"], "filed", "dispatched", "accepted", "in_progress", "feedback")
        assert post_end(client, end_message(), "end-key-close1").json()["status"] == "closed"


def test_routing_by_zone_grid_cell_and_team(tmp_path: Path, clock: FakeClock) -> None:
    with app(tmp_path, clock) as client:
        def admin_post(path: str, body: dict) -> dict:
            response = client.post(path, json=body, headers=ADMIN)
            assert response.status_code == 201, response.text
            return response.json()

        admin_post("/api/v1/teams", {"code": "clean-1", "name": "Cleaners 1", "department": "环卫所"})
        admin_post("/api/v1/grid-cells", {"code": "cell-a", "admin_area": "昆山市", "street": "陆家镇",
                                          "community": "夏桥社区", "team_code": "clean-1", "manager": "li"})
        admin_post("/api/v1/grid-cells", {"code": "cell-b", "team_code": None})
        admin_post("/api/v1/cameras", {"camera_id": "cam-01", "grid_cell": "cell-b", "address": "夏桥路 1 号",
                                       "latitude": 31.3, "longitude": 121.0})
        admin_post("/api/v1/cameras/cam-01/zones", {"zone_id": "zone-a", "polygon": [[0, 0], [1, 0], [1, 1]],
                                                    "grid_cell": "cell-a"})
        # The worker says cell-x; the registry says zone-a is in cell-a.
        order = send(client, 1, T, grid_cell="cell-x", address=None)
        body = read(client, order)
        assert (body["grid_cell"], body["team"], body["department"], body["assignee"]) == ("cell-a", "clean-1", "环卫所", "li")
        assert (body["street"], body["community"], body["address"], body["latitude"]) == ("陆家镇", "夏桥社区", "夏桥路 1 号", 31.3)
        other_zone = read(client, send(client, 2, T, zone_id="zone-b"))
        assert (other_zone["grid_cell"], other_zone["team"]) == ("cell-b", None)  # the camera's default cell
        assert client.get("/api/v1/work-orders", headers=OP_A).json()["total"] == 1
