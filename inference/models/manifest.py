"""Model manifests: which weights file, its checksum, and how its classes map
onto canonical labels. A weights file that does not match its manifest's
sha256 is refused: a silently swapped model is how an operations centre ends
up with a week of wrong work orders."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inference.labels import CANONICAL_LABELS


class ManifestError(ValueError):
    """The manifest is missing, malformed, or does not match its weights."""


class ExportRecord(BaseModel):
    """One exported copy of the weights (``gridsight export``) and the proof that it agrees with them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["onnx", "engine", "openvino"] = Field(
        description="onnx (ONNX Runtime, CPU), engine (TensorRT, one GPU model) or openvino (OpenVINO IR directory, CPU)")
    file: str = Field(min_length=1, description="Exported file (or IR directory), relative to the manifest")
    files: list[str] = Field(default_factory=list, description="For a directory export: the files in it, as checksummed")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Checksum of the exported file (of a directory: sha256_path)")
    imgsz: int = Field(ge=32, le=4096, description="Input size the export was built for")
    half: bool = Field(default=False, description="FP16 weights (TensorRT)")
    int8: bool = Field(default=False, description="INT8 post-training quantisation (OpenVINO, NNCF), calibrated on `calibration`")
    calibration: dict[str, Any] | None = Field(default=None, description="INT8: the images the quantiser calibrated on")
    parity: dict[str, Any] = Field(description="Agreement with the PyTorch weights on the same frames; passed: bool")
    latency_ms: dict[str, float] = Field(default_factory=dict, description="Batch-1 median ms: pytorch vs this export, same machine")
    hardware: str | None = Field(default=None, description="Where the export, parity check and timing ran")
    created: str | None = Field(default=None, description="Date of the export")


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Model name, reported on every work order")
    version: str = Field(min_length=1, description="Model version, reported on every work order")
    file: str = Field(min_length=1, description="Weights file, relative to the manifest")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", description="Checksum of the weights file; null until pinned")
    task: Literal["detect"] = "detect"
    input_size: int = Field(ge=32, le=4096, description="Inference image size (pixels, long side)")
    classes: list[str] = Field(min_length=1, description="Model class names in class-id order")
    canonical_labels: dict[str, str] = Field(description="Model class name -> canonical label; unmapped classes are ignored")
    description: str | None = None
    training: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    exports: list[ExportRecord] = Field(default_factory=list, description="Verified exports; the worker may run the fastest")
    class_confidence: dict[str, float] = Field(
        default_factory=dict,
        description="Per canonical label: the confidence floor recommended for it (`gridsight eval --write-thresholds`); "
                    "a camera's model config can override each",
    )

    @model_validator(mode="after")
    def _check_label_map(self) -> "ModelManifest":
        unknown_classes = sorted(set(self.canonical_labels) - set(self.classes))
        if unknown_classes:
            raise ValueError(f"canonical_labels maps classes the model does not have: {unknown_classes}")
        unknown_labels = sorted(set(self.canonical_labels.values()) - CANONICAL_LABELS)
        if unknown_labels:
            raise ValueError(f"canonical_labels uses labels outside the canonical vocabulary: {unknown_labels}")
        bad = sorted(k for k, v in self.class_confidence.items() if k not in self.provides() or not 0.01 <= v <= 0.99)
        if bad:
            raise ValueError(f"class_confidence: {bad} are not labels this model provides, or not within 0.01..0.99")
        return self

    @property
    def version_label(self) -> str:
        return str(self.version)

    def provides(self) -> frozenset[str]:
        """Canonical labels this model can produce."""
        return frozenset(self.canonical_labels.values())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_path(path: Path) -> str:
    """sha256 of a file; of a directory (an OpenVINO IR), the sha256 over its files' relative
    names and sha256s in name order, so a changed, added or removed file changes it."""
    path = Path(path)
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{f.relative_to(path).as_posix()}\0{sha256_file(f)}\n".encode())
    return digest.hexdigest()


def load_manifest(path: str | Path) -> tuple[ModelManifest, Path]:
    """Parse a manifest; return it with the absolute weights path (not yet verified)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"model manifest not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"model manifest {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"model manifest {path} must be a mapping")
    try:
        manifest = ModelManifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise ManifestError(f"model manifest {path} is invalid: {problems}") from None
    return manifest, (path.parent / manifest.file).resolve()


def verify_weights(manifest: ModelManifest, weights_path: Path, manifest_path: Path | None = None) -> None:
    where = f" (manifest {manifest_path})" if manifest_path else ""
    if not weights_path.is_file():
        hint = (f"; place it there and run `gridsight weights pin {manifest_path or '<manifest>'}`"
                if manifest.sha256 is None else "")
        raise ManifestError(f"weights file for model {manifest.name} not found: {weights_path}{where}{hint}")
    if manifest.sha256 is None:
        raise ManifestError(
            f"model {manifest.name}{where} has no sha256 pinned; run `gridsight weights pin {manifest_path or '<manifest>'}` "
            f"to record the checksum of {manifest.file}"
        )
    actual = sha256_file(weights_path)
    if actual != manifest.sha256:
        raise ManifestError(
            f"checksum mismatch for {weights_path.name}{where}: manifest says sha256 {manifest.sha256[:12]}…, "
            f"file has {actual[:12]}…; refusing to load weights that are not the ones described"
        )


def _round_trip_yaml(indented_sequences: bool = False):
    """ruamel.yaml in round-trip mode: a manifest edited by a command keeps its comments,
    key order and quoting (PyYAML would drop every comment and re-dump the file)."""
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-fold a long line (folding would also move text between lines)
    if indented_sequences:  # "key:\n  - item", as hand-written manifests often are
        rt.indent(mapping=2, sequence=4, offset=2)
    else:  # "key:\n- item", as PyYAML (gridsight train) writes them
        rt.indent(mapping=2, sequence=2, offset=0)
    rt.representer.add_representer(type(None), lambda r, _v: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return rt


def _indents_sequences(text: str) -> bool:
    """Whether the file writes a block list deeper than its key (``classes:`` then ``  - person``)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for key_line, item in zip(lines, lines[1:]):
        if key_line.rstrip().endswith(":") and item.lstrip().startswith("- "):
            key_indent = len(key_line) - len(key_line.lstrip())
            return len(item) - len(item.lstrip()) > key_indent
    return False


def dump_manifest_text(doc: Any, *, like: str = "") -> str:
    """Serialise a manifest mapping (plain or round-trip) the way manifest updates write it;
    ``like``: the file's previous text, whose list indentation is kept."""
    import io

    buf = io.StringIO()
    _round_trip_yaml(_indents_sequences(like)).dump(doc, buf)
    return buf.getvalue()


def _keep_comment_clear(doc: Any, key: str, value: Any) -> None:
    """A longer new scalar (a sha256 replacing ``null``) keeps two spaces before the line's own comment."""
    comment = getattr(doc, "ca", None) and doc.ca.items.get(key)
    token = comment[2] if comment and len(comment) > 2 else None
    if token is None or not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return
    token.column = max(token.column, len(f"{key}: {value}") + 2)


def update_manifest(manifest_path: Path, **fields: Any) -> ModelManifest:
    """Rewrite some top-level fields of a manifest file, keeping the rest: its comments, key order
    and quoting (a round-trip edit, not a re-dump); a new field goes at the end. Returns it
    re-validated (a bad value fails here, not at the next worker start)."""
    manifest_path = Path(manifest_path)
    text = manifest_path.read_text(encoding="utf-8")
    doc = _round_trip_yaml().load(text)
    if not isinstance(doc, dict):
        raise ManifestError(f"model manifest {manifest_path} must be a mapping")
    for key, value in fields.items():
        doc[key] = value
        _keep_comment_clear(doc, key, value)
    tmp = manifest_path.with_name(manifest_path.name + ".tmp")
    tmp.write_text(dump_manifest_text(doc, like=text), encoding="utf-8")
    tmp.replace(manifest_path)
    return load_manifest(manifest_path)[0]


def pin_manifest(manifest_path: Path) -> str:
    """Write the weights file's sha256 into its manifest (after a user places downloaded weights)."""
    manifest, weights_path = load_manifest(manifest_path)
    if not weights_path.is_file():
        raise ManifestError(f"cannot pin {manifest_path}: weights file {weights_path} not found")
    digest = sha256_file(weights_path)
    update_manifest(manifest_path, sha256=digest)
    return digest
