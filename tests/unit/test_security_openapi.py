"""The OpenAPI document tells the whole truth (issue 14 §10): the error answers every
operation can give are documented, a 405 names every method of its path, and input
is read as the JSON type the schema names (no 0.5 as a Unix time, no 0.0 as a
boolean, no false as a number)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.ops import ADMIN, SUP, WORKER, FakeClock, secured_settings
from tests.support.orders import order_body, post_order


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(secured_settings(tmp_path), clock=FakeClock())) as client:
        yield client


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_protected_operation_documents_401_and_403(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    checked = 0
    for method, path, operation in _operations(spec):
        if not path.startswith("/api/"):
            continue
        codes = set(operation["responses"])
        assert "401" in codes, (method, path)
        if (method, path) == ("GET", "/api/v1/cameras/{camera_id}/zones"):
            assert "403" not in codes  # every role may read zones (workers sync them)
        else:
            assert "403" in codes, (method, path)
        if "requestBody" in operation:
            assert "413" in codes, (method, path)
            if "application/json" in operation["requestBody"]["content"]:
                assert "400" in codes, (method, path)
        checked += 1
    assert checked > 30


def test_documented_errors_are_what_the_api_answers(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    teams = spec["paths"]["/api/v1/teams"]["post"]["responses"]
    assert "GRIDSIGHT_MAX_JSON_BODY_BYTES" in teams["413"]["description"]
    assert api.get("/api/v1/cameras").status_code == 401
    assert api.get("/api/v1/cameras", headers=WORKER).status_code == 403
    broken = api.post("/api/v1/teams", content=b'\xff\xfe8', headers={**ADMIN, "Content-Type": "application/json"})
    assert broken.status_code == 400


@pytest.mark.parametrize("method, path, allowed", [
    ("OPTIONS", "/api/v1/work-orders", "GET, HEAD, POST"),
    ("DELETE", "/api/v1/work-orders", "GET, HEAD, POST"),
    ("PUT", "/api/v1/work-orders/7", "GET, HEAD"),
    ("DELETE", "/api/v1/cameras/cam-1/snapshot", "GET, HEAD, PUT"),
    ("POST", "/api/v1/cameras/cam-1", "DELETE, GET, HEAD, PATCH"),
])
def test_a_405_lists_every_method_of_its_path(api: TestClient, method: str, path: str, allowed: str) -> None:
    response = api.request(method, path, headers=ADMIN)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize("params", [{"until": "0.5"}, {"since": "1700000000"}, {"since": "2026-11-23"},
                                    {"since": "1970-01-01T00:00:00+00:00"}, {"until": "9000-01-01T00:00:00Z"}])
def test_times_in_queries_are_iso_8601_within_range(api: TestClient, params: dict) -> None:
    assert api.get("/api/v1/work-orders", params=params, headers=SUP).status_code == 422
    key, value = next(iter(params.items()))
    assert api.get("/api/v1/stats/baselines", params={"at": value}, headers=SUP).status_code == 422


def test_a_good_time_still_passes(api: TestClient) -> None:
    assert api.get("/api/v1/work-orders", params={"since": "2026-11-23T10:00:00+08:00"},
                   headers=SUP).status_code == 200


@pytest.mark.parametrize("overrides", [{"confidence": False}, {"confidence": "0.5"},
                                       {"detected_at": 1_790_000_000}, {"detected_at": "0.5"},
                                       {"boxes": [{"label": "bag", "confidence": 0.5, "xyxy": [1, 2, True, 4]}]}])
def test_bodies_are_read_as_their_json_types(api: TestClient, overrides: dict) -> None:
    assert post_order(api, order_body(**overrides), "key-types-000001", **WORKER).status_code == 422


def test_a_boolean_field_takes_only_true_or_false(api: TestClient) -> None:
    hook = {"url": "https://hotline.example/gridsight", "active": 0.0}
    assert api.post("/api/v1/webhooks", json=hook, headers=ADMIN).status_code == 422
    assert api.post("/api/v1/webhooks", json={**hook, "active": False}, headers=ADMIN).status_code == 201


def test_idempotency_keys_are_visible_ascii(api: TestClient) -> None:
    assert post_order(api, order_body(), "key with spaces", **WORKER).status_code == 422
    assert post_order(api, order_body(), "key-without-spaces", **WORKER).status_code == 201


def test_an_optional_field_that_cannot_be_null_says_so(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    team = spec["components"]["schemas"]["TeamUpdate"]["properties"]["department"]
    assert team.get("type") == "string" and "anyOf" not in team and "default" not in team
