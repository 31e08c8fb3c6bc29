"""The ``harvest`` section: which analysed frames the worker sends to the API for labelling (issue 18).

Global under ``harvest``; a camera may override the sampling fields under ``cameras.<id>.harvest``
(what it leaves out it takes from the global section). The sampling defaults are the sampler's own
(streams.harvest.sampler.SamplerSettings), so the two cannot disagree.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from streams.config.base import Strict
from streams.harvest.sampler import SAMPLED_REASONS, SamplerSettings

ReasonName = Literal[SAMPLED_REASONS]  # type: ignore[valid-type]
ReasonCap = Annotated[int, Field(ge=0, le=100_000)]
_DEFAULTS = SamplerSettings()


class _Sampling(Strict):
    """The fields a camera may override (None in a camera's section: the global value)."""

    enabled: bool | None = Field(default=None, description="Harvest this camera's frames")
    budget_per_day: int | None = Field(
        default=None, ge=0, le=100_000,
        description="Frames harvested per camera per site-local day (reset at midnight), shared by every reason",
    )
    reason_caps: dict[ReasonName, ReasonCap] | None = Field(
        default=None, max_length=len(SAMPLED_REASONS),
        description="Most frames per day per reason (uncertain, flicker, time_of_day, scene_change), so one reason "
                    "cannot use up the budget; a reason left out keeps its default",
    )
    uncertainty_margin: float | None = Field(
        default=None, gt=0, le=0.5,
        description="A detection is uncertain when its confidence lies less than this above its label's floor",
    )
    flicker_s: float | None = Field(
        default=None, gt=0, le=600,
        description="A track that vanished for at most this many stream seconds and came back (or changed label) "
                    "is a flicker; a window shorter than the analysis interval cannot be seen",
    )
    min_spacing_s: float | None = Field(
        default=None, ge=0, le=86_400, description="Fewest stream seconds between two harvested frames of a camera",
    )
    scene_change_threshold: float | None = Field(
        default=None, gt=0, le=1,
        description="Mean grey difference (0..1) of the 64x36 thumbnail against the last harvested frame's above "
                    "which the view has changed (light, weather, a PTZ move)",
    )
    duplicate_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="A frame whose thumbnail differs from a recent harvested one by less than this is a near-duplicate "
                    "and skipped",
    )


class CameraHarvestConfig(_Sampling):
    """``cameras.<id>.harvest``: overrides of the global section for one camera."""


class HarvestConfig(Strict):
    """``harvest``: the worker-wide section (every field set)."""

    enabled: bool = Field(default=False, description="Harvest frames worth labelling from every camera (a camera "
                                                     "may say otherwise)")
    budget_per_day: int = Field(default=_DEFAULTS.budget_per_day, ge=0, le=100_000,
                                description=_Sampling.model_fields["budget_per_day"].description)
    reason_caps: dict[ReasonName, ReasonCap] = Field(
        default_factory=lambda: dict(_DEFAULTS.reason_caps), max_length=len(SAMPLED_REASONS),
        description=_Sampling.model_fields["reason_caps"].description,
    )
    uncertainty_margin: float = Field(default=_DEFAULTS.uncertainty_margin, gt=0, le=0.5,
                                      description=_Sampling.model_fields["uncertainty_margin"].description)
    flicker_s: float = Field(default=_DEFAULTS.flicker_s, gt=0, le=600,
                             description=_Sampling.model_fields["flicker_s"].description)
    min_spacing_s: float = Field(default=_DEFAULTS.min_spacing_s, ge=0, le=86_400,
                                 description=_Sampling.model_fields["min_spacing_s"].description)
    scene_change_threshold: float = Field(default=_DEFAULTS.scene_change_threshold, gt=0, le=1,
                                          description=_Sampling.model_fields["scene_change_threshold"].description)
    duplicate_threshold: float = Field(default=_DEFAULTS.duplicate_threshold, ge=0, le=1,
                                       description=_Sampling.model_fields["duplicate_threshold"].description)
    # Worker-wide only: the uploader shared by the cameras (streams.harvest.uploader).
    queue_max_frames: int = Field(
        default=8, ge=1, le=256,
        description="Raw frames waiting to be encoded (about 6 MB each at 1080p); beyond it the oldest is dropped",
    )
    spool_max_frames: int = Field(
        default=64, ge=1, le=10_000,
        description="Encoded frames kept in memory while the API cannot take them; beyond it the oldest is dropped "
                    "(harvesting is best effort: never on disk, never unbounded)",
    )
    batch_max_frames: int = Field(default=16, ge=1, le=16, description="Frames per POST /api/v1/harvest/frames")
    jpeg_quality: int = Field(default=90, ge=50, le=100, description="JPEG quality of the raw frames sent")
    retry_max_s: float = Field(default=60.0, ge=1, le=3600,
                               description="Longest wait between tries while the API cannot take frames (from 1 s)")

    @field_validator("reason_caps")
    @classmethod
    def _every_reason(cls, caps: dict) -> dict:
        return {**_DEFAULTS.reason_caps, **caps}


def camera_harvest(global_section: HarvestConfig, camera: CameraHarvestConfig | None) -> HarvestConfig:
    """The section a camera runs under: the global one with the camera's overrides."""
    if camera is None:
        return global_section
    override = camera.model_dump(exclude_none=True)
    if "reason_caps" in override:
        override["reason_caps"] = {**global_section.reason_caps, **override["reason_caps"]}
    return global_section.model_copy(update=override)


def sampler_settings(section: HarvestConfig, site_timezone: str) -> SamplerSettings:
    return SamplerSettings(
        budget_per_day=section.budget_per_day, reason_caps=dict(section.reason_caps),
        uncertainty_margin=section.uncertainty_margin, flicker_s=section.flicker_s,
        min_spacing_s=section.min_spacing_s, scene_change_threshold=section.scene_change_threshold,
        duplicate_threshold=section.duplicate_threshold, site_timezone=site_timezone,
    )
