"""App wiring: settings, start-up side effects, health, docs, auth, run_server."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.main import create_app
from api.settings import Settings
from tests.support.orders import make_settings, order_body, post_order
from tests.support.api import ApiServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GRIDSIGHT_"):
            monkeypatch.delenv(name)


def test_import_and_create_app_have_no_side_effects_until_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDSIGHT_DEV_MODE", "true")  # the defaults hold no secrets: only dev mode starts
    code = "import api.main, api.server, api.settings, api.db.engine, api.db.models; api.settings.Settings()"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert list(tmp_path.iterdir()) == []
    app = create_app()
    assert list(tmp_path.iterdir()) == []
    with TestClient(app) as default_client:
        assert default_client.get("/health").json() == {"status": "ok", "database": "ok"}
    # Defaults resolve against the working directory.
    assert (tmp_path / "var" / "gridsight.db").is_file()
    assert (tmp_path / "var" / "evidence").is_dir()


def test_settings_read_gridsight_env(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("GRIDSIGHT_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("GRIDSIGHT_API_TOKEN", "tok-9f3e7c")
    monkeypatch.setenv("GRIDSIGHT_DEADLINE_URGENT", "PT12H")
    monkeypatch.setenv("GRIDSIGHT_MAX_EVIDENCE_BYTES", "1000")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "tok-9f3e7c"
    assert settings.deadline_urgent.total_seconds() == 12 * 3600
    assert settings.max_evidence_bytes == 1000
    assert "9f3e7c" not in repr(settings)
    monkeypatch.setenv("GRIDSIGHT_API_TOKEN", "")
    assert Settings().api_token is None


def test_sqlite_runs_in_wal_mode(client: TestClient, settings: Settings) -> None:
    db_file = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with client.app.state.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_health_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_degraded_when_database_unreachable(client: TestClient, tmp_path: Path) -> None:
    original = client.app.state.engine
    client.app.state.engine = create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    try:
        response = client.get("/health")
    finally:
        client.app.state.engine = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == "unavailable"
    assert "database" in body["detail"]


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "GridSight API"
    paths = spec["paths"]
    for path in (
        "/api/v1/work-orders",
        "/api/v1/work-orders/{order_id}",
        "/api/v1/work-orders/{order_id}/evidence/{evidence_id}",
        "/api/v1/cameras",
        "/api/v1/cameras/{camera_id}",
        "/api/v1/cameras/{camera_id}/status",
        "/health",
    ):
        assert path in paths
        for operation in paths[path].values():
            assert operation.get("summary"), path
    public = spec["components"]["schemas"]["WorkOrderPublic"]["properties"]
    assert "idempotency_key" not in public and "payload_sha256" not in public
    assert client.get("/docs").status_code == 200


def test_unknown_route_and_method_carry_detail(client: TestClient) -> None:
    assert client.get("/api/v1/nothing").json()["detail"]
    response = client.delete("/api/v1/work-orders")
    assert response.status_code == 405 and response.json()["detail"]


def test_legacy_api_token_in_dev_mode_guards_writes_not_reads(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, api_token="s3cr3t-token"))) as secured:
        body = order_body()
        missing = post_order(secured, body, "key-auth-00001")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in missing.json()["detail"]
        wrong = post_order(secured, body, "key-auth-00001", Authorization="Bearer nope")
        assert wrong.status_code == 401
        basic = post_order(secured, body, "key-auth-00001", Authorization="Basic czNjcjN0LXRva2Vu")
        assert basic.status_code == 401
        ok = post_order(secured, body, "key-auth-00001", Authorization="Bearer s3cr3t-token")
        assert ok.status_code == 201
        # Dev mode keeps reads open to anonymous clients (outside dev mode every request needs a token).
        assert secured.get("/api/v1/work-orders").json()["total"] == 1
        assert secured.get(f"/api/v1/work-orders/{ok.json()['id']}").status_code == 200


def test_no_token_means_open_writes(client: TestClient) -> None:
    assert post_order(client, order_body(), "key-open-00001", Authorization="Bearer anything").status_code == 201


@pytest.mark.slow  # a real `gridsight serve` process
def test_run_server_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    api = ApiServer(tmp_path, database_url=f"sqlite:///{tmp_path}/srv.db", evidence_dir=tmp_path / "ev").start()
    try:
        assert httpx.get(f"{api.url}/health").json() == {"status": "ok", "database": "ok"}
        created = httpx.post(
            f"{api.url}/api/v1/work-orders", json=order_body(), headers={"Idempotency-Key": "key-server-0001"},
            timeout=10,
        )
        assert created.status_code == 201
    finally:
        # Uvicorn shuts down gracefully, then re-raises the signal so the exit status says why.
        status = api.stop(signal.SIGTERM)
    assert status in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in api.log_text(), api.log_text()


@pytest.mark.slow  # a real `gridsight serve` process
def test_worker_api_client_speaks_this_api(tmp_path: Path) -> None:
    """The worker's own client and status events against the real server: the wire contract."""
    from streams.delivery.api_client import ApiClient
    from api.contract.wire import CameraState, CameraStatusEvent

    with ApiServer(tmp_path, env={"GRIDSIGHT_API_TOKEN": "worker-token-1", "GRIDSIGHT_MERGE_WINDOW": "PT0S"}) as api:
        base = api.url
        anonymous = ApiClient(base)
        worker = ApiClient(base, token="worker-token-1")
        try:
            assert anonymous.send_work_order(order_body(), "key-contract-01").status_code == 401
            assert worker.send_work_order(order_body(), "key-contract-01").status_code == 201
            replay = worker.send_work_order(order_body(), "key-contract-01")
            assert replay.status_code == 200 and replay.delivered
            conflict = worker.send_work_order(order_body(confidence=0.1), "key-contract-01")
            assert conflict.status_code == 409 and "different payload" in conflict.detail
            event = CameraStatusEvent("cam-01", CameraState.ONLINE, time.time(), details={"fps": 25})
            assert worker.put_camera_status("cam-01", event.to_dict()).status_code == 200
        finally:
            anonymous.close()
            worker.close()
