"""Configuration of the work-order API, read from ``GRIDSIGHT_*`` variables.

Importing this module must stay free of side effects: no engine, no
directories. Everything that touches disk or the network happens when the app
starts (see :func:`api.main.create_app`).

Secrets (bearer tokens, the webhook signing key) come from here too. Outside
dev mode :func:`api.auth.check_secrets` refuses to start with empty or
well-known values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.schemas import Priority


class TokenSpec(BaseModel):
    """Who a bearer token belongs to (value of one ``GRIDSIGHT_TOKENS`` entry)."""

    role: str = Field(pattern=r"^(worker|operator|supervisor|admin)$")
    name: str = Field(min_length=1, max_length=64)
    grids: list[str] = Field(default_factory=list, description="Grid cells an operator may see; ignored for other roles")


class TierDeadlines(BaseModel):
    """Per-category override; a tier left out falls back to the global default."""

    normal: dt.timedelta | None = None
    urgent: dt.timedelta | None = None
    emergency: dt.timedelta | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDSIGHT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/gridsight.db",
        description="SQLAlchemy URL; relative SQLite paths resolve against the working directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    evidence_dir: Path = Field(default=Path("var/evidence"), description="Where evidence files are written")
    max_evidence_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="Limit per decoded evidence file")
    dev_mode: bool = Field(
        default=False,
        description="Open API for local demos: requests without a token act as admin. `gridsight serve` turns it on "
        "by itself on a loopback host unless GRIDSIGHT_DEV_MODE is set",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Legacy single worker token (role worker, all grids); None: no such token"
    )
    tokens: dict[str, TokenSpec] = Field(
        default_factory=dict,
        description='JSON object token -> {"role", "name", "grids"}; roles: worker, operator, supervisor, admin',
        repr=False,
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr("dev-webhook-secret"), description="HMAC-SHA256 key that signs outgoing webhooks"
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a SQLite writer waits for the lock before failing"
    )
    deadline_normal: dt.timedelta = Field(default=dt.timedelta(hours=48), description="Ordinary events: two days")
    deadline_urgent: dt.timedelta = Field(default=dt.timedelta(hours=24), description="Urgent events: one day")
    deadline_emergency: dt.timedelta = Field(default=dt.timedelta(minutes=30), description="Emergencies: at once")
    category_deadlines: dict[str, TierDeadlines] = Field(
        default_factory=dict, description='Per category code, e.g. {"06010": {"normal": "PT4H"}}'
    )
    working_hours: tuple[dt.time, dt.time] | None = Field(
        default=None,
        description='Optional calendar, local time, e.g. ["09:00", "18:00"]: deadlines of normal and urgent orders '
        "then count only working time (emergencies always run on the wall clock)",
    )
    working_days: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays that are working days")
    # China Standard Time has no DST, so a fixed offset is exact and needs no tz database.
    local_utc_offset: dt.timedelta = Field(
        default=dt.timedelta(hours=8), description="Offset of the operations centre's local time (order-number dates)"
    )
    order_no_prefix: str = Field(default="GS", pattern=r"^[A-Z]{1,8}$")
    camera_history_size: int = Field(default=20, ge=1, le=1000, description="Status events kept per camera")
    merge_window: dt.timedelta = Field(
        default=dt.timedelta(hours=24),
        description="A repeat (same camera, zone, category) within this time of the open order's last sighting "
        "merges into it; 0 turns merging off",
    )
    recurrence_window: dt.timedelta = Field(
        default=dt.timedelta(days=7), description="A repeat this soon after closure counts as a recurrence"
    )
    recurrence_policy: str = Field(
        default="link", pattern=r"^(link|reopen)$", description="link: new order pointing at the closed one; reopen"
    )
    escalate_after: dt.timedelta = Field(
        default=dt.timedelta(hours=2), description="An overdue order is escalated this long after its deadline"
    )
    auto_close_on_recheck: bool = Field(
        default=False, description="Camera re-check closes the order instead of leaving it in 'verifying'"
    )
    job_interval_s: float = Field(default=30.0, ge=0, description="Overdue/escalation and webhook job period; 0: off")
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    sse_poll_s: float = Field(default=1.0, gt=0, le=60, description="How often the live feed looks for changes")
    baseline_warn_ratio: float = Field(default=0.8, gt=0, description="count >= mean * this: warning")
    baseline_alert_ratio: float = Field(default=1.0, gt=0, description="count > mean * this: alert")

    @field_validator("api_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        # GRIDSIGHT_API_TOKEN= (set but empty) means "no token", not "a token nobody can send".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("working_hours", mode="before")
    @classmethod
    def _hours_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):  # "09:00-18:00" is easier to type than JSON
            return value.split("-", 1) if value.strip() else None
        return value

    def deadline_for(self, priority: Priority, category_code: str | None = None) -> dt.timedelta:
        override = self.category_deadlines.get(category_code) if category_code else None
        if override is not None and getattr(override, priority.value) is not None:
            return getattr(override, priority.value)
        return {
            Priority.NORMAL: self.deadline_normal,
            Priority.URGENT: self.deadline_urgent,
            Priority.EMERGENCY: self.deadline_emergency,
        }[priority]
