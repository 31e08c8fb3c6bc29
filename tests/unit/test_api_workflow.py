"""The transition table and what each move does to an order."""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from api.schemas import WorkOrderStatus as S
from api.workflow import SYSTEM, TERMINAL, TRANSITIONS, TransitionError, allowed_moves, check
from tests.support.ops import OP_A, SUP, T0, FakeClock, file_order, move, timeline, walk
from tests.support.orders import jpeg_evidence


def test_table_covers_every_state_and_everything_is_reachable() -> None:
    assert set(TRANSITIONS) == set(S)
    seen, queue = {S.DETECTED}, deque([S.DETECTED])
    while queue:
        for nxt in TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(S)
    for moves in TRANSITIONS.values():
        assert all(role in (SYSTEM, Role.OPERATOR, Role.SUPERVISOR) for role in moves.values())


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_check_agrees_with_the_table(current: S, target: S) -> None:
    needed = TRANSITIONS[current].get(target)
    for role in Role:
        try:
            check(current, target, role)
            ok = True
        except TransitionError as exc:
            ok = False
            assert exc.status_code == (409 if needed in (None, SYSTEM) else 403)
        expected = needed not in (None, SYSTEM) and role is not Role.WORKER and (
            needed is Role.OPERATOR or role in (Role.SUPERVISOR, Role.ADMIN)
        )
        assert ok == expected, (current, target, role)
    if needed is not None:
        check(current, target, SYSTEM)  # the server may make any move in the table


def test_happy_path_sets_times_and_restarts_the_deadline_at_dispatch(ops: TestClient, clock: FakeClock) -> None:
    order = file_order(ops)
    assert order["deadline_at"] == "2026-11-25T02:00:00+00:00"  # provisional: detected_at + 48 h
    assert order["allowed_transitions"] == ["filed", "rejected"]
    clock.advance(minutes=5)
    filed = walk(ops, order["id"], "filed")
    assert filed["filed_at"] == clock.now.isoformat()
    clock.advance(hours=3)
    dispatched = move(ops, order["id"], "dispatched", department="城管", assignee="zhang").json()
    assert dispatched["dispatched_at"] == clock.now.isoformat()
    assert dispatched["deadline_at"] == (clock.now + dt.timedelta(hours=48)).isoformat()
    assert (dispatched["department"], dispatched["assignee"]) == ("城管", "zhang")
    walk(ops, order["id"], "accepted", "in_progress")
    feedback = move(ops, order["id"], "feedback", evidence=[jpeg_evidence(kind="after")]).json()
    assert [e["kind"] for e in feedback["evidence"]] == ["after"]
    closed = walk(ops, order["id"], "verifying", "closed")
    assert closed["status"] == "closed" and closed["closed_at"] == clock.now.isoformat()
    assert closed["allowed_transitions"] == []  # reopening needs a supervisor
    entries = timeline(ops, order["id"])
    assert [e["action"] for e in entries] == ["created"] + ["transition"] * 7
    assert [e["to_status"] for e in entries][-2:] == ["verifying", "closed"]
    assert {e["actor"] for e in entries[1:]} == {"op.a"}
    assert entries[2]["data"] == {"department": "城管", "assignee": "zhang"}


def test_illegal_move_is_409_naming_the_allowed_ones(ops: TestClient) -> None:
    order = file_order(ops)
    response = move(ops, order["id"], "closed")
    assert response.status_code == 409
    body = response.json()
    assert body["current"] == "detected" and body["allowed"] == ["filed", "rejected"]
    assert "'detected' to 'closed'" in body["detail"] and "filed, rejected" in body["detail"]
    # 'overdue' is the job's move, never a person's.
    walk(ops, order["id"], "filed", "dispatched")
    system_only = move(ops, order["id"], "overdue")
    assert system_only.status_code == 409 and "overdue" not in system_only.json()["allowed"]


def test_supervisor_moves_and_reasons(ops: TestClient) -> None:
    order = file_order(ops)
    walk(ops, order["id"], "filed", "dispatched")
    assert move(ops, order["id"], "suspended", reason="road works").status_code == 403
    missing = move(ops, order["id"], "suspended", SUP)
    assert missing.status_code == 422 and "reason" in missing.json()["detail"]
    assert move(ops, order["id"], "suspended", SUP, reason="road works").status_code == 200
    assert move(ops, order["id"], "in_progress", SUP).json()["status"] == "in_progress"


def test_rework_counts_and_extension_moves_the_deadline(ops: TestClient, clock: FakeClock) -> None:
    order = file_order(ops)
    walk(ops, order["id"], "filed", "dispatched", "accepted", "in_progress", "feedback")
    reworked = move(ops, order["id"], "rework", reason="still dirty").json()
    assert reworked["rework_count"] == 1
    walk(ops, order["id"], "in_progress")
    before = dt.datetime.fromisoformat(move(ops, order["id"], "extension", reason="needs a truck").json()["deadline_at"])
    assert move(ops, order["id"], "in_progress", OP_A, extend_minutes=120).status_code == 403
    granted = move(ops, order["id"], "in_progress", SUP, extend_minutes=120).json()
    assert dt.datetime.fromisoformat(granted["deadline_at"]) - before == dt.timedelta(hours=2)
    assert move(ops, order["id"], "feedback", extend_minutes=5).status_code == 422


def test_verdicts_comments_and_false_positive_rejects(ops: TestClient) -> None:
    order = file_order(ops)
    fp = ops.post(f"/api/v1/work-orders/{order['id']}/verdict",
                  json={"verdict": "false_positive", "reason": "a shadow"}, headers=OP_A)
    assert fp.status_code == 200
    assert (fp.json()["status"], fp.json()["verdict"], fp.json()["verdict_reason"]) == ("rejected", "false_positive", "a shadow")
    other = file_order(ops, 2, zone_id="zone-z")
    ok = ops.post(f"/api/v1/work-orders/{other['id']}/verdict", json={"verdict": "confirmed", "reason": "real"},
                  headers=OP_A).json()
    assert ok["status"] == "filed"
    assert ops.post(f"/api/v1/work-orders/{other['id']}/verdict", json={"verdict": "maybe", "reason": "x"},
                    headers=OP_A).status_code == 422
    comment = ops.post(f"/api/v1/work-orders/{other['id']}/comments", json={"text": "called the cleaner"}, headers=OP_A)
    assert comment.status_code == 201 and comment.json()["action"] == "comment"
    actions = [e["action"] for e in timeline(ops, other["id"])]
    assert actions == ["created", "verdict", "transition", "comment"]


def test_allowed_moves_by_role() -> None:
    assert allowed_moves(S.DISPATCHED, Role.OPERATOR) == ["accepted", "returned"]
    assert "suspended" in allowed_moves(S.DISPATCHED, Role.SUPERVISOR)
    assert allowed_moves(S.CLOSED, Role.WORKER) == []
    for state in TERMINAL:
        assert all(TRANSITIONS[state][t] != SYSTEM for t in TRANSITIONS[state])


def test_list_filters_for_assignee_grid_and_overdue(ops: TestClient, clock: FakeClock) -> None:
    late = file_order(ops, 1, priority="emergency")
    file_order(ops, 2, zone_id="zone-q")
    move(ops, late["id"], "filed")
    move(ops, late["id"], "dispatched", assignee="wang")
    clock.advance(hours=1)  # emergency: 30 min, so it is now late even before the job runs
    params = {"overdue": "true"}
    assert [o["id"] for o in ops.get("/api/v1/work-orders", params=params, headers=SUP).json()["items"]] == [late["id"]]
    assert ops.get("/api/v1/work-orders", params={"overdue": "false"}, headers=SUP).json()["total"] == 1
    assert ops.get("/api/v1/work-orders", params={"assignee": "wang"}, headers=SUP).json()["total"] == 1
    assert ops.get("/api/v1/work-orders", params={"grid_cell": "cell-a"}, headers=SUP).json()["total"] == 2
    assert ops.get("/api/v1/work-orders", params={"overdue": "perhaps"}, headers=SUP).status_code == 422
