"""The operations-centre dashboard: server-rendered page shells (Jinja2) plus
a small vanilla-JS layer that reads the JSON API with the operator's token.

Pages hold no order data themselves: the browser fetches everything from
``/api/v1`` with ``Authorization: Bearer <token>`` (kept in localStorage), so
the pages can be public while the data stays behind the API's roles and grid
scope. Language: ``?lang=zh|en`` (remembered in a cookie), else the browser's
Accept-Language, else Chinese. Everything is served from the package
directory; nothing comes from a CDN."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path as PathParam, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from api.dashboard.i18n import HTML_LANG, STRINGS, pick_language
from api.deps import ReaderDep

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "dashboard"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_URL = "/dashboard/static"
LANG_COOKIE = "gridsight_lang"

# Pages only talk to this origin; the token lives in localStorage, so no inline script may run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; "
    "form-action 'self'"
)

# Pages that draw the district map; with GRIDSIGHT_MAP_TILES set (and only then) they may load its images.
MAP_PAGES = frozenset({"map", "live"})


def csp_for(page: str, tiles_origin: str | None) -> str:
    if page not in MAP_PAGES or not tiles_origin:
        return CSP
    return CSP.replace("img-src 'self' blob: data:;", f"img-src 'self' blob: data: {tiles_origin};")


router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

PAGES = {
    "live": "live.html",
    "map": "map.html",
    "orders": "orders.html",
    "order": "order.html",
    "stats": "stats.html",
    "cameras": "cameras.html",
    "zones": "zones.html",
    "models": "models.html",
}
NAV = [("live", "/dashboard", "nav.live"), ("map", "/dashboard/map", "nav.map"), ("orders", "/dashboard/orders", "nav.orders"),
       ("stats", "/dashboard/stats", "nav.stats"), ("cameras", "/dashboard/cameras", "nav.cameras"), ("models", "/dashboard/models", "nav.models")]


@functools.cache
def asset_version() -> str:
    """Changes whenever a static file does, so browsers never run a stale script
    (computed once, on the first page served)."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]



def _strings_json(lang: str) -> str:
    # Inside <script type="application/json">: "</" must not close the element.
    return json.dumps(STRINGS[lang], ensure_ascii=False).replace("</", "<\\/")


def _render(request: Request, page: str, title_key: str, **extra: str) -> Response:
    query_lang = request.query_params.get("lang")
    lang = pick_language(query_lang, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    strings = STRINGS[lang]
    settings = request.app.state.settings
    nav_section = "orders" if page == "order" else ("cameras" if page == "zones" else page)
    context = {
        "t": strings,
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "html_lang": HTML_LANG[lang],
        "page": page,
        "title": strings[title_key].format(**extra) if extra else strings[title_key],
        "nav": [(key, href, strings[label], key == nav_section) for key, href, label in NAV],
        "static": STATIC_URL,
        "version": asset_version(),
        "strings_json": _strings_json(lang),
        "site_timezone": settings.site_timezone,  # core.js shows every time in the site's zone (docs/time.md)
        "map_tiles": settings.map_tiles or "",
        **extra,
    }
    response = templates.TemplateResponse(request, PAGES[page], context)
    response.headers["Content-Security-Policy"] = csp_for(page, settings.map_tiles_origin)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-cache"
    if query_lang and query_lang.strip().lower()[:2] in STRINGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard", response_class=HTMLResponse)
@router.get("/dashboard/live", response_class=HTMLResponse)  # the name the wall's browser is pointed at
def live_page(request: Request) -> Response:
    return _render(request, "live", "nav.live")


@router.get("/dashboard/map", response_class=HTMLResponse)
def map_page(request: Request) -> Response:
    return _render(request, "map", "nav.map")


@router.get("/dashboard/orders", response_class=HTMLResponse)
def orders_page(request: Request) -> Response:
    return _render(request, "orders", "nav.orders")


@router.get("/dashboard/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)]) -> Response:
    return _render(request, "order", "detail.title", order_id=str(order_id))


@router.get("/dashboard/stats", response_class=HTMLResponse)
def stats_page(request: Request) -> Response:
    return _render(request, "stats", "nav.stats")


@router.get("/dashboard/cameras", response_class=HTMLResponse)
def cameras_page(request: Request) -> Response:
    return _render(request, "cameras", "nav.cameras")


@router.get("/dashboard/cameras/{camera_id}/zones", response_class=HTMLResponse)
def zones_page(request: Request, camera_id: Annotated[str, PathParam(min_length=1, max_length=64)]) -> Response:
    return _render(request, "zones", "zones.title", camera=camera_id)


@router.get("/dashboard/models", response_class=HTMLResponse)
def models_page(request: Request) -> Response:
    return _render(request, "models", "nav.models")


# The pages cannot know the caller's role when they are rendered (the token lives in the browser's
# localStorage), so a page that offers controls only some roles may use asks this.
whoami_router = APIRouter(prefix="/api/v1", tags=["auth"])


class WhoamiPublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="The token's name (in dev mode 'dev-mode' or 'anonymous')")
    role: str = Field(pattern="^(operator|supervisor|admin)$", description="The token's role: operator, supervisor or admin")
    read_only: bool = Field(description="True for an anonymous reader in dev mode: it may read but change nothing")
    grids: list[str] | None = Field(max_length=100_000, description="An operator's grid cells; null: every cell")


@whoami_router.get("/whoami", response_model=WhoamiPublic, summary="Who the caller's token is",
                   description="The name, role and grid cells of the bearer token, for pages that show a control only "
                   "to the roles that may use it (the API still checks every call). Role: operator+.")
async def whoami(reader: ReaderDep) -> WhoamiPublic:
    return WhoamiPublic(name=reader.name, role=reader.role.value, read_only=reader.read_only,
                        grids=sorted(reader.grids) if reader.grids is not None else None)


def install(app: FastAPI) -> None:
    """Pages and their static files (mounted from the package directory, so an
    installed package serves them as well as a checkout), and the pages' who-am-I read."""
    app.include_router(router)
    app.include_router(whoami_router)
    app.mount(STATIC_URL, StaticFiles(directory=str(STATIC_DIR)), name="dashboard-static")
