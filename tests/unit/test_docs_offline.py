"""The API docs work offline (issue 17 §1): /docs (Swagger UI) and /redoc (ReDoc) are
pages of this server that reference nothing but its own files, shipped in the package
(api/static/apidocs, pinned in VENDORED.json, with their licences), under the
dashboard's CSP. The browser half is tests/integration/test_offline_pages.py."""

from __future__ import annotations

import glob
import hashlib
import json
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.openapi import DOCS_ASSETS_DIR, REDOC_STYLE_HASHES
from api.routes.dashboard import CSP
from tests.support.ops import secured_settings

REPO = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((DOCS_ASSETS_DIR / "VENDORED.json").read_text(encoding="utf-8"))["packages"]
# What a page (or a vendored file) would fetch from outside if FastAPI's defaults or a viewer's came back.
OUTSIDE = re.compile(r"cdn\.jsdelivr\.net|unpkg\.com|cdnjs|cdn\.redoc\.ly|fonts\.(googleapis|gstatic)\.com")


class _Refs(HTMLParser):
    """Every URL a page loads (script src, link href, img src) and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.elements: dict[str, dict[str, str]] = {}
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if "id" in attributes:
            self.elements[attributes["id"]] = attributes
        for name in ("src", "href"):
            if name in attributes and tag in ("script", "link", "img", "iframe"):
                self.urls.append(attributes[name])
        if tag == "script":
            self._in_script = "src" not in attributes
            assert not any(k.startswith("on") for k in attributes), attributes
        if tag == "style" or "style" in attributes:
            self.inline_scripts.append(f"<{tag}> style")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _page(client: TestClient, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    refs = _Refs()
    refs.feed(response.text)
    return response, refs


@pytest.fixture
def docs_client(tmp_path: Path):
    # Secured (tokens, not dev mode): the docs, like the dashboard's pages, need no token.
    # No lifespan: the pages need no database.
    return TestClient(create_app(secured_settings(tmp_path)))


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_this_servers_own_files(docs_client: TestClient, path: str) -> None:
    response, refs = _page(docs_client, path)
    assert not OUTSIDE.search(response.text)
    assert refs.inline_scripts == []  # no inline script or style: the CSP allows none
    scripts = [u for u in refs.urls if ".js" in u]
    assert len(scripts) == 2, refs.urls  # the viewer's bundle and our file that starts it
    for url in refs.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = docs_client.get(url)
        assert asset.status_code == 200, url
        if ".js" in url:
            assert "javascript" in asset.headers["content-type"], url
        if ".css" in url:
            assert asset.headers["content-type"].startswith("text/css"), url
    assert response.headers["x-content-type-options"] == "nosniff"


def test_swagger_ui_runs_under_exactly_the_dashboards_csp(docs_client: TestClient) -> None:
    response, refs = _page(docs_client, "/docs")
    assert response.headers["content-security-policy"] == CSP
    assert refs.elements["swagger-ui"]["data-openapi-url"] == "/openapi.json"


def test_redoc_adds_only_a_per_response_style_nonce_its_style_hashes_and_a_blob_worker(docs_client) -> None:
    first, refs = _page(docs_client, "/redoc")
    second, _ = _page(docs_client, "/redoc")
    nonce = refs.elements["redoc"]["data-style-nonce"]
    assert len(nonce) >= 16
    csp = first.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    dashboard = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives.pop("style-src") == " ".join(["'self'", f"'nonce-{nonce}'", *(f"'{h}'" for h in REDOC_STYLE_HASHES)])
    assert directives.pop("worker-src") == "'self' blob:"
    dashboard.pop("style-src")
    assert directives == dashboard  # script-src stays 'self' alone, and so does everything else
    assert f"nonce-{nonce}" not in second.headers["content-security-policy"]  # a fresh nonce each time
    assert refs.elements["redoc"]["data-spec-url"] == "/openapi.json"


def test_openapi_json_is_still_fastapis_document(docs_client: TestClient) -> None:
    spec = docs_client.get("/openapi.json").json()
    assert spec["info"]["title"] == "GridSight API"
    assert "/docs" not in spec["paths"] and "/redoc" not in spec["paths"]


@pytest.mark.parametrize("package", sorted(MANIFEST))
def test_vendored_files_are_the_pinned_ones_with_their_licences(package: str) -> None:
    entry = MANIFEST[package]
    folder = DOCS_ASSETS_DIR / package
    assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), entry["version"]  # pinned, not a range
    assert sorted(p.name for p in folder.iterdir()) == sorted(entry["files"])  # nothing unlisted
    for name, sha256 in entry["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha256, name
    assert entry["licence_files"] and set(entry["licence_files"]) <= set(entry["files"])
    licence = (folder / "LICENSE").read_text(encoding="utf-8")
    assert {"Apache-2.0": "Apache License", "MIT": "MIT License"}[entry["license"]] in licence
    for patch in entry.get("patches", []):  # undoing each patch gives the package's own file back
        shipped = (folder / patch["file"]).read_text(encoding="utf-8")
        assert shipped.count(patch["with"]) == 1 and patch["replace"] not in shipped
        upstream = shipped.replace(patch["with"], patch["replace"]).encode("utf-8")
        assert hashlib.sha256(upstream).hexdigest() == patch["upstream_sha256"]


def test_no_vendored_file_reaches_outside() -> None:
    for path in DOCS_ASSETS_DIR.rglob("*"):
        if path.suffix in (".js", ".css"):
            assert not OUTSIDE.search(path.read_text(encoding="utf-8")), path
    # Swagger UI's default validator badge is an image from validator.swagger.io: switched off.
    assert re.search(r"validatorUrl:\s*null", (DOCS_ASSETS_DIR / "swagger-init.js").read_text(encoding="utf-8"))


def test_the_package_data_ships_every_docs_asset() -> None:
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["api"]
    package_dir = REPO / "api"
    shipped = {Path(p) for pattern in patterns for p in glob.glob(str(package_dir / pattern)) if Path(p).is_file()}
    wanted = {p for p in DOCS_ASSETS_DIR.rglob("*") if p.is_file()}
    assert wanted and wanted <= shipped, sorted(str(p) for p in wanted - shipped)
