"""Baseline arithmetic, chart counts, working-hours deadlines, the SSE feed
and migrations."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.crud.stats import BaselineLevel, level_for, period_start, shift
from api.db.engine import make_engine
from api.db.migrate import prepare_storage
from api.deadlines import deadline
from api.main import create_app
from api.db.migrate import current, head, upgrade
from api.schemas import Priority
from api.schemas_workflow import Period
from tests.support.ops import OP_A, SUP, WORKER, file_order
from tests.support.orders import make_settings, order_body, post_order

BEIJING = dt.timezone(dt.timedelta(hours=8))


def seed(client: TestClient, zone: str, months: list[tuple[int, int, int]], start: int) -> int:
    """``months``: (year, month, orders); each order on the 10th at 10:00 Beijing time."""
    n = start
    for year, month, count in months:
        for i in range(count):
            n += 1
            at = dt.datetime(year, month, 10, 10, i, tzinfo=BEIJING)
            body = order_body(event_id=f"e{n}", zone_id=zone, detected_at=at.isoformat(), grid_cell="cell-a")
            assert post_order(client, body, f"key-seed-{n:06d}", **WORKER).status_code == 201
    return n


def test_baseline_month_against_trailing_mean(ops: TestClient) -> None:
    # zone-hot: 1 a month for the 36 months before Nov 2026, then 3 in Nov -> alert (3 > 1).
    history = [(2023 + (10 + k) // 12, (10 + k) % 12 + 1, 1) for k in range(36)]
    assert history[0] == (2023, 11, 1) and history[-1] == (2026, 10, 1)
    n = seed(ops, "zone-hot", history + [(2026, 11, 3)], 0)
    # zone-warm: 2 a month for 4 months (young unit: mean over 4 periods), then 2 -> warning (2 >= 0.8 * 2).
    n = seed(ops, "zone-warm", [(2026, m, 2) for m in (7, 8, 9, 10)] + [(2026, 11, 2)], n)
    # zone-calm: 4 a month before, 1 now -> normal; zone-new: only this month -> no history.
    n = seed(ops, "zone-calm", [(2026, 10, 4), (2026, 11, 1)], n)
    seed(ops, "zone-new", [(2026, 11, 1)], n)
    at = dt.datetime(2026, 11, 20, tzinfo=BEIJING).isoformat()
    report = ops.get("/api/v1/stats/baselines", params={"unit": "zone", "period": "month", "history": 36, "at": at},
                     headers=SUP).json()
    items = {i["key"]: i for i in report["items"]}
    hot = items["cam-01/zone-hot"]
    assert (hot["current"], hot["mean"], hot["periods"], hot["level"]) == (3, 1.0, 36, "alert")
    warm = items["cam-01/zone-warm"]
    assert (warm["current"], warm["mean"], warm["periods"], warm["level"]) == (2, 2.0, 4, "warning")
    assert items["cam-01/zone-calm"]["level"] == "normal" and items["cam-01/zone-calm"]["mean"] == 4.0
    assert items["cam-01/zone-new"]["level"] == "no_history"
    assert [i["level"] for i in report["items"]][:2] == ["alert", "warning"]
    assert report["period_start"] == "2026-10-31T16:00:00+00:00"  # 1 Nov 00:00 Beijing
    by_cat = ops.get("/api/v1/stats/baselines", params={"unit": "category", "at": at}, headers=SUP).json()
    assert by_cat["items"][0]["key"] == "06010" and by_cat["items"][0]["current"] == 7
    assert ops.get("/api/v1/stats/baselines", params={"unit": "zone", "at": at}, headers=OP_A).json()["items"]
    series = ops.get("/api/v1/stats/timeseries", params={"period": "month", "buckets": 3, "at": at,
                                                         "unit": "zone", "key": "cam-01/zone-warm"}, headers=SUP).json()
    assert [b["count"] for b in series["buckets"]] == [2, 2, 2]
    assert ops.get("/api/v1/stats/timeseries", params={"unit": "zone"}, headers=SUP).status_code == 422
    summary = ops.get("/api/v1/stats/summary", headers=SUP).json()
    assert summary["by_status"] == {"detected": summary["total"]} and summary["open"] == summary["total"]


def test_level_and_period_arithmetic() -> None:
    assert level_for(0, 0.0, 0.8, 1.0) is BaselineLevel.NORMAL
    assert level_for(8, 10.0, 0.8, 1.0) is BaselineLevel.WARNING
    assert level_for(10, 10.0, 0.8, 1.0) is BaselineLevel.WARNING  # at the mean: near it, not above
    assert level_for(11, 10.0, 0.8, 1.0) is BaselineLevel.ALERT
    assert level_for(5, None, 0.8, 1.0) is BaselineLevel.NO_HISTORY
    start = period_start(dt.datetime(2026, 1, 15, 13), Period.MONTH)
    assert shift(start, Period.MONTH, -36) == dt.datetime(2023, 1, 1)
    assert period_start(dt.datetime(2026, 11, 26, 9), Period.WEEK) == dt.datetime(2026, 11, 23)  # Monday


def test_working_hours_deadline(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, working_hours="09:00-18:00", deadline_normal=dt.timedelta(hours=4))
    friday_5pm = dt.datetime(2026, 11, 27, 17, 0, tzinfo=BEIJING)
    due = deadline(friday_5pm, Priority.NORMAL, None, settings)
    assert due == dt.datetime(2026, 11, 30, 12, 0, tzinfo=BEIJING)  # 1 h Friday + 3 h Monday
    assert deadline(friday_5pm, Priority.EMERGENCY, None, settings) == friday_5pm + dt.timedelta(minutes=30)
    saturday = dt.datetime(2026, 11, 28, 10, 0, tzinfo=BEIJING)
    assert deadline(saturday, Priority.NORMAL, None, settings) == dt.datetime(2026, 11, 30, 13, 0, tzinfo=BEIJING)


def test_sse_feed_streams_changes_within_scope(ops: TestClient) -> None:
    mine = file_order(ops, 1)
    file_order(ops, 2, grid_cell="cell-b", zone_id="zone-b")
    with ops.stream("GET", "/api/v1/events/stream", params={"after_id": 0, "timeout_s": 0.5}, headers=OP_A) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    messages = [m for m in text.split("\n\n") if m.startswith("id:")]
    assert len(messages) == 1  # operator A never sees cell-b's order
    fields = dict(line.split(": ", 1) for line in messages[0].splitlines())
    assert fields["event"] == "order.created"
    data = json.loads(fields["data"])
    assert data["work_order"]["id"] == mine["id"] and data["entry"]["action"] == "created"
    last = int(fields["id"])
    ops.post(f"/api/v1/work-orders/{mine['id']}/transitions", json={"to": "filed"}, headers=OP_A)
    with ops.stream("GET", "/api/v1/events/stream", params={"timeout_s": 0.3},
                    headers={**OP_A, "Last-Event-ID": str(last)}) as r:
        text = "".join(r.iter_text())
    assert "event: order.changed" in text and '"to_status": "filed"' in text
    assert ops.get("/api/v1/events/stream", headers={**OP_A, "Last-Event-ID": "x"}).status_code == 422


def test_fresh_database_migrates_to_head_and_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    prepare_storage(engine)
    prepare_storage(engine)
    assert current(engine) == head()
    assert {"timeline_entries", "zones", "webhook_deliveries"} <= set(inspect(engine).get_table_names())


def test_pre_alembic_database_is_stamped_and_upgraded_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "legacy.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0001")
    with sqlite3.connect(path) as conn:  # what create_all made: no alembic_version table
        conn.execute("DROP TABLE alembic_version")
        conn.execute("INSERT INTO cameras (camera_id, state, at, attempt, details, updated_at) VALUES "
                     "('cam-old', 'online', '2026-01-01 00:00:00', 0, '{}', '2026-01-01 00:00:00')")
        conn.execute("INSERT INTO camera_status_events (camera_id, state, at, attempt, details, received_at) VALUES "
                     "('cam-old', 'online', '2026-01-01 00:00:00', 0, '{}', '2026-01-01 00:00:00')")
    engine.dispose()
    with TestClient(create_app(make_settings(tmp_path, database_url=f"sqlite:///{path}"))) as client:
        detail = client.get("/api/v1/cameras/cam-old").json()
        assert detail["state"] == "online" and len(detail["history"]) == 1  # rebuilt table kept its rows
        assert post_order(client, order_body(), "key-after-migration").status_code == 201
        assert current(client.app.state.engine) == head()
