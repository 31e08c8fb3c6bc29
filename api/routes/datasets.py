"""Dataset versions (issue 18): the labelling bridge records what each import of
annotations made; engineers and `gridsight train` read them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api.crud import datasets as crud
from api.db.models_harvest import DatasetVersionRecord
from api.deps import AdminDep, ClockDep, SessionDep, WriteSessionDep
from api.routes.harvest import SupervisorReaderDep
from api.schemas_harvest import DatasetSource, DatasetVersionCreate, DatasetVersionList, DatasetVersionPublic

router = APIRouter(prefix="/datasets", tags=["datasets"])
MAX_LIST = 1000


def to_public(row: DatasetVersionRecord) -> DatasetVersionPublic:
    return DatasetVersionPublic(
        id=row.id, name=row.name, version=row.version, fingerprint=row.fingerprint, source=DatasetSource(row.source),
        images=row.images, instances=row.instances, classes=row.classes, cameras=row.cameras, splits=row.splits,
        harvest_frame_ids=row.harvest_frame_ids, path=row.path, created_at=row.created_at, created_by=row.created_by,
    )


@router.post(
    "",
    response_model=DatasetVersionPublic,
    status_code=201,
    summary="Record a dataset version",
    description="What an import of annotations (Label Studio, COCO, YOLO, CVAT) made: fingerprint, counts per "
    "class and camera, splits, the harvest frames it came from. The same name, version and fingerprint again "
    "answers 200 with the stored record. Role: admin.",
    responses={200: {"description": "Recorded before with the same fingerprint: the stored record"},
               409: {"description": "The name and version exist with another fingerprint"}},
)
def post_dataset(body: DatasetVersionCreate, session: WriteSessionDep, admin: AdminDep, clock: ClockDep,
                 response: Response) -> DatasetVersionPublic:
    try:
        record, created = crud.create(session, body, admin.name, clock())
    except crud.DatasetConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if not created:
        response.status_code = 200
    return to_public(record)


@router.get(
    "",
    response_model=DatasetVersionList,
    summary="Dataset versions, newest first",
    description="Role: supervisor or admin (anonymous in dev mode).",
)
def get_datasets(session: SessionDep, _reader: SupervisorReaderDep,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="At most this many")] = 100,
                 ) -> DatasetVersionList:
    return DatasetVersionList(items=[to_public(r) for r in crud.list_versions(session, limit)])
