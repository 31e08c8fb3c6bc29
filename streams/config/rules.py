"""A camera's rules: the four kinds, their shared fields, and presets expanded
into full rules before they are validated."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from inference.labels import CANONICAL_LABELS
from inference.rules import (
    CoOccurrenceRuleSpec, ContinuitySettings, DwellRuleSpec, KOfNRuleSpec, LitteringRuleSpec, RuleSpec,
)
from inference.rules.presets import UnknownPresetError, get_preset
from inference.rules.schedule import WEEKDAYS, TimeWindow, parse_clock_time
from streams.config.base import Identifier, Strict


def _canonical_labels(labels: list[str]) -> list[str]:
    unknown = sorted(set(labels) - CANONICAL_LABELS)
    if unknown:
        raise ValueError(f"unknown label(s) {unknown}; canonical labels are {sorted(CANONICAL_LABELS)}")
    return labels


Labels = Annotated[list[str], AfterValidator(_canonical_labels)]
ClockTime = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]


class ScheduleWindowConfig(Strict):
    days: list[Literal[WEEKDAYS]] = Field(  # type: ignore[valid-type]
        default=list(WEEKDAYS), min_length=1, max_length=7, description="Weekdays the window opens on (mon..sun)",
    )
    start: ClockTime = Field(description="Local time the window opens, HH:MM")
    end: ClockTime = Field(description="Local time it closes, HH:MM; at or before start: the next morning")

    def window(self) -> TimeWindow:
        return TimeWindow(frozenset(WEEKDAYS.index(d) for d in self.days), parse_clock_time(self.start), parse_clock_time(self.end))


class ContinuityConfig(Strict):
    max_gap_s: float = Field(
        default=ContinuitySettings.max_gap_s, ge=0, le=60, description="A new track id this soon after one vanished nearby takes over its dwell (id switch)",
    )
    max_distance: float = Field(
        default=ContinuitySettings.max_distance, ge=0, le=10, description="How near (in sizes of the vanished box) the new id must appear to take over",
    )
    static_tolerance: float = Field(
        default=ContinuitySettings.static_tolerance, ge=0, le=5, description="Bottom-centre movement, in box sizes, that still counts as standing still",
    )


class _RuleBase(Strict):
    # Defaults are the rule specs' own (inference.rules), which streams.rule_factory fills from these fields.
    preset: str | None = Field(default=None, max_length=64, description="The preset this rule starts from (docs/configuration.md#presets)")
    zone: Identifier = Field(description="Zone id on the same camera")
    labels: Labels = Field(min_length=1, max_length=32, description="Canonical labels that count")
    grace_s: float = Field(
        default=RuleSpec.grace_s, ge=0, le=3600, description="Missed detections shorter than this do not reset dwell",
    )
    cooldown_s: float = Field(default=RuleSpec.cooldown_s, ge=0, le=7 * 86_400, description="Quiet period after an event ends")
    update_interval_s: float = Field(
        default=RuleSpec.update_interval_s, gt=0, le=86_400, description="Longest gap between updates of an open event",
    )
    merge_window_s: float = Field(
        default=RuleSpec.merge_window_s, ge=0, le=7 * 86_400,
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
    min_count: int = Field(default=DwellRuleSpec.min_count, ge=1, le=1000, description="Objects that must be present at once")
    require_static: bool = Field(
        default=DwellRuleSpec.require_static, description="Count dwell only from when an object stopped moving",
    )


class KOfNRuleConfig(_RuleBase):
    kind: Literal["k_of_n"] = Field(description="A label in the zone in at least k of the last n analysed frames")
    k: int = Field(ge=1, le=1000, description="Frames (of the last n) that must show the label")
    n: int = Field(ge=1, le=1000, description="Frames in the window")
    exclude_labels: Labels = Field(
        default_factory=lambda: sorted(KOfNRuleSpec.exclude_labels), max_length=32, description="A candidate overlapping a box of these labels does not count",
    )
    exclude_overlap: float = Field(
        default=KOfNRuleSpec.exclude_overlap, gt=0, le=1, description="Overlap (intersection over the smaller box) that excludes a candidate",
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
    max_distance: float = Field(
        default=CoOccurrenceRuleSpec.max_distance, ge=0, le=20, description="How near, in sizes of the object's box (gap between boxes)",
    )

    def label_fields(self) -> dict[str, list[str]]:
        return {"labels": self.labels, "companion_labels": self.companion_labels}


class LitteringRuleConfig(_RuleBase):
    kind: Literal["littering"] = Field(description="A new object near a person's path, left lying after they moved away")
    actor_labels: Labels = Field(
        default=sorted(LitteringRuleSpec.actor_labels), min_length=1, max_length=8, description="Who can drop things",
    )
    min_dwell_s: float = Field(
        default=LitteringRuleSpec.min_dwell_s, ge=0, le=3600, description="Seconds the object lies still after the person left",
    )
    path_window_s: float = Field(
        default=LitteringRuleSpec.path_window_s, gt=0, le=120, description="Seconds of each person's recent path that count",
    )
    near_distance: float = Field(
        default=LitteringRuleSpec.near_distance, ge=0, le=10, description="How near the path (person heights) a new object must appear",
    )
    leave_distance: float = Field(
        default=LitteringRuleSpec.leave_distance, ge=0, le=50, description="Person heights away from the object that count as gone",
    )
    leave_after_s: float = Field(default=LitteringRuleSpec.leave_after_s, ge=0, le=600, description="Or this long out of view")

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
