"""Configuration of the work-order API, read from ``GRIDSIGHT_*`` variables.

Importing this module must stay free of side effects: no engine, no
directories. Everything that touches disk or the network happens when the app
starts (see :func:`api.main.create_app`).

This is the API's one settings object: the HTTP server, the jobs and the Redis
Stream ingest (``GRIDSIGHT_REDIS_*``, ``GRIDSIGHT_INGEST_*``) all read it.

Secrets (bearer tokens, the webhook signing key) come from here too. Outside
dev mode :func:`api.auth.check_secrets` refuses to start with empty or
well-known values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from api.contract.wire import Priority
from inference.site_time import DEFAULT_SITE_TIMEZONE, check_zone_name, site_zone


class TokenSpec(BaseModel):
    """Who a bearer token belongs to (value of one ``GRIDSIGHT_TOKENS`` entry)."""

    role: str = Field(pattern=r"^(worker|operator|supervisor|admin)$")
    name: str = Field(min_length=1, max_length=64)
    grids: list[str] = Field(
        default_factory=list,
        description="Grid cells an operator may see; only operators may have any (the other roles see every grid)",
    )


ROLES = ("worker", "operator", "supervisor", "admin")


def _entry_problem(position: int, raw: Any, error: dict[str, Any]) -> str:
    """One line about one GRIDSIGHT_TOKENS entry, naming it by position and name, never by its token."""
    name = raw.get("name") if isinstance(raw, dict) else None
    who = f"entry {position} ({name!r})" if isinstance(name, str) and 0 < len(name) <= 64 else f"entry {position}"
    field = ".".join(str(part) for part in error.get("loc", ())) or "value"
    if field == "role" and isinstance(raw, dict) and isinstance(raw.get("role"), str) and len(raw["role"]) <= 32:
        return f"GRIDSIGHT_TOKENS {who}: role {raw['role']!r} is not one of {', '.join(ROLES)}"
    message = error.get("msg", "invalid")
    if field == "value" and error.get("type") == "model_type":
        message = 'must be an object {"role", "name", "grids"}'
    return f"GRIDSIGHT_TOKENS {who}: {field}: {message}"


def parse_tokens(value: Any) -> dict[str, TokenSpec]:
    """GRIDSIGHT_TOKENS (JSON text or a mapping) -> token -> TokenSpec. Every problem is reported
    by the entry's position (1-based) and name: a token is a secret and never appears in a message."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            # The decoder's message names a position, never the text around it.
            raise ValueError(f"GRIDSIGHT_TOKENS is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValueError('GRIDSIGHT_TOKENS must be a JSON object: {"<token>": {"role", "name", "grids"}, ...}')
    tokens: dict[str, TokenSpec] = {}
    problems: list[str] = []
    for position, (token, raw) in enumerate(value.items(), start=1):
        if isinstance(raw, TokenSpec):
            spec = raw
        else:
            try:
                spec = TokenSpec.model_validate(raw)
            except ValidationError as exc:
                problems.extend(_entry_problem(position, raw, error) for error in exc.errors(include_input=False))
                continue
        if not isinstance(token, str):
            problems.append(f"GRIDSIGHT_TOKENS entry {position} ({spec.name!r}): the token must be a string")
            continue
        if spec.grids and spec.role != "operator":
            # Only operators are scoped; silently ignoring a supervisor's cells would widen what they see.
            problems.append(
                f"GRIDSIGHT_TOKENS entry {position} ({spec.name!r}): grids are only for operators; a {spec.role} "
                "sees every grid (remove the grids, or make the token an operator's)"
            )
            continue
        tokens[token] = spec
    if problems:
        raise ValueError("\n".join(problems))  # load_settings makes each line a problem of its own
    return tokens


def check_tile_template(url: str) -> str:
    """A tile URL template for Leaflet, or ValueError (the message never repeats the URL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL template, e.g. http://tiles.intranet/{z}/{x}/{y}.png")
    if parts.username or parts.password:
        raise ValueError("must not carry a user or password: every browser showing the map would see it")
    if "{s}" in url:
        raise ValueError("{s} (rotating subdomains) is not supported: name one host, the pages' CSP allows only it")
    if any(ch in parts.netloc for ch in "{}*"):
        raise ValueError("the host must be a plain name, without placeholders")
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise ValueError(f"needs the placeholders {{z}}, {{x}} and {{y}} (missing: {', '.join(missing)})")
    if any(ch in url for ch in " \"'<>"):
        raise ValueError("must not contain spaces, quotes or angle brackets")
    return url


class TierDeadlines(BaseModel):
    """Per-category override; a tier left out falls back to the global default."""

    normal: dt.timedelta | None = None
    urgent: dt.timedelta | None = None
    emergency: dt.timedelta | None = None


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error must never print a value (a token, a database password).
    model_config = SettingsConfigDict(env_prefix="GRIDSIGHT_", extra="ignore", hide_input_in_errors=True)

    database_url: str = Field(
        default="sqlite:///var/gridsight.db",
        description="SQLAlchemy URL; relative SQLite paths resolve against the working directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    evidence_dir: Path = Field(default=Path("var/evidence"), description="Where evidence files are written")
    max_evidence_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="Limit per decoded evidence file")
    max_image_pixels: int = Field(
        default=4096 * 4096, ge=64 * 64, le=2**26,
        description="Largest image (width x height) accepted as evidence or snapshot, checked from its header "
        "before it is decoded (decompression bombs); also the largest frame of a clip",
    )
    # Request-size limits, applied while the body streams in (an ASGI middleware, api.guard):
    # a declared Content-Length above the limit is refused before a byte is read, a chunked
    # body as soon as it passes it; either way 413 and the connection is closed.
    max_json_body_bytes: int = Field(
        default=1024 * 1024, ge=4 * 1024, le=64 * 1024 * 1024,
        description="Largest body of a request without evidence (registry, workflow, camera status, webhooks)",
    )
    max_evidence_body_bytes: int = Field(
        default=48 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024,
        description="Largest body of a request that carries base64 evidence: POST /work-orders, "
        "/work-orders/{id}/transitions, /events/end and /events/evidence "
        "(each file is also held to max_evidence_bytes)",
    )
    max_snapshot_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024,
        description="Largest camera frame, PUT /cameras/{id}/snapshot (max_evidence_bytes applies too if lower)",
    )
    # Issue 18: the model registry's files (manifest, weights, exports) and its upload limit.
    model_dir: Path = Field(default=Path("var/models"),
                            description="Where the model registry stores uploaded model versions, one directory each")
    max_model_upload_bytes: int = Field(
        default=1024 * 1024 * 1024, ge=1024 * 1024, le=16 * 1024 * 1024 * 1024,
        description="Largest model upload, POST /models (manifest, weights and exports together)",
    )
    # Issue 18: frames worth labelling (POST /harvest/frames), bounded on disk and per camera per day.
    harvest_dir: Path | None = Field(
        default=None, description="Where harvested frames (raw JPEGs) are stored; unset: a 'harvest' folder beside "
        "the evidence directory (var/harvest by default)",
    )
    harvest_max_bytes: int = Field(
        default=2 * 1024**3, ge=16 * 1024, le=2**44,
        description="Most bytes of harvested frames kept: beyond it the oldest frames still 'new' are evicted first",
    )
    harvest_camera_daily_max: int = Field(
        default=2000, ge=1, le=1_000_000,
        description="Most frames one camera may have accepted per site day, a backstop to the workers' own budgets; "
        "more are answered as over_budget and not stored (false-positive verdicts' frames are not capped)",
    )
    dev_mode: bool = Field(
        default=False,
        description="Open API for local demos: requests without a token act as admin. `gridsight serve` turns it on "
        "by itself on a loopback host unless GRIDSIGHT_DEV_MODE is set",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Legacy single worker token (role worker, all grids); None: no such token"
    )
    # NoDecode: the raw JSON text reaches parse_tokens, which reports a bad entry without its token.
    tokens: Annotated[dict[str, TokenSpec], NoDecode] = Field(
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
    # Issue 17 (one site time zone): docs/time.md. The worker reads the same name (worker.site_timezone,
    # or this variable); zoneinfo per timestamp, so a zone with daylight saving is right on both sides.
    site_timezone: str = Field(
        default=DEFAULT_SITE_TIMEZONE, max_length=64,
        description="IANA time zone of the site, e.g. Asia/Shanghai or Europe/Berlin: order-number dates, day/week/"
        "month buckets, working hours, log lines and the pages' times (the API's JSON stays UTC)",
    )
    local_utc_offset: str | None = Field(
        default=None, description="Removed (issue 17): a fixed offset cannot follow daylight saving; a value is refused "
        "with a line naming GRIDSIGHT_SITE_TIMEZONE", exclude=True,
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
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, link-local, private and other non-public addresses (a receiver "
        "on the same host or LAN). Off: such a URL is refused when subscribed, and a name resolving to one at "
        "delivery time is not sent to (no SSRF from an admin token)",
    )
    # The Redis Stream ingest (api.ingest): off without a URL.
    redis_url: str | None = Field(default=None, repr=False,
                                  description="Redis URL; set it to ingest work orders from the stream")
    redis_stream: str = Field(default="gridsight:orders", min_length=1, max_length=128, description="Stream workers publish to")
    redis_group: str = Field(default="gridsight-api", min_length=1, max_length=64, description="Consumer group of the API")
    ingest_consumer: str | None = Field(
        default=None, max_length=128, description="Consumer name; default <hostname>-<pid> (unique per process)"
    )
    ingest_threads: int = Field(
        default=1, ge=1, le=32,
        description="Consumers per API process; more help on PostgreSQL (parallel transactions), not on SQLite",
    )
    ingest_batch: int = Field(default=64, ge=1, le=1000, description="Entries read per XREADGROUP")
    ingest_block_ms: int = Field(default=1000, ge=10, le=60_000, description="How long one read waits for new entries")
    ingest_claim_idle_s: float = Field(
        default=30.0, ge=1, le=86_400, description="Claim entries left pending this long by another consumer"
    )
    ingest_max_deliveries: int = Field(
        default=10, ge=1, le=1000, description="Dead-letter a message that failed (not for a database outage) this often"
    )
    ingest_lag_degraded: int = Field(
        default=10_000, ge=1, description="/health reports the ingest degraded above this many undelivered entries"
    )
    ingest_delete_acked: bool = Field(default=True, description="XDEL entries once acked (this group is the only reader)")
    sse_poll_s: float = Field(default=1.0, gt=0, le=60, description="How often the live feed looks for changes")
    baseline_warn_ratio: float = Field(default=0.8, gt=0, description="count >= mean * this: warning")
    baseline_alert_ratio: float = Field(default=1.0, gt=0, description="count > mean * this: alert")
    # Issue 17: the district map draws cells and streets as vectors and needs no tiles; a centre with its
    # own tile server names it here, and only then does the pages' CSP let images come from it.
    map_tiles: str | None = Field(
        default=None,
        description="URL template of an intranet map tile server, e.g. http://tiles.intranet/{z}/{x}/{y}.png "
        "(one host; {z}, {x} and {y} required). Unset: no tiles, nothing leaves the API's origin",
    )

    @field_validator("api_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        # GRIDSIGHT_API_TOKEN= (set but empty) means "no token", not "a token nobody can send".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        return parse_tokens(value)

    @field_validator("map_tiles", mode="before")
    @classmethod
    def _tile_template(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise ValueError("must be a URL template such as http://tiles.intranet/{z}/{x}/{y}.png")
        return check_tile_template(value.strip())

    @property
    def map_tiles_origin(self) -> str | None:
        """scheme://host[:port] of the tile server, for the pages' CSP; None without one."""
        if self.map_tiles is None:
            return None
        parts = urlsplit(self.map_tiles)
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("site_timezone", mode="before")
    @classmethod
    def _known_zone(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_SITE_TIMEZONE  # GRIDSIGHT_SITE_TIMEZONE= (set but empty): the default
        return check_zone_name(value.strip() if isinstance(value, str) else value)

    @field_validator("local_utc_offset", mode="before")
    @classmethod
    def _offset_removed(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        raise ValueError("is no longer read (a fixed offset cannot follow daylight saving): unset it and set "
                         "GRIDSIGHT_SITE_TIMEZONE to the site's IANA time zone, e.g. Asia/Shanghai (the default)")

    @property
    def harvest_root(self) -> Path:
        """Where harvested frames are stored: ``harvest_dir``, else beside the evidence directory."""
        return self.harvest_dir if self.harvest_dir is not None else self.evidence_dir.parent / "harvest"

    @property
    def site_zone(self) -> ZoneInfo:
        """The site's time zone (docs/time.md)."""
        return site_zone(self.site_timezone)

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


class SettingsInvalid(RuntimeError):
    """Start-up refused: a ``GRIDSIGHT_*`` variable does not parse. ``problems`` holds one line each;
    no line carries a variable's value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _problems(error: dict[str, Any]) -> list[str]:
    loc = [str(part) for part in error.get("loc", ())]
    variable = f"GRIDSIGHT_{loc[0].upper()}" if loc else "settings"
    message = error.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if loc and loc[0] == "tokens":
        return message.splitlines()  # parse_tokens names the variable and the entry itself, one line each
    where = variable + ("." + ".".join(loc[1:]) if len(loc) > 1 else "")
    return [f"{where}: {' '.join(message.split())}"]


def load_settings(**overrides: Any) -> Settings:
    """``Settings(**overrides)`` with every problem as one line of :class:`SettingsInvalid`
    instead of a pydantic traceback (which would print the offending value)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [line for error in exc.errors(include_input=False, include_url=False) for line in _problems(error)]
    except SettingsError as exc:
        # pydantic-settings could not decode a JSON variable: its message names the field, not the value.
        problems = [" ".join(str(exc).split())]
    raise SettingsInvalid(problems)
