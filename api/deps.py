"""Dependencies shared by the routes, as ``Annotated`` aliases.

Authorisation: every route names the least role it needs through one of the
aliases at the bottom (``WriterDep`` for camera workers, ``ReaderDep`` for
people reading orders, ``OperatorDep``/``SupervisorDep``/``AdminDep`` for
people changing things). Grid scope is applied by the CRUD queries with the
:class:`~api.auth.Principal` the alias returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth import DEV_ADMIN, DEV_READER, Principal, Role, TokenRegistry
from api.evidence import EvidenceStore
from api.services.filing import FilingService
from api.settings import Settings

_bearer = HTTPBearer(
    auto_error=False,
    description="Bearer token from GRIDSIGHT_TOKENS (roles worker, operator, supervisor, admin). "
    "Optional in dev mode.",
)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def _session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


def get_session(request: Request) -> Iterator[Session]:
    yield from _session(request.app.state.sessions)


async def get_write_session(request: Request) -> AsyncIterator[Session]:
    """A write session, made and closed on the event loop (two fewer hand-offs to a worker
    thread per write). Making one does no I/O: it connects at its first statement, on the
    route's thread; on SQLite it then starts with BEGIN IMMEDIATE on the process's one writer
    connection (see api.db.engine.writer_engine)."""
    session = request.app.state.write_sessions()
    try:
        yield session
    finally:
        if not session.in_transaction():
            session.close()  # nothing to roll back: no I/O
        else:
            # A route left a transaction open: its rollback talks to the database, off the loop,
            # on a limiter of its own (like FastAPI's exits) so it never waits for a pool thread.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


# Requests running a write route at once, per process. The others wait without a thread, so
# the thread pool (40 threads) always has threads left for readers, /health, and for a writer
# to finish its response; a writer that waits holds neither a thread nor a connection. More
# would not write faster (SQLite has one writer; the GIL runs one thread's Python at a time)
# and would slow the one holding the write lock: 4 and 8 measured alike, 16 worse (api_load).
WRITE_CONCURRENCY = 4

SessionDep = Annotated[Session, Depends(get_session)]
# scope="function": the session (and any transaction left in it) ends before the response is sent.
WriteSessionDep = Annotated[
    Session, Depends(get_write_session, scope="function", max_concurrency=WRITE_CONCURRENCY)
]


async def get_evidence_store(request: Request) -> EvidenceStore:
    return request.app.state.evidence_store


EvidenceStoreDep = Annotated[EvidenceStore, Depends(get_evidence_store)]


async def get_filing(request: Request) -> FilingService:
    return request.app.state.filing


FilingDep = Annotated[FilingService, Depends(get_filing)]


Clock = Callable[[], dt.datetime]


async def get_clock(request: Request) -> Clock:
    # Injected at create_app so tests can move time without sleeping.
    return request.app.state.clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, read as HTTPBearer reads it
    (for api.guard, which checks it before the body is read); None when there is none."""
    scheme, _, credentials = (authorization or "").partition(" ")
    credentials = credentials.strip()
    return credentials if scheme.lower() == "bearer" and credentials else None


def resolve_principal(registry: TokenRegistry, settings: Settings, token: str | None) -> Principal:
    """Who a bearer token (or its absence) is; 401 for a token nobody has."""
    if token is not None:
        principal = registry.lookup(token)
        if principal is not None:
            return principal
        if settings.dev_mode and registry.empty:
            return DEV_ADMIN  # nothing configured to check against: the demo stays open
        raise _unauthorized("missing or invalid bearer token (send 'Authorization: Bearer <token>')")
    if settings.dev_mode:
        # With tokens configured, dev mode still lets anonymous clients read (as before roles existed).
        return DEV_ADMIN if registry.empty else DEV_READER
    raise _unauthorized("missing or invalid bearer token (send 'Authorization: Bearer <token>')")


async def get_principal(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    return resolve_principal(request.app.state.tokens, settings, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _forbidden(principal: Principal, needed: str) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN, f"{needed} needed; this token ({principal.name}) has role {principal.role.value}"
    )


def require_writer(principal: PrincipalDep) -> Principal:
    """Camera workers' writes: file orders, report camera status and event ends."""
    if principal.read_only:
        raise _unauthorized("missing or invalid bearer token (send 'Authorization: Bearer <token>')")
    if principal.role not in (Role.WORKER, Role.ADMIN):
        raise _forbidden(principal, "role worker (or admin)")
    return principal


def require_role(role: Role, *, write: bool) -> Callable[[Principal], Principal]:
    def dependency(principal: PrincipalDep) -> Principal:
        if write and principal.read_only:
            raise _unauthorized("this change needs a bearer token (send 'Authorization: Bearer <token>')")
        if not principal.at_least(role):
            raise _forbidden(principal, f"role {role.value} or higher")
        return principal

    return dependency


def on_event_loop(check: Callable[[Principal], Principal]) -> Callable[..., Any]:
    """``check`` as an async dependency, so FastAPI calls it on the event loop: a plain
    function dependency is handed to a worker thread and back, which under load costs
    more CPU than the check itself. ``check`` stays a plain function (api.guard calls it)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        return check(principal)

    dependency.__name__ = dependency.__qualname__ = getattr(check, "__name__", "role_check")
    dependency.__doc__ = check.__doc__
    dependency.__dict__.update(getattr(check, "__dict__", {}))  # markers such as every_role_may
    return dependency


ReaderDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.OPERATOR, write=False)))]
WriterDep = Annotated[Principal, Depends(on_event_loop(require_writer))]
OperatorDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.OPERATOR, write=True)))]
SupervisorDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.SUPERVISOR, write=True)))]
AdminDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.ADMIN, write=True)))]
AdminReaderDep = Annotated[Principal, Depends(on_event_loop(require_role(Role.ADMIN, write=False)))]
