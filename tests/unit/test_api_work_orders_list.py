"""Reading work orders: list filters, pagination, detail, deadlines and times."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.orders import make_settings, order_body, post_order

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

# (camera, zone, category, priority, minutes after T0)
SEED = [
    ("cam-01", "zone-a", "06010", "normal", 0),
    ("cam-01", "zone-a", "06042", "urgent", 10),
    ("cam-01", "zone-b", "09010", "normal", 20),
    ("cam-02", "zone-a", "06010", "emergency", 30),
    ("cam-02", "zone-c", "09012", "urgent", 40),
    ("cam-03", "zone-a", "06010", "normal", 40),  # same instant as the previous: id breaks the tie
    ("cam-03", "zone-b", "06036", "normal", 50),
]


@pytest.fixture
def seeded(client: TestClient) -> list[dict]:
    created = []
    for i, (camera, zone, category, priority, minutes) in enumerate(SEED):
        body = order_body(
            camera_id=camera,
            zone_id=zone,
            category_code=category,
            priority=priority,
            event_id=f"evt-{i}",
            detected_at=(T0 + dt.timedelta(minutes=minutes)).isoformat(),
        )
        response = post_order(client, body, f"key-seed-{i:04d}")
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


def ids(response_json: dict) -> list[int]:
    return [item["id"] for item in response_json["items"]]


def test_list_default_order_is_newest_detection_first_with_id_tiebreak(client: TestClient, seeded: list[dict]) -> None:
    page = client.get("/api/v1/work-orders").json()
    assert page["total"] == len(SEED)
    assert page["limit"] == 50 and page["offset"] == 0
    expected = sorted(seeded, key=lambda o: (o["detected_at"], o["id"]), reverse=True)
    assert ids(page) == [o["id"] for o in expected]
    # The two orders at minute 40 come newest id first.
    assert ids(page)[1:3] == [seeded[5]["id"], seeded[4]["id"]]


@pytest.mark.parametrize(
    ("params", "expected_seed_rows"),
    [
        ({"camera_id": "cam-01"}, [0, 1, 2]),
        ({"zone_id": "zone-a"}, [0, 1, 3, 5]),
        ({"category_code": "06010"}, [0, 3, 5]),
        ({"priority": "urgent"}, [1, 4]),
        ({"status": "detected"}, [0, 1, 2, 3, 4, 5, 6]),
        ({"status": "closed"}, []),
        ({"camera_id": "cam-01", "zone_id": "zone-a"}, [0, 1]),
        ({"since": (T0 + dt.timedelta(minutes=30)).isoformat()}, [3, 4, 5, 6]),
        ({"until": (T0 + dt.timedelta(minutes=30)).isoformat()}, [0, 1, 2]),
        # The same instants written in Beijing time select the same rows.
        (
            {"since": "2026-11-23T10:10:00+08:00", "until": "2026-11-23T10:40:00+08:00", "zone_id": "zone-a"},
            [1, 3],
        ),
    ],
)
def test_list_filters(client: TestClient, seeded: list[dict], params: dict, expected_seed_rows: list[int]) -> None:
    response = client.get("/api/v1/work-orders", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert sorted(ids(page)) == sorted(seeded[i]["id"] for i in expected_seed_rows)
    assert page["total"] == len(expected_seed_rows)


def test_pages_do_not_overlap_and_cover_everything(client: TestClient, seeded: list[dict]) -> None:
    seen: list[int] = []
    for offset in range(0, len(SEED), 3):
        page = client.get("/api/v1/work-orders", params={"limit": 3, "offset": offset}).json()
        assert page["total"] == len(SEED)
        assert page["limit"] == 3 and page["offset"] == offset
        seen.extend(ids(page))
    assert len(seen) == len(set(seen)) == len(SEED)
    assert seen == ids(client.get("/api/v1/work-orders").json())
    beyond = client.get("/api/v1/work-orders", params={"offset": 100}).json()
    assert beyond["items"] == [] and beyond["total"] == len(SEED)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"offset": -1},
        {"status": "lost"},
        {"priority": "asap"},
        {"since": "yesterday"},
        {"since": "2026-11-23T10:00:00"},  # naive
        {"since": "2026-11-24T00:00:00Z", "until": "2026-11-23T00:00:00Z"},
        {"since": "0001-01-01T00:00:00+14:00"},  # overflows when converted to UTC
    ],
)
def test_bad_query_params_are_422(client: TestClient, params: dict) -> None:
    response = client.get("/api/v1/work-orders", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_limit_bounds_are_accepted(client: TestClient, seeded: list[dict]) -> None:
    assert len(client.get("/api/v1/work-orders", params={"limit": 1}).json()["items"]) == 1
    assert client.get("/api/v1/work-orders", params={"limit": 200}).status_code == 200


def test_detail_and_404(client: TestClient, seeded: list[dict]) -> None:
    order = seeded[2]
    response = client.get(f"/api/v1/work-orders/{order['id']}")
    assert response.status_code == 200
    assert response.json() == order
    missing = client.get("/api/v1/work-orders/424242")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "work order 424242 not found"
    assert client.get("/api/v1/work-orders/not-a-number").status_code == 422
    # Beyond the INTEGER range: refused up front instead of overflowing the driver.
    assert client.get("/api/v1/work-orders/99999999999999999999").status_code == 422
    assert client.get(f"/api/v1/work-orders/{order['id']}/evidence/99999999999999999999").status_code == 422


@pytest.mark.parametrize(
    ("priority", "delta"),
    [("normal", dt.timedelta(hours=48)), ("urgent", dt.timedelta(hours=24)), ("emergency", dt.timedelta(minutes=30))],
)
def test_deadline_per_priority_tier(client: TestClient, priority: str, delta: dt.timedelta) -> None:
    order = post_order(client, order_body(priority=priority), f"key-deadline-{priority}").json()
    detected = dt.datetime.fromisoformat(order["detected_at"])
    assert dt.datetime.fromisoformat(order["deadline_at"]) - detected == delta


def test_deadlines_are_configurable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, deadline_urgent=dt.timedelta(hours=4))
    with TestClient(create_app(settings)) as custom:
        order = post_order(custom, order_body(priority="urgent"), "key-deadline-cfg").json()
    assert order["deadline_at"] == "2026-11-23T06:00:00+00:00"


def test_default_priority_is_normal(client: TestClient) -> None:
    body = order_body()
    del body["priority"]
    order = post_order(client, body, "key-default-pri").json()
    assert order["priority"] == "normal"


def test_datetimes_are_utc_iso8601_with_offset(client: TestClient) -> None:
    created = post_order(client, order_body(), "key-datetimes-1").json()
    fetched = client.get(f"/api/v1/work-orders/{created['id']}").json()
    listed = client.get("/api/v1/work-orders").json()["items"][0]
    for order in (created, fetched, listed):
        for field in ("detected_at", "event_started_at", "deadline_at", "created_at", "updated_at"):
            value = dt.datetime.fromisoformat(order[field])
            assert value.utcoffset() == dt.timedelta(0), (field, order[field])
            assert order[field].endswith("+00:00")
        # 10:00 Beijing time is 02:00 UTC: the instant survives, the offset is normalised.
        assert order["detected_at"] == "2026-11-23T02:00:00+00:00"
        assert order["event_started_at"] == "2026-11-23T01:30:00+00:00"
    assert created == fetched == listed


def test_order_numbers_are_unique_and_use_local_date(client: TestClient) -> None:
    numbers = {
        post_order(client, order_body(event_id=f"e{i}"), f"key-orderno-{i:03d}").json()["order_no"] for i in range(5)
    }
    assert len(numbers) == 5
    local_today = (dt.datetime.now(UTC) + dt.timedelta(hours=8)).strftime("%Y%m%d")
    # created_at decides the date; a run across local midnight may see the next day.
    tomorrow = (dt.datetime.now(UTC) + dt.timedelta(hours=8, minutes=1)).strftime("%Y%m%d")
    assert all(n.split("-")[1] in {local_today, tomorrow} for n in numbers)
