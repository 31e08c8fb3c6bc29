"""The engineers' models page (/dashboard/models, issue 18): it renders in both languages
under the dashboard's CSP, sits in the navigation, every string it names exists in both
languages (the registry's statuses, audit actions and harvest reasons included), its
promote/rollback controls start hidden and are built only for an admin, and GET /whoami
tells the page which role its token has. The PR curves' point checks run under node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.contract.harvest import REASONS
from api.dashboard.i18n import LANGUAGES, STRINGS
from api.main import create_app
from api.routes.dashboard import STATIC_DIR, TEMPLATES_DIR
from tests.support.ops import ADMIN, OP_A, SUP, TOKENS, WORKER, secured_settings
from tests.support.orders import make_settings

PAGE_FILES = [TEMPLATES_DIR / "models.html", STATIC_DIR / "models.js", STATIC_DIR / "prcurves.js"]
MODEL_STATUSES = ["candidate", "active", "canary", "retired"]
AUDIT_ACTIONS = ["upload", "comparison", "promote", "rollback", "group", "load"]
HARVEST_STATUSES = ["new", "exported", "labelled"]


@pytest.fixture
def secured(tmp_path: Path):
    with TestClient(create_app(secured_settings(tmp_path))) as client:
        yield client


class _Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_models_page_renders_in_both_languages_under_the_csp(client: TestClient, lang: str) -> None:
    response = client.get("/dashboard/models", params={"lang": lang})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html, strings = response.text, STRINGS[lang]
    for key in ("models.title", "models.harvest", "models.datasets", "models.versions", "models.timeline",
                "models.rollback.title"):
        assert strings[key] in html, key
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    tags = elements(html)
    scripts = [a for t, a in tags if t == "script"]
    assert all(a.get("src") or a.get("type") == "application/json" for a in scripts)  # no inline script
    assert not [a for _t, a in tags if "style" in a]  # no inline style either (style-src 'self')
    sources = [a["src"] for a in scripts if a.get("src")]
    assert any("/models.js?" in src for src in sources) and any("/prcurves.js?" in src for src in sources)
    assets = re.findall(r'(?:src|href)="(/dashboard/static/[^"?]+)', html)
    assert "/dashboard/static/models.css" in assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_every_page_links_to_the_models_page_and_it_is_marked_active_on_its_own(client: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/orders", "/dashboard/stats", "/dashboard/models"):
        links = [a for t, a in elements(client.get(path, params={"lang": "en"}).text)
                 if t == "a" and a.get("data-nav") == "models"]
        assert [a["href"] for a in links] == ["/dashboard/models"], path
        assert ("aria-current" in links[0]) == (path == "/dashboard/models"), path


def _page_keys() -> tuple[set[str], set[str]]:
    """The string keys the page's files name: whole keys and run-time-completed prefixes."""
    keys: set[str] = set()
    for path in PAGE_FILES:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"t\['([a-z0-9_.]+)'\]", text))
        keys |= set(re.findall(r"\"((?:models|common|nav)\.[a-z0-9_.]+)\"", text))
    return {k for k in keys if not k.endswith(".")}, {k for k in keys if k.endswith(".")}


def test_every_string_the_page_names_exists_in_both_languages() -> None:
    whole, prefixes = _page_keys()
    assert len(whole) > 60  # the scan itself works
    assert {"models.m.", "models.status.", "models.audit.", "models.reason.", "models.hstatus."} <= prefixes
    completed = ([f"models.status.{s}" for s in MODEL_STATUSES] + [f"models.audit.{a}" for a in AUDIT_ACTIONS]
                 + [f"models.reason.{r}" for r in REASONS] + [f"models.hstatus.{s}" for s in HARVEST_STATUSES]
                 + [f"models.m.{m}" for m in ("precision", "recall", "map50")])
    for lang in LANGUAGES:
        missing = sorted(k for k in whole | set(completed) if k not in STRINGS[lang])
        assert missing == [], f"{lang}: {missing}"
    # Chinese first-class: no models string left in English in the Chinese dictionary.
    same = [k for k in STRINGS["en"] if k.startswith("models.") and STRINGS["en"][k] == STRINGS["zh"][k]]
    assert same == []


def test_promote_and_rollback_controls_are_hidden_until_the_token_is_known_to_be_an_admin(client: TestClient) -> None:
    tags = elements(client.get("/dashboard/models", params={"lang": "en"}).text)
    admin_only = [a for _t, a in tags if "data-admin-only" in a]
    assert [a.get("id") for a in admin_only] == ["rollback"]
    assert all("hidden" in (a.get("class") or "").split() for a in admin_only)
    # No promote control is sent at all: models.js builds one per model, and only for an admin.
    assert not [a for _t, a in tags if "promote" in (a.get("class") or "") or "promote" in (a.get("id") or "")]
    script = (STATIC_DIR / "models.js").read_text(encoding="utf-8")
    calls = re.findall(r"(?<!function )(\S+ \? )?promoteForm\(m\)", script)
    assert calls == ["state.admin ? "]
    assert 'me.role === "admin" && !me.read_only' in script


@pytest.mark.parametrize(("headers", "name", "role", "grids"), [
    (SUP, "sup", "supervisor", None), (ADMIN, "root", "admin", None), (OP_A, "op.a", "operator", ["cell-a"]),
])
def test_whoami_names_the_tokens_role(secured: TestClient, headers, name, role, grids) -> None:
    response = secured.get("/api/v1/whoami", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": name, "role": role, "read_only": False, "grids": grids}


def test_whoami_refuses_workers_and_strangers(secured: TestClient) -> None:
    assert secured.get("/api/v1/whoami", headers=WORKER).status_code == 403
    assert secured.get("/api/v1/whoami").status_code == 401
    assert secured.get("/api/v1/whoami", headers={"Authorization": "Bearer not-a-token-at-all"}).status_code == 401


def test_whoami_in_dev_mode(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "open", dev_mode=True))) as open_dev:
        assert open_dev.get("/api/v1/whoami").json() == {"name": "dev-mode", "role": "admin", "read_only": False,
                                                         "grids": None}
    # With tokens configured, an anonymous dev-mode reader reads as a read-only supervisor: no admin controls.
    with TestClient(create_app(make_settings(tmp_path / "tokens", dev_mode=True, tokens=TOKENS))) as dev:
        assert dev.get("/api/v1/whoami").json() == {"name": "anonymous", "role": "supervisor", "read_only": True,
                                                    "grids": None}


def test_whoami_is_documented(secured: TestClient) -> None:
    operation = secured.get("/openapi.json").json()["paths"]["/api/v1/whoami"]["get"]
    assert {"200", "401", "403"} <= set(operation["responses"])


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page's script outside a browser")
def test_pr_curve_points_are_checked_clamped_and_thinned() -> None:
    """A comparison is stored as sent: points that are not two finite numbers are dropped, the rest
    clamped to 0..1, and a long curve thinned to 200 points keeping both ends."""
    script = (STATIC_DIR / "prcurves.js").read_text(encoding="utf-8")
    probe = ("const window = {GS: {s() {}, h() {}, T: (k) => k}};\n" + script + "\n"
             "const clean = window.GS.prcurves.cleanPoints;\n"
             "const long = Array.from({length: 1000}, (_, i) => [i / 999, 1 - i / 999]);\n"
             "const thinned = clean(long);\n"
             "console.log(JSON.stringify({junk: clean([[0, 1], [NaN, 1], 'x', [2, -1], [0.5], null]),"
             " none: clean({}), n: thinned.length, first: thinned[0], last: thinned[thinned.length - 1]}));")
    done = subprocess.run(["node", "-e", probe], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"junk": [[0, 1], [1, 0]], "none": [], "n": 200, "first": [0, 1], "last": [1, 0]}
