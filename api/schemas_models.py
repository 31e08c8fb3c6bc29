"""Wire schemas of the model registry (issue 18, docs/api.md "Model registry").

Uploads are multipart (the manifest and its files); the worker-facing bodies are the
dataclasses of :mod:`api.contract.models`; the rest is here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import JsonInput, UtcDatetime

SCOPE_DESCRIPTION = "'all' (every camera), 'group:<name>' (a camera group: a canary) or 'camera:<camera_id>'"
# Camera ids: no controls, spaces or '/'; spelt out, not \s, so Python and the schema's ECMA regex agree.
CAMERA_ID_PATTERN = r"^[^\x00-\x20\x7f-\xa0/]{1,64}$"
Scope = Annotated[str, Field(min_length=3, max_length=80, pattern=r"^(all|group:[0-9A-Za-z][0-9A-Za-z_.-]{0,63}|"
                                                                  r"camera:[^\x00-\x20\x7f-\xa0/]{1,64})$",
                             description=SCOPE_DESCRIPTION)]
Reason = Annotated[str, Field(min_length=1, max_length=500, description="Why, for the audit timeline")]
CameraId = Annotated[str, Field(min_length=1, max_length=64, pattern=CAMERA_ID_PATTERN)]
ModelNameText = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,127}$")]


class PromoteCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    scope: Scope
    reason: Reason | None = None


class RollbackCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    scope: Scope
    reason: Reason | None = None


class CameraGroupCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    cameras: list[CameraId] = Field(max_length=1000, description="The group's cameras (replaces the members)")
    description: Annotated[str, Field(max_length=256)] | None = Field(default=None, description="What the group is for")


class LoadReportBody(JsonInput):
    """``api.contract.models.ModelLoadReport.to_wire()``, as a schema (the route then reads it with
    ``ModelLoadReport.from_wire``, the one parser both sides share)."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(default=1, ge=1, le=1, description="Wire version of the report")
    camera_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(description="The camera")
    worker: Annotated[str, Field(min_length=1, max_length=128)] = Field(description="The worker's name")
    assignment_id: int = Field(ge=1, le=2**31 - 1, description="The assignment it tried")
    model_name: ModelNameText = Field(description="The assignment's model")
    model_version: ModelNameText = Field(description="Its version")
    state: Literal["loaded", "failed"] = Field(description="loaded: it runs now; failed: it kept its previous model")
    at: float = Field(ge=0, le=253402300799, description="When it tried, unix seconds")
    running_version: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The version it runs after the attempt")
    reason: Annotated[str, Field(max_length=500)] | None = Field(default=None, description="Why it failed, one line")


class ComparisonBody(JsonInput):
    """``gridsight compare``'s result. Stored as sent: extra="allow" on purpose, the registry keeps
    what compare writes (detection, events, shadow ...) without owning its shape."""

    model_config = ConfigDict(extra="allow")
    version: int = Field(ge=1, le=1000, description="The comparison's format version")
    candidate: dict[str, Any] = Field(description="The candidate: name, version, sha256")
    current: dict[str, Any] | None = Field(description="The model it is compared with; null when none ran")
    verdict: dict[str, Any] = Field(description="better: bool and reasons: [str]")


class CameraGroupPublic(BaseModel):
    name: str = Field(description="The group's name, as in the scope 'group:<name>'")
    cameras: list[str] = Field(description="Its cameras, sorted")
    description: str | None = Field(description="What the group is for")


class CameraGroupList(BaseModel):
    items: list[CameraGroupPublic] = Field(description="Every camera group, by name")


class ModelFilePublic(BaseModel):
    path: str = Field(description="Path inside the version (relative to the manifest); download it from files/{path}")
    sha256: str = Field(description="sha256 of the file as stored")
    size: int = Field(ge=0, description="Bytes")


class LoadFailurePublic(BaseModel):
    camera_id: str = Field(description="A camera whose latest load report for this version says it failed")
    reason: str = Field(description="The worker's one line on why (it kept its previous model)")
    at: UtcDatetime = Field(description="When the worker tried")


class ModelRecordPublic(BaseModel):
    name: str = Field(description="Model name from the manifest")
    version: str = Field(description="Model version from the manifest")
    status: str = Field(description="active (in force for all cameras), canary (for a group or camera), "
                                    "retired (was assigned, no longer) or candidate (never assigned)")
    manifest: dict[str, Any] = Field(description="The parsed manifest")
    files: list[ModelFilePublic] = Field(description="Every file of the version, the manifest included")
    uploaded_at: UtcDatetime = Field(description="When it was uploaded")
    uploaded_by: str = Field(description="Who uploaded it (the token's name)")
    comparison: dict[str, Any] | None = Field(description="`gridsight compare` of this candidate vs the model in "
                                                          "force, as stored with PUT .../comparison; null: none yet")
    scopes: list[str] = Field(description="The scopes it is in force for now")
    running_on: list[str] = Field(description="Cameras whose latest load report says they run it")
    failed_on: list[LoadFailurePublic] = Field(description="Cameras whose latest load report says loading it failed")


class ModelList(BaseModel):
    items: list[ModelRecordPublic] = Field(description="Every model version, newest upload first")


class AssignmentPublic(BaseModel):
    assignment_id: int = Field(ge=1, description="Grows with every promotion and rollback; workers compare it")
    scope: str = Field(description=SCOPE_DESCRIPTION)
    model_name: str = Field(description="The model now in force for the scope")
    model_version: str = Field(description="Its version")


class RollbackPublic(BaseModel):
    assignment_id: int | None = Field(description="The new assignment that brings the previous model back; "
                                                  "null when the scope has none left (removed)")
    scope: str = Field(description=SCOPE_DESCRIPTION)
    model_name: str | None = Field(description="The model now in force for the scope; null when removed")
    model_version: str | None = Field(description="Its version; null when removed")
    removed: bool = Field(description="True when the rollback went past the scope's first assignment: its cameras "
                                      "fall back to a group's, then all cameras', then their config's model")
    rolled_back: str = Field(description="'<name>/<version>' of the model that was in force before the rollback")
    detail: str = Field(description="One line saying what happened")


class LoadReportAccepted(BaseModel):
    accepted: bool = Field(description="Always true: the report is stored (the latest per camera and assignment)")


class AuditEntryPublic(BaseModel):
    at: UtcDatetime = Field(description="When")
    actor: str = Field(description="Who: the token's name (a person, or a worker for 'load')")
    action: str = Field(description="upload, comparison, promote, rollback, group or load")
    model_name: str | None = Field(description="The model concerned, if one")
    model_version: str | None = Field(description="Its version")
    scope: str | None = Field(description="The scope concerned, if one (a load: 'camera:<id>')")
    detail: dict[str, Any] = Field(description="What else there is to know (assignment ids, reason, members ...)")


class AuditTimeline(BaseModel):
    items: list[AuditEntryPublic] = Field(description="Newest first")
