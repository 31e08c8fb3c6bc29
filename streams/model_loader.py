"""Fetch, check and load a model the API's registry assigns (issue 18), for streams.sync.models.

A model version's files go to ``<cache_dir>/<name>/<version>/<path>``: each is fetched to a
temporary file beside its place, its size and sha256 checked against the registry's
:class:`api.contract.models.ModelFile`, and only then renamed into place, so a cut download or
a wrong file never sits where a later load would trust it. A file already there with the right
checksum is not fetched again. Loading goes through the same path as a model named in the
config: :meth:`inference.models.detector.YoloDetector.from_manifest` (the manifest's own
sha256 check of the weights, its class names against the weights', the backend the camera's
model config asks for), one warm-up inference, then the same sharing wrapper
(streams.shared_detector.load_model: batched across cameras when ``max_batch`` > 1, in inference streams on OpenVINO).

Every refusal is a :class:`ModelLoadError` with one line for health, the log and the load
report; ``retry`` says whether trying the same assignment again could help (the network, a
5xx) or not (a checksum, corrupt weights, a 404, labels the rules need).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from api.contract.models import ModelAssignment, ModelFile
from inference.models.manifest import ManifestError, ModelManifest, load_manifest, sha256_file
from inference.models.preflight import NotAModelError
from streams.config import CameraConfig, ModelConfig, unmapped_labels
from streams.shared_detector import load_model

REASON_MAX_CHARS = 300  # a load report's reason is at most 500; health lines stay readable


def one_line(text: str) -> str:
    """A message as one line of at most REASON_MAX_CHARS characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= REASON_MAX_CHARS else flat[: REASON_MAX_CHARS - 1] + "…"


class ModelLoadError(Exception):
    """Why an assigned model was not loaded, in one line; ``retry``: the same assignment may load later."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(one_line(message))
        self.retry = retry


# (assignment, file, where to write it) -> None; raises ModelLoadError. streams.sync.model_client.
FetchFile = Callable[[ModelAssignment, ModelFile, Path], None]


class ModelFiles:
    """The local copies of assigned models' files, fetched and checked (see the module docstring)."""

    def __init__(self, cache_dir: Path, fetch: FetchFile, *, max_bytes: int) -> None:
        self.cache_dir = Path(cache_dir)
        self._fetch = fetch
        self.max_bytes = max_bytes
        self.fetched = 0  # files downloaded (not found in the cache)

    def directory(self, assignment: ModelAssignment) -> Path:
        return self.cache_dir / assignment.model_name / assignment.model_version

    def ensure(self, assignment: ModelAssignment) -> Path:
        """Every file of the assignment present and checked; returns the manifest's local path."""
        total = sum(f.size for f in assignment.files)
        if total > self.max_bytes:
            raise ModelLoadError(f"the model's files are {total / 2**20:.0f} MiB, over model_sync.max_model_mb "
                                 f"({self.max_bytes / 2**20:.0f} MiB)")
        directory = self.directory(assignment)
        for file in assignment.files:
            self._ensure_file(assignment, file, directory / file.path)
        return directory / assignment.manifest

    def _ensure_file(self, assignment: ModelAssignment, file: ModelFile, target: Path) -> None:
        if target.is_file() and target.stat().st_size == file.size and sha256_file(target) == file.sha256:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")  # workers on one host may share the cache
        try:
            self._fetch(assignment, file, partial)
            size = partial.stat().st_size
            if size != file.size:
                raise ModelLoadError(f"{file.path}: fetched {size} bytes, the registry says {file.size}", retry=True)
            actual = sha256_file(partial)
            if actual != file.sha256:
                raise ModelLoadError(f"checksum mismatch for {file.path}: the registry says sha256 {file.sha256[:12]}…, "
                                     f"the file fetched has {actual[:12]}…")
            os.replace(partial, target)
            self.fetched += 1
        finally:
            partial.unlink(missing_ok=True)


def read_manifest(manifest_path: Path) -> ModelManifest:
    """The assigned model's manifest (ManifestError -> ModelLoadError)."""
    try:
        return load_manifest(manifest_path)[0]
    except ManifestError as exc:
        raise ModelLoadError(str(exc)) from None


def missing_labels(camera: CameraConfig, model_label: str, provided: frozenset[str]) -> str | None:
    """Why ``camera``'s rules could not work on a model providing ``provided`` (streams.config.labels'
    rule, the one the worker's start-up applies), or None. Such a model would file nothing, silently."""
    errors: list[str] = []
    for rule_id, rule in camera.rules.items():
        errors += unmapped_labels(rule_id, rule, model_label, provided)[0]
    return "; ".join(errors) if errors else None


def load_detector(manifest_path: Path, model: ModelConfig, name: str):
    """The assigned model loaded with the camera's model settings, warmed up and wrapped for sharing."""
    try:
        return load_model(manifest_path, model, name)
    except (ManifestError, NotAModelError) as exc:
        raise ModelLoadError(_relative(str(exc), manifest_path)) from None
    except Exception as exc:  # noqa: BLE001 - whatever the runtime raises, the old model stays: one line
        raise ModelLoadError(_relative(f"{type(exc).__name__}: {exc}", manifest_path)) from None


def _relative(message: str, manifest_path: Path) -> str:
    """The message with the cache directory left out of its paths: the file's name within the version is
    what a reader of /health needs, and a reason has a few hundred characters at most."""
    return message.replace(f"{Path(manifest_path).parent}/", "")
