"""The whole file: api, worker, models, cameras, and the optional redis, shadow and actions sections."""

from __future__ import annotations

from pydantic import Field, model_validator

from inference.site_time import zone_problem
from streams.config.actions import ActionsConfig, check_route_rules
from streams.config.base import Identifier, Strict
from streams.config.camera import CameraConfig, ModelConfig
from streams.config.harvest import HarvestConfig
from streams.config.service import ApiConfig, ModelSyncConfig, RedisConfig, ShadowConfig, WorkerConfig


class GridSightConfig(Strict):
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
    model_sync: ModelSyncConfig = Field(
        default_factory=ModelSyncConfig,
        description="Models assigned by the API's registry, fetched, checked and swapped in while the worker runs",
    )
    actions: ActionsConfig = Field(
        default_factory=ActionsConfig, description="Edge actions: MQTT and local hooks fired as a rule fires; absent: none",
    )
    harvest: HarvestConfig = Field(
        default_factory=HarvestConfig,
        description="Frames worth labelling sent to the API (uncertain, flickering, time of day, scene change); "
                    "off unless enabled here or in a camera's harvest section",
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

    @model_validator(mode="before")
    @classmethod
    def _cameras_follow_site_zone(cls, raw):
        # One site time zone (issue 17): a camera that names no timezone reads its rule schedules on
        # worker.site_timezone. An unknown site zone is reported once, on worker.site_timezone.
        worker = raw.get("worker") if isinstance(raw, dict) else None
        zone = worker.get("site_timezone") if isinstance(worker, dict) else None
        cameras = raw.get("cameras") if isinstance(raw, dict) else None
        if not isinstance(zone, str) or not isinstance(cameras, dict) or zone_problem(zone) is not None:
            return raw
        return {**raw, "cameras": {cid: {**cam, "timezone": zone} if isinstance(cam, dict) and "timezone" not in cam
                                   else cam for cid, cam in cameras.items()}}

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
        if self.redis is None or self.redis.cameras_from == "file":  # Redis may supply rules the file lacks
            check_route_rules(self.actions, self.cameras)
        return self
