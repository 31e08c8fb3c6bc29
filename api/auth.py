"""Bearer tokens, roles and grid scope.

Tokens are configured, not stored: ``GRIDSIGHT_TOKENS`` maps each token to a
role, a name and (for operators) the grid cells they serve. Lookups compare
SHA-256 digests in constant time so a token cannot be guessed from timing.

Roles, from least to most powerful for reading and handling orders:
``worker`` (cameras: file orders, report status, report event ends),
``operator`` (their own grid cells), ``supervisor`` (every grid, escalations)
and ``admin`` (everything, including the registry of cameras, zones, grid
cells, teams and webhooks). Workers are a separate branch: they cannot read
or handle orders.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass

from api.settings import Settings


class Role(str, enum.Enum):
    WORKER = "worker"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Rank for "at least this role" checks among the people who handle orders.
RANK = {Role.WORKER: 0, Role.OPERATOR: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    # None: every grid cell (supervisors, admins, dev mode); otherwise the cells an operator serves.
    grids: frozenset[str] | None = None
    # In dev mode a request without a token may read (legacy open reads) but not write.
    read_only: bool = False

    @property
    def can_write(self) -> bool:  # kept for code written against the old seam
        return not self.read_only

    def at_least(self, role: Role) -> bool:
        return self.role is not Role.WORKER and RANK[self.role] >= RANK[role]

    def sees_grid(self, grid_cell: str | None) -> bool:
        return self.grids is None or (grid_cell is not None and grid_cell in self.grids)


DEV_ADMIN = Principal(name="dev-mode", role=Role.ADMIN)
DEV_READER = Principal(name="anonymous", role=Role.SUPERVISOR, read_only=True)

# Values that appear in docs, examples and defaults: never acceptable outside dev mode.
KNOWN_DEFAULTS = {"", "changeme", "change-me", "secret", "token", "dev", "test", "password", "dev-webhook-secret"}
MIN_SECRET_LEN = 16


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenRegistry:
    def __init__(self, settings: Settings) -> None:
        self._entries: list[tuple[bytes, Principal]] = []
        for token, spec in settings.tokens.items():
            role = Role(spec.role)
            grids = frozenset(spec.grids) if role is Role.OPERATOR else None
            self._entries.append((_digest(token), Principal(name=spec.name, role=role, grids=grids)))
        if settings.api_token is not None:
            # The single pre-roles token keeps working as a worker token.
            legacy = Principal(name="worker", role=Role.WORKER)
            self._entries.append((_digest(settings.api_token.get_secret_value()), legacy))

    @property
    def empty(self) -> bool:
        return not self._entries

    def lookup(self, token: str) -> Principal | None:
        given = _digest(token)
        found = None
        for digest, principal in self._entries:
            # No early exit: every entry is compared, so timing says nothing about which matched.
            if hmac.compare_digest(given, digest):
                found = principal
        return found


class InsecureSettings(RuntimeError):
    """Start-up refused: a secret is empty or a known default outside dev mode."""


def check_secrets(settings: Settings) -> None:
    """Refuse to start outside dev mode with secrets anyone could know."""
    if settings.dev_mode:
        return
    problems = []
    all_tokens = dict.fromkeys(settings.tokens)
    if settings.api_token is not None:
        all_tokens[settings.api_token.get_secret_value()] = None
    if not all_tokens:
        problems.append("no bearer tokens configured (set GRIDSIGHT_TOKENS)")
    for token in all_tokens:
        if token.strip().lower() in KNOWN_DEFAULTS or len(token) < MIN_SECRET_LEN:
            problems.append(f"a token is a well-known value or shorter than {MIN_SECRET_LEN} characters")
            break
    secret = settings.webhook_secret.get_secret_value()
    if secret.strip().lower() in KNOWN_DEFAULTS or len(secret) < MIN_SECRET_LEN:
        problems.append(f"GRIDSIGHT_WEBHOOK_SECRET is empty, a default, or shorter than {MIN_SECRET_LEN} characters")
    if problems:
        raise InsecureSettings(
            "refusing to start outside dev mode: " + "; ".join(problems)
            + ". Set real secrets, or GRIDSIGHT_DEV_MODE=true for a local demo."
        )
