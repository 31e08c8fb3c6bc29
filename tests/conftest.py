"""Fixtures shared by the unit and integration tests. Helpers that are not fixtures
live in tests/support/ and are imported from there."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.models import save_yolo_weights


@pytest.fixture(scope="session")
def yolo_weights(tmp_path_factory):
    """Make (once per session) and copy small untrained YOLO checkpoints with given class names.

    ``yolo_weights(dest, ["pedestrian", "bag"], imgsz=416)`` -> dest, a real ultralytics checkpoint."""
    cache = tmp_path_factory.mktemp("yolo-weights")
    made: dict[tuple, Path] = {}

    def make(dest: Path, names: list[str], *, imgsz: int | None = None) -> Path:
        key = (tuple(names), imgsz)
        if key not in made:
            made[key] = save_yolo_weights(cache / f"w{len(made)}.pt", list(names), imgsz=imgsz)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made[key], dest)
        return dest

    return make


PG_ADMIN_DSN = os.environ.get("GRIDSIGHT_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for one test module (skipped where PostgreSQL is unreachable):
    its SQLAlchemy URL; dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_DSN!r}: {exc}")
    name = f"gridsight_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            info = admin.info
            yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- the API in-process (TestClient) ------------------------------------------------------------
# (imported when used, so the tests that never touch the API do not import it)

@pytest.fixture
def settings(tmp_path: Path):
    """Open (dev mode) Settings on a SQLite file under tmp_path; see tests.support.orders.make_settings."""
    from tests.support.orders import make_settings

    return make_settings(tmp_path)


@pytest.fixture
def client(settings):
    """The app on ``settings`` (a test module overrides ``settings`` to change them)."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def clock():
    """A settable clock (tests.support.ops.FakeClock) for the ``ops`` app."""
    from tests.support.ops import FakeClock

    return FakeClock()


@pytest.fixture
def ops(tmp_path: Path, clock):
    """A secured app (tokens, not dev mode) on the fake ``clock``."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.support.ops import secured_settings

    with TestClient(create_app(secured_settings(tmp_path), clock=clock)) as test_client:
        yield test_client


# ---- a private MQTT broker (edge actions, issue 19) ---------------------------------------------

@pytest.fixture
def mosquitto(tmp_path: Path):
    """A started tests.support.mosquitto.MosquittoBroker (anonymous, no persistence) under tmp_path;
    killed after the test. Skips where mosquitto is not installed."""
    from tests.support.mosquitto import MosquittoBroker, mosquitto_binary

    if mosquitto_binary() is None:
        pytest.skip("needs the mosquitto broker (Debian package mosquitto)")
    broker = MosquittoBroker(tmp_path / "mosquitto").start()
    try:
        yield broker
    finally:
        broker.kill()
