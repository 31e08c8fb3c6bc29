"""The application factory. Nothing is created at import time; each app gets
its own engine and evidence store, so tests can run several side by side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from api.db import make_engine, prepare_storage, session_factory, writer_engine
from api.evidence import EvidenceStore
from api.routes import cameras, health, work_orders
from api.settings import Settings

API_V1 = "/api/v1"

DESCRIPTION = """\
GridSight turns camera detections into city-management work orders.

* **Workers** `POST /api/v1/work-orders` (idempotent: send an `Idempotency-Key`) and
  `PUT /api/v1/cameras/{camera_id}/status`.
* **Dashboards** list and read work orders, download evidence, and watch camera status.

Times are ISO 8601 in UTC with an explicit offset. When the server has a token configured,
writes need `Authorization: Bearer <token>`.
"""


def _clean_error(error: dict[str, Any]) -> dict[str, Any]:
    # Echoing "input" back could return megabytes of base64 (or a credential someone
    # pasted), so only location, message and type leave the server.
    clean = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
    ctx = error.get("ctx")
    if isinstance(ctx, dict):
        clean["ctx"] = {k: v if isinstance(v, (str, int, float, bool)) else str(v) for k, v in ctx.items()}
    return clean


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": [_clean_error(e) for e in exc.errors()]}, status_code=422)


async def _data_error(_request: Request, _exc: Exception) -> JSONResponse:
    # PostgreSQL refuses some values that pass validation (NUL characters in text, for
    # one); that is bad input, not a server fault. The value itself is not echoed.
    return JSONResponse(
        {"detail": "a value in this request cannot be stored (it contains NUL characters or is out of range)"},
        status_code=422,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    engine = make_engine(settings.database_url, sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s)
    store = EvidenceStore(settings.evidence_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Directories and tables are made here, not at import or construction time.
        await run_in_threadpool(prepare_storage, engine)
        await run_in_threadpool(store.prepare)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="GridSight API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "work-orders", "description": "Cases created from video events, and their evidence"},
            {"name": "cameras", "description": "Connection state of each camera, as the workers see it"},
            {"name": "health", "description": "Liveness and database reachability"},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.write_sessions = session_factory(writer_engine(engine))
    app.state.evidence_store = store

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.include_router(health.router)
    app.include_router(work_orders.router, prefix=API_V1)
    app.include_router(cameras.router, prefix=API_V1)
    return app
