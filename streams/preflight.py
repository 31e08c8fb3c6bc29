"""The worker's start-up checks as one function: ``gridsight check-config`` runs it and
nothing else, ``gridsight worker`` runs it before it builds anything, so a config
check-config accepts is a config the worker starts with.

Every stage reports into one list, so a file with a schema error and a broken model
is one report: the schema (every section that fails), then each model that parsed
(manifest, weights present, sha256, class names against the weights' own, backend;
see :mod:`inference.models.preflight`), then the rules' labels against the models that
loaded. Each problem is one line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from streams.config import ConfigError, GridSightConfig, ModelConfig, apply_env, check_model_labels, parse_config
from inference.models.preflight import ModelCheck, check_model

log = logging.getLogger(__name__)


@dataclass
class PreflightReport:
    source: Path
    config: GridSightConfig | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    models: dict[str, ModelCheck] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class PreflightError(ConfigError):
    """The worker cannot start; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def _config_error_lines(exc: ConfigError) -> list[str]:
    """A ConfigError's report as one line per problem ("config X is invalid:" + "  - a: b" lines)."""
    lines = str(exc).splitlines()
    if len(lines) > 1 and lines[0].endswith(" is invalid:"):
        head = lines[0].removesuffix(" is invalid:")
        out: list[str] = []
        for line in lines[1:]:
            if line.startswith("  - "):
                out.append(f"{head}: {line[4:]}")
            elif out:
                out[-1] += " " + line.strip()
        return out
    return [line for line in lines if line.strip()]


def _resolve_device(device: str) -> str:
    from streams.batching import resolve_device  # the worker's own rule (CUDA absent: the CPU)

    return resolve_device(device)


def check_models(models: Mapping[str, ModelConfig]) -> tuple[list[str], dict[str, ModelCheck]]:
    """inference.models.preflight.check_model for each model, as the worker would load it."""
    errors: list[str] = []
    checks: dict[str, ModelCheck] = {}
    for model_id, model in models.items():
        check = check_model(model.manifest, backend=model.backend, device=_resolve_device(model.device))
        checks[model_id] = check
        errors += [f"models.{model_id}: {e}" for e in check.errors]
    return errors, checks


def _models_that_parse(raw: object, base: Path) -> dict[str, ModelConfig]:
    """After a schema failure: the models whose own section is valid, so they are checked too."""
    models = raw.get("models") if isinstance(raw, dict) else None
    parsed = {}
    for model_id, body in (models.items() if isinstance(models, dict) else ()):
        try:
            model = ModelConfig.model_validate(body)
        except ValidationError:
            continue  # already in the schema errors
        manifest = model.manifest if model.manifest.is_absolute() else (base / model.manifest).resolve()
        parsed[str(model_id)] = model.model_copy(update={"manifest": manifest})
    return parsed


def _label_checks(config: GridSightConfig, loaded: set[str]) -> tuple[list[str], list[str]]:
    """The rules' labels against the models whose manifests loaded, every camera in one pass."""
    errors, warnings = [], []
    models = {k: v for k, v in config.models.items() if k in loaded}
    for camera_id, camera in config.cameras.items():
        if camera.model not in loaded:
            continue  # its model's own error says why
        shadow = config.shadow if config.shadows(camera_id) and config.shadow.model in loaded else None
        one = config.model_copy(update={"cameras": {camera_id: camera}, "models": models, "shadow": shadow})
        try:
            warnings += check_model_labels(one)
        except ConfigError as exc:
            errors += _config_error_lines(exc)
    return errors, warnings


def preflight_config(config: GridSightConfig, source: Path | str = "<config>") -> PreflightReport:
    """The checks after the schema: every model, then every rule's labels."""
    report = PreflightReport(Path(source), config)
    model_errors, report.models = check_models(config.models)
    report.errors += model_errors
    loaded = {mid for mid, check in report.models.items() if check.manifest is not None}
    label_errors, report.warnings = _label_checks(config, loaded)
    report.errors += label_errors
    return report


def preflight(path: str | Path, *, env: Mapping[str, str] | None = None) -> PreflightReport:
    """Every start-up check of the worker config at ``path``, all problems in one report."""
    path = Path(path)
    report = PreflightReport(path)
    if not path.is_file():
        report.errors.append(f"config file not found: {path}")
        return report
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        report.errors.append(f"config {path} is not valid YAML: {' '.join(str(exc).split())}")
        return report
    if env is not None:
        raw = apply_env(raw, env)
    try:
        config = parse_config(raw, path)
    except ConfigError as exc:
        report.errors += _config_error_lines(exc)
        model_errors, report.models = check_models(_models_that_parse(raw, path.parent))
        report.errors += model_errors
        return report
    checked = preflight_config(config, path)
    checked.errors = report.errors + checked.errors
    for warning in checked.warnings:
        log.warning("config %s: %s", path, warning)
    return checked
