"""Overdue marking, escalation and webhook delivery, in simulated time: the
jobs take ``now`` and the app an injected clock, so nothing sleeps."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.jobs import run_overdue_job
from api.main import create_app
from api.contract.signing import verify
from api.webhooks import deliver_due, retry_delay
from tests.support.ops import ADMIN, SUP, FakeClock, file_order, move, secured_settings, timeline, walk

SECRET = "whsec-0123456789abcdef"


def run_job(client: TestClient, now: dt.datetime):
    state = client.app.state
    return run_overdue_job(state.write_sessions, state.settings, now)


def test_overdue_then_escalated_then_level_two(ops: TestClient, clock: FakeClock) -> None:
    order = file_order(ops, priority="urgent")  # 24 h
    waiting = file_order(ops, 2, zone_id="zone-w")  # never dispatched: its clock never starts
    walk(ops, order["id"], "filed", "dispatched", "accepted")
    deadline = dt.datetime.fromisoformat(ops.get(f"/api/v1/work-orders/{order['id']}", headers=SUP).json()["deadline_at"])

    assert run_job(ops, deadline - dt.timedelta(seconds=1)).overdue == []
    report = run_job(ops, deadline + dt.timedelta(seconds=1))
    assert report.overdue == [order["id"]] and report.escalated == []
    assert run_job(ops, deadline + dt.timedelta(minutes=1)).overdue == []  # marked once only

    current = ops.get(f"/api/v1/work-orders/{order['id']}", headers=SUP).json()
    assert current["status"] == "overdue" and current["overdue"] is True
    assert current["overdue_at"] == (deadline + dt.timedelta(seconds=1)).isoformat()

    after = deadline + dt.timedelta(hours=2)  # escalate_after defaults to 2 h
    assert run_job(ops, after - dt.timedelta(seconds=1)).escalated == []
    assert run_job(ops, after).escalated == [order["id"]]
    assert run_job(ops, after + dt.timedelta(hours=1)).escalated == []
    assert run_job(ops, deadline + dt.timedelta(hours=4)).escalated == [order["id"]]

    final = ops.get(f"/api/v1/work-orders/{order['id']}", headers=SUP).json()
    assert (final["status"], final["escalation_level"]) == ("escalated", 2)
    actions = [(e["action"], e["actor"]) for e in timeline(ops, order["id"])]
    assert actions[-3:] == [("overdue", "system"), ("escalated", "system"), ("escalated", "system")]
    assert ops.get(f"/api/v1/work-orders/{waiting['id']}", headers=SUP).json()["status"] == "detected"
    # Escalated work can still be finished and closed by a supervisor.
    assert move(ops, order["id"], "closed", SUP).json()["overdue"] is False


def test_finished_or_extended_orders_are_not_marked(ops: TestClient, clock: FakeClock) -> None:
    order = file_order(ops, priority="emergency")
    walk(ops, order["id"], "filed", "dispatched", "accepted", "in_progress", "feedback")
    assert run_job(ops, clock.now + dt.timedelta(days=3)).overdue == []


def test_category_deadline_override(tmp_path: Path, clock: FakeClock) -> None:
    settings = secured_settings(tmp_path, category_deadlines={"06010": {"normal": "PT4H"}})
    with TestClient(create_app(settings, clock=clock)) as client:
        order = file_order(client)
        dispatched = walk(client, order["id"], "filed", "dispatched")
        assert dispatched["deadline_at"] == (clock.now + dt.timedelta(hours=4)).isoformat()
        other = file_order(client, 2, zone_id="zone-o", category_code="09010")
        dispatched = walk(client, other["id"], "filed", "dispatched")
        assert dispatched["deadline_at"] == (clock.now + dt.timedelta(hours=48)).isoformat()


class Receiver:
    """A hotline system behind httpx.MockTransport: fails the first ``fail`` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.fail:
            return httpx.Response(503, text="busy")
        return httpx.Response(204)


def test_webhooks_are_signed_retried_and_filtered(tmp_path: Path, clock: FakeClock, monkeypatch) -> None:
    # The name is resolved and checked at every delivery: here it resolves to a public address.
    monkeypatch.setattr("api.webhooks.resolve_host", lambda host, port: ["93.184.215.14"])
    receiver = Receiver(fail=2)
    http = httpx.Client(transport=httpx.MockTransport(receiver))
    settings = secured_settings(tmp_path, webhook_max_attempts=3)
    with TestClient(create_app(settings, clock=clock, webhook_client=http)) as client:
        hook = client.post("/api/v1/webhooks", json={"url": "https://hotline.example/gridsight", "events": ["created"]},
                           headers=ADMIN)
        assert hook.status_code == 201, hook.text
        order = file_order(client)
        move(client, order["id"], "filed")  # not subscribed: no delivery
        state = client.app.state

        assert deliver_due(state.sessions, state.settings, http, clock.now) == 0  # 503
        assert deliver_due(state.sessions, state.settings, http, clock.now) == 0  # not due yet: no request
        assert len(receiver.requests) == 1
        clock.advance(seconds=retry_delay(1).total_seconds())
        assert deliver_due(state.sessions, state.settings, http, clock.now) == 0  # 503 again
        clock.advance(seconds=retry_delay(2).total_seconds())
        assert deliver_due(state.sessions, state.settings, http, clock.now) == 1
        assert len(receiver.requests) == 3

        request = receiver.requests[-1]
        body = request.content
        assert verify(SECRET, request.headers["x-gridsight-timestamp"], body, request.headers["x-gridsight-signature"])
        assert not verify("another-secret-000000", request.headers["x-gridsight-timestamp"], body,
                          request.headers["x-gridsight-signature"])
        payload = json.loads(body)
        assert request.headers["x-gridsight-event"] == "created"
        assert payload["work_order"]["order_no"] == order["order_no"]
        assert payload["event"]["action"] == "created"

        deliveries = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=ADMIN).json()
        assert [(d["state"], d["attempts"], d["last_status"]) for d in deliveries] == [("delivered", 3, 204)]


def test_webhook_gives_up_after_max_attempts(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver(fail=99)
    http = httpx.Client(transport=httpx.MockTransport(receiver))
    # A receiver on loopback: allowed only with GRIDSIGHT_WEBHOOK_ALLOW_PRIVATE.
    settings = secured_settings(tmp_path, webhook_max_attempts=2, webhook_allow_private=True)
    with TestClient(create_app(settings, clock=clock, webhook_client=http)) as client:
        hook = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=ADMIN).json()
        file_order(client)
        state = client.app.state
        for _ in range(4):
            deliver_due(state.sessions, state.settings, http, clock.advance(hours=2))
        deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN).json()
        assert [(d["state"], d["attempts"]) for d in deliveries] == [("failed", 2)]
        assert len(receiver.requests) == 2
