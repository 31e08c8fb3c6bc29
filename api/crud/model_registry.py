"""The model registry's records (issue 18): model versions, camera groups, assignments,
load reports, and the audit timeline every change writes to.

Scopes are ``all``, ``group:<name>`` and ``camera:<camera_id>``. For each scope at most one
assignment is in force (``superseded_at`` is null); a promotion supersedes it and links
back to it (``previous_id``), a rollback supersedes it and brings the one it replaced
back as a new assignment (a new id, so workers notice), or, past the scope's first,
leaves the scope without one. A model's status follows from its assignments: ``active``
(in force for all cameras), ``canary`` (for a group or camera only), ``retired`` (was,
no longer), ``candidate`` (never assigned)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.contract.models import ModelAssignment, ModelAssignments, ModelFile, ModelLoadReport
from api.db.models_registry import (
    CameraGroup,
    CameraGroupMember,
    ModelAssignmentRecord,
    ModelAuditEntry,
    ModelLoadRecord,
    ModelVersion,
    ModelVersionFile,
)
from api.model_store import ModelStore, StagedModel

GROUP_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")
CAMERA_ID = re.compile(r"^[^\x00-\x20\x7f-\xa0/]{1,64}$")  # as api.schemas_models.CAMERA_ID_PATTERN
COMPARISON_KEYS = ("version", "candidate", "current", "verdict")


class ModelRegistryError(Exception):
    """A refused registry change: the HTTP status and one line saying why."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def parse_scope(text: str) -> str:
    """``all``, ``group:<name>`` or ``camera:<camera_id>``, checked; ModelRegistryError(422) otherwise."""
    kind, _, value = text.partition(":")
    if text == "all" or (kind == "group" and GROUP_NAME.match(value)) or (kind == "camera" and CAMERA_ID.match(value)):
        return text
    raise ModelRegistryError(422, "scope must be 'all', 'group:<name>' (letters, digits, '_', '.', '-'; up to 64) "
                                  "or 'camera:<camera_id>' (up to 64 characters, no spaces or '/')")


def audit(session: Session, now: dt.datetime, actor: str, action: str, *, model: ModelVersion | None = None,
          scope: str | None = None, **detail: Any) -> None:
    """One entry on the registry's timeline; ``actor`` is a principal's name, never a token."""
    session.add(ModelAuditEntry(at=now, actor=actor[:64], action=action, scope=scope, detail=detail,
                                model_name=model.name if model else None,
                                model_version=model.version if model else None))


def timeline(session: Session, limit: int) -> list[ModelAuditEntry]:
    return list(session.scalars(select(ModelAuditEntry).order_by(ModelAuditEntry.id.desc()).limit(limit)))


# ---- model versions -------------------------------------------------------------------------

def get_model(session: Session, name: str, version: str) -> ModelVersion:
    model = session.scalar(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version))
    if model is None:
        raise ModelRegistryError(404, f"model {name} version {version} is not in the registry")
    return model


def list_models(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.uploaded_at.desc(),
                                                                ModelVersion.id.desc())))


def add_model(session: Session, store: ModelStore, staged: StagedModel, actor: str,
              now: dt.datetime) -> tuple[ModelVersion, bool]:
    """Record a staged upload and publish its files; (model, True) when new, (existing, False) when
    the same name, version and content are already there. 409 for the same name+version with other content."""
    manifest = staged.manifest
    existing = session.scalar(select(ModelVersion).where(ModelVersion.name == manifest.name,
                                                         ModelVersion.version == manifest.version))
    if existing is not None:
        store.discard(staged)
        if existing.content_sha256 == staged.content_sha256:
            return existing, False
        raise ModelRegistryError(409, f"model {manifest.name} version {manifest.version} is already in the registry "
                                      "with other files; upload a new version instead")
    model = ModelVersion(name=manifest.name, version=manifest.version, manifest_path=staged.manifest_path,
                         manifest=manifest.model_dump(mode="json"), content_sha256=staged.content_sha256,
                         uploaded_at=now, uploaded_by=actor[:64],
                         files=[ModelVersionFile(path=f.path, sha256=f.sha256, size=f.size) for f in staged.files])
    session.add(model)
    audit(session, now, actor, "upload", model=model, files=len(staged.files),
          bytes=sum(f.size for f in staged.files), sha256=manifest.sha256)
    try:
        session.flush()  # a concurrent upload of the same version fails here, before any file moves
    except IntegrityError:
        session.rollback()
        store.discard(staged)
        raise ModelRegistryError(409, f"model {manifest.name} version {manifest.version} was uploaded by "
                                      "another request at the same time; list the models to see it") from None
    store.publish(staged)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        store.remove(manifest.name, manifest.version)
        raise
    return model, True


def set_comparison(session: Session, model: ModelVersion, comparison: Any, actor: str, now: dt.datetime) -> None:
    """Store ``gridsight compare``'s result with the candidate (opaque, but an object with its key fields)."""
    if not isinstance(comparison, dict):
        raise ModelRegistryError(422, "a comparison must be a JSON object")
    missing = [key for key in COMPARISON_KEYS if key not in comparison]
    if missing:
        raise ModelRegistryError(422, f"a comparison needs the keys {', '.join(COMPARISON_KEYS)}; "
                                      f"missing: {', '.join(missing)}")
    verdict = comparison.get("verdict")
    better = verdict.get("better") if isinstance(verdict, dict) else None
    model.comparison, model.comparison_at = comparison, now
    audit(session, now, actor, "comparison", model=model, better=better if isinstance(better, bool) else None)
    session.commit()


def model_files(model: ModelVersion) -> tuple[ModelFile, ...]:
    return tuple(ModelFile(path=f.path, sha256=f.sha256, size=f.size) for f in model.files)


def model_file(model: ModelVersion, path: str) -> ModelVersionFile:
    found = next((f for f in model.files if f.path == path), None)
    if found is None:
        raise ModelRegistryError(404, f"model {model.name} version {model.version} has no file {path!r}")
    return found


# ---- camera groups ----------------------------------------------------------------------------

def group_members(session: Session, name: str) -> list[str]:
    return list(session.scalars(select(CameraGroupMember.camera_id).where(CameraGroupMember.group_name == name)
                                .order_by(CameraGroupMember.camera_id)))


def list_groups(session: Session) -> list[tuple[CameraGroup, list[str]]]:
    groups = session.scalars(select(CameraGroup).order_by(CameraGroup.name))
    return [(g, group_members(session, g.name)) for g in groups]


def put_group(session: Session, name: str, cameras: list[str], description: str | None, actor: str,
              now: dt.datetime) -> tuple[CameraGroup, list[str]]:
    """Create or replace a camera group's members."""
    if not GROUP_NAME.match(name):
        raise ModelRegistryError(422, "a group name is 1-64 letters, digits, '_', '.' or '-'")
    bad = [c for c in cameras if not CAMERA_ID.match(c)]
    if bad:
        raise ModelRegistryError(422, "camera ids are 1-64 characters without spaces or '/'")
    wanted = sorted(set(cameras))
    group = session.get(CameraGroup, name)
    before = group_members(session, name) if group is not None else []
    if group is None:
        group = CameraGroup(name=name, description=description, updated_at=now)
        session.add(group)
        session.flush()
    group.description, group.updated_at = description, now
    session.execute(delete(CameraGroupMember).where(CameraGroupMember.group_name == name))
    session.add_all(CameraGroupMember(group_name=name, camera_id=c) for c in wanted)
    audit(session, now, actor, "group", scope=f"group:{name}", cameras=wanted,
          added=sorted(set(wanted) - set(before)), removed=sorted(set(before) - set(wanted)))
    session.commit()
    return group, wanted


# ---- assignments --------------------------------------------------------------------------------

def in_force(session: Session, scopes: Iterable[str] | None = None) -> list[ModelAssignmentRecord]:
    query = select(ModelAssignmentRecord).where(ModelAssignmentRecord.superseded_at.is_(None))
    if scopes is not None:
        query = query.where(ModelAssignmentRecord.scope.in_(list(scopes)))
    return list(session.scalars(query.order_by(ModelAssignmentRecord.id)))


def _current(session: Session, scope: str) -> ModelAssignmentRecord | None:
    rows = in_force(session, [scope])
    return rows[-1] if rows else None


def promote(session: Session, model: ModelVersion, scope: str, reason: str | None, actor: str,
            now: dt.datetime) -> ModelAssignmentRecord:
    """Put ``model`` in force for ``scope``; the assignment there before is superseded (and remembered)."""
    scope = parse_scope(scope)
    if scope.startswith("group:") and session.get(CameraGroup, scope.removeprefix("group:")) is None:
        raise ModelRegistryError(404, f"camera group {scope.removeprefix('group:')!r} does not exist; "
                                      "create it first (PUT /api/v1/camera-groups/{group})")
    current = _current(session, scope)
    if current is not None and current.model_id == model.id:
        return current  # already in force: nothing changes, nothing to notice
    if current is not None:
        current.superseded_at = now
    record = ModelAssignmentRecord(scope=scope, model_id=model.id, action="promote", created_at=now,
                                   created_by=actor[:64], reason=reason,
                                   previous_id=current.id if current is not None else None)
    session.add(record)
    session.flush()
    audit(session, now, actor, "promote", model=model, scope=scope, assignment_id=record.id, reason=reason,
          replaced=current.id if current is not None else None)
    session.commit()
    return record


def rollback(session: Session, scope: str, reason: str | None, actor: str,
             now: dt.datetime) -> tuple[ModelAssignmentRecord | None, ModelVersion]:
    """Supersede the scope's assignment and bring back the one before it (a new id); (None, model rolled
    back) when it was the scope's first, so the scope has no assignment any more. 409 when it has none."""
    scope = parse_scope(scope)
    current = _current(session, scope)
    if current is None:
        raise ModelRegistryError(409, f"nothing is assigned to {scope}: nothing to roll back")
    rolled_back = session.get(ModelVersion, current.model_id)
    assert rolled_back is not None  # the foreign key cascades
    current.superseded_at = now
    previous = session.get(ModelAssignmentRecord, current.previous_id) if current.previous_id else None
    record = None
    if previous is not None:
        record = ModelAssignmentRecord(scope=scope, model_id=previous.model_id, action="rollback", created_at=now,
                                       created_by=actor[:64], reason=reason, previous_id=previous.previous_id)
        session.add(record)
        session.flush()
    restored = session.get(ModelVersion, previous.model_id) if previous is not None else None
    audit(session, now, actor, "rollback", model=rolled_back, scope=scope, reason=reason,
          superseded=current.id, assignment_id=record.id if record else None,
          restored=f"{restored.name}/{restored.version}" if restored else None)
    session.commit()
    return record, rolled_back


def _groups_of(session: Session, cameras: list[str]) -> dict[str, set[str]]:
    rows = session.execute(select(CameraGroupMember.camera_id, CameraGroupMember.group_name)
                           .where(CameraGroupMember.camera_id.in_(cameras)))
    groups: dict[str, set[str]] = {}
    for camera_id, group in rows:
        groups.setdefault(camera_id, set()).add(group)
    return groups


def assignments_for(session: Session, cameras: list[str]) -> ModelAssignments:
    """What each camera should run: its own scope > its groups' (newest wins) > all; unassigned cameras absent."""
    records = in_force(session)
    by_scope = {r.scope: r for r in records}  # ordered by id: the newest per scope wins
    groups = _groups_of(session, cameras)
    models = {m.id: m for m in session.scalars(select(ModelVersion).where(
        ModelVersion.id.in_({r.model_id for r in records})))}
    out = []
    for camera_id in dict.fromkeys(cameras):
        record, wire_scope = by_scope.get(f"camera:{camera_id}"), "camera"
        if record is None:
            in_groups = [by_scope[f"group:{g}"] for g in groups.get(camera_id, ()) if f"group:{g}" in by_scope]
            record = max(in_groups, key=lambda r: r.id) if in_groups else by_scope.get("all")
            wire_scope = record.scope if record is not None else ""
        if record is None:
            continue
        model = models[record.model_id]
        out.append(ModelAssignment(camera_id=camera_id, model_name=model.name, model_version=model.version,
                                   manifest=model.manifest_path, files=model_files(model),
                                   assignment_id=record.id, scope=wire_scope))
    return ModelAssignments(assignments=tuple(out))


# ---- load reports and the status of a model ------------------------------------------------------

def record_load(session: Session, report: ModelLoadReport, actor: str, now: dt.datetime) -> None:
    """Keep the latest report per camera and assignment; audit it when its state is new."""
    row = session.scalar(select(ModelLoadRecord).where(ModelLoadRecord.camera_id == report.camera_id,
                                                       ModelLoadRecord.assignment_id == report.assignment_id))
    changed = row is None or row.state != report.state or row.reason != report.reason
    if row is None:
        row = ModelLoadRecord(camera_id=report.camera_id, assignment_id=report.assignment_id)
        session.add(row)
    row.worker, row.model_name, row.model_version = report.worker, report.model_name, report.model_version
    row.state, row.running_version, row.reason = report.state, report.running_version, report.reason
    row.at, row.received_at = dt.datetime.fromtimestamp(report.at, dt.timezone.utc), now
    if changed:
        session.add(ModelAuditEntry(at=now, actor=actor[:64], action="load", model_name=report.model_name,
                                    model_version=report.model_version, scope=f"camera:{report.camera_id}",
                                    detail={"state": report.state, "reason": report.reason, "worker": report.worker,
                                            "assignment_id": report.assignment_id,
                                            "running_version": report.running_version}))
    session.commit()


def latest_loads(session: Session) -> dict[str, ModelLoadRecord]:
    """Each camera's newest load report."""
    latest: dict[str, ModelLoadRecord] = {}
    for row in session.scalars(select(ModelLoadRecord).order_by(ModelLoadRecord.at, ModelLoadRecord.id)):
        latest[row.camera_id] = row
    return latest


def model_state(session: Session, model: ModelVersion, loads: dict[str, ModelLoadRecord],
                records: list[ModelAssignmentRecord] | None = None) -> dict[str, Any]:
    """status, scopes, running_on and failed_on of one model version (``records``: those in force, if read already)."""
    scopes = [r.scope for r in (in_force(session) if records is None else records) if r.model_id == model.id]
    ever = scopes or session.scalar(select(ModelAssignmentRecord.id).where(
        ModelAssignmentRecord.model_id == model.id).limit(1)) is not None
    status = "active" if "all" in scopes else "canary" if scopes else "retired" if ever else "candidate"
    mine = [r for r in loads.values() if (r.model_name, r.model_version) == (model.name, model.version)]
    return {"status": status, "scopes": scopes,
            "running_on": sorted(r.camera_id for r in mine if r.state == "loaded"),
            "failed_on": [{"camera_id": r.camera_id, "reason": r.reason or "", "at": r.at}
                          for r in sorted(mine, key=lambda r: r.camera_id) if r.state == "failed"]}
