"""The worker process's own sections: the API it files to, its spool and timers,
cluster mode (Redis) and shadow mode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from inference.site_time import DEFAULT_SITE_TIMEZONE, check_zone_name, site_zone
from streams.config.base import Identifier, Strict


class ApiConfig(Strict):
    url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://", description="Base URL of the GridSight API")
    token: str | None = Field(default=None, repr=False, description="Bearer token for the API, if it requires one")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Per-request timeout")


class ModelSyncConfig(Strict):
    """The worker asks the API's model registry which model each of its cameras should run, and swaps it in."""

    enabled: bool = Field(
        default=True,
        description="Fetch each camera's assigned model from the API (api.url) and swap it in without a restart; "
                    "false: the cameras run the models the config names",
    )
    interval_s: float = Field(default=30.0, ge=1, le=3600, description="How often the assignments are asked for")
    retry_max_s: float = Field(
        default=120.0, ge=1, le=3600,
        description="Longest wait between tries while the API cannot be reached (backoff from 1 s); the cameras "
                    "keep their models meanwhile",
    )
    cache_dir: Path = Field(
        default=Path("var/model-cache"),
        description="Where assigned models' files are kept (<name>/<version>/...), each checked against its sha256; "
                    "a file already there with the right checksum is not fetched again",
    )
    max_model_mb: int = Field(
        default=2048, ge=1, le=65536, description="Largest model (all its files together) the worker fetches, in MiB",
    )


class WorkerConfig(Strict):
    name: str = Field(default="worker-1", min_length=1, max_length=64, description="Worker name, in logs and metrics")
    spool_dir: Path = Field(default=Path("var/spool"), description="Durable outbox for work orders the API has not yet acknowledged")
    retry_initial_s: float = Field(default=0.5, gt=0, le=60, description="First retry delay when the API is unreachable")
    retry_max_s: float = Field(default=15.0, gt=0, le=600, description="Longest retry delay when the API stays unreachable")
    snapshot_interval_s: float = Field(
        default=10.0, ge=0, le=3600, description="Upload each camera's latest analysed frame this often (dashboard); 0: off",
    )
    zone_sync_interval_s: float = Field(
        default=5.0, ge=0, le=3600, description="Pick up zones edited in the API this often, without a restart; 0: off",
    )
    stats_interval_s: float = Field(default=30.0, gt=0, le=3600, description="How often per-camera statistics are logged")
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535,
        description="Serve Prometheus /metrics and /health on this port (0: any free port, logged); None: off",
    )
    metrics_host: str = Field(default="0.0.0.0", min_length=1, max_length=255, description="Address the metrics server binds")
    site_timezone: str = Field(
        default=DEFAULT_SITE_TIMEZONE, min_length=1, max_length=64,
        description="IANA time zone of the site (the API's GRIDSIGHT_SITE_TIMEZONE, the same name): evidence stamps, "
                    "log lines and each camera's rule schedules unless the camera names its own (docs/time.md)",
    )
    evidence_threads: int = Field(
        default=1, ge=0, le=16,
        description="Threads that make events' evidence files (snapshots, clips) for all cameras, off their analysis "
                    "threads, each camera's orders still in order; 0: on each camera's own analysis thread",
    )
    shed_min_fps: float | None = Field(
        default=None, gt=0, le=60,
        description="Lowest analysis fps a camera is shed to when inference cannot keep up (restored as it recovers); "
                    "absent: each camera's rules' minimum rate. Never below that minimum: a value under it is refused",
    )


    @field_validator("site_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return check_zone_name(name)

    @property
    def zone(self) -> ZoneInfo:
        return site_zone(self.site_timezone)


class RedisConfig(Strict):
    """Cluster mode: camera leases, config and the work-order stream live in Redis."""

    url: str = Field(
        repr=False, pattern=r"^(redis|rediss|unix)://", max_length=512,
        description="Redis URL, e.g. redis://redis:6379/0 (credentials are never logged)",
    )
    stream: str = Field(
        default="gridsight:orders", pattern=r"^[A-Za-z0-9:_.{}-]{1,128}$",
        description="Redis Stream that work orders are published to (the API's ingest reads it)",
    )
    key_prefix: str = Field(
        default="gridsight", pattern=r"^[A-Za-z0-9:_.{}-]{1,64}$",
        description="Prefix of every coordination key (workers, leases, camera config)",
    )
    max_cameras: int = Field(
        default=8, ge=1, le=10_000,
        description="Cameras this worker may hold at once (its GPU/stream budget); the cluster never assigns more",
    )
    lease_ttl_s: float = Field(
        default=8.0, ge=1, le=300,
        description="Lease and heartbeat lifetime: a dead worker's cameras move after at most this long (+ one tick)",
    )
    heartbeat_interval_s: float = Field(
        default=2.0, ge=0.1, le=60,
        description="How often the worker renews its heartbeat and leases and rebalances; must be < lease_ttl_s / 2",
    )
    settle_s: float = Field(
        default=4.0, ge=0, le=600,
        description="A newly seen worker must stay alive this long before cameras are handed over to it",
    )
    cameras_from: Literal["file", "redis", "both"] = Field(
        default="both",
        description="Where cameras come from: this file, the Redis hash <key_prefix>:cameras (live-reloaded), or both "
        "(Redis wins on the same id)",
    )
    socket_timeout_s: float = Field(default=3.0, gt=0, le=60, description="Redis command timeout")

    @model_validator(mode="after")
    def _heartbeat_fits_ttl(self) -> "RedisConfig":
        if self.heartbeat_interval_s * 2 >= self.lease_ttl_s:
            raise ValueError(
                f"heartbeat_interval_s ({self.heartbeat_interval_s}) must be less than half of lease_ttl_s "
                f"({self.lease_ttl_s}), or a single late renewal loses every lease"
            )
        return self



class ShadowConfig(Strict):
    """A candidate model run beside the live one on the same frames; its events are logged, never filed."""

    model: Identifier = Field(description="Candidate model id from the models section (never the cameras' live model)")
    cameras: list[Identifier] | None = Field(
        default=None, min_length=1, max_length=10_000, description="Cameras to shadow; absent: every camera",
    )
    log_dir: Path = Field(default=Path("var/shadow"), description="Live and candidate events, one JSON-lines file per camera")
