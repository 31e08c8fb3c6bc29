"""Every label a rule relies on must be one its camera's model produces (read from
the model manifests, not the weights), or the rule could never fire."""

from __future__ import annotations

from inference.models.manifest import ManifestError, load_manifest
from inference.rules.presets import get_preset
from streams.config.base import ConfigError
from streams.config.camera import CameraConfig
from streams.config.root import GridSightConfig


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


def unmapped_labels(rule_id: str, rule, model_id: str, provided: frozenset[str]) -> tuple[list[str], list[str]]:
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


def check_camera_labels(camera_id: str, camera: CameraConfig, provided: dict[str, frozenset[str]]) -> list[str]:
    """Raise ConfigError for every label a rule relies on that the model cannot produce;
    return warnings for preset labels it merely lacks."""
    errors, warnings = [], []
    for rule_id, rule in camera.rules.items():
        e, w = unmapped_labels(rule_id, rule, camera.model, provided[camera.model])
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
        warnings += check_camera_labels(camera_id, camera, provided)
        if config.shadows(camera_id):
            # The candidate runs the same rules: a label it cannot produce makes the comparison meaningless.
            try:
                warnings += check_camera_labels(camera_id, camera.model_copy(update={"model": config.shadow.model}), provided)
            except ConfigError as exc:
                raise ConfigError(f"shadow: {exc}") from None
    return warnings
