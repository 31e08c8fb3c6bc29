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
import time
import uuid

import pytest

from api.dashboard.i18n import STRINGS
from api.routes.dashboard import NAV
from tests.support.api import ApiServer
from tests.support.browser import OutsideGuard, PageSession, requires_chromium, shots_dir
from tests.support.orders import order_body

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

SHOTS = shots_dir("offline")
UI_TIMEOUT_MS = 20_000
CAMERA = "cam-offline-01"
ZH = STRINGS["zh"]

pytestmark = [pytest.mark.integration, requires_chromium]

# Each nav page's main heading (selector, i18n key). A new page in the nav must be added here.
HEADINGS = {
    "live": ("main h1", "feed.title"),
    "map": ("main h1", "map.title"),
    "orders": ("main h1", "orders.title"),
    "stats": ("main h2", "stats.by_status"),
    "cameras": ("main h1", "cameras.title"),
    "models": ("main h1", "models.title"),
}


class Browser(PageSession):
    """One context (zh) with the guard, collecting script errors and CSP violations."""

    def __init__(self, chromium, base: str) -> None:
        super().__init__(chromium, base, timeout_ms=UI_TIMEOUT_MS, shots=SHOTS, guard=OutsideGuard())

    def goto(self, path: str):
        response = super().goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        return response


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


@pytest.fixture
def guarded(browser, api):
    expect.set_options(timeout=UI_TIMEOUT_MS)  # two cores shared with other work: be patient, not flaky
    made = Browser(browser, api.url)
    yield made
    made.close()


@pytest.mark.timeout(60)
def test_the_guard_catches_a_page_that_reaches_outside(guarded) -> None:
    # about:blank has no CSP: the image request reaches the router, which must abort and record it.
    with guarded.page.expect_event("requestfailed") as failed:
        guarded.page.set_content('<img src="http://192.0.2.17/tile.png" alt="">')
    assert failed.value.url == "http://192.0.2.17/tile.png"
    assert guarded.guard.aborted == ["http://192.0.2.17/tile.png"]
    assert guarded.guard.seen == ["http://192.0.2.17/tile.png"]


@pytest.mark.timeout(90)
def test_swagger_ui_renders_its_operations_offline(guarded) -> None:
    page = guarded.page
    guarded.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("GridSight API")
    create = page.locator('.opblock-post .opblock-summary-path[data-path="/api/v1/work-orders"]')
    expect(create).to_be_visible()
    expect(page.locator(".opblock-tag-section").first).to_contain_text("work-orders")
    assert page.locator(".opblock").count() >= 20  # the whole API, not one stray block
    page.wait_for_load_state("networkidle")  # nothing more it would fetch
    page.screenshot(path=str(SHOTS / "docs.png"), full_page=False)
    guarded.clean()


@pytest.mark.timeout(90)
def test_redoc_renders_title_operations_and_search_offline(guarded) -> None:
    page = guarded.page
    guarded.goto("/redoc")
    expect(page.locator(".api-info h1")).to_contain_text("GridSight API")
    expect(page.locator("h2", has_text="Create a work order from a rule event").first).to_be_attached()
    # Search runs in ReDoc's blob: worker, which the page's CSP allows (worker-src).
    page.locator("input.search-input").fill("idempotent")
    results = page.locator('[data-role="search:results"] li[role="menuitem"]')
    expect(results.filter(has_text="Create a work order from a rule event (idempotent)")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / "redoc.png"), full_page=False)
    guarded.clean()


def test_every_nav_page_has_its_heading_listed() -> None:
    assert [key for key, _href, _label in NAV if key not in HEADINGS] == []


@pytest.mark.timeout(180)
def test_every_dashboard_page_renders_without_going_outside(guarded, order) -> None:
    page = guarded.page
    for key, href, _label in NAV:
        guarded.goto(f"{href}?lang=zh")
        selector, text_key = HEADINGS[key]
        expect(page.locator(selector).first).to_have_text(ZH[text_key])
        expect(page.locator("#clock")).not_to_have_text("")  # core.js ran
        expect(page.locator(f'nav a[data-nav="{key}"]')).to_have_attribute("aria-current", "page")
        if key == "cameras":
            expect(page.locator("main")).to_contain_text(CAMERA)  # its script read the API
        guarded.clean()

    guarded.goto(f"/dashboard/orders/{order['id']}?lang=zh")
    expect(page.locator("#d-order-no")).to_have_text(order["order_no"])  # filled from the API
    expect(page.locator("#d-status")).to_have_attribute("data-status", "detected")

    guarded.goto(f"/dashboard/cameras/{CAMERA}/zones?lang=zh")
    expect(page.locator("main h1")).to_contain_text(CAMERA)
    expect(page.locator("#clock")).not_to_have_text("")
    guarded.clean()
