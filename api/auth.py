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
import math
from collections import Counter
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


# A secret must be hard to guess, not only long: "changemechangeme" and "0000000000000000" are 16 characters.
MIN_DISTINCT_CHARS = 5
MIN_ENTROPY_BITS = 30.0  # Shannon estimate over the string's own characters; random 16-char hex scores ~50


def _entropy_bits(value: str) -> float:
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def secret_weakness(value: str) -> str | None:
    """Why ``value`` is not a usable secret, or None. The answer never quotes the value."""
    if value.strip().lower() in KNOWN_DEFAULTS:
        return "is a well-known value"
    if "changeme" in "".join(ch for ch in value.lower() if ch.isalnum()):
        return "is a placeholder (it says change-me, as deploy/env.example does)"
    if len(value) < MIN_SECRET_LEN:
        return f"is shorter than {MIN_SECRET_LEN} characters"
    distinct = len(set(value))
    if distinct < MIN_DISTINCT_CHARS:
        return f"has too little variety ({distinct} distinct characters; at least {MIN_DISTINCT_CHARS} needed)"
    for period in range(1, len(value) // 2 + 1):
        if all(value[i] == value[i - period] for i in range(period, len(value))):
            return "is a short pattern repeated"
    steps = [ord(b) - ord(a) for a, b in zip(value, value[1:])]
    if sum(step in (-1, 0, 1) for step in steps) >= 0.75 * len(steps):
        return "is mostly runs of consecutive or repeated characters (like abcdef or 000000)"
    bits = _entropy_bits(value)
    if bits < MIN_ENTROPY_BITS:
        return f"has too little variety (about {bits:.0f} bits by its character counts; at least {MIN_ENTROPY_BITS:.0f})"
    return None


def check_secrets(settings: Settings) -> None:
    """Refuse to start outside dev mode with secrets anyone could know or guess. Each bad
    token is named by its GRIDSIGHT_TOKENS position and name, never by its value."""
    if settings.dev_mode:
        return
    problems = []
    if not settings.tokens and settings.api_token is None:
        problems.append("no bearer tokens configured (set GRIDSIGHT_TOKENS)")
    for position, (token, spec) in enumerate(settings.tokens.items(), start=1):
        weakness = secret_weakness(token)
        if weakness is not None:
            problems.append(f"GRIDSIGHT_TOKENS entry {position} ({spec.name!r}): the token {weakness}")
    if settings.api_token is not None:
        weakness = secret_weakness(settings.api_token.get_secret_value())
        if weakness is not None:
            problems.append(f"GRIDSIGHT_API_TOKEN {weakness}")
    weakness = secret_weakness(settings.webhook_secret.get_secret_value())
    if weakness is not None:
        problems.append(f"GRIDSIGHT_WEBHOOK_SECRET {weakness}")
    if problems:
        raise InsecureSettings(
            "refusing to start outside dev mode: " + "; ".join(problems)
            + ". Set real secrets (e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))'), "
            "or GRIDSIGHT_DEV_MODE=true for a local demo."
        )
