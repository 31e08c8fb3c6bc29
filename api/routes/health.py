"""Liveness plus a database round trip, for load balancers and the CLI."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.db import ping
from api.deps import EngineDep
from api.schemas import HealthPublic

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get(
    "/health",
    response_model=HealthPublic,
    response_model_exclude_none=True,
    summary="Service health",
    responses={503: {"model": HealthPublic, "description": "A component is failing"}},
)
def health(engine: EngineDep) -> HealthPublic | JSONResponse:
    try:
        ping(engine)
    except (SQLAlchemyError, OSError) as exc:
        # The exception text can carry the database URL (and its password): log it, don't return it.
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        body = HealthPublic(status="degraded", database="unavailable", detail=f"database: {type(exc).__name__}")
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthPublic(status="ok", database="ok")
