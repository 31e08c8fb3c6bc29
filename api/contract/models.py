"""What crosses the wire when the API's model registry tells workers which model to run (issue 18).

Defined once, imported by both sides. The registry (``api.routes.models``) answers
``GET /api/v1/models/assignments?cameras=a,b`` with a :class:`ModelAssignments`; the
worker's model sync (``streams.sync.models``) reads it with
:meth:`ModelAssignments.from_wire`, fetches each file from
``GET /api/v1/models/{name}/{version}/files/{path}``, checks every file's sha256
against :class:`ModelFile` before loading, swaps the model in, and reports how it
went with a :class:`ModelLoadReport` (``POST /api/v1/models/load-reports``). A camera
the registry assigns nothing keeps the model its config names. Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.contract.wire import ContractError, check_version

MODEL_ASSIGNMENT_VERSION = 1
MODEL_LOAD_REPORT_VERSION = 1

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,127}$")  # model names and versions: safe as a path segment
_PART = re.compile(r"^[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}$")  # one segment of a file's path


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ContractError(message)


def check_model_name(what: str, value: object) -> str:
    """A model name or version: 1-128 letters, digits, '_', '.', '-', not starting with a dot."""
    _require(isinstance(value, str) and _NAME.match(value) is not None,
             f"{what} must be 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value  # type: ignore[return-value]


def check_file_path(value: object) -> str:
    """A file's path inside a model version: relative, '/'-separated, no '..', no hidden segments."""
    _require(isinstance(value, str) and 0 < len(value) <= 512, "a model file path must be 1-512 characters")
    parts = value.split("/")  # type: ignore[union-attr]
    _require(len(parts) <= 4 and all(_PART.match(p) is not None for p in parts),
             f"model file path {value!r} must be relative, at most 4 segments of letters, digits, '_', '.', '-'")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class ModelFile:
    """One file of a model version: its path inside the version, checksum and size."""

    path: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        check_file_path(self.path)
        _require(isinstance(self.sha256, str) and _SHA256.match(self.sha256) is not None,
                 "a model file's sha256 must be 64 lower-case hex digits")
        _require(isinstance(self.size, int) and not isinstance(self.size, bool) and self.size >= 0,
                 "a model file's size must be a whole number of bytes")

    def to_wire(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_wire(cls, body: object) -> "ModelFile":
        _require(isinstance(body, Mapping), "a model file must be an object")
        try:
            return cls(path=body["path"], sha256=body["sha256"], size=body["size"])
        except KeyError as exc:
            raise ContractError(f"a model file lacks {exc.args[0]!r}") from None


@dataclass(frozen=True)
class ModelAssignment:
    """The model one camera should run, and where the assignment came from.

    ``scope`` is ``all`` (promoted to every camera), ``group:<name>`` (a canary group) or
    ``camera`` (this camera alone); ``assignment_id`` grows with every promotion or rollback,
    so a worker that already runs it does nothing."""

    camera_id: str
    model_name: str
    model_version: str
    manifest: str  # the manifest's path among ``files``
    files: tuple[ModelFile, ...]
    assignment_id: int
    scope: str

    def __post_init__(self) -> None:
        _require(isinstance(self.camera_id, str) and 0 < len(self.camera_id) <= 64,
                 "camera_id must be text of 1-64 characters")
        check_model_name("model_name", self.model_name)
        check_model_name("model_version", self.model_version)
        check_file_path(self.manifest)
        _require(0 < len(self.files) <= 64, "an assignment lists 1-64 files")
        _require(any(f.path == self.manifest for f in self.files), "the manifest must be one of the files")
        _require(len({f.path for f in self.files}) == len(self.files), "file paths must be unique")
        _require(isinstance(self.assignment_id, int) and not isinstance(self.assignment_id, bool)
                 and self.assignment_id > 0, "assignment_id must be a whole number from 1")
        _require(isinstance(self.scope, str) and (self.scope in ("all", "camera") or (
            self.scope.startswith("group:") and 6 < len(self.scope) <= 70)),
            "scope must be 'all', 'camera' or 'group:<name>'")

    def to_wire(self) -> dict:
        return {"camera_id": self.camera_id, "model_name": self.model_name, "model_version": self.model_version,
                "manifest": self.manifest, "files": [f.to_wire() for f in self.files],
                "assignment_id": self.assignment_id, "scope": self.scope}

    @classmethod
    def from_wire(cls, body: object) -> "ModelAssignment":
        _require(isinstance(body, Mapping), "an assignment must be an object")
        files = body.get("files")
        _require(isinstance(files, list), "an assignment's files must be a list")
        try:
            return cls(camera_id=body["camera_id"], model_name=body["model_name"],
                       model_version=body["model_version"], manifest=body["manifest"],
                       files=tuple(ModelFile.from_wire(f) for f in files),
                       assignment_id=body["assignment_id"], scope=body["scope"])
        except KeyError as exc:
            raise ContractError(f"an assignment lacks {exc.args[0]!r}") from None


@dataclass(frozen=True)
class ModelAssignments:
    """``GET /api/v1/models/assignments?cameras=...``: the assigned cameras among those asked about."""

    assignments: tuple[ModelAssignment, ...]
    version: int = MODEL_ASSIGNMENT_VERSION

    def __post_init__(self) -> None:
        check_version("model assignments", self.version, MODEL_ASSIGNMENT_VERSION)

    def to_wire(self) -> dict:
        return {"version": self.version, "assignments": [a.to_wire() for a in self.assignments]}

    @classmethod
    def from_wire(cls, body: Any) -> "ModelAssignments":
        _require(isinstance(body, Mapping), "model assignments must be an object")
        items = body.get("assignments")
        _require(isinstance(items, list), "assignments must be a list")
        return cls(assignments=tuple(ModelAssignment.from_wire(a) for a in items),
                   version=check_version("model assignments", body.get("version", 1), MODEL_ASSIGNMENT_VERSION))

    def for_camera(self, camera_id: str) -> ModelAssignment | None:
        return next((a for a in self.assignments if a.camera_id == camera_id), None)


LOAD_STATES = ("loaded", "failed")


@dataclass(frozen=True)
class ModelLoadReport:
    """``POST /api/v1/models/load-reports``: what a worker made of one camera's assignment.

    ``failed`` means the worker kept the model it ran before (``running_version``) and
    ``reason`` (one line, no credentials) says why."""

    camera_id: str
    worker: str
    assignment_id: int
    model_name: str
    model_version: str
    state: str
    at: float  # unix seconds
    running_version: str | None = None
    reason: str | None = None
    version: int = MODEL_LOAD_REPORT_VERSION

    def __post_init__(self) -> None:
        check_version("model load report", self.version, MODEL_LOAD_REPORT_VERSION)
        for name, limit in (("camera_id", 64), ("worker", 128)):
            value = getattr(self, name)
            _require(isinstance(value, str) and 0 < len(value) <= limit, f"{name} must be text of 1-{limit} characters")
        check_model_name("model_name", self.model_name)
        check_model_name("model_version", self.model_version)
        _require(self.state in LOAD_STATES, "state must be one of " + ", ".join(LOAD_STATES))
        _require(isinstance(self.assignment_id, int) and not isinstance(self.assignment_id, bool)
                 and self.assignment_id > 0, "assignment_id must be a whole number from 1")
        _require(isinstance(self.at, (int, float)) and not isinstance(self.at, bool), "at must be unix seconds")
        _require(self.reason is None or (isinstance(self.reason, str) and len(self.reason) <= 500),
                 "reason must be at most 500 characters")
        _require(self.running_version is None or (isinstance(self.running_version, str)
                                                  and len(self.running_version) <= 64),
                 "running_version must be at most 64 characters")

    def to_wire(self) -> dict:
        return {"version": self.version, "camera_id": self.camera_id, "worker": self.worker,
                "assignment_id": self.assignment_id, "model_name": self.model_name,
                "model_version": self.model_version, "state": self.state, "at": self.at,
                "running_version": self.running_version, "reason": self.reason}

    @classmethod
    def from_wire(cls, body: Any) -> "ModelLoadReport":
        _require(isinstance(body, Mapping), "a load report must be an object")
        try:
            return cls(camera_id=body["camera_id"], worker=body["worker"], assignment_id=body["assignment_id"],
                       model_name=body["model_name"], model_version=body["model_version"], state=body["state"],
                       at=body["at"], running_version=body.get("running_version"), reason=body.get("reason"),
                       version=check_version("model load report", body.get("version", 1),
                                             MODEL_LOAD_REPORT_VERSION))
        except KeyError as exc:
            raise ContractError(f"a load report lacks {exc.args[0]!r}") from None
