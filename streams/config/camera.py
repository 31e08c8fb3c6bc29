"""One camera's sections: its model, source, tracker, zones and rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from inference.labels import CANONICAL_LABELS
from inference.rates import MinRate, rule_min_fps
from inference.rules.presets import ZONE_KINDS, get_preset
from inference.rules.schedule import DEFAULT_TIMEZONE
from inference.site_time import check_zone_name
from inference.zones import ZoneGeometryError, validate_polygon
from streams.config.base import Identifier, Strict
from streams.config.harvest import CameraHarvestConfig
from streams.config.rules import RuleConfig
from streams.sources.source import SourceOptions

ZoneKind = Literal[ZONE_KINDS]  # type: ignore[valid-type]


class ModelConfig(Strict):
    manifest: Path = Field(description="Path to the model manifest YAML (weights file, sha256, class map)")
    confidence: float = Field(default=0.35, ge=0.01, le=0.99, description="Minimum detection confidence")
    iou: float = Field(default=0.5, ge=0.05, le=0.95, description="NMS IoU threshold")
    class_confidence: dict[str, Annotated[float, Field(ge=0.01, le=0.99)]] = Field(
        default_factory=dict, max_length=256,
        description="Per canonical label confidence floor (overrides the manifest's recommendation and `confidence`); "
                    "tracks of that label also start from it",
    )
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps|\d+)$", description="Torch device; GPU code paths fall back to cpu when absent")
    backend: Literal["auto", "pytorch", "onnx", "tensorrt", "openvino", "openvino-int8"] = Field(
        default="auto",
        description="Which copy of the weights runs: auto takes the fastest export verified in the manifest whose runtime is "
                    "present (TensorRT needs a CUDA GPU; ONNX Runtime and OpenVINO FP32/INT8 run on the CPU) and otherwise PyTorch, "
                    "logging why; "
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
    inference_streams: Literal["auto"] | Annotated[int, Field(ge=1, le=16)] = Field(
        default="auto",
        description="Batches run at once, each on its own copy of the model with the CPU's cores shared out between "
                    "them (an OpenVINO backend with max_batch > 1; other backends run one). auto: 2 where the CPU has "
                    "2 or more cores, else 1. One batch on all cores waits whenever a decoder takes one of them; two "
                    "copies keep the cores busy (2 vCPUs, 720p at 5 fps: 18 cameras sustained instead of 16)",
    )


    @field_validator("class_confidence")
    @classmethod
    def _canonical_keys(cls, value):
        unknown = sorted(set(value) - CANONICAL_LABELS)
        if unknown:
            raise ValueError(f"unknown label(s) {unknown}; canonical labels are {sorted(CANONICAL_LABELS)}")
        return value


class SourceConfig(Strict):
    # Defaults are the source's own (streams.sources.source.SourceOptions), which the worker fills from these fields.
    open_timeout_s: float = Field(
        default=SourceOptions.open_timeout_s, gt=0, le=120, description="Give up opening the stream after this long",
    )
    read_timeout_s: float = Field(
        default=SourceOptions.read_timeout_s, gt=0, le=120,
        description="Treat the stream as dead after this long without data",
    )
    backoff_initial_s: float = Field(
        default=SourceOptions.backoff_initial_s, gt=0, le=60, description="First reconnect delay",
    )
    backoff_max_s: float = Field(default=SourceOptions.backoff_max_s, gt=0, le=600, description="Reconnect delay cap")
    offline_after_failures: int = Field(
        default=SourceOptions.offline_after_failures, ge=1, le=1000,
        description="Consecutive failures before the camera is reported offline",
    )
    realtime: bool | None = Field(
        default=SourceOptions.realtime,
        description="Pace file sources at their native rate (default: only live sources are paced)",
    )
    loop: bool = Field(default=SourceOptions.loop, description="Loop file sources")
    max_corrupt_ratio: float = Field(
        default=SourceOptions.max_corrupt_ratio, ge=0, le=1,
        description="Share of decoded frames flagged corrupt (decoder error concealment, damaged packets, and "
                    "frames predicted from them until the next key frame) above which the camera is degraded; "
                    "corrupt frames are never analysed",
    )
    corrupt_window_s: float = Field(
        default=SourceOptions.corrupt_window_s, gt=0, le=3600,
        description="The corrupt share is measured over the frames decoded in this many seconds",
    )
    decode: Literal["auto", "all", "keyframes"] = Field(
        default=SourceOptions.decode,
        description="Which frames are decoded: auto decodes key frames only while the analysis interval is at least "
                    "the stream's GOP (key-frame spacing measured from the stream), all decodes every frame "
                    "(non-reference ones skipped when sampling never needs them), keyframes always decodes key "
                    "frames only (the analysis rate is then at most one frame per GOP; /health says too_slow if "
                    "that is below the rules' minimum). Key-frame mode: analysed frames, evidence frames and clips "
                    "are key frames (docs/configuration.md)",
    )


class TrackerConfig(Strict):
    lost_track_seconds: float = Field(default=3.0, gt=0, le=120, description="Keep a track alive this long without a matching box")
    activation_threshold: float = Field(default=0.35, ge=0.01, le=1, description="Confidence a box needs to start a new track")
    high_confidence_threshold: float = Field(
        default=0.35, ge=0.01, le=1,
        description="Boxes at or above this are matched first and may start tracks; weaker ones (down to the model's confidence) only extend existing tracks",
    )


class ZoneConfig(Strict):
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




class CameraConfig(Strict):
    url: str = Field(repr=False, min_length=1, description="rtsp://, http(s):// or a file path; credentials are never logged")
    detect_url: str | None = Field(
        default=None, repr=False, min_length=1,
        description="The stream analysed, typically the camera's low-resolution substream (absent: url); "
                    "credentials are never logged",
    )
    record_url: str | None = Field(
        default=None, repr=False, min_length=1,
        description="Full-resolution stream for evidence frames and clips, opened only around events (from a rule's "
                    "START for the post window, then closed); boxes are mapped to its size. Absent: url when "
                    "detect_url is set, else none (evidence from the analysed frames)",
    )
    model: Identifier = Field(description="Model id from the models section")
    analysis_fps: float | Literal["auto"] = Field(
        default=5.0,
        description="Frames per second analysed, > 0 and <= 60 (the freshest frame is always used); auto: the highest "
                    "minimum rate among the camera's rules (inference.rates), logged with the rule that sets it",
    )
    grid_cell: str | None = Field(default=None, max_length=64, description="Grid cell the camera's view belongs to")
    address: str | None = Field(default=None, max_length=256, description="Street address shown on work orders")
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS-84; registered with the API for the map")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS-84; registered with the API for the map")
    timezone: str = Field(
        default=DEFAULT_TIMEZONE, min_length=1, max_length=64,
        description="IANA timezone rule schedules are read in; absent: worker.site_timezone (docs/time.md)",
    )
    source: SourceConfig = Field(default_factory=SourceConfig, description="Connection behaviour")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracking behaviour")
    zones: dict[Identifier, ZoneConfig] = Field(min_length=1, description="Zones by id")
    rules: dict[Identifier, RuleConfig] = Field(min_length=1, description="Rules by id: a preset (with overrides) or a full kind")
    harvest: CameraHarvestConfig | None = Field(
        default=None, description="This camera's overrides of the harvest section (frames worth labelling); absent: "
                                  "the global section as it is",
    )
    _fps_why: str | None = PrivateAttr(default=None)  # set when analysis_fps was auto

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        return check_zone_name(timezone)  # one line, with a close match

    @field_validator("analysis_fps", mode="before")
    @classmethod
    def _fps_bounds(cls, fps):
        """One line for any bad value (not one per member of the union)."""
        if fps == "auto":
            return fps
        try:
            value = float(fps)
        except (TypeError, ValueError):
            value = None
        if isinstance(fps, bool) or value is None or not 0 < value <= 60:
            raise ValueError(f"analysis_fps must be a number > 0 and <= 60, or auto; got {fps!r}")
        return value

    @model_validator(mode="after")
    def _resolve_auto_fps(self) -> "CameraConfig":
        """``analysis_fps: auto`` becomes the rules' own minimum (the model is frozen: set once, here)."""
        if self.analysis_fps == "auto":
            rule_id, low = self.slowest_rule()
            object.__setattr__(self, "analysis_fps", low.fps)
            self._fps_why = f"auto: rule '{rule_id}' needs {low}"
        return self

    @model_validator(mode="after")
    def _distinct_streams(self) -> "CameraConfig":
        # Messages name the fields, never the URLs (credentials).
        if self.record_url is not None and self.record_url == self.analysed_url():
            raise ValueError("record_url is the stream analysed (detect_url, or url); leave record_url out to take "
                             "evidence from the analysed frames")
        return self

    def analysed_url(self) -> str:
        """The stream the camera's source decodes and analyses."""
        return self.detect_url or self.url

    def evidence_url(self) -> str | None:
        """The full-resolution stream opened around events, or None: evidence from the analysed frames."""
        if self.record_url is not None:
            return self.record_url
        return self.url if self.detect_url is not None and self.detect_url != self.url else None

    def analysis_fps_why(self) -> str:
        """Where the analysis rate comes from, for the log and stats: the config, or the rule auto follows."""
        return self._fps_why or "configured"

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
