"""Checks made before a request's body is read (issue 14 §2).

FastAPI reads and parses a body before any dependency runs, so a route's token
check came after an anonymous client had uploaded (and the server had held)
as much as it liked. :class:`RequestGuard`, a plain ASGI middleware, looks at
every request that has a body before a byte of it is read:

* under ``/api/`` the bearer token must be valid (401 at once, the same answer
  the route would give), and the upload routes' role must match (403): workers
  (or admins) file orders, event ends, evidence follow-ups, camera status and snapshots, operators+
  post transitions, comments and verdicts;
* the body must fit the limit of its route class: ``max_snapshot_bytes`` for
  ``PUT /api/v1/cameras/{id}/snapshot``, ``max_evidence_body_bytes`` for the
  routes that carry base64 evidence (``POST /work-orders``,
  ``/work-orders/{id}/transitions``, ``/events/end``, ``/events/evidence``), ``max_model_upload_bytes``
  for a model upload and 2 MiB for a model's comparison (both admin; issue 18), ``max_json_body_bytes``
  for everything else. A Content-Length above it is refused before reading;
  a chunked body is counted as it streams in and refused the moment it passes.

Refusals are JSON ``{"detail"}`` with ``Connection: close``: the server stops
reading the rest of the upload instead of draining it. Requests without a
body pass untouched (the routes check their tokens as always)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal, Role
from api.deps import bearer_token, require_role, require_writer, resolve_principal
from api.services.filing import count_refused_before_filing
from api.settings import Settings

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_writer = require_writer
_operator = require_role(Role.OPERATOR, write=True)
_admin = require_role(Role.ADMIN, write=True)

# (method, path pattern) -> (route class, role check); paths without their trailing slash.
_ROUTES: list[tuple[str, re.Pattern[str], str, Callable[[Principal], Principal] | None]] = [
    ("PUT", re.compile(r"^/api/v1/cameras/[^/]+/snapshot$"), "snapshot", _writer),
    ("POST", re.compile(r"^/api/v1/work-orders$"), "evidence", _writer),
    ("POST", re.compile(r"^/api/v1/events/(end|evidence)$"), "evidence", _writer),
    ("POST", re.compile(r"^/api/v1/harvest/frames$"), "evidence", _writer),  # base64 JPEGs, issue 18
    ("POST", re.compile(r"^/api/v1/work-orders/[^/]+/transitions$"), "evidence", _operator),
    ("PUT", re.compile(r"^/api/v1/cameras/[^/]+/status$"), "json", _writer),
    ("POST", re.compile(r"^/api/v1/work-orders/[^/]+/(comments|verdict)$"), "json", _operator),
    ("POST", re.compile(r"^/api/v1/models$"), "model", _admin),
    ("PUT", re.compile(r"^/api/v1/models/[^/]+/[^/]+/comparison$"), "comparison", _admin),
]
_SETTING = {
    "snapshot": "GRIDSIGHT_MAX_SNAPSHOT_BYTES",
    "evidence": "GRIDSIGHT_MAX_EVIDENCE_BODY_BYTES",
    "json": "GRIDSIGHT_MAX_JSON_BODY_BYTES",
    "model": "GRIDSIGHT_MAX_MODEL_UPLOAD_BYTES",
    "comparison": "a model comparison's fixed 2 MiB",
}
MAX_COMPARISON_BYTES = 2 * 1024 * 1024  # `gridsight compare`'s JSON, PR curves included, is far below


def route_class(method: str, path: str) -> tuple[str, Callable[[Principal], Principal] | None]:
    """The size class of a request ('snapshot', 'evidence', 'model', 'comparison' or 'json') and the role check
    of its route, if it is an upload route."""
    path = path.rstrip("/") or "/"
    for route_method, pattern, kind, check in _ROUTES:
        if method == route_method and pattern.match(path):
            return kind, check
    return "json", None


def body_limit(settings: Settings, kind: str) -> int:
    if kind == "snapshot":
        return min(settings.max_snapshot_bytes, settings.max_evidence_bytes)
    if kind == "evidence":
        return settings.max_evidence_body_bytes
    if kind == "model":
        return settings.max_model_upload_bytes
    if kind == "comparison":
        return MAX_COMPARISON_BYTES
    return settings.max_json_body_bytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit; an HTTPException, so
    FastAPI's body reader and the routes let it through to a 413 response."""

    def __init__(self, kind: str, limit: int) -> None:
        super().__init__(
            413, f"request body larger than the {limit}-byte limit of this route ({_SETTING[kind]})",
            headers={"Connection": "close"},
        )


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and (declared is None or declared.strip() in ("", "0")):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings: Settings = state.settings
        method, path = scope["method"], scope["path"]
        kind, check = route_class(method, path)
        if path.startswith("/api/"):
            try:
                principal = resolve_principal(state.tokens, settings, bearer_token(headers.get("authorization")))
                if check is not None:
                    check(principal)  # the route's own role check, read-only (anonymous dev) callers included
                elif principal.read_only and method in _WRITES:
                    raise HTTPException(401, "this change needs a bearer token (send 'Authorization: Bearer <token>')",
                                        headers={"WWW-Authenticate": "Bearer"})
            except HTTPException as exc:
                await _refuse(scope, receive, send, exc)
                return
        limit = body_limit(settings, kind)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            count_refused_before_filing(scope["app"], method, path)
            await _refuse(scope, receive, send, BodyTooLarge(kind, limit))
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    count_refused_before_filing(scope["app"], method, path)
                    raise BodyTooLarge(kind, limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:  # raised where no exception handler turned it into the 413
            if started:
                raise
            await _refuse(scope, receive, send, exc)


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    headers = {**(exc.headers or {}), "Connection": "close"}
    await JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)(scope, receive, send)
