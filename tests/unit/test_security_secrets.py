"""Secrets must be hard to guess, webhooks may not be aimed at the server's own
network, and secrets stay out of responses and logs (issue 14 §9)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.auth import InsecureSettings, secret_weakness
from api.main import create_app
from api.webhooks import deliver_due
from tests.support.ops import ADMIN, FakeClock, file_order, secured_settings

# --- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, why", [
    ("0000000000000000", "has too little variety (1 distinct characters"),
    ("aaaabbbbaaaabbbb", "has too little variety (2 distinct characters"),
    ("changemechangeme", "is a placeholder"),
    ("change-me-admin-token-at-least-24-chars", "is a placeholder"),  # deploy/env.example's own value
    ("passwordpassword", "is a short pattern repeated"),
    ("Gr1d$ight-Gr1d$ight-Gr1d$ight", "is a short pattern repeated"),
    ("abcdefghijklmnop", "is mostly runs of consecutive or repeated characters"),
    ("0123456789abcdef", "is mostly runs of consecutive or repeated characters"),
])
def test_low_variety_secrets_are_refused(value: str, why: str) -> None:
    assert (secret_weakness(value) or "").startswith(why)


@pytest.mark.parametrize("value", ["worker-token-0123456789", "whsec-0123456789abcdef", "3f9c2a7be81d4c06",
                                   "q8ZJ1mV0xkR_p2sT", "operator-token-li-wei-0001"])
def test_real_secrets_pass(value: str) -> None:
    assert secret_weakness(value) is None


def test_random_secrets_pass() -> None:
    import secrets

    assert [s for s in (secrets.token_urlsafe(12) for _ in range(2000)) if secret_weakness(s)] == []


@pytest.mark.parametrize("overrides, fragment", [
    ({"tokens": {"changemechangeme": {"role": "admin", "name": "root"}}},
     "GRIDSIGHT_TOKENS entry 1 ('root'): the token is a placeholder"),
    ({"tokens": {"0000000000000000": {"role": "admin", "name": "root"}}},
     "GRIDSIGHT_TOKENS entry 1 ('root'): the token has too little variety"),
    ({"webhook_secret": "0000000000000000"}, "GRIDSIGHT_WEBHOOK_SECRET has too little variety"),
    ({"webhook_secret": "changemechangeme"}, "GRIDSIGHT_WEBHOOK_SECRET is a placeholder"),
    ({"api_token": "abababababababab"}, "GRIDSIGHT_API_TOKEN has too little variety"),
])
def test_the_api_refuses_to_start_with_a_guessable_secret(tmp_path: Path, overrides: dict, fragment: str) -> None:
    with pytest.raises(InsecureSettings) as info:
        create_app(secured_settings(tmp_path, **overrides))
    assert fragment in str(info.value)
    for secret in ("changemechangeme", "0000000000000000", "abababababababab"):
        assert secret not in str(info.value)


# --- webhook targets ----------------------------------------------------------------------------


@pytest.fixture
def admin(tmp_path: Path):
    with TestClient(create_app(secured_settings(tmp_path), clock=FakeClock())) as client:
        yield client


def _subscribe(client: TestClient, url: str):
    return client.post("/api/v1/webhooks", json={"url": url}, headers=ADMIN)


@pytest.mark.parametrize("url, why", [
    ("http:///nohost", "has no host"),
    ("http://0x7f000001/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),
    ("http://127.1:8080/hook", "loopback"),
    ("http://017700000001/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://localhost:9000/hook", "localhost"),
    ("http://10.0.0.5/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://[fd00::1]/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://100.64.1.1/hook", "non-public"),
])
def test_webhook_urls_without_a_host_or_aimed_inside_are_refused(admin: TestClient, url: str, why: str) -> None:
    refused = _subscribe(admin, url)
    assert refused.status_code == 422, refused.text
    assert why in refused.json()["detail"]
    assert admin.get("/api/v1/webhooks", headers=ADMIN).json() == []


def test_allow_private_lets_a_local_receiver_subscribe(tmp_path: Path) -> None:
    settings = secured_settings(tmp_path, webhook_allow_private=True)
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        assert _subscribe(client, "http://127.0.0.1:9000/hook").status_code == 201
        assert _subscribe(client, "http:///nohost").status_code == 422  # a host is required whatever


def test_credentials_in_a_webhook_url_are_never_shown(admin: TestClient) -> None:
    created = _subscribe(admin, "https://hotline:pa55-w0rd@hotline.example/gridsight")
    assert created.status_code == 201, created.text
    assert created.json()["url"] == "https://***:***@hotline.example/gridsight"
    listed = admin.get("/api/v1/webhooks", headers=ADMIN).text
    assert "pa55-w0rd" not in listed and "hotline:" not in listed


class Receiver:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


def _deliver(tmp_path: Path, url: str, addresses: list[str], monkeypatch, caplog, **overrides):
    monkeypatch.setattr("api.webhooks.resolve_host", lambda host, port: addresses)
    receiver = Receiver()
    http = httpx.Client(transport=httpx.MockTransport(receiver))
    clock = FakeClock()
    settings = secured_settings(tmp_path, webhook_max_attempts=1, **overrides)
    with TestClient(create_app(settings, clock=clock, webhook_client=http)) as client:
        hook = _subscribe(client, url)
        assert hook.status_code == 201, hook.text
        file_order(client)
        state = client.app.state
        with caplog.at_level(logging.WARNING, logger="api.webhooks"):
            deliver_due(state.sessions, state.settings, http, clock.now)
        deliveries = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=ADMIN).json()
    return receiver, deliveries


def test_a_name_that_resolves_inside_is_not_sent_to(tmp_path: Path, monkeypatch, caplog) -> None:
    receiver, deliveries = _deliver(tmp_path, "https://u:hunter2-secret@rebind.example/hook", ["10.0.0.7"],
                                    monkeypatch, caplog)
    assert receiver.requests == []
    [delivery] = deliveries
    assert delivery["state"] == "failed" and "resolves to a private address" in delivery["last_error"]
    assert "hunter2-secret" not in caplog.text and "***:***@rebind.example" in caplog.text


def test_a_public_name_is_sent_to_the_address_that_was_checked(tmp_path: Path, monkeypatch, caplog) -> None:
    receiver, deliveries = _deliver(tmp_path, "https://hotline.example:8443/hook", ["93.184.215.14"],
                                    monkeypatch, caplog)
    [request] = receiver.requests
    assert str(request.url) == "https://93.184.215.14:8443/hook"
    assert request.headers["host"] == "hotline.example:8443"
    assert request.extensions["sni_hostname"] == "hotline.example"
    assert deliveries[0]["state"] == "delivered"


def test_allow_private_sends_as_is(tmp_path: Path, monkeypatch, caplog) -> None:
    receiver, _ = _deliver(tmp_path, "http://localhost:9000/hook", ["127.0.0.1"], monkeypatch, caplog,
                           webhook_allow_private=True)
    assert [str(r.url) for r in receiver.requests] == ["http://localhost:9000/hook"]


# --- the access log -----------------------------------------------------------------------------


def test_the_access_log_masks_secret_query_parameters(tmp_path: Path, monkeypatch) -> None:
    from api.server import run_server

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    run_server(secured_settings(tmp_path), port=1)  # configures logging as gridsight serve does
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(uvicorn.logging.AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                                         use_colors=False))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/api/v1/work-orders?token=tok-Probe-7c1e9a&limit=5&api_key=k-123&X-Signature=s1&since=2026",
                    "1.1", 401)
    finally:
        access.removeHandler(handler)
    line = out.getvalue()
    assert "/api/v1/work-orders?token=***&limit=5&api_key=***&X-Signature=***&since=2026" in line, line
    assert "tok-Probe-7c1e9a" not in line and "k-123" not in line
