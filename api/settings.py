"""Configuration of the work-order API, read from ``GRIDSIGHT_*`` variables.

Importing this module must stay free of side effects: no engine, no
directories. Everything that touches disk or the network happens when the app
starts (see :func:`api.main.create_app`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.schemas import Priority


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDSIGHT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/gridsight.db",
        description="SQLAlchemy URL; relative SQLite paths resolve against the working directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    evidence_dir: Path = Field(default=Path("var/evidence"), description="Where evidence files are written")
    max_evidence_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="Limit per decoded evidence file")
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token required for POST/PUT; None leaves the API open (dev mode)"
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a SQLite writer waits for the lock before failing"
    )
    deadline_normal: dt.timedelta = Field(default=dt.timedelta(hours=48), description="Ordinary events: two days")
    deadline_urgent: dt.timedelta = Field(default=dt.timedelta(hours=24), description="Urgent events: one day")
    deadline_emergency: dt.timedelta = Field(default=dt.timedelta(minutes=30), description="Emergencies: at once")
    # China Standard Time has no DST, so a fixed offset is exact and needs no tz database.
    local_utc_offset: dt.timedelta = Field(
        default=dt.timedelta(hours=8), description="Offset of the operations centre's local time (order-number dates)"
    )
    order_no_prefix: str = Field(default="GS", pattern=r"^[A-Z]{1,8}$")
    camera_history_size: int = Field(default=20, ge=1, le=1000, description="Status events kept per camera")

    @field_validator("api_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        # GRIDSIGHT_API_TOKEN= (set but empty) means "no token", not "a token nobody can send".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def deadline_for(self, priority: Priority) -> dt.timedelta:
        return {
            Priority.NORMAL: self.deadline_normal,
            Priority.URGENT: self.deadline_urgent,
            Priority.EMERGENCY: self.deadline_emergency,
        }[priority]
