"""Reading a config: YAML, environment overrides, validation with errors that name
the field the user wrote, relative paths resolved against the file's directory."""

from __future__ import annotations

import difflib
import logging
import types
import typing
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from inference.rules.presets import RULE_KINDS
from streams.config.base import ConfigError
from streams.config.camera import CameraConfig
from streams.config.labels import check_camera_labels, check_model_labels, model_labels
from streams.config.root import GridSightConfig

log = logging.getLogger(__name__)


def _without_kind_tags(loc: tuple) -> tuple:
    """pydantic names the rule kind it tried (rules.r1.dwell.min_dwell_s); the user wrote rules.r1.min_dwell_s."""
    return tuple(p for i, p in enumerate(loc) if not (p in RULE_KINDS and i >= 2 and loc[i - 2] == "rules"))


def _types_of(annotation) -> list:
    """The model/dict/list types an annotation may hold (Annotated, Optional and unions unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _types_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _types_of(arg)]
    return [annotation]


def _step(kind, part) -> list | None:
    """The types one step down ``kind`` by ``part`` (a field, a mapping key or a list index); None: no such step."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        field = kind.model_fields.get(part) if isinstance(part, str) else None
        return _types_of(field.annotation) if field is not None else None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is dict and len(args) == 2:
        return _types_of(args[1])
    if origin in (list, tuple) and args and isinstance(part, int):
        return _types_of(args[0])
    return None


def _did_you_mean(loc: tuple) -> str:
    """' (did you mean 'x'?)' for an unknown key: the closest field of the section it was written in."""
    kinds: list = [GridSightConfig]
    for part in loc[:-1]:
        below = [t for kind in kinds for t in (_step(kind, part) or [])]
        kinds = below or kinds  # no such step: a union's tag (rules.r1.dwell.*), the same sections go on
    fields = sorted({name for kind in kinds if isinstance(kind, type) and issubclass(kind, BaseModel)
                     for name in kind.model_fields})
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1, cutoff=0.6) if loc else []
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (this section takes: {', '.join(fields)})" if 0 < len(fields) <= 12 else " (check the spelling)"


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = [f"config {path} is invalid:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in _without_kind_tags(err["loc"])) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + _did_you_mean(err["loc"])
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def _resolve_paths(config: GridSightConfig, base: Path) -> GridSightConfig:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    models = {mid: m.model_copy(update={"manifest": resolve(m.manifest)}) for mid, m in config.models.items()}
    worker = config.worker.model_copy(update={"spool_dir": resolve(config.worker.spool_dir)})
    model_sync = config.model_sync.model_copy(update={"cache_dir": resolve(config.model_sync.cache_dir)})
    update = {"models": models, "worker": worker, "model_sync": model_sync}
    if config.shadow is not None:
        update["shadow"] = config.shadow.model_copy(update={"log_dir": resolve(config.shadow.log_dir)})
    return config.model_copy(update=update)



def parse_camera(camera_id: str, raw: object, config: GridSightConfig, provided: dict[str, frozenset[str]] | None = None) -> CameraConfig:
    """Validate one camera that arrived at run time (cluster mode: the Redis camera hash)
    against this worker's models, with the same checks as the file."""
    try:
        camera = GridSightConfig.model_validate(
            {"models": {k: m.model_dump() for k, m in config.models.items()}, "cameras": {camera_id: raw},
             "worker": {"site_timezone": config.worker.site_timezone}}  # the camera's default timezone
        ).cameras[camera_id]
    except ValidationError as exc:
        raise ConfigError(_format_errors(Path(f"<camera {camera_id}>"), exc)) from None
    for warning in check_camera_labels(camera_id, camera, provided if provided is not None else model_labels(config)):
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
    "GRIDSIGHT_SITE_TIMEZONE": ("worker", "site_timezone"),  # the API reads the same variable (docs/time.md)
    "GRIDSIGHT_API_URL": ("api", "url"),
    "GRIDSIGHT_API_TOKEN": ("api", "token"),
    "GRIDSIGHT_REDIS_URL": ("redis", "url"),
    "GRIDSIGHT_MAX_CAMERAS": ("redis", "max_cameras"),
    # Deeper paths apply only where the file has the section (a password alone is no broker).
    "GRIDSIGHT_MQTT_USERNAME": ("actions", "mqtt", "username"),
    "GRIDSIGHT_MQTT_PASSWORD": ("actions", "mqtt", "password"),
}


def hook_secret_var(hook: str) -> str:
    """The environment variable that holds a hook's HMAC secret: GRIDSIGHT_HOOK_<NAME>_SECRET."""
    return "GRIDSIGHT_HOOK_" + "".join(c if c.isalnum() else "_" for c in hook.upper()) + "_SECRET"


def _set_nested(raw: dict, path: tuple[str, ...], value: str) -> dict:
    """raw with path set to value; a two-level path makes its section, a deeper one only
    goes into mappings the file already has (else raw is returned unchanged)."""
    *parents, key = path
    if len(path) <= 2:
        return {**raw, parents[0]: {**(raw.get(parents[0]) or {}), key: value}} if parents else {**raw, key: value}
    chain = [raw]
    for name in parents:
        section = chain[-1].get(name)
        if not isinstance(section, dict):
            return raw
        chain.append(section)
    updated: dict = {**chain[-1], key: value}
    for name, section in zip(reversed(parents), reversed(chain[:-1])):
        updated = {**section, name: updated}
    return updated


def apply_env(raw: object, env: Mapping[str, str]) -> object:
    """Overlay ``ENV_OVERRIDES`` that are set (and not empty) onto the raw YAML mapping, and each
    hook's GRIDSIGHT_HOOK_<NAME>_SECRET; the values are then validated like the file's own."""
    if not isinstance(raw, dict):
        return raw
    raw = dict(raw)
    for var, path in ENV_OVERRIDES.items():
        value = env.get(var, "").strip()
        if value:
            raw = _set_nested(raw, path, value)
    actions = raw.get("actions")
    hooks = actions.get("hooks") if isinstance(actions, dict) else None
    for hook in hooks if isinstance(hooks, dict) else ():
        value = env.get(hook_secret_var(str(hook)), "").strip()
        if value and isinstance(hooks[hook], dict):
            raw = _set_nested(raw, ("actions", "hooks", hook, "secret"), value)
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
