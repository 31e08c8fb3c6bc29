"""The start-up checks of one model, shared by the worker, ``gridsight check-config``
and ``gridsight weights verify`` so that the three can never disagree.

A model passes when its manifest parses, its weights file is there and matches
the pinned sha256, the file is a YOLO checkpoint whose own class names are the
manifest's ``classes`` in class-id order, and the backend it asks for can run on
this host. Every problem is collected (none stops the others from being
checked) and each is one line, so a config with three broken models is one
report, not three runs.

Only this module and :mod:`inference.models.detector` load weights with ultralytics.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from inference.models.backend import Backend, BackendChoice, choose_backend
from inference.models.manifest import ManifestError, ModelManifest, load_manifest, verify_weights

log = logging.getLogger(__name__)


class NotAModelError(ManifestError):
    """The weights file cannot be loaded as a YOLO checkpoint."""


@dataclass(frozen=True)
class WeightsInfo:
    """What a weights file says about itself."""

    names: list[str]  # class names in class-id order
    imgsz: int | None  # training input size recorded in the checkpoint, if any
    task: str | None


@dataclass
class ModelCheck:
    manifest_path: Path
    manifest: ModelManifest | None = None
    weights_path: Path | None = None
    weights: WeightsInfo | None = None
    backend: BackendChoice | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _one_line(text: str, limit: int = 200) -> str:
    first = next((line for line in str(text).splitlines() if line.strip()), "").strip()
    first = re.sub(r"^(\w+: )?(ERROR|WARNING)\s*[^\w\s/.~'\"]*\s*", "", first).strip()  # ultralytics' "ERROR ❌️ "
    if len(first) > 120 and ". " in first[20:]:  # the first sentence says it
        first = first[: first.index(". ", 20) + 1]
    return first if len(first) <= limit else first[: limit - 1] + "…"


def load_failure(path: Path, exc: BaseException) -> str:
    """The short reason ultralytics could not load ``path``: its own first line, without the path again."""
    message = str(exc).strip()
    if not message:
        return type(exc).__name__
    reason = _one_line(message if re.match(r"^\s*(ERROR|WARNING)\b", message) else f"{type(exc).__name__}: {message}")
    for prefix in (f"{path} is ", f"{path} "):
        reason = reason.removeprefix(prefix)
    return reason


def read_weights(path: str | Path) -> WeightsInfo:
    """Load ``path`` with ultralytics on the CPU and read its class names (id order) and input size.

    Any failure is a :class:`NotAModelError` naming the file and a short reason."""
    path = Path(path)
    os.environ.setdefault("YOLO_OFFLINE", "1")  # never let ultralytics reach for the hub
    if not path.is_file():
        raise ManifestError(f"weights file not found: {path}")
    if path.suffix.lower() in (".yaml", ".yml"):  # ultralytics would build a fresh untrained model from it
        raise NotAModelError(f"{path} is not a YOLO model (a model definition file, not trained weights)")
    quiet = logging.getLogger("ultralytics")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # its warnings about odd files would be stray lines next to our one error
    try:
        from ultralytics import YOLO

        model = YOLO(str(path), task="detect")
        raw = model.names
        names = [str(raw[i]) for i in sorted(raw)] if isinstance(raw, dict) else [str(n) for n in raw]
        if isinstance(raw, dict) and sorted(raw) != list(range(len(raw))):
            raise ValueError(f"class ids are not 0..{len(raw) - 1}: {sorted(raw)}")
        ckpt = model.ckpt if isinstance(getattr(model, "ckpt", None), dict) else {}
        args = ckpt.get("train_args") or getattr(model, "overrides", {}) or {}
        imgsz = args.get("imgsz") if isinstance(args, dict) else None
        if isinstance(imgsz, (list, tuple)) and imgsz:
            imgsz = max(int(v) for v in imgsz)
        imgsz = int(imgsz) if isinstance(imgsz, (int, float)) and imgsz > 0 else None
        task = args.get("task") if isinstance(args, dict) else None
    except Exception as exc:  # anything: this file is not something the detector could run
        raise NotAModelError(f"{path} is not a YOLO model ({load_failure(path, exc)})") from None
    finally:
        quiet.setLevel(level)
    if not names:
        raise NotAModelError(f"{path} is not a YOLO model (it has no class names)")
    return WeightsInfo(names, imgsz, task if isinstance(task, str) else None)


def class_mismatch(manifest: ModelManifest, names: list[str], manifest_path: Path | None = None) -> str | None:
    """One line saying how the manifest's classes differ from the weights' own names, or None."""
    ours = list(manifest.classes)
    if ours == names:
        return None
    where = f" (manifest {manifest_path})" if manifest_path else ""
    if len(ours) != len(names):
        detail = f"the weights have {len(names)} classes {names}, the manifest lists {len(ours)} {ours}"
    elif sorted(ours) == sorted(names):
        diffs = [f"{i}: {names[i]!r} not {ours[i]!r}" for i in range(len(names)) if names[i] != ours[i]]
        detail = f"the same names in another order; by class id the weights have {', '.join(diffs[:6])}"
        detail += " …" if len(diffs) > 6 else ""
    else:
        diffs = [f"{i}: {names[i]!r} not {ours[i]!r}" for i in range(len(names)) if names[i] != ours[i]]
        detail = f"by class id the weights have {', '.join(diffs[:6])}" + (" …" if len(diffs) > 6 else "")
    return (f"model {manifest.name}{where}: classes do not match the weights' own names in class-id order: {detail}; "
            f"the manifest's classes must be the weights' names (`gridsight weights init` reads them)")


def check_model(
    manifest_path: str | Path, *, backend: Backend = "auto", device: str = "cpu", read_classes: bool = True,
) -> ModelCheck:
    """Every start-up check of one model; problems are collected in ``errors`` (one line each)."""
    manifest_path = Path(manifest_path)
    check = ModelCheck(manifest_path)
    try:
        manifest, weights_path = load_manifest(manifest_path)
    except ManifestError as exc:
        check.errors.append(str(exc))
        return check
    check.manifest, check.weights_path = manifest, weights_path
    try:
        verify_weights(manifest, weights_path, manifest_path)
    except ManifestError as exc:
        check.errors.append(str(exc))
    if read_classes and weights_path.is_file():
        # Checked even after a checksum problem: pinning again must not reveal a second error next run.
        try:
            check.weights = read_weights(weights_path)
        except ManifestError as exc:
            check.errors.append(f"model {manifest.name}: {exc}")
        else:
            mismatch = class_mismatch(manifest, check.weights.names, manifest_path)
            if mismatch:
                check.errors.append(mismatch)
    try:
        check.backend = choose_backend(manifest, weights_path, manifest_path.resolve().parent,
                                       device=device, requested=backend, log_choice=False)
    except ManifestError as exc:
        check.errors.append(str(exc))
    return check
