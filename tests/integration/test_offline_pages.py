"""Every page works on an isolated intranet (issue 17 §1): in Debian's chromium (Playwright),
against `gridsight serve` in its own process, every request that is not to loopback is
aborted and recorded. /docs (Swagger UI), /redoc (ReDoc) and every dashboard page (the
nav's, an order's, a camera's zones) must render their real content -- Swagger's operation
list, ReDoc's title and operations (and its search), each page's main heading and what its
script fills in -- with no outside request, no CSP violation and no script error.

The guard itself is checked first: a page that does reach outside is caught.
Screenshots of the docs go to test-output/offline/ (git-ignored)."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.dashboard.i18n import STRINGS
from api.routes.dashboard import NAV
from tests.support.api import ApiServer
from tests.support.orders import order_body
from tests.support.procs import REPO_ROOT

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

CHROMIUM = os.environ.get("GRIDSIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = REPO_ROOT / "test-output" / "offline"
UI_TIMEOUT_MS = 20_000
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CAMERA = "cam-offline-01"
ZH = STRINGS["zh"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]

# Each nav page's main heading (selector, i18n key). A new page in the nav must be added here.
HEADINGS = {
    "live": ("main h1", "feed.title"),
    "map": ("main h1", "map.title"),
    "orders": ("main h1", "orders.title"),
    "stats": ("main h2", "stats.by_status"),
    "cameras": ("main h1", "cameras.title"),
}


class OutsideGuard:
    """Routes every request of a browser context: loopback goes through, anything else is
    aborted and recorded (and every request or websocket seen to leave loopback is recorded too,
    including ones the page's CSP stopped before the network)."""

    def __init__(self) -> None:
        self.aborted: list[str] = []
        self.seen: list[str] = []

    @staticmethod
    def outside(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK

    def route(self, route) -> None:
        if self.outside(route.request.url):
            self.aborted.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def saw(self, url: str) -> None:
        if self.outside(url):
            self.seen.append(url)

    def attach(self, context) -> None:
        context.route("**/*", self.route)
        context.on("request", lambda request: self.saw(request.url))
        context.on("page", lambda page: page.on("websocket", lambda ws: self.saw(ws.url)))


class Browser:
    """One context (zh) with the guard, collecting script errors and CSP violations."""

    def __init__(self, chromium, base: str) -> None:
        self.context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.guard = OutsideGuard()
        self.guard.attach(self.context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: page error: {exc}"))
        self.page.on("console", self._console)
        self.base = base

    def _console(self, msg) -> None:
        if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text):
            self.errors.append(f"{self.page.url}: CSP: {msg.text}")

    def goto(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)

    def clean(self) -> None:
        assert self.guard.aborted == [] and self.guard.seen == [], (self.guard.aborted, self.guard.seen)
        assert self.errors == [], self.errors


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """`gridsight serve` (dev mode, loopback)."""
    with ApiServer(tmp_path_factory.mktemp("offline-api")) as server:
        yield server


@pytest.fixture(scope="module")
def order(api) -> dict:
    """One camera that has reported and one order on it, for the pages to show."""
    with api.client() as client:
        status = client.put(f"/api/v1/cameras/{CAMERA}/status", json={"state": "online", "at": time.time()})
        assert status.status_code == 200, status.text
        event = f"offline-{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.timezone.utc)
        body = order_body(event_id=event, camera_id=CAMERA, detected_at=now.isoformat(),
                          event_started_at=(now - dt.timedelta(seconds=30)).isoformat())
        filed = client.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": f"key-{event}"})
    assert filed.status_code == 201, filed.text
    return filed.json()


@pytest.fixture(scope="module")
def chromium():
    expect.set_options(timeout=UI_TIMEOUT_MS)  # two cores shared with other work: be patient, not flaky
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium, api):
    made = Browser(chromium, api.url)
    yield made
    made.context.close()


@pytest.mark.timeout(60)
def test_the_guard_catches_a_page_that_reaches_outside(browser) -> None:
    # about:blank has no CSP: the image request reaches the router, which must abort and record it.
    with browser.page.expect_event("requestfailed") as failed:
        browser.page.set_content('<img src="http://192.0.2.17/tile.png" alt="">')
    assert failed.value.url == "http://192.0.2.17/tile.png"
    assert browser.guard.aborted == ["http://192.0.2.17/tile.png"]
    assert browser.guard.seen == ["http://192.0.2.17/tile.png"]


@pytest.mark.timeout(90)
def test_swagger_ui_renders_its_operations_offline(browser) -> None:
    page = browser.page
    browser.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("GridSight API")
    create = page.locator('.opblock-post .opblock-summary-path[data-path="/api/v1/work-orders"]')
    expect(create).to_be_visible()
    expect(page.locator(".opblock-tag-section").first).to_contain_text("work-orders")
    assert page.locator(".opblock").count() >= 20  # the whole API, not one stray block
    page.wait_for_load_state("networkidle")  # nothing more it would fetch
    page.screenshot(path=str(SHOTS / "docs.png"), full_page=False)
    browser.clean()


@pytest.mark.timeout(90)
def test_redoc_renders_title_operations_and_search_offline(browser) -> None:
    page = browser.page
    browser.goto("/redoc")
    expect(page.locator(".api-info h1")).to_contain_text("GridSight API")
    expect(page.locator("h2", has_text="Create a work order from a rule event").first).to_be_attached()
    # Search runs in ReDoc's blob: worker, which the page's CSP allows (worker-src).
    page.locator("input.search-input").fill("idempotent")
    results = page.locator('[data-role="search:results"] li[role="menuitem"]')
    expect(results.filter(has_text="Create a work order from a rule event (idempotent)")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / "redoc.png"), full_page=False)
    browser.clean()


def test_every_nav_page_has_its_heading_listed() -> None:
    assert [key for key, _href, _label in NAV if key not in HEADINGS] == []


@pytest.mark.timeout(180)
def test_every_dashboard_page_renders_without_going_outside(browser, order) -> None:
    page = browser.page
    for key, href, _label in NAV:
        browser.goto(f"{href}?lang=zh")
        selector, text_key = HEADINGS[key]
        expect(page.locator(selector).first).to_have_text(ZH[text_key])
        expect(page.locator("#clock")).not_to_have_text("")  # core.js ran
        expect(page.locator(f'nav a[data-nav="{key}"]')).to_have_attribute("aria-current", "page")
        if key == "cameras":
            expect(page.locator("main")).to_contain_text(CAMERA)  # its script read the API
        browser.clean()

    browser.goto(f"/dashboard/orders/{order['id']}?lang=zh")
    expect(page.locator("#d-order-no")).to_have_text(order["order_no"])  # filled from the API
    expect(page.locator("#d-status")).to_have_attribute("data-status", "detected")

    browser.goto(f"/dashboard/cameras/{CAMERA}/zones?lang=zh")
    expect(page.locator("main h1")).to_contain_text(CAMERA)
    expect(page.locator("#clock")).not_to_have_text("")
    browser.clean()
