"""Dependencies shared by the routes, as ``Annotated`` aliases.

Authorisation is a seam: today writers need the optional bearer token and
readers need nothing. Roles (grid manager, dispatcher, ...) plug in here by
returning a richer :class:`Principal` without touching the routes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.evidence import EvidenceStore
from api.settings import Settings


@dataclass(frozen=True)
class Principal:
    name: str
    can_write: bool


ANONYMOUS = Principal(name="anonymous", can_write=False)
_bearer = HTTPBearer(auto_error=False, description="Required for POST/PUT when GRIDSIGHT_API_TOKEN is set")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def _session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


def get_session(request: Request) -> Iterator[Session]:
    yield from _session(request.app.state.sessions)


def get_write_session(request: Request) -> Iterator[Session]:
    # On SQLite this session starts with BEGIN IMMEDIATE (see api.db.writer_engine).
    yield from _session(request.app.state.write_sessions)


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]


def get_evidence_store(request: Request) -> EvidenceStore:
    return request.app.state.evidence_store


EvidenceStoreDep = Annotated[EvidenceStore, Depends(get_evidence_store)]


def require_reader() -> Principal:
    return ANONYMOUS


def require_writer(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if settings.api_token is None:
        return Principal(name="dev-open", can_write=True)
    expected = settings.api_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    # Constant-time compare: the token must not leak through response timing.
    if credentials is None or not secrets.compare_digest(given, expected):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid bearer token (send 'Authorization: Bearer <token>')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Principal(name="token", can_write=True)


ReaderDep = Annotated[Principal, Depends(require_reader)]
WriterDep = Annotated[Principal, Depends(require_writer)]
