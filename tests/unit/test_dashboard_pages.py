"""The dashboard pages and their static files, served by the API process
itself: every page renders in both languages, assets exist and stay small,
nothing is loaded from another origin, and the pages carry no data."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.dashboard.i18n import STRINGS
from api.main import create_app
from api.routes.dashboard import STATIC_DIR, TEMPLATES_DIR
from tests.support.ops import secured_settings

REPO = Path(__file__).resolve().parents[2]
PAGES = ["/dashboard", "/dashboard/orders", "/dashboard/orders/7", "/dashboard/stats", "/dashboard/cameras",
         "/dashboard/cameras/street-01/zones"]
STATIC_BUDGET_BYTES = 300 * 1024


def test_root_redirects_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/dashboard"


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages(client: TestClient, path: str, lang: str) -> None:
    response = client.get(path, params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    strings = STRINGS[lang]
    assert f'data-lang="{lang}"' in html
    assert strings["nav.live"] in html and strings["app.title"] in html
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # Every script and stylesheet the page names is served from this process.
    for asset in re.findall(r'(?:src|href)="(/dashboard/static/[^"?]+)', html):
        assert client.get(asset).status_code == 200, asset
    # No inline script may run under the CSP: only JSON data and src= scripts.
    for attrs in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attrs or 'type="application/json"' in attrs


def test_language_is_remembered_in_a_cookie(client: TestClient) -> None:
    first = client.get("/dashboard", params={"lang": "en"})
    assert "gridsight_lang=en" in first.headers["set-cookie"]
    again = client.get("/dashboard/orders")  # the client keeps the cookie
    assert STRINGS["en"]["orders.title"] in again.text
    chinese = client.get("/dashboard/orders", params={"lang": "zh"})
    assert STRINGS["zh"]["orders.title"] in chinese.text


def test_default_language_follows_the_browser(tmp_path: Path) -> None:
    from tests.support.orders import make_settings

    with TestClient(create_app(make_settings(tmp_path))) as fresh:
        assert 'data-lang="zh"' in fresh.get("/dashboard", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
        assert 'data-lang="en"' in fresh.get("/dashboard", headers={"Accept-Language": "en-US,en"}).text
        assert 'data-lang="zh"' in fresh.get("/dashboard", headers={"Accept-Language": "fr"}).text


def test_page_values_are_escaped(client: TestClient) -> None:
    html = client.get("/dashboard/cameras/%3Cscript%3Ex/zones").text
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_bad_page_ids_are_refused(client: TestClient) -> None:
    assert client.get("/dashboard/orders/0").status_code == 422
    assert client.get("/dashboard/orders/abc").status_code == 422
    assert client.get("/dashboard/static/nope.js").status_code == 404
    assert client.get("/dashboard/static/../i18n.py").status_code == 404


def test_pages_open_without_a_token_but_data_does_not(tmp_path: Path) -> None:
    with TestClient(create_app(secured_settings(tmp_path))) as secured:
        assert secured.get("/dashboard").status_code == 200
        assert secured.get("/dashboard/static/core.js").status_code == 200
        assert secured.get("/api/v1/work-orders").status_code == 401


def test_pages_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/dashboard")]
    assert "/api/v1/cameras/{camera_id}/snapshot" in paths


def test_static_files_are_small_and_local() -> None:
    files = [p for p in STATIC_DIR.iterdir() if p.is_file()]
    names = {p.name for p in files}
    assert {"core.js", "charts.js", "live.js", "orders.js", "order.js", "stats.js", "cameras.js", "zones.js",
            "dashboard.css", "favicon.svg"} <= names
    assert sum(p.stat().st_size for p in files) < STATIC_BUDGET_BYTES
    for path in files + list(TEMPLATES_DIR.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        # The only absolute URL allowed is the SVG namespace (an identifier, never fetched).
        urls = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert urls == set(), f"{path.name} refers to another origin: {urls}"
        assert "innerHTML" not in text and "eval(" not in text, path.name


def test_every_page_script_is_referenced_by_a_template() -> None:
    templates = " ".join(p.read_text(encoding="utf-8") for p in TEMPLATES_DIR.glob("*.html"))
    for script in STATIC_DIR.glob("*.js"):
        assert f"/{script.name}?" in templates, script.name


def test_package_data_ships_the_dashboard() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["api.dashboard"]
    base = REPO / "api" / "dashboard"
    shipped = {p for pattern in patterns for p in base.glob(pattern) if p.is_file()}
    needed = {p for p in base.rglob("*") if p.is_file() and p.suffix in {".html", ".js", ".css", ".svg"}}
    assert needed and needed <= shipped
