"""Liveness plus a database round trip, for load balancers and the CLI.

With the Redis ingest enabled the report also lists its components (Redis,
ingest lag and pending count); a degraded component makes the status
"degraded" but keeps HTTP 200, because this process can still serve reads and
HTTP filing. Only an unreachable database answers 503."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from api.db.engine import ping
from api.deps import EngineDep
from api.schemas import HealthPublic

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class HealthReport(HealthPublic):
    components: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="Only with the Redis ingest enabled: redis and ingest, each with 'status' ('ok' or 'degraded'), "
        "'detail', and for the ingest 'lag' (entries not yet delivered) and 'pending' (delivered, not acked)",
    )


def _components(request: Request) -> dict[str, dict[str, Any]] | None:
    ingestor = getattr(request.app.state, "ingest", None)
    if ingestor is None:
        return None
    ingest = ingestor.health()
    redis_ok = ingestor.status.redis_ok
    return {
        "redis": {"status": "degraded" if redis_ok is False else "ok",
                  "detail": "unreachable" if redis_ok is False else None},
        "ingest": ingest,
    }


@router.get(
    "/health",
    response_model=HealthReport,
    response_model_exclude_none=True,
    summary="Service health",
    responses={503: {"model": HealthReport, "description": "The database is failing"}},
)
def health(engine: EngineDep, request: Request) -> HealthReport | JSONResponse:
    components = _components(request)
    degraded = [name for name, c in (components or {}).items() if c.get("status") != "ok"]
    try:
        ping(engine)
    except (SQLAlchemyError, OSError) as exc:
        # The exception text can carry the database URL (and its password): log it, don't return it.
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        body = HealthReport(status="degraded", database="unavailable", detail=f"database: {type(exc).__name__}",
                            components=components)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    if degraded:
        detail = "; ".join(f"{n}: {components[n].get('detail') or 'degraded'}" for n in degraded)
        return HealthReport(status="degraded", database="ok", detail=detail, components=components)
    return HealthReport(status="ok", database="ok", components=components)
