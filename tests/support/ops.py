"""The operations-centre API tests: tokens for every role, a settable clock, secured
Settings and shortcuts for moving orders along. (The ``clock`` and ``ops`` fixtures
built on them are in tests/conftest.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.support.orders import make_settings, order_body, post_order

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 Beijing time, a Monday

TOKENS = {
    "worker-token-0123456789": {"role": "worker", "name": "cam-worker"},
    "operator-a-token-0123456": {"role": "operator", "name": "op.a", "grids": ["cell-a"]},
    "operator-b-token-0123456": {"role": "operator", "name": "op.b", "grids": ["cell-b"]},
    "supervisor-token-0123456": {"role": "supervisor", "name": "sup"},
    "admin-token-01234567890": {"role": "admin", "name": "root"},
}
WORKER, OP_A, OP_B, SUP, ADMIN = (
    {"Authorization": f"Bearer {t}"} for t in TOKENS
)


class FakeClock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def secured_settings(tmp_path: Path, **overrides: Any):
    values: dict[str, Any] = {"dev_mode": False, "tokens": TOKENS, "webhook_secret": "whsec-0123456789abcdef"}
    values.update(overrides)
    return make_settings(tmp_path, **values)


def file_order(client: TestClient, n: int = 1, **overrides: Any) -> dict:
    overrides.setdefault("event_id", f"evt-{n:04d}")
    overrides.setdefault("grid_cell", "cell-a")
    response = post_order(client, order_body(**overrides), f"key-ops-{n:06d}", **WORKER)
    assert response.status_code == 201, response.text
    # The worker gets a receipt; the tests want the order it filed.
    found = client.get(f"/api/v1/work-orders/{response.json()['id']}", headers=SUP)
    assert found.status_code == 200, found.text
    return found.json()


def move(client: TestClient, order_id: int, to: str, headers: dict | None = None, **extra: Any):
    return client.post(f"/api/v1/work-orders/{order_id}/transitions", json={"to": to, **extra},
                       headers=headers or OP_A)


def walk(client: TestClient, order_id: int, *states: str, headers: dict | None = None) -> dict:
    body = {}
    for state in states:
        response = move(client, order_id, state, headers)
        assert response.status_code == 200, response.text
        body = response.json()
    return body


def timeline(client: TestClient, order_id: int, headers: dict | None = None) -> list[dict]:
    response = client.get(f"/api/v1/work-orders/{order_id}/timeline", headers=headers or SUP)
    assert response.status_code == 200, response.text
    return response.json()["items"]
