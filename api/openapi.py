"""The OpenAPI document tells the whole truth (issue 14 §10).

The routes document what is particular to them (a 404 for a missing order, a 409
for a reused idempotency key); what every protected operation can answer is
added here from the route itself, so no operation can forget it:

* 401 on every operation that needs a bearer token (and the request guard's 401
  for a body sent without one);
* 403 where the token's role can be the wrong one (every protected operation but
  the zone listing, which every role may read);
* 400 on every operation with a JSON body (a body that is not even UTF-8 text);
* 413 on every operation with a request body (the guard's streaming size limit,
  naming the setting that sets it).

A 405 lists in ``Allow`` every method the path has, not only the first route's.

The docs pages (issue 17 §1): ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) are served
from assets vendored in the package (``api/static/apidocs``, pinned in its
VENDORED.json), never from a CDN, so they work on an isolated intranet. They run
under the dashboard's CSP: no inline script (each page starts its viewer from a file
and reads its settings from data attributes). Swagger UI needs nothing more. ReDoc adds
to ``style-src`` a per-response nonce (its styled-components) and the hashes of the one
fixed ``<style>`` its bundle writes, and ``worker-src blob:`` for its search index;
``script-src`` stays ``'self'``.
"""

from __future__ import annotations

import hashlib
import html
import secrets
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path

from api.deps import get_principal
from api.routes.dashboard import CSP

ERROR_SCHEMA = "ErrorDetail"
_GUARD_SETTING = {
    "snapshot": "GRIDSIGHT_MAX_SNAPSHOT_BYTES (or GRIDSIGHT_MAX_EVIDENCE_BYTES if lower)",
    "evidence": "GRIDSIGHT_MAX_EVIDENCE_BODY_BYTES",
    "json": "GRIDSIGHT_MAX_JSON_BODY_BYTES",
    "model": "GRIDSIGHT_MAX_MODEL_UPLOAD_BYTES",
    "comparison": "2 MiB, fixed",
}


def _calls(dependant: Any) -> set[Any]:
    found: set[Any] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.add(sub.call)
        found |= _calls(sub)
    return found


def _every_role_may(call: Any) -> bool:
    return bool(getattr(call, "every_role_may", False))


def _api_routes(app: FastAPI):
    """Every API route with its full path, as get_openapi sees them (FastAPI wraps included routers)."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if iter_contexts is None:  # older FastAPI: included routes are plain APIRoutes
        yield from (r for r in app.routes if isinstance(r, APIRoute))
        return
    for context in iter_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _add(responses: dict[str, Any], code: int, description: str) -> None:
    if str(code) in responses:
        return
    responses[str(code)] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}},
    }


def complete_spec(spec: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Add the responses every protected operation and every body can produce."""
    from api.guard import route_class

    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_SCHEMA, {
        "title": ERROR_SCHEMA,
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"title": "Detail", "description": "What went wrong, in one sentence"}},
        "description": "An error: `detail` says what went wrong (409s of transitions also name `current` and "
                       "`allowed`)",
    })
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        calls = _calls(route.dependant)
        secured = get_principal in calls
        role_gated = secured and not any(_every_role_may(call) for call in calls)
        for method in route.methods:
            operation = spec.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if secured:
                _add(responses, 401, "Bearer token missing or wrong")
            if role_gated:
                _add(responses, 403, "The token's role may not do this")
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                _add(responses, 400, "The body cannot be parsed at all (not UTF-8 text); malformed JSON is a 422")
            if "requestBody" in operation:
                kind, _check = route_class(method, route.path_format)
                _add(responses, 413, f"Request body larger than this route's limit ({_GUARD_SETTING[kind]})")
    return spec


@lru_cache(maxsize=512)
def _path_regex(path_format: str):
    return compile_path(path_format)[0]


def _methods_of(app: FastAPI, path: str) -> set[str]:
    methods: set[str] = set()
    routes = list(_api_routes(app)) + [r for r in app.routes if isinstance(r, Route)]
    for route in routes:
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if template and route.methods and _path_regex(template).match(path):
            methods |= set(route.methods)
    return methods


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 with every method of the path in ``Allow`` (Starlette names only the first route it tried,
    and FastAPI makes one route per method)."""
    methods = _methods_of(request.app, request.url.path)
    if not methods and isinstance(exc, StarletteHTTPException) and exc.headers:
        methods = {m.strip() for m in exc.headers.get("Allow", "").split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "Method Not Allowed"
    return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": ", ".join(sorted(methods))})


DOCS_ASSETS_DIR = Path(__file__).resolve().parent / "static" / "apidocs"
DOCS_ASSETS_URL = "/docs/assets"
OPENAPI_URL = "/openapi.json"

_DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="/dashboard/static/favicon.svg" type="image/svg+xml">
{head}
</head>
<body>
{body}
</body>
</html>
"""


@cache
def _asset(path: str) -> str:
    """A shipped file's URL, a digest of its bytes in the query: an upgrade is never served stale."""
    digest = hashlib.sha256((DOCS_ASSETS_DIR / path).read_bytes()).hexdigest()[:12]
    return html.escape(f"{DOCS_ASSETS_URL}/{path}?v={digest}")


# ReDoc's bundle writes one fixed <style> (perfect-scrollbar's CSS) as it loads, before it can be
# given a nonce; it is allowed by hash (its content, and the empty element it starts as). A new
# ReDoc version changes it: tests/integration/test_offline_pages.py fails on any CSP violation.
REDOC_STYLE_HASHES = ("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                      "sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc=")


def redoc_csp(style_nonce: str) -> str:
    """The dashboard's CSP, plus for ReDoc: ``<style>`` elements with this response's nonce (its
    styled-components) or the hashes above, and its search index in a ``blob:`` worker."""
    styles = " ".join([f"'nonce-{style_nonce}'", *(f"'{h}'" for h in REDOC_STYLE_HASHES)])
    if "style-src 'self';" not in CSP:  # pragma: no cover - the dashboard's CSP changed shape
        raise RuntimeError("the dashboard's CSP has no \"style-src 'self';\" to extend")
    return CSP.replace("style-src 'self';", f"style-src 'self' {styles}; worker-src 'self' blob:;")


def _docs_response(page: str, csp: str) -> HTMLResponse:
    response = HTMLResponse(page)
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-cache"
    return response


def swagger_ui_html(title: str) -> str:
    head = f'<link rel="stylesheet" href="{_asset("swagger-ui/swagger-ui.css")}">'
    body = (f'<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}"></div>\n'
            f'<script src="{_asset("swagger-ui/swagger-ui-bundle.js")}"></script>\n'
            f'<script src="{_asset("swagger-init.js")}"></script>')
    return _DOCS_PAGE.format(title=html.escape(f"{title} - Swagger UI"), head=head, body=body)


def redoc_html(title: str, style_nonce: str) -> str:
    body = (f'<div id="redoc" data-spec-url="{OPENAPI_URL}" data-style-nonce="{html.escape(style_nonce)}">'
            f'</div>\n<script src="{_asset("redoc/redoc.standalone.js")}"></script>\n'
            f'<script src="{_asset("redoc-init.js")}"></script>')
    return _DOCS_PAGE.format(title=html.escape(f"{title} - ReDoc"), head="", body=body)


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` from the package's own files (create FastAPI with docs_url=None,
    redoc_url=None, so its CDN pages are not there); ``/openapi.json`` stays FastAPI's."""

    async def swagger_ui(_request: Request) -> HTMLResponse:
        return _docs_response(swagger_ui_html(app.title), CSP)  # exactly the dashboard's

    async def redoc(_request: Request) -> HTMLResponse:
        nonce = secrets.token_urlsafe(18)
        return _docs_response(redoc_html(app.title, nonce), redoc_csp(nonce))

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=str(DOCS_ASSETS_DIR)), name="docs-assets")


def install(app: FastAPI) -> None:
    app.add_exception_handler(405, _method_not_allowed)
