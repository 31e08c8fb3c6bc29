"""Wire schemas of the camera endpoints: the status events workers send, and the
camera views clients read."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.contract.wire import CAMERA_REGISTRATION_VERSION
from api.schemas import CameraState, CameraStatusVersion, JsonInput, UtcDatetime, _reads_version
from api.schemas_registry import ZonePublic, valid_polygon


# Year 3000: keeps datetime.fromtimestamp away from OverflowError on absurd input.
_MAX_UNIX_S = 32_503_680_000.0


class CameraStatusIn(JsonInput):
    """One status event from a worker (CameraStatusEvent.to_dict() fits as is)."""

    model_config = ConfigDict(extra="forbid")

    version: CameraStatusVersion = 1
    camera_id: str | None = Field(default=None, max_length=64, description="Optional; must match the path if sent")
    state: CameraState
    at: float = Field(ge=0, le=_MAX_UNIX_S, allow_inf_nan=False, description="Unix seconds of the transition")
    reason: str | None = Field(default=None, max_length=4096)
    attempt: int = Field(default=0, ge=0, le=2**31 - 1, description="Consecutive failed connection attempts")
    retry_in_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    details: dict[str, Any] = Field(default_factory=dict, description="Free-form, JSON only, at most 16 KiB")
    last_frame_at: float | None = Field(
        default=None, ge=0, le=_MAX_UNIX_S, allow_inf_nan=False,
        description="Unix seconds of the newest frame the worker has from the camera (moves last_seen_at). "
                    "An event repeating the current state (same state, reason and `at`) only updates this, "
                    "the attempt and the details: it does not enter the history",
    )

    grid_cell: str | None = Field(
        default=None, max_length=64,
        description="The worker config's grid cell: shown for a camera the registry has no grid cell for",
    )
    address: str | None = Field(
        default=None, max_length=256,
        description="The worker config's address: shown for a camera the registry has no address for",
    )

    @field_validator("details")
    @classmethod
    def _strict_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Python's json accepts NaN/Infinity, PostgreSQL's JSON does not: refuse them here.
        try:
            encoded = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError("details must be plain JSON (no NaN or Infinity)") from None
        if len(encoded) > 16 * 1024:
            raise ValueError("details larger than 16 KiB")
        return value


class CameraStatusEntry(BaseModel):
    state: CameraState
    at: UtcDatetime
    reason: str | None
    attempt: int
    retry_in_s: float | None
    details: dict[str, Any]


class CameraPublic(BaseModel):
    camera_id: str
    state: CameraState | None = Field(
        description="State of the most recent event (by its 'at' time); null until the worker reports"
    )
    at: UtcDatetime | None = Field(description="When the camera entered the current state")
    reason: str | None
    attempt: int
    retry_in_s: float | None
    details: dict[str, Any]
    last_online_at: UtcDatetime | None
    last_error: str | None = Field(description="Reason of the most recent error/offline/reconnecting event")
    last_error_at: UtcDatetime | None
    last_seen_at: UtcDatetime | None = Field(
        default=None, description="Newest frame the worker reported from the camera (re-sent at a bounded rate while it delivers)"
    )
    updated_at: UtcDatetime = Field(description="When the server last received an event or registry change")
    name: str | None = Field(default=None, description="Registry: display name")
    address: str | None = None
    grid_cell: str | None = Field(default=None, description="Registry: default grid cell of the camera's zones")
    latitude: float | None = None
    longitude: float | None = None
    registered: bool = Field(default=False, description="Registered by an admin (not only seen in status reports)")
    config_worker: str | None = Field(default=None, description="Worker that last registered the camera from its config")
    config_registered_at: UtcDatetime | None = Field(default=None, description="When that worker last registered it")


class CameraDetail(CameraPublic):
    history: list[CameraStatusEntry] = Field(description="Most recent events first")


class CameraList(BaseModel):
    items: list[CameraPublic]
    total: int


# -- registration from a worker's config (issue 17; the shape: api.contract.wire.CameraRegistration) --------
CameraRegistrationVersion = _reads_version("camera registration", CAMERA_REGISTRATION_VERSION)
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # the worker config's identifiers


class ZoneRegistrationIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    zone_id: str = Field(pattern=_ID, description="Zone id as in the worker config")
    polygon: list[list[float]] = Field(min_length=3, max_length=256,
                                       description="Normalised [x, y] points (0..1, origin top-left)")
    kind: str = Field(default="any", min_length=1, max_length=32, pattern=r"^[a-z_]+$",
                      description="The config's zone kind (what the zone covers)")
    description: str | None = Field(default=None, max_length=256)
    rules: list[Annotated[str, Field(pattern=_ID)]] = Field(default_factory=list, max_length=64,
                                                           description="Ids of the rules watching the zone")

    @field_validator("polygon")
    @classmethod
    def _poly(cls, value: list[list[float]]) -> list[list[float]]:
        return valid_polygon(value)


class CameraRegistrationIn(JsonInput):
    """A camera as its worker's config has it (CameraRegistration.to_dict() fits as is)."""

    model_config = ConfigDict(extra="forbid")
    version: CameraRegistrationVersion = 1
    camera_id: str | None = Field(default=None, max_length=64, description="Optional; must match the path if sent")
    worker: str = Field(min_length=1, max_length=64, description="The registering worker's name")
    grid_cell: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=256)
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    zones: list[ZoneRegistrationIn] = Field(default_factory=list, max_length=64)

    @field_validator("zones")
    @classmethod
    def _unique(cls, value: list[ZoneRegistrationIn]) -> list[ZoneRegistrationIn]:
        ids = [z.zone_id for z in value]
        if len(ids) != len(set(ids)):
            raise ValueError("zone ids must be unique")
        return value


class CameraRegistrationResult(BaseModel):
    camera: CameraPublic
    zones: list[ZonePublic] = Field(description="The camera's zones as the API now holds them")
