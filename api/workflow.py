"""The work-order state machine, as data.

``TRANSITIONS[state][next_state]`` is the least role allowed to make that
move. ``SYSTEM`` moves are made only by the server itself (the overdue job,
camera re-check, recurrence handling); no token can make them through the
transitions endpoint, which answers 409 naming the moves that are open.

The flow follows digital city management: detected -> filed (or rejected as
a false alarm) -> dispatched (the deadline clock starts) -> accepted ->
in_progress -> feedback (after-photo) -> verifying -> closed, or back to
rework. Side states: returned (wrong department), extension (more time
asked), suspended, overdue (set by the job), escalated.
"""

from __future__ import annotations

from typing import Final

from api.auth import RANK, Role
from api.schemas import WorkOrderStatus as S

SYSTEM: Final = "system"
OPERATOR, SUPERVISOR = Role.OPERATOR, Role.SUPERVISOR

TRANSITIONS: dict[S, dict[S, Role | str]] = {
    S.DETECTED: {S.FILED: OPERATOR, S.REJECTED: OPERATOR},
    S.FILED: {S.DISPATCHED: OPERATOR, S.REJECTED: OPERATOR},
    S.REJECTED: {S.FILED: SUPERVISOR},  # a false-alarm verdict overturned
    S.DISPATCHED: {
        S.ACCEPTED: OPERATOR, S.RETURNED: OPERATOR, S.SUSPENDED: SUPERVISOR,
        S.OVERDUE: SYSTEM, S.ESCALATED: SUPERVISOR,
    },
    S.ACCEPTED: {
        S.IN_PROGRESS: OPERATOR, S.RETURNED: OPERATOR, S.EXTENSION: OPERATOR, S.SUSPENDED: SUPERVISOR,
        S.OVERDUE: SYSTEM, S.ESCALATED: SUPERVISOR,
    },
    S.IN_PROGRESS: {
        S.FEEDBACK: OPERATOR, S.EXTENSION: OPERATOR, S.SUSPENDED: SUPERVISOR,
        S.OVERDUE: SYSTEM, S.ESCALATED: SUPERVISOR,
    },
    S.FEEDBACK: {S.VERIFYING: OPERATOR, S.REWORK: OPERATOR},
    S.VERIFYING: {S.CLOSED: OPERATOR, S.REWORK: OPERATOR},
    S.REWORK: {
        S.IN_PROGRESS: OPERATOR, S.FEEDBACK: OPERATOR, S.EXTENSION: OPERATOR,
        S.OVERDUE: SYSTEM, S.ESCALATED: SUPERVISOR,
    },
    S.RETURNED: {S.DISPATCHED: OPERATOR, S.FILED: OPERATOR, S.REJECTED: SUPERVISOR},
    # Granting or refusing more time is the supervisor's call; the deadline moves on grant.
    S.EXTENSION: {S.IN_PROGRESS: SUPERVISOR, S.ESCALATED: SUPERVISOR, S.OVERDUE: SYSTEM},
    S.SUSPENDED: {S.DISPATCHED: SUPERVISOR, S.IN_PROGRESS: SUPERVISOR, S.CLOSED: SUPERVISOR},
    # Late work still has to be done: the order can carry on from overdue.
    S.OVERDUE: {
        S.IN_PROGRESS: OPERATOR, S.FEEDBACK: OPERATOR, S.EXTENSION: OPERATOR,
        S.ESCALATED: SYSTEM, S.SUSPENDED: SUPERVISOR,
    },
    S.ESCALATED: {
        S.DISPATCHED: SUPERVISOR, S.IN_PROGRESS: SUPERVISOR, S.FEEDBACK: OPERATOR,
        S.SUSPENDED: SUPERVISOR, S.CLOSED: SUPERVISOR,
    },
    S.CLOSED: {S.REWORK: SUPERVISOR},  # reopened: a supervisor, or a recurrence (see crud.incidents)
}

# Orders no longer being worked on: not overdue, not merge targets.
TERMINAL: Final = frozenset({S.CLOSED, S.REJECTED})
# The deadline clock runs in these states (it starts at dispatch).
CLOCK_RUNNING: Final = frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.REWORK, S.EXTENSION})
# Open for merging repeats: anything not closed or rejected.
OPEN: Final = frozenset(S) - TERMINAL


class TransitionError(Exception):
    """The move is not in the table (409) or the role is too low (403)."""

    def __init__(self, status_code: int, message: str, current: S, allowed: list[str]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.current = current
        self.allowed = allowed


def allowed_moves(current: S, role: Role | None) -> list[str]:
    """Moves this role may make by hand from ``current`` (all manual moves when role is None)."""
    moves = []
    for target, needed in TRANSITIONS.get(current, {}).items():
        if needed == SYSTEM:
            continue
        if role is None or _rank_ok(role, needed):
            moves.append(target.value)
    return moves


def _rank_ok(role: Role, needed: Role | str) -> bool:
    return role is not Role.WORKER and isinstance(needed, Role) and RANK[role] >= RANK[needed]


def check(current: S, target: S, role: Role | str) -> None:
    """Raise :class:`TransitionError` unless ``role`` may move an order from ``current`` to ``target``.

    ``role`` is :data:`SYSTEM` for the server's own moves."""
    table = TRANSITIONS.get(current, {})
    manual = allowed_moves(current, None)
    if target not in table or (table[target] == SYSTEM and role != SYSTEM):
        listed = ", ".join(manual) or "none"
        raise TransitionError(
            409, f"cannot move a work order from '{current.value}' to '{target.value}'; allowed: {listed}",
            current, manual,
        )
    if role == SYSTEM:
        return
    needed = table[target]
    assert isinstance(role, Role)
    if not _rank_ok(role, needed):
        raise TransitionError(
            403,
            f"moving from '{current.value}' to '{target.value}' needs role {getattr(needed, 'value', needed)} "
            f"or higher; you have {role.value}",
            current, allowed_moves(current, role),
        )
