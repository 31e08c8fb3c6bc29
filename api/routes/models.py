"""The model registry (issue 18): upload a model version, compare, promote it to all
cameras, a camera group (canary) or one camera, roll back; workers read their
assignment, fetch its files and report how the load went. Every change is on the
audit timeline (``GET /models/timeline``). Roles: admin changes, supervisors and
admins read, workers (or higher) read assignments and files and report loads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.contract.models import ModelLoadReport
from api.contract.wire import ContractError
from api.crud import model_registry as registry
from api.db.models_registry import ModelVersion
from api.deps import AdminDep, ClockDep, PrincipalDep, SessionDep, SettingsDep, WriteSessionDep, WriterDep, \
    on_event_loop, require_role
from api.model_store import MAX_MANIFEST_BYTES, ModelStore, ModelUploadError, UploadTooLarge
from api.schemas_models import (
    AssignmentPublic,
    AuditTimeline,
    CameraGroupCreate,
    CameraGroupList,
    CameraGroupPublic,
    ComparisonBody,
    LoadReportAccepted,
    LoadReportBody,
    ModelList,
    ModelRecordPublic,
    PromoteCreate,
    RollbackCreate,
    RollbackPublic,
)
from api.settings import Settings

router = APIRouter(tags=["models"])
SupervisorReaderDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.SUPERVISOR, write=False)))]
NAME_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,127}$"
ModelName = Annotated[str, Path(pattern=NAME_PATTERN, description="Model name")]
ModelVersionPath = Annotated[str, Path(pattern=NAME_PATTERN, description="Model version")]
GroupName = Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$", description="Camera group name")]
NOT_FOUND = {404: {"description": "No such model version"}}


def _model_reader(principal: PrincipalDep) -> Principal:
    """Workers (their assignment and its files) and supervisors or admins."""
    if principal.role is Role.WORKER or principal.at_least(Role.SUPERVISOR):
        return principal
    raise HTTPException(403, f"role worker, supervisor or admin needed; this token ({principal.name}) "
                             f"has role {principal.role.value}")


ModelReaderDep = Annotated[Principal, Depends(_model_reader)]


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """The registry's refusals as HTTP errors (one line each)."""
    try:
        yield
    except registry.ModelRegistryError as exc:
        raise HTTPException(exc.status_code, exc.message) from None


def _store(settings: Settings) -> ModelStore:
    return ModelStore(settings.model_dir, settings.max_model_upload_bytes)


def _record(session: Session, model: ModelVersion, loads: dict | None = None,
            records: list | None = None) -> ModelRecordPublic:
    state = registry.model_state(session, model, registry.latest_loads(session) if loads is None else loads, records)
    return ModelRecordPublic(name=model.name, version=model.version, manifest=model.manifest,
                             files=[f.to_wire() for f in registry.model_files(model)], uploaded_at=model.uploaded_at,
                             uploaded_by=model.uploaded_by, comparison=model.comparison, **state)


@router.post("/models", response_model=ModelRecordPublic, status_code=201, summary="Upload a model version",
             description="multipart/form-data: `manifest` (the manifest YAML, sent with its file name) and one "
             "`files` part per file it names (the weights, each export's files), each sent with its path relative "
             "to the manifest as file name (e.g. `m_openvino_model/m.xml`). The manifest must parse, use only "
             "canonical labels and pin the weights' sha256; the weights and every export must match their "
             "checksums, and no file may be missing, extra or outside the version. 200 with the stored record "
             "when the same version was uploaded before with the same files. Role: admin.",
             responses={200: {"description": "Already uploaded, same content"},
                        409: {"description": "This name and version exist with other content"},
                        413: {"description": "Larger than GRIDSIGHT_MAX_MODEL_UPLOAD_BYTES"},
                        422: {"description": "The manifest or a file was refused (one line)"}})
def upload_model(manifest: Annotated[UploadFile, File(description="The manifest (YAML)")],
                 session: WriteSessionDep, settings: SettingsDep, clock: ClockDep, admin: AdminDep,
                 response: Response,
                 files: Annotated[list[UploadFile] | None, File(description="The files the manifest names")] = None,
                 ) -> ModelRecordPublic:
    store = _store(settings)
    uploads = [(f.filename or "", f.file) for f in files or []]
    try:
        staged = store.stage(manifest.filename or "", manifest.file.read(MAX_MANIFEST_BYTES + 1), uploads)
    except UploadTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except ModelUploadError as exc:
        raise HTTPException(422, str(exc)) from None
    with _refusals():
        model, created = registry.add_model(session, store, staged, admin.name, clock())
    if not created:
        response.status_code = 200
    return _record(session, model)


@router.get("/models", response_model=ModelList, summary="Every model version with its status and comparison",
            description="Newest upload first. Role: supervisor or admin.")
def list_models(session: SessionDep, _reader: SupervisorReaderDep) -> ModelList:
    loads, records = registry.latest_loads(session), registry.in_force(session)
    return ModelList(items=[_record(session, m, loads, records) for m in registry.list_models(session)])


@router.get("/models/assignments", summary="Which model each camera should run (workers)",
            description="`api.contract.models.ModelAssignments`: per camera asked about, its own scope "
            "(`camera:<id>`) wins, then the newest assignment of a group it is in, then `all`; a camera with none "
            "is absent (it runs its config's model). Role: worker, supervisor or admin.")
def get_assignments(session: SessionDep, _reader: ModelReaderDep,
                    cameras: Annotated[str, Query(min_length=1, max_length=65_000,
                                                  description="Comma-separated camera ids")]) -> dict[str, Any]:
    wanted = [c.strip() for c in cameras.split(",") if c.strip()]
    if not wanted or len(wanted) > 1000 or any(len(c) > 64 for c in wanted):
        raise HTTPException(422, "cameras must name 1-1000 camera ids of at most 64 characters, comma-separated")
    return registry.assignments_for(session, wanted).to_wire()


@router.post("/models/load-reports", status_code=202, response_model=LoadReportAccepted,
             summary="A worker reports how loading its assignment went",
             description="Body: `api.contract.models.ModelLoadReport`. The latest report per camera and assignment "
             "is kept and shows in the model's running_on / failed_on. Role: worker (or admin).",
             responses={422: {"description": "Not a load report (one line)"}})
def post_load_report(body: LoadReportBody, session: WriteSessionDep, clock: ClockDep,
                     worker: WriterDep) -> LoadReportAccepted:
    try:
        report = ModelLoadReport.from_wire(body.model_dump())
    except ContractError as exc:
        raise HTTPException(422, str(exc)) from None
    registry.record_load(session, report, worker.name, clock())
    return LoadReportAccepted(accepted=True)


@router.get("/models/timeline", response_model=AuditTimeline, summary="The registry's audit timeline",
            description="Uploads, comparisons, promotions, rollbacks, group changes and load reports, newest first. "
            "Role: supervisor or admin.")
def get_timeline(session: SessionDep, _reader: SupervisorReaderDep,
                 limit: Annotated[int, Query(ge=1, le=1000, description="Most entries")] = 100) -> AuditTimeline:
    return AuditTimeline(items=[{"at": e.at, "actor": e.actor, "action": e.action, "model_name": e.model_name,
                                 "model_version": e.model_version, "scope": e.scope, "detail": e.detail}
                                for e in registry.timeline(session, limit)])


@router.post("/models/rollback", response_model=RollbackPublic, summary="Roll a scope back one step",
             description="The assignment in force for the scope is superseded and the one it replaced comes back as "
             "a new assignment (a new id, so workers notice). Rolling back the scope's first assignment leaves the "
             "scope without one (`removed`: its cameras fall back to a group's, then all cameras', then their "
             "config's model). Role: admin.",
             responses={409: {"description": "Nothing is assigned to the scope"}})
def rollback(body: RollbackCreate, session: WriteSessionDep, clock: ClockDep, admin: AdminDep) -> RollbackPublic:
    with _refusals():
        record, rolled_back = registry.rollback(session, body.scope, body.reason, admin.name, clock())
    was = f"{rolled_back.name}/{rolled_back.version}"
    if record is None:
        return RollbackPublic(assignment_id=None, scope=body.scope, model_name=None, model_version=None,
                              removed=True, rolled_back=was,
                              detail=f"{body.scope} has no assignment any more: {was} was its first; its cameras "
                                     "fall back to a group's, then all cameras', then their config's model")
    model = session.get(ModelVersion, record.model_id)
    assert model is not None
    return RollbackPublic(assignment_id=record.id, scope=body.scope, model_name=model.name,
                          model_version=model.version, removed=False, rolled_back=was,
                          detail=f"{body.scope} runs {model.name}/{model.version} again (was {was})")


@router.get("/models/{name}/{version}", response_model=ModelRecordPublic, summary="One model version",
            description="Role: supervisor or admin.", responses=NOT_FOUND)
def get_model(name: ModelName, version: ModelVersionPath, session: SessionDep,
              _reader: SupervisorReaderDep) -> ModelRecordPublic:
    with _refusals():
        return _record(session, registry.get_model(session, name, version))


@router.get("/models/{name}/{version}/files/{path:path}", summary="Download one file of a model version",
            description="The bytes as uploaded; `X-Checksum-Sha256` carries the sha256 the registry holds (the "
            "worker checks the bytes against its assignment before loading). Role: worker, supervisor or admin.",
            response_class=FileResponse, responses={404: {"description": "No such model version or file"}})
def get_model_file(name: ModelName, version: ModelVersionPath, path: str, session: SessionDep,
                   settings: SettingsDep, _reader: ModelReaderDep) -> FileResponse:
    with _refusals():
        row = registry.model_file(registry.get_model(session, name, version), path)
    on_disk = _store(settings).file_path(name, version, row.path)
    if not on_disk.is_file():
        raise HTTPException(404, f"file {row.path!r} of model {name} version {version} is missing from the "
                                 "registry's directory (GRIDSIGHT_MODEL_DIR); upload the version again")
    return FileResponse(on_disk, media_type="application/octet-stream",
                        headers={"X-Checksum-Sha256": row.sha256})


@router.put("/models/{name}/{version}/comparison", response_model=ModelRecordPublic,
            summary="Store `gridsight compare`'s result with a candidate",
            description="A JSON object of at most 2 MiB with at least `version`, `candidate`, `current` and "
            "`verdict` (docs/api.md has its shape); stored as sent, replacing an earlier one. Role: admin.",
            responses={**NOT_FOUND, 422: {"description": "Not a comparison object (one line)"}})
def put_comparison(name: ModelName, version: ModelVersionPath,
                   body: ComparisonBody,
                   session: WriteSessionDep, clock: ClockDep, admin: AdminDep) -> ModelRecordPublic:
    with _refusals():
        model = registry.get_model(session, name, version)
        registry.set_comparison(session, model, body.model_dump(mode="json"), admin.name, clock())
    return _record(session, model)


@router.post("/models/{name}/{version}/promote", response_model=AssignmentPublic,
             summary="Promote a version to all cameras, a camera group or one camera",
             description="The assignment in force for the scope is superseded (a rollback brings it back). "
             "Promoting the version already in force changes nothing and answers its assignment. Role: admin.",
             responses={404: {"description": "No such model version or camera group"}})
def promote(name: ModelName, version: ModelVersionPath, body: PromoteCreate, session: WriteSessionDep,
            clock: ClockDep, admin: AdminDep) -> AssignmentPublic:
    with _refusals():
        model = registry.get_model(session, name, version)
        record = registry.promote(session, model, body.scope, body.reason, admin.name, clock())
    return AssignmentPublic(assignment_id=record.id, scope=record.scope, model_name=model.name,
                            model_version=model.version)


@router.put("/camera-groups/{group}", response_model=CameraGroupPublic, summary="Create or replace a camera group",
            description="A group is a scope to promote a model to first (a canary): `group:<name>`. The cameras "
            "need not be registered yet. Role: admin.")
def put_camera_group(group: GroupName, body: CameraGroupCreate, session: WriteSessionDep, clock: ClockDep,
                     admin: AdminDep) -> CameraGroupPublic:
    with _refusals():
        row, cameras = registry.put_group(session, group, body.cameras, body.description, admin.name, clock())
    return CameraGroupPublic(name=row.name, cameras=cameras, description=row.description)


@router.get("/camera-groups", response_model=CameraGroupList, summary="Every camera group",
            description="Role: supervisor or admin.")
def list_camera_groups(session: SessionDep, _reader: SupervisorReaderDep) -> CameraGroupList:
    return CameraGroupList(items=[CameraGroupPublic(name=g.name, cameras=cams, description=g.description)
                                  for g, cams in registry.list_groups(session)])
