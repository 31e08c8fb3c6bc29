"""Roles, grid scope and the start-up refusal of default secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import InsecureSettings
from api.main import create_app
from tests.support.ops import ADMIN, OP_A, OP_B, SUP, WORKER, file_order, move, secured_settings, walk
from tests.support.orders import make_settings, order_body, post_order


def test_without_a_token_everything_is_401(ops: TestClient) -> None:
    for method, path in (("get", "/api/v1/work-orders"), ("get", "/api/v1/cameras"),
                         ("get", "/api/v1/stats/summary"), ("post", "/api/v1/work-orders")):
        response = getattr(ops, method)(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in response.json()["detail"]
    assert ops.get("/api/v1/work-orders", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ops.get("/health").status_code == 200  # load balancers need no token


def test_worker_files_orders_but_cannot_read_or_close_them(ops: TestClient) -> None:
    order = file_order(ops)
    assert ops.get("/api/v1/work-orders", headers=WORKER).status_code == 403
    walk(ops, order["id"], "filed", "dispatched", "accepted", "in_progress", "feedback", "verifying")
    closing = move(ops, order["id"], "closed", WORKER)
    assert closing.status_code == 403
    assert "role" in closing.json()["detail"]
    assert ops.get(f"/api/v1/work-orders/{order['id']}", headers=SUP).json()["status"] == "verifying"


def test_operators_and_supervisors_cannot_file_orders(ops: TestClient) -> None:
    for headers in (OP_A, SUP):
        response = post_order(ops, order_body(), "key-not-a-worker", **headers)
        assert response.status_code == 403


def test_operator_of_grid_a_cannot_see_grid_b(ops: TestClient) -> None:
    a = file_order(ops, 1, grid_cell="cell-a")
    b = file_order(ops, 2, grid_cell="cell-b", zone_id="zone-b")
    nowhere = file_order(ops, 3, grid_cell=None, zone_id="zone-c")
    listed_a = ops.get("/api/v1/work-orders", headers=OP_A).json()
    assert [o["id"] for o in listed_a["items"]] == [a["id"]] and listed_a["total"] == 1
    assert ops.get(f"/api/v1/work-orders/{b['id']}", headers=OP_A).status_code == 404
    assert ops.get(f"/api/v1/work-orders/{b['id']}/timeline", headers=OP_A).status_code == 404
    assert move(ops, b["id"], "filed", OP_A).status_code == 404
    # Asking for the other grid by filter does not widen the scope.
    assert ops.get("/api/v1/work-orders", params={"grid_cell": "cell-b"}, headers=OP_A).json()["total"] == 0
    assert ops.get(f"/api/v1/work-orders/{b['id']}", headers=OP_B).status_code == 200
    assert ops.get(f"/api/v1/work-orders/{nowhere['id']}", headers=OP_B).status_code == 404
    assert ops.get("/api/v1/work-orders", headers=SUP).json()["total"] == 3
    assert ops.get("/api/v1/stats/summary", headers=OP_A).json()["total"] == 1


def test_registry_writes_are_admin_only(ops: TestClient) -> None:
    team = {"code": "t1", "name": "Cleaners", "department": "环卫"}
    assert ops.post("/api/v1/teams", json=team, headers=SUP).status_code == 403
    assert ops.post("/api/v1/teams", json=team, headers=ADMIN).status_code == 201
    assert ops.get("/api/v1/teams", headers=OP_A).status_code == 200
    assert ops.get("/api/v1/webhooks", headers=SUP).status_code == 403


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"tokens": {}}, "no bearer tokens"),
        ({"tokens": {"changeme": {"role": "admin", "name": "a"}}}, "entry 1 ('a'): the token is a well-known value"),
        ({"tokens": {"short-tok": {"role": "admin", "name": "a"}}}, "shorter than 16"),
        ({"webhook_secret": "dev-webhook-secret"}, "GRIDSIGHT_WEBHOOK_SECRET"),
        ({"api_token": "secret"}, "well-known value"),
    ],
)
def test_outside_dev_mode_default_secrets_refuse_to_start(tmp_path: Path, overrides: dict, fragment: str) -> None:
    with pytest.raises(InsecureSettings) as info:
        create_app(secured_settings(tmp_path, **overrides))
    assert fragment in str(info.value) and "GRIDSIGHT_DEV_MODE" in str(info.value)


def test_dev_mode_is_open_and_good_secrets_start(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as dev:
        assert post_order(dev, order_body(), "key-dev-000001").status_code == 201
        assert dev.get("/api/v1/work-orders").json()["total"] == 1
    create_app(secured_settings(tmp_path))  # does not raise


def test_tokens_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("GRIDSIGHT_TOKENS", '{"tok-abcdefghijklmnop": {"role": "operator", "name": "li", "grids": ["c1"]}}')
    monkeypatch.setenv("GRIDSIGHT_WORKING_HOURS", "09:00-18:00")
    settings = Settings()
    assert settings.tokens["tok-abcdefghijklmnop"].grids == ["c1"]
    assert "abcdefghijklmnop" not in repr(settings)
    assert settings.working_hours is not None and settings.working_hours[0].hour == 9
