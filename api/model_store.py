"""The model registry's files on disk (issue 18): one directory per model version.

``<model_dir>/<name>/<version>/`` holds the manifest as uploaded and every file it
names: the weights and each export's files, at their paths relative to the manifest,
so a worker that downloads them into one directory can load it like any local model.

An upload is written under ``<model_dir>/.incoming/`` first, each file's sha256 taken as
it streams in, and checked before anything becomes visible: the manifest must parse
(:class:`~inference.models.manifest.ModelManifest`, canonical labels only), the weights
must have the manifest's sha256 and each export its record's (``sha256_path`` over its
files), every path must be a safe relative one (:func:`api.contract.models.check_file_path`),
and no file may be missing or left over. Only then is the directory renamed into place,
so a reader never sees half a version. Errors are :class:`ModelUploadError`: one line,
nothing of the upload echoed beyond its file names.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import yaml
from pydantic import ValidationError

from api.contract.models import ModelFile, check_file_path, check_model_name
from api.contract.wire import ContractError
from inference.models.manifest import ModelManifest, sha256_path

MAX_MANIFEST_BYTES = 256 * 1024  # a manifest is a page of YAML; more is not one
MAX_FILES = 64  # ModelAssignment lists at most 64 files
_CHUNK = 1 << 20
STALE_INCOMING_S = 24 * 3600


class ModelUploadError(ValueError):
    """An upload refused: one line saying why (HTTP 422)."""


class UploadTooLarge(ModelUploadError):
    """The upload's files together pass the limit (HTTP 413)."""


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: a manifest never needs them, and a few nested
    aliases expand into gigabytes once the parsed document is copied ("billion laughs")."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases (*name) are not accepted in a manifest")
        return super().compose_node(parent, index)


def parse_manifest(data: bytes) -> ModelManifest:
    """The manifest in ``data`` (YAML), validated; its name and version safe as path segments."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ModelUploadError(f"the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError:
        raise ModelUploadError("the manifest is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise ModelUploadError(f"the manifest is not valid YAML: {first}") from None
    if not isinstance(raw, dict):
        raise ModelUploadError("the manifest must be a YAML mapping")
    for key in ("name", "version"):  # YAML reads version: 5 as a number; the manifest means text
        if isinstance(raw.get(key), (int, float)) and not isinstance(raw.get(key), bool):
            raw[key] = str(raw[key])
    try:
        manifest = ModelManifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:5])
        raise ModelUploadError(f"the manifest is invalid: {problems}") from None
    try:
        check_model_name("the manifest's name", manifest.name)
        check_model_name("the manifest's version", manifest.version)
        check_file_path(manifest.file)
    except ContractError as exc:
        raise ModelUploadError(str(exc)) from None
    if manifest.sha256 is None:
        raise ModelUploadError("the manifest has no sha256 for its weights; pin it first "
                               "(`gridsight weights pin <manifest>`)")
    return manifest


def expected_paths(manifest: ModelManifest) -> set[str]:
    """The files a version of ``manifest`` consists of, besides the manifest: weights and exports."""
    paths = {manifest.file}
    for record in manifest.exports:
        parts = [f"{record.file}/{name}" for name in record.files] if record.files else [record.file]
        paths.update(parts)
    for path in paths:
        try:
            check_file_path(path)
        except ContractError as exc:
            raise ModelUploadError(f"the manifest names an unsafe file: {exc}") from None
    return paths


def content_fingerprint(files: list[ModelFile]) -> str:
    """sha256 over every file's path and checksum: equal for two uploads of the same content."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path}\0{f.sha256}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class StagedModel:
    """A checked upload waiting under ``.incoming`` to be published (or discarded)."""

    manifest: ModelManifest
    manifest_path: str
    files: list[ModelFile]
    content_sha256: str
    directory: Path


class ModelStore:
    def __init__(self, root: Path, max_upload_bytes: int) -> None:
        self.root = Path(root)
        self.max_upload_bytes = max_upload_bytes

    def version_dir(self, name: str, version: str) -> Path:
        return self.root / check_model_name("name", name) / check_model_name("version", version)

    def file_path(self, name: str, version: str, path: str) -> Path:
        return self.version_dir(name, version) / check_file_path(path)

    def stage(self, manifest_name: str, manifest_data: bytes, uploads: list[tuple[str, BinaryIO]]) -> StagedModel:
        """Write and check an upload under ``.incoming``; ModelUploadError (nothing left behind) if it is refused."""
        try:
            check_file_path(manifest_name)
        except ContractError as exc:
            raise ModelUploadError(f"the manifest's file name: {exc}") from None
        manifest = parse_manifest(manifest_data)
        names = [name for name, _ in uploads]
        self._check_names(manifest, manifest_name, names)
        self._sweep_incoming()
        directory = self.root / ".incoming" / uuid.uuid4().hex
        directory.mkdir(parents=True)
        try:
            files = [self._write(directory, manifest_name, _BytesReader(manifest_data), 0)]
            total = len(manifest_data)
            for name, stream in uploads:
                written = self._write(directory, name, stream, total)
                total += written.size
                files.append(written)
            self._verify(manifest, directory, files)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return StagedModel(manifest, manifest_name, files, content_fingerprint(files), directory)

    def publish(self, staged: StagedModel) -> None:
        """Move a staged upload into place (one rename). A directory already there without a
        database row (an upload that crashed between the two) is an orphan and goes."""
        target = self.version_dir(staged.manifest.name, staged.manifest.version)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        staged.directory.rename(target)

    def discard(self, staged: StagedModel) -> None:
        shutil.rmtree(staged.directory, ignore_errors=True)

    def remove(self, name: str, version: str) -> None:
        shutil.rmtree(self.version_dir(name, version), ignore_errors=True)

    def _sweep_incoming(self) -> None:
        """Remove what uploads cut off by a crash left in ``.incoming`` (older than a day: no live upload is)."""
        incoming = self.root / ".incoming"
        cutoff = time.time() - STALE_INCOMING_S
        for leftover in incoming.iterdir() if incoming.is_dir() else ():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    shutil.rmtree(leftover, ignore_errors=True)

    @staticmethod
    def _check_names(manifest: ModelManifest, manifest_name: str, names: list[str]) -> None:
        if len(names) + 1 > MAX_FILES:
            raise ModelUploadError(f"a model version has at most {MAX_FILES} files")
        for name in names:
            try:
                check_file_path(name)
            except ContractError as exc:
                raise ModelUploadError(str(exc)) from None
        if len(set(names)) != len(names) or manifest_name in names:
            raise ModelUploadError("a file was sent twice (each path once, the manifest only as 'manifest')")
        expected = expected_paths(manifest)
        missing, extra = sorted(expected - set(names)), sorted(set(names) - expected)
        if missing:
            raise ModelUploadError(f"files named in the manifest were not sent: {', '.join(missing[:5])}")
        if extra:
            raise ModelUploadError(f"files not named in the manifest were sent: {', '.join(extra[:5])}")

    def _write(self, directory: Path, name: str, stream: BinaryIO, so_far: int) -> ModelFile:
        """Copy one upload to ``directory/name``, its sha256 taken on the way; refuses past the size limit."""
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open(target, "xb") as out:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                size += len(chunk)
                if so_far + size > self.max_upload_bytes:
                    raise UploadTooLarge(f"the upload is larger than the {self.max_upload_bytes}-byte limit "
                                         "(GRIDSIGHT_MAX_MODEL_UPLOAD_BYTES)")
                digest.update(chunk)
                out.write(chunk)
        return ModelFile(path=name, sha256=digest.hexdigest(), size=size)

    @staticmethod
    def _verify(manifest: ModelManifest, directory: Path, files: list[ModelFile]) -> None:
        by_path = {f.path: f for f in files}
        weights = by_path[manifest.file]
        if weights.sha256 != manifest.sha256:
            raise ModelUploadError(f"checksum mismatch for {manifest.file}: the manifest says sha256 "
                                   f"{(manifest.sha256 or '')[:12]}…, the file sent has {weights.sha256[:12]}…")
        for record in manifest.exports:
            actual = sha256_path(directory / record.file)
            if actual != record.sha256:
                raise ModelUploadError(f"checksum mismatch for the {record.format} export {record.file}: the manifest "
                                       f"says sha256 {record.sha256[:12]}…, the files sent give {actual[:12]}…")


class _BytesReader:
    """``read(n)`` over bytes already in memory (the manifest, read once to parse it)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._at + n
        chunk, self._at = self._data[self._at:end], min(end, len(self._data))
        return chunk
