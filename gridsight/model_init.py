"""``gridsight weights init``: bring your own model in two commands.

Reads the class names (class-id order) and the input size from a YOLO weights
file, writes its manifest beside it (classes that already are canonical labels
map to themselves, ``--map CLASS=LABEL`` maps or unmaps the rest), pins the
sha256, runs the worker's own model checks on the result, and says which rule
presets the model can serve, and why not the others. Then a camera's config
points at the manifest.
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter

from inference.labels import CANONICAL_LABELS
from inference.models.manifest import ManifestError, ModelManifest, dump_manifest_text, load_manifest, pin_manifest
from inference.models.preflight import WeightsInfo, check_model, read_weights
from inference.rules.presets import PRESETS

DEFAULT_INPUT_SIZE = 640
_ANY_OF = ("labels", "companion_labels")  # a preset's menus: one detected label is enough


@dataclass(frozen=True)
class PresetSupport:
    preset: str
    servable: bool
    note: str  # why not, or which of its labels the model lacks


@dataclass(frozen=True)
class InitResult:
    path: Path
    manifest: ModelManifest
    weights: WeightsInfo
    sha256: str
    unmapped: list[str]
    presets: list[PresetSupport]


def parse_maps(items: list[str], classes: list[str]) -> dict[str, str | None]:
    """``CLASS=LABEL`` pairs; an empty LABEL leaves the class unmapped. Errors are one line."""
    maps: dict[str, str | None] = {}
    for item in items:
        cls, sep, label = item.rpartition("=")
        cls, label = cls.strip(), label.strip()
        if not sep or not cls:
            raise ManifestError(f"--map {item!r}: expected CLASS=LABEL, e.g. --map pedestrian=person")
        if cls not in classes:
            raise ManifestError(f"--map {item}: the weights have no class {cls!r} (classes: {', '.join(classes)})")
        if label and label not in CANONICAL_LABELS:
            raise ManifestError(
                f"--map {item}: {label!r} is not a canonical label (canonical labels: {', '.join(sorted(CANONICAL_LABELS))})"
            )
        maps[cls] = label or None
    return maps


def canonical_map(classes: list[str], maps: dict[str, str | None]) -> dict[str, str]:
    """Classes that are canonical labels map to themselves; ``maps`` overrides (None: unmapped)."""
    auto = {c: c for c in classes if c in CANONICAL_LABELS}
    merged = {**auto, **maps}
    return {c: merged[c] for c in classes if merged.get(c)}


def preset_support(provided: frozenset[str]) -> list[PresetSupport]:
    """For every preset: would the worker accept ``{preset: P}`` on a model providing ``provided``?

    The verdict is the worker's own label check (streams.config); the note says what is missing."""
    from streams.config import RuleConfig, unmapped_labels

    adapter = TypeAdapter(RuleConfig)
    out = []
    for name in PRESETS:
        rule = adapter.validate_python({"preset": name, "zone": "z"})
        errors, warnings = unmapped_labels("r", rule, "m", provided)
        missing = []
        for field, labels in rule.label_fields().items():
            lacking = [lb for lb in labels if lb not in provided]
            if not lacking:
                continue
            if field in _ANY_OF and len(lacking) < len(labels):
                missing.append(f"no {', '.join(lacking)}")
            elif field == "exclude_labels":
                missing.append(f"{field}: no class maps to {' or '.join(lacking)}, which it must tell apart "
                               f"(or set exclude_labels: [] and accept those false alarms)")
            else:
                missing.append(f"{field}: no class maps to {' or '.join(labels)}")
        note = "; ".join(missing)
        if errors and not note:
            note = "; ".join(e.split(": ", 1)[-1] for e in errors)
        out.append(PresetSupport(name, not errors, note))
    return out


def _comment(lines: list[str]) -> str:
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, width=100, subsequent_indent="  ") or [""]
    return "\n".join(wrapped)


def init_manifest(
    weights: str | Path, *, name: str, version: str = "1", maps: list[str] | None = None, out: str | Path | None = None,
    input_size: int | None = None, force: bool = False,
) -> InitResult:
    """Write, pin and verify a manifest for ``weights``; raises ManifestError (one line) on any problem."""
    from ruamel.yaml.comments import CommentedMap

    weights = Path(weights).resolve()
    if not weights.is_file():
        raise ManifestError(f"weights file not found: {weights}")
    info = read_weights(weights)
    mapping = canonical_map(info.names, parse_maps(maps or [], info.names))
    unmapped = [c for c in info.names if c not in mapping]
    path = Path(out) if out else weights.with_suffix(".yaml")
    path = path.resolve()
    if path == weights:
        raise ManifestError(f"--out {path} is the weights file itself")
    if path.exists() and not force:
        raise ManifestError(f"{path} exists; pass --force to overwrite it")
    size = input_size or info.imgsz or DEFAULT_INPUT_SIZE

    doc = CommentedMap()
    doc["name"] = name
    doc["version"] = str(version)
    doc["file"] = Path(os.path.relpath(weights, path.parent)).as_posix()
    doc["sha256"] = None
    doc["task"] = "detect"
    doc["input_size"] = int(size)
    doc["classes"] = list(info.names)
    doc["canonical_labels"] = CommentedMap(mapping)
    header = [
        f"Manifest of {weights.name}, written by `gridsight weights init` on {dt.date.today().isoformat()}.",
        "classes: the weights' own names in class-id order (the worker checks them against the file at start).",
        "canonical_labels: model class -> canonical label (inference/labels.py); rules speak only canonical labels.",
        "input_size: " + ("from the checkpoint's training args." if info.imgsz and not input_size else
                          "given with --input-size." if input_size else f"the checkpoint records none; {DEFAULT_INPUT_SIZE} assumed."),
    ]
    if unmapped:
        header.append(f"Unmapped classes (detected, then ignored by every rule): {', '.join(unmapped)}. "
                      f"Map one under canonical_labels, or again with --map CLASS=LABEL.")
    doc.yaml_set_start_comment(_comment(header))
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(dump_manifest_text(doc), encoding="utf-8")
    try:
        load_manifest(tmp)  # a bad manifest never replaces a good one
    except ManifestError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    digest = pin_manifest(path)
    check = check_model(path)
    if check.errors:
        raise ManifestError(check.errors[0])
    manifest = check.manifest
    assert manifest is not None
    return InitResult(path, manifest, info, digest, unmapped, preset_support(manifest.provides()))
