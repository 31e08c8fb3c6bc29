"""The worker's one YAML file: cameras, zones, rules, models and the API.

Validated with pydantic (``extra="forbid"``: a misspelt key is an error, not a
silently ignored setting). Cameras, zones, rules and models are maps keyed by
id, so an error message can name exactly which one is wrong. Relative paths
resolve against the config file's own directory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator,
)

from inference.labels import CANONICAL_LABELS
from inference.models.manifest import ManifestError, load_manifest
from inference.rules.presets import RULE_KINDS, ZONE_KINDS, UnknownPresetError, get_preset
from inference.rates import MinRate, rule_min_fps
from inference.rules.schedule import DEFAULT_TIMEZONE, WEEKDAYS, TimeWindow, parse_clock_time
from inference.zones import ZoneGeometryError, validate_polygon

log = logging.getLogger(__name__)

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ZoneKind = Literal[ZONE_KINDS]  # type: ignore[valid-type]


class ConfigError(ValueError):
    """A config file that cannot run; the message names the field and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiConfig(_Strict):
    url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://", description="Base URL of the GridSight API")
    token: str | None = Field(default=None, repr=False, description="Bearer token for the API, if it requires one")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Per-request timeout")


class WorkerConfig(_Strict):
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
    shed_min_fps: float | None = Field(
        default=None, gt=0, le=60,
        description="Lowest analysis fps a camera is shed to when inference cannot keep up (restored as it recovers); "
                    "absent: each camera's rules' minimum rate. Never below that minimum: a value under it is refused",
    )


class RedisConfig(_Strict):
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


class ModelConfig(_Strict):
    manifest: Path = Field(description="Path to the model manifest YAML (weights file, sha256, class map)")
    confidence: float = Field(default=0.35, ge=0.01, le=0.99, description="Minimum detection confidence")
    iou: float = Field(default=0.5, ge=0.05, le=0.95, description="NMS IoU threshold")
    class_confidence: dict[str, Annotated[float, Field(ge=0.01, le=0.99)]] = Field(
        default_factory=dict, max_length=256,
        description="Per canonical label confidence floor (overrides the manifest's recommendation and `confidence`); "
                    "tracks of that label also start from it",
    )
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps|\d+)$", description="Torch device; GPU code paths fall back to cpu when absent")
    backend: Literal["auto", "pytorch", "onnx", "tensorrt"] = Field(
        default="auto",
        description="Which copy of the weights runs: auto takes the fastest export verified in the manifest whose runtime is "
                    "present (TensorRT needs a CUDA GPU, ONNX Runtime runs on the CPU) and otherwise PyTorch, logging why; "
                    "naming one that cannot run here stops the worker",
    )
    max_batch: int = Field(
        default=8, ge=1, le=256,
        description="Largest batch the shared model runs; the cameras on this model queue their frames into it "
                    "(1: no batching, one camera at a time)",
    )
    batch_deadline_ms: float = Field(
        default=20.0, ge=0, le=1000,
        description="Longest a frame waits for a batch to fill; a batch also goes as soon as it is full or every "
                    "camera on the model is waiting",
    )


    @field_validator("class_confidence")
    @classmethod
    def _canonical_keys(cls, value):
        unknown = sorted(set(value) - CANONICAL_LABELS)
        if unknown:
            raise ValueError(f"unknown label(s) {unknown}; canonical labels are {sorted(CANONICAL_LABELS)}")
        return value


class SourceConfig(_Strict):
    open_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Give up opening the stream after this long")
    read_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Treat the stream as dead after this long without data")
    backoff_initial_s: float = Field(default=1.0, gt=0, le=60, description="First reconnect delay")
    backoff_max_s: float = Field(default=30.0, gt=0, le=600, description="Reconnect delay cap")
    offline_after_failures: int = Field(default=3, ge=1, le=1000, description="Consecutive failures before the camera is reported offline")
    realtime: bool | None = Field(default=None, description="Pace file sources at their native rate (default: only live sources are paced)")
    loop: bool = Field(default=False, description="Loop file sources")
    max_corrupt_ratio: float = Field(
        default=0.05, ge=0, le=1,
        description="Share of decoded frames flagged corrupt (decoder error concealment, damaged packets, and "
                    "frames predicted from them until the next key frame) above which the camera is degraded; "
                    "corrupt frames are never analysed",
    )
    corrupt_window_s: float = Field(
        default=60.0, gt=0, le=3600, description="The corrupt share is measured over the frames decoded in this many seconds",
    )


class TrackerConfig(_Strict):
    lost_track_seconds: float = Field(default=3.0, gt=0, le=120, description="Keep a track alive this long without a matching box")
    activation_threshold: float = Field(default=0.35, ge=0.01, le=1, description="Confidence a box needs to start a new track")
    high_confidence_threshold: float = Field(
        default=0.35, ge=0.01, le=1,
        description="Boxes at or above this are matched first and may start tracks; weaker ones (down to the model's confidence) only extend existing tracks",
    )


class ZoneConfig(_Strict):
    polygon: list[tuple[float, float]] = Field(
        min_length=3, max_length=256, description="Polygon in normalised [x, y] coordinates (0..1, origin top-left)"
    )
    description: str | None = Field(default=None, max_length=256, description="Free text for operators")
    kind: ZoneKind = Field(default="any", description=f"What the zone covers, checked against presets: {', '.join(ZONE_KINDS)}")

    @field_validator("polygon")
    @classmethod
    def _valid_geometry(cls, polygon):
        try:
            validate_polygon(polygon)
        except ZoneGeometryError as exc:
            raise ValueError(str(exc)) from None
        return polygon


def _canonical_labels(labels: list[str]) -> list[str]:
    unknown = sorted(set(labels) - CANONICAL_LABELS)
    if unknown:
        raise ValueError(f"unknown label(s) {unknown}; canonical labels are {sorted(CANONICAL_LABELS)}")
    return labels


Labels = Annotated[list[str], AfterValidator(_canonical_labels)]
ClockTime = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]


class ScheduleWindowConfig(_Strict):
    days: list[Literal[WEEKDAYS]] = Field(  # type: ignore[valid-type]
        default=list(WEEKDAYS), min_length=1, max_length=7, description="Weekdays the window opens on (mon..sun)",
    )
    start: ClockTime = Field(description="Local time the window opens, HH:MM")
    end: ClockTime = Field(description="Local time it closes, HH:MM; at or before start: the next morning")

    def window(self) -> TimeWindow:
        return TimeWindow(frozenset(WEEKDAYS.index(d) for d in self.days), parse_clock_time(self.start), parse_clock_time(self.end))


class ContinuityConfig(_Strict):
    max_gap_s: float = Field(
        default=3.0, ge=0, le=60, description="A new track id this soon after one vanished nearby takes over its dwell (id switch)",
    )
    max_distance: float = Field(
        default=1.0, ge=0, le=10, description="How near (in sizes of the vanished box) the new id must appear to take over",
    )
    static_tolerance: float = Field(
        default=0.25, ge=0, le=5, description="Bottom-centre movement, in box sizes, that still counts as standing still",
    )


class _RuleBase(_Strict):
    preset: str | None = Field(default=None, max_length=64, description="The preset this rule starts from (see README)")
    zone: Identifier = Field(description="Zone id on the same camera")
    labels: Labels = Field(min_length=1, max_length=32, description="Canonical labels that count")
    grace_s: float = Field(default=3.0, ge=0, le=3600, description="Missed detections shorter than this do not reset dwell")
    cooldown_s: float = Field(default=600.0, ge=0, le=7 * 86_400, description="Quiet period after an event ends")
    update_interval_s: float = Field(default=60.0, gt=0, le=86_400, description="Longest gap between updates of an open event")
    merge_window_s: float = Field(
        default=0.0, ge=0, le=7 * 86_400,
        description="A repeat this soon after an event ended (and after the cooldown) reopens it: an update, never a second order",
    )
    schedule: list[ScheduleWindowConfig] | None = Field(
        default=None, min_length=1, max_length=32, description="Weekly windows (camera's local time) in which events may start; absent: always",
    )
    continuity: ContinuityConfig = Field(default_factory=ContinuityConfig, description="Tracker id switches and 'static'")
    category_code: str = Field(pattern=r"^[0-9A-Za-z_.-]{2,32}$", description="Work-order category (standard matter code or local code)")
    category_name: str = Field(min_length=1, max_length=128, description="Human-readable category name")
    priority: Literal["normal", "urgent", "emergency"] = Field(default="normal", description="Deadline tier of the work order")

    def label_fields(self) -> dict[str, list[str]]:
        """Every label the rule relies on, by field (for the model check)."""
        return {"labels": self.labels}


class DwellRuleConfig(_RuleBase):
    kind: Literal["dwell"] = Field(description="Objects of these labels in the zone for at least min_dwell_s")
    min_dwell_s: float = Field(ge=0, le=86_400, description="Seconds an object must stay before the rule fires")
    min_count: int = Field(default=1, ge=1, le=1000, description="Objects that must be present at once")
    require_static: bool = Field(default=False, description="Count dwell only from when an object stopped moving")


class KOfNRuleConfig(_RuleBase):
    kind: Literal["k_of_n"] = Field(description="A label in the zone in at least k of the last n analysed frames")
    k: int = Field(ge=1, le=1000, description="Frames (of the last n) that must show the label")
    n: int = Field(ge=1, le=1000, description="Frames in the window")
    exclude_labels: Labels = Field(
        default_factory=list, max_length=32, description="A candidate overlapping a box of these labels does not count",
    )
    exclude_overlap: float = Field(
        default=0.6, gt=0, le=1, description="Overlap (intersection over the smaller box) that excludes a candidate",
    )

    @model_validator(mode="after")
    def _k_within_n(self) -> "KOfNRuleConfig":
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) must not exceed n ({self.n})")
        return self

    def label_fields(self) -> dict[str, list[str]]:
        return {"labels": self.labels, "exclude_labels": self.exclude_labels}


class CoOccurrenceRuleConfig(DwellRuleConfig):
    kind: Literal["co_occurrence"] = Field(  # type: ignore[assignment]
        description="Objects of these labels with a companion next to them for at least min_dwell_s",
    )
    companion_labels: Labels = Field(min_length=1, max_length=32, description="Any of these near the object makes it count")
    max_distance: float = Field(default=1.0, ge=0, le=20, description="How near, in sizes of the object's box (gap between boxes)")

    def label_fields(self) -> dict[str, list[str]]:
        return {"labels": self.labels, "companion_labels": self.companion_labels}


class LitteringRuleConfig(_RuleBase):
    kind: Literal["littering"] = Field(description="A new object near a person's path, left lying after they moved away")
    actor_labels: Labels = Field(default=["person"], min_length=1, max_length=8, description="Who can drop things")
    min_dwell_s: float = Field(default=10.0, ge=0, le=3600, description="Seconds the object lies still after the person left")
    path_window_s: float = Field(default=5.0, gt=0, le=120, description="Seconds of each person's recent path that count")
    near_distance: float = Field(default=0.75, ge=0, le=10, description="How near the path (person heights) a new object must appear")
    leave_distance: float = Field(default=1.5, ge=0, le=50, description="Person heights away from the object that count as gone")
    leave_after_s: float = Field(default=5.0, ge=0, le=600, description="Or this long out of view")

    def label_fields(self) -> dict[str, list[str]]:
        return {"labels": self.labels, "actor_labels": self.actor_labels}


def _expand_preset(raw: object) -> object:
    """``{preset: name, zone: z, ...overrides}`` -> the preset's full rule with the overrides on top."""
    if not isinstance(raw, dict) or raw.get("preset") is None:
        return raw
    try:
        preset = get_preset(str(raw["preset"]))
    except UnknownPresetError as exc:
        raise ValueError(str(exc)) from None
    if raw.get("kind", preset.kind) != preset.kind:
        raise ValueError(f"preset '{preset.name}' is a {preset.kind} rule; kind {raw['kind']!r} contradicts it")
    own = preset.params.get("labels")
    given = raw.get("labels")
    # (Unknown labels are the labels field's own error, reported as such.)
    if own and isinstance(given, list) and set(map(str, given)) <= CANONICAL_LABELS and not set(map(str, given)) & set(own):
        # Otherwise {preset: roaming_vendor, labels: [person]} files "09001 roaming vendor" for every pedestrian.
        raise ValueError(
            f"preset '{preset.name}' watches {sorted(own)}; labels {sorted(map(str, given))} keep none of them, so it "
            f"would file '{preset.category_code} {preset.name_en}' orders for other objects. Keep at least one of "
            f"{sorted(own)}, or write a plain rule (kind: {preset.kind}) with its own category_code and category_name "
            f"to watch other labels"
        )
    return {**preset.rule_fields(), **raw}


RuleConfig = Annotated[
    DwellRuleConfig | KOfNRuleConfig | CoOccurrenceRuleConfig | LitteringRuleConfig,
    Field(discriminator="kind"),
    BeforeValidator(_expand_preset),
]


class CameraConfig(_Strict):
    url: str = Field(repr=False, min_length=1, description="rtsp://, http(s):// or a file path; credentials are never logged")
    model: Identifier = Field(description="Model id from the models section")
    analysis_fps: float = Field(default=5.0, gt=0, le=60, description="Frames per second analysed (the freshest frame is always used)")
    grid_cell: str | None = Field(default=None, max_length=64, description="Grid cell the camera's view belongs to")
    address: str | None = Field(default=None, max_length=256, description="Street address shown on work orders")
    timezone: str = Field(
        default=DEFAULT_TIMEZONE, min_length=1, max_length=64, description="IANA timezone rule schedules are read in",
    )
    source: SourceConfig = Field(default_factory=SourceConfig, description="Connection behaviour")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracking behaviour")
    zones: dict[Identifier, ZoneConfig] = Field(min_length=1, description="Zones by id")
    rules: dict[Identifier, RuleConfig] = Field(min_length=1, description="Rules by id: a preset (with overrides) or a full kind")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {timezone!r} (an IANA name such as Asia/Shanghai)") from None
        return timezone

    @model_validator(mode="after")
    def _rules_name_zones(self) -> "CameraConfig":
        for rule_id, rule in self.rules.items():
            if rule.zone not in self.zones:
                raise ValueError(f"rule '{rule_id}' names zone '{rule.zone}', which is not defined (zones: {sorted(self.zones)})")
            zone_kind = self.zones[rule.zone].kind
            if rule.preset is not None and not get_preset(rule.preset).allows_zone(zone_kind):
                allowed = sorted(get_preset(rule.preset).zone_kinds)
                raise ValueError(
                    f"rule '{rule_id}': preset '{rule.preset}' applies to zones of kind {allowed} (or any); "
                    f"zone '{rule.zone}' is kind '{zone_kind}'"
                )
        for rule_id, low in self.rule_minimums().items():
            if self.analysis_fps < low.fps - 1e-9:
                raise ValueError(
                    f"rule '{rule_id}' needs at least {low} but analysis_fps is {self.analysis_fps:g}; "
                    f"raise analysis_fps to {low.fps:g} or more"
                )
        return self

    def rule_minimums(self) -> dict[str, MinRate]:
        """Each rule's minimum analysis rate (inference.rates), by rule id."""
        return {rid: rule_min_fps(r.kind, r.model_dump(), r.preset) for rid, r in self.rules.items()}

    def slowest_rule(self) -> tuple[str, MinRate]:
        """The rule whose minimum rate is the highest, and that minimum: the camera's floor."""
        return max(self.rule_minimums().items(), key=lambda item: item[1].fps)

    def min_analysis_fps(self) -> MinRate:
        """The slowest rate every rule of this camera still works at (the shedder's floor)."""
        return self.slowest_rule()[1]


class ShadowConfig(_Strict):
    """A candidate model run beside the live one on the same frames; its events are logged, never filed."""

    model: Identifier = Field(description="Candidate model id from the models section (never the cameras' live model)")
    cameras: list[Identifier] | None = Field(
        default=None, min_length=1, max_length=10_000, description="Cameras to shadow; absent: every camera",
    )
    log_dir: Path = Field(default=Path("var/shadow"), description="Live and candidate events, one JSON-lines file per camera")


class GridSightConfig(_Strict):
    api: ApiConfig = Field(default_factory=ApiConfig, description="Where work orders go")
    worker: WorkerConfig = Field(default_factory=WorkerConfig, description="Worker process settings")
    models: dict[Identifier, ModelConfig] = Field(min_length=1, description="Models by id")
    cameras: dict[Identifier, CameraConfig] = Field(description="Cameras by id (may be empty when redis supplies them)")
    redis: RedisConfig | None = Field(
        default=None, description="Cluster mode (leases, live config, Redis Stream); absent: this worker runs every camera"
    )
    shadow: ShadowConfig | None = Field(
        default=None, description="Shadow mode: compare a candidate model with the live one; absent: off",
    )

    def shadows(self, camera_id: str) -> bool:
        return self.shadow is not None and (self.shadow.cameras is None or camera_id in self.shadow.cameras)

    @model_validator(mode="before")
    @classmethod
    def _cluster_cameras_optional(cls, raw):
        # In cluster mode the cameras may all live in Redis; without redis a missing
        # section stays "Field required".
        if isinstance(raw, dict) and raw.get("redis") is not None and "cameras" not in raw:
            raw = {**raw, "cameras": {}}
        return raw

    @model_validator(mode="after")
    def _cameras_name_models(self) -> "GridSightConfig":
        if not self.cameras and (self.redis is None or self.redis.cameras_from == "file"):
            raise ValueError("cameras: at least one camera is required (or a redis section with cameras_from redis/both)")
        if self.shadow is not None:
            if self.shadow.model not in self.models:
                raise ValueError(f"shadow names model '{self.shadow.model}', which is not defined (models: {sorted(self.models)})")
            unknown = sorted(set(self.shadow.cameras or []) - set(self.cameras)) if self.redis is None else []
            if unknown:
                raise ValueError(f"shadow names camera(s) {unknown}, which are not defined (cameras: {sorted(self.cameras)})")
        for camera_id, camera in self.cameras.items():
            if camera.model not in self.models:
                raise ValueError(f"camera '{camera_id}' names model '{camera.model}', which is not defined (models: {sorted(self.models)})")
            rule_id, low = camera.slowest_rule()
            if self.worker.shed_min_fps is not None and self.worker.shed_min_fps < low.fps - 1e-9:
                raise ValueError(
                    f"worker.shed_min_fps {self.worker.shed_min_fps:g} would shed camera '{camera_id}' below what its "
                    f"rule '{rule_id}' needs: {low}; leave shed_min_fps out (each camera's own minimum) or set it "
                    f"to {low.fps:g} or more"
                )
        return self


def _without_kind_tags(loc: tuple) -> tuple:
    """pydantic names the rule kind it tried (rules.r1.dwell.min_dwell_s); the user wrote rules.r1.min_dwell_s."""
    return tuple(p for i, p in enumerate(loc) if not (p in RULE_KINDS and i >= 2 and loc[i - 2] == "rules"))


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = [f"config {path} is invalid:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in _without_kind_tags(err["loc"])) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see the README for the schema)"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def _resolve_paths(config: GridSightConfig, base: Path) -> GridSightConfig:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    models = {mid: m.model_copy(update={"manifest": resolve(m.manifest)}) for mid, m in config.models.items()}
    worker = config.worker.model_copy(update={"spool_dir": resolve(config.worker.spool_dir)})
    update = {"models": models, "worker": worker}
    if config.shadow is not None:
        update["shadow"] = config.shadow.model_copy(update={"log_dir": resolve(config.shadow.log_dir)})
    return config.model_copy(update=update)


def model_labels(config: GridSightConfig) -> dict[str, frozenset[str]]:
    """Canonical labels each model provides (reads the manifests, not the weights)."""
    provided: dict[str, frozenset[str]] = {}
    for model_id, model in config.models.items():
        try:
            manifest, _ = load_manifest(model.manifest)
        except ManifestError as exc:
            raise ConfigError(f"models.{model_id}.manifest: {exc}") from None
        provided[model_id] = manifest.provides()
    return provided


def _unmapped_labels(rule_id: str, rule, model_id: str, provided: frozenset[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for labels the model cannot produce.

    A label a person wrote that the model cannot produce is a mistake: an error.
    A preset's own labels are a menu (``ebike`` or ``motorcycle``): unmapped ones are
    a warning as long as one remains. An exclusion or companion the model cannot
    produce can never work, and an actor that is never seen can never act: errors."""
    errors, warnings = [], []
    preset = get_preset(rule.preset) if rule.preset is not None else None
    for field, labels in rule.label_fields().items():
        missing = sorted(set(labels) - provided)
        if not missing:
            continue
        where = f"rules.{rule_id}.{field}: model '{model_id}' does not map any class to {missing}"
        from_preset = preset is not None and list(preset.rule_fields().get(field, [])) == list(labels)
        if from_preset and field in ("labels", "companion_labels") and set(labels) & provided:
            warnings.append(f"{where}; the preset's other labels {sorted(set(labels) & provided)} still count")
        elif field == "exclude_labels":
            errors.append(f"{where}, so the exclusion could never work; use a model that detects them "
                          f"or set exclude_labels: [] to accept those false alarms")
        elif from_preset:
            errors.append(f"{where}; the preset needs a model that detects at least one of them (it provides {sorted(provided)})")
        else:
            errors.append(f"{where}; it provides {sorted(provided)} (override labels with the ones it provides)")
    return errors, warnings


def _check_camera_labels(camera_id: str, camera: CameraConfig, provided: dict[str, frozenset[str]]) -> list[str]:
    """Raise ConfigError for every label a rule relies on that the model cannot produce;
    return warnings for preset labels it merely lacks."""
    errors, warnings = [], []
    for rule_id, rule in camera.rules.items():
        e, w = _unmapped_labels(rule_id, rule, camera.model, provided[camera.model])
        errors += [f"cameras.{camera_id}.{m}" for m in e]
        warnings += [f"cameras.{camera_id}.{m}" for m in w]
    if errors:
        raise ConfigError("\n".join(errors))
    return warnings


def check_model_labels(config: GridSightConfig) -> list[str]:
    """Every rule's labels must be produced by its camera's model, or the rule could never fire.
    Returns warnings (preset labels the model lacks while others remain)."""
    provided = model_labels(config)
    warnings = []
    for camera_id, camera in config.cameras.items():
        warnings += _check_camera_labels(camera_id, camera, provided)
        if config.shadows(camera_id):
            # The candidate runs the same rules: a label it cannot produce makes the comparison meaningless.
            try:
                warnings += _check_camera_labels(camera_id, camera.model_copy(update={"model": config.shadow.model}), provided)
            except ConfigError as exc:
                raise ConfigError(f"shadow: {exc}") from None
    return warnings


def parse_camera(camera_id: str, raw: object, config: GridSightConfig, provided: dict[str, frozenset[str]] | None = None) -> CameraConfig:
    """Validate one camera that arrived at run time (cluster mode: the Redis camera hash)
    against this worker's models, with the same checks as the file."""
    try:
        camera = GridSightConfig.model_validate(
            {"models": {k: m.model_dump() for k, m in config.models.items()}, "cameras": {camera_id: raw}}
        ).cameras[camera_id]
    except ValidationError as exc:
        raise ConfigError(_format_errors(Path(f"<camera {camera_id}>"), exc)) from None
    for warning in _check_camera_labels(camera_id, camera, provided if provided is not None else model_labels(config)):
        log.warning("%s", warning)
    return camera


def parse_config(raw: object, source: Path, base_dir: Path | None = None) -> GridSightConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"config {source} must be a YAML mapping with models and cameras sections")
    try:
        config = GridSightConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None
    return _resolve_paths(config, base_dir or source.parent)


# Environment variables a container can set instead of editing the file (Kubernetes:
# one ConfigMap for every replica, the per-pod bits from the environment).
ENV_OVERRIDES = {
    "GRIDSIGHT_WORKER_NAME": ("worker", "name"),
    "GRIDSIGHT_SPOOL_DIR": ("worker", "spool_dir"),
    "GRIDSIGHT_METRICS_PORT": ("worker", "metrics_port"),
    "GRIDSIGHT_API_URL": ("api", "url"),
    "GRIDSIGHT_API_TOKEN": ("api", "token"),
    "GRIDSIGHT_REDIS_URL": ("redis", "url"),
    "GRIDSIGHT_MAX_CAMERAS": ("redis", "max_cameras"),
}


def apply_env(raw: object, env: Mapping[str, str]) -> object:
    """Overlay ``ENV_OVERRIDES`` that are set (and not empty) onto the raw YAML mapping;
    the values are then validated like the file's own."""
    if not isinstance(raw, dict):
        return raw
    raw = dict(raw)
    for var, (section, key) in ENV_OVERRIDES.items():
        value = env.get(var, "").strip()
        if value:
            raw[section] = {**(raw.get(section) or {}), key: value}
    return raw


def load_config(path: str | Path, *, check_models: bool = True, env: Mapping[str, str] | None = None) -> GridSightConfig:
    """Read, validate and resolve a worker config; ``env`` (e.g. os.environ) applies ENV_OVERRIDES."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    if env is not None:
        raw = apply_env(raw, env)
    config = parse_config(raw, path)
    if check_models:
        for warning in check_model_labels(config):
            log.warning("config %s: %s", path, warning)
    return config
