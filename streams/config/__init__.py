"""The worker's one YAML file: cameras, zones, rules, models and the API.

Validated with pydantic (``extra="forbid"``: a misspelt key is an error, not a
silently ignored setting). Cameras, zones, rules and models are maps keyed by
id, so an error message can name exactly which one is wrong. Relative paths
resolve against the config file's own directory.

Where a setting is handed on to a runtime object (a rule spec, the source's
options), that object owns its default and the field here reads it from there,
so the two cannot disagree (tests/unit/test_config_defaults.py).

Modules, outside in: load (YAML, env, errors, paths) -> root (the whole file) ->
service (api, worker, model_sync, redis, shadow), actions (MQTT, hooks, routes) and camera (model, source, tracker, zones)
-> rules (the rule kinds, presets) -> base; labels checks rules against models.
"""

from streams.config.actions import (
    ActionsConfig, HookConfig, MqttBrokerConfig, MqttTargetConfig, RouteConfig,
)
from streams.config.base import ConfigError, Identifier
from streams.config.camera import CameraConfig, ModelConfig, SourceConfig, TrackerConfig, ZoneConfig
from streams.config.labels import check_camera_labels, check_model_labels, model_labels, unmapped_labels
from streams.config.load import ENV_OVERRIDES, apply_env, load_config, parse_camera, parse_config
from streams.config.root import GridSightConfig
from streams.config.rules import (
    CoOccurrenceRuleConfig, ContinuityConfig, DwellRuleConfig, KOfNRuleConfig, LitteringRuleConfig, RuleConfig,
    ScheduleWindowConfig,
)
from streams.config.service import ApiConfig, ModelSyncConfig, RedisConfig, ShadowConfig, WorkerConfig

__all__ = [
    "ENV_OVERRIDES", "ActionsConfig", "ApiConfig", "CameraConfig", "CoOccurrenceRuleConfig", "ConfigError", "ContinuityConfig",
    "DwellRuleConfig", "GridSightConfig", "HookConfig", "Identifier", "KOfNRuleConfig", "LitteringRuleConfig", "ModelConfig", "ModelSyncConfig",
    "MqttBrokerConfig", "MqttTargetConfig", "RedisConfig", "RouteConfig", "RuleConfig", "ScheduleWindowConfig", "ShadowConfig", "SourceConfig", "TrackerConfig", "WorkerConfig",
    "ZoneConfig", "apply_env", "check_camera_labels", "check_model_labels", "load_config", "model_labels",
    "parse_camera", "parse_config", "unmapped_labels",
]
