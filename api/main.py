"""The application factory. Nothing is created at import time; each app gets
its own engine and evidence store, so tests can run several side by side."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from api import metrics as api_metrics
from api.auth import TokenRegistry, check_secrets
from api.db.engine import make_engine, session_factory, writer_engine
from api.db.migrate import prepare_storage
from api.evidence import EvidenceStore
from api.guard import RequestGuard
from api.ingest import start_ingest
from api.jobs import job_loop
from api.db.models import utcnow
from api.openapi import complete_spec
from api.openapi import install as install_openapi_truths
from api.openapi import install_docs
from api.routes import cameras, dashboard, events, grid, handling, health, snapshots, stats, webhooks, work_orders
from api.routes import datasets, harvest
from api.routes import models as model_registry
from api.services.filing import FilingService, count_refused_before_filing
from api.settings import Settings, load_settings
from api.workflow import TransitionError

API_V1 = "/api/v1"

DESCRIPTION = """\
GridSight turns camera detections into city-management work orders (工单) and runs them
through the operations centre's workflow.

* **Workers** (role `worker`) `POST /api/v1/work-orders` (idempotent: send an `Idempotency-Key`),
  `PUT /api/v1/cameras/{camera_id}/status`, `POST /api/v1/events/end` (camera re-check) and
  `POST /api/v1/events/evidence` (an order's files sent after it, e.g. an emergency order's clip).
* **Operators** list, read and handle the orders of their grid cells: transitions, comments, verdicts.
  **Supervisors** see every grid and make the supervisor moves; **admins** also maintain cameras, zones,
  grid cells, teams and webhooks.
* **Dashboards** use `GET /api/v1/events/stream` (Server-Sent Events) and `/api/v1/stats/*`.

Auth: `Authorization: Bearer <token>`, tokens configured in `GRIDSIGHT_TOKENS`
(`{"<token>": {"role": "operator", "name": "li.wei", "grids": ["cell-0274"]}}`). In dev mode
(`GRIDSIGHT_DEV_MODE=true`) a request without a token acts as admin.

Errors are JSON with a `detail`; an illegal transition's 409 also names `current` and `allowed`.
Times are ISO 8601 in UTC with an explicit offset.
"""


def _clean_error(error: dict[str, Any]) -> dict[str, Any]:
    # Echoing "input" back could return megabytes of base64 (or a credential someone
    # pasted), so only location, message and type leave the server.
    clean = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
    ctx = error.get("ctx")
    if isinstance(ctx, dict):
        clean["ctx"] = {k: v if isinstance(v, (str, int, float, bool)) else str(v) for k, v in ctx.items()}
    return clean


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    count_refused_before_filing(request.app, request.method, request.url.path)
    return JSONResponse({"detail": [_clean_error(e) for e in exc.errors()]}, status_code=422)


async def _data_error(_request: Request, _exc: Exception) -> JSONResponse:
    # PostgreSQL refuses some values that pass validation (NUL characters in text, for
    # one); that is bad input, not a server fault. The value itself is not echoed.
    return JSONResponse(
        {"detail": "a value in this request cannot be stored (it contains NUL characters or is out of range)"},
        status_code=422,
    )


async def _transition_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TransitionError)
    body = {"detail": exc.message, "current": exc.current.value, "allowed": exc.allowed}
    return JSONResponse(body, status_code=exc.status_code)


def _openapi_with_plain_422(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Our 422s carry either FastAPI's list of field errors or one sentence (a check
    the schema cannot express, e.g. "'since' is after 'until'"): document both."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes, tags=app.openapi_tags)
            error = spec.get("components", {}).get("schemas", {}).get("HTTPValidationError")
            if error is not None:
                error["properties"]["detail"] = {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
                    ],
                    "title": "Detail",
                }
            app.openapi_schema = complete_spec(spec, app)  # 401/403/413 wherever they can happen
        return app.openapi_schema

    return openapi


OPENAPI_TAGS = [
    {"name": "work-orders", "description": "Cases created from video events, and their evidence"},
    {"name": "cameras", "description": "Camera registry and zones, and each camera's connection state"},
    {"name": "events", "description": "Live feed (SSE) and the workers' event-ended messages"},
    {"name": "grid", "description": "Grid cells and teams: the routing map"},
    {"name": "stats", "description": "Counts for charts and baseline warnings"},
    {"name": "webhooks", "description": "Signed outgoing webhooks for city hotline systems"},
    {"name": "harvest", "description": "Frames worth labelling that workers harvest, and their counts"},
    {"name": "datasets", "description": "Dataset versions made from imported annotations"},
    {"name": "models", "description": "Model registry: versions, comparisons, promotion to camera groups, rollback"},
    {"name": "health", "description": "Liveness and database reachability"},
]


def _lifespan(settings: Settings, engines: tuple[Engine, Engine], store: EvidenceStore,
              clock: Callable[[], dt.datetime], webhook_client: httpx.Client | None):
    """Start-up and shut-down: storage, the jobs, the Redis ingest; everything they opened is closed."""
    engine, write_engine = engines

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Directories and the schema (alembic upgrade head) are made here, not at import or construction.
        await run_in_threadpool(prepare_storage, engine)
        await run_in_threadpool(store.prepare)
        client = webhook_client or httpx.Client(follow_redirects=False)
        jobs = None
        if settings.job_interval_s > 0:
            jobs = asyncio.create_task(job_loop(app.state.write_sessions, settings, clock, client))
        ingestor = start_ingest(app)
        try:
            yield
        finally:
            if ingestor is not None:
                await run_in_threadpool(ingestor.stop)
            if jobs is not None:
                jobs.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await jobs
            if webhook_client is None:
                client.close()
            write_engine.dispose()
            engine.dispose()

    return lifespan


def _install(app: FastAPI) -> None:
    """Error handlers, middleware and routers."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(TransitionError, _transition_error)
    install_openapi_truths(app)  # a 405 lists every method of its path in Allow
    # Token and size checks before any body is read; inside the metrics middleware, so refusals are counted.
    app.add_middleware(RequestGuard)
    api_metrics.install(app)
    app.include_router(health.router)
    for module in (work_orders, handling, cameras, snapshots, grid, events, stats, webhooks, harvest, datasets,
                   model_registry):
        app.include_router(module.router, prefix=API_V1)
    dashboard.install(app)  # the operations-centre pages at /dashboard (and / redirects there)
    install_docs(app)  # /docs and /redoc from the package's own files, under the dashboard's CSP (no CDN)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    webhook_client: httpx.Client | None = None,
) -> FastAPI:
    """Build the app. ``clock`` is the server's notion of now (tests inject a fake one);
    ``webhook_client`` sends webhooks (tests pass one with a mock transport). The Redis
    Stream ingest runs when ``settings.redis_url`` is set (``GRIDSIGHT_REDIS_URL``).

    Raises :class:`api.settings.SettingsInvalid` (one line per problem, never a value) when
    ``GRIDSIGHT_*`` variables do not parse, and :class:`api.auth.InsecureSettings` outside dev
    mode when a secret is empty or a well-known default."""
    settings = settings if settings is not None else load_settings()
    check_secrets(settings)
    engine = make_engine(settings.database_url, sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s)
    write_engine = writer_engine(engine)  # on SQLite: the process's one writer connection
    store = EvidenceStore(settings.evidence_dir)

    # docs_url/redoc_url None: FastAPI's pages load from a CDN; install_docs serves them from the package.
    app = FastAPI(title="GridSight API", version="0.2.0", description=DESCRIPTION, openapi_tags=OPENAPI_TAGS,
                  docs_url=None, redoc_url=None,
                  lifespan=_lifespan(settings, (engine, write_engine), store, clock, webhook_client))
    app.openapi = _openapi_with_plain_422(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.write_sessions = session_factory(write_engine)
    app.state.evidence_store = store
    app.state.tokens = TokenRegistry(settings)
    app.state.clock = clock
    _install(app)
    # Both transports (HTTP routes, Redis ingest) file through this one service.
    app.state.filing = FilingService(store, settings, clock, app.state.metrics)
    return app
