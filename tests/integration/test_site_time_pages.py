"""The pages show the site's clock (issue 17 point 5, docs/time.md) in a real browser:
`gridsight serve` with GRIDSIGHT_SITE_TIMEZONE=Europe/Berlin, Debian's chromium in
New York time (a screen's own zone must not matter), orders detected in winter (CET)
and in summer (CEST); zh shows 2026/07/01 12:00, en ISO 2026-07-01 12:00, never 01/07."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.api import ApiServer
from tests.support.browser import PageSession, requires_chromium, shots_dir
from tests.support.orders import order_body

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

SHOTS = shots_dir("site-time")

pytestmark = [pytest.mark.integration, requires_chromium]

# 10:00 UTC: 11:00 CET in January, 12:00 CEST in July (17:00/18:00 in New York's browser would be wrong, as
# would 18:00 in Shanghai).
WINTER, SUMMER = "2026-01-15T10:00:00+00:00", "2026-07-01T10:00:00+00:00"
EXPECTED = {
    "zh": {"winter": "2026/01/15 11:00", "summer": "2026/07/01 12:00", "full": "2026/07/01 12:00:00"},
    "en": {"winter": "2026-01-15 11:00", "summer": "2026-07-01 12:00", "full": "2026-07-01 12:00:00"},
}

CLOCK = {"zh": r"^20\d\d/\d\d/\d\d \d\d:\d\d:\d\d$", "en": r"^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d$"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("site-time-api"), env={"GRIDSIGHT_SITE_TIMEZONE": "Europe/Berlin"})
    server.start()
    ids = {}
    for name, at in (("winter", WINTER), ("summer", SUMMER)):
        body = order_body(event_id=f"tz-{name}", zone_id=f"zone-{name}", detected_at=at, event_started_at=at)
        response = httpx.post(f"{server.url}/api/v1/work-orders", json=body,
                              headers={"Idempotency-Key": f"key-tz-{name}"}, timeout=10)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    server.order_ids = ids
    yield server
    server.stop()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_show_site_time_in_each_languages_date_format(api: ApiServer, browser, lang: str) -> None:
    session = PageSession(browser, api.url, locale="zh-CN" if lang == "zh" else "en-GB", shots=SHOTS,
                          timezone_id="America/New_York")
    page = session.page
    try:
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
        page.goto(f"{api.url}/dashboard/orders?lang={lang}")
        expect(page.locator("body")).to_have_attribute("data-site-tz", "Europe/Berlin")
        expect(page.locator("#clock")).to_have_attribute("title", "Europe/Berlin")
        expect(page.locator("#clock")).to_have_text(re.compile(CLOCK[lang]))
        want = EXPECTED[lang]
        for season in ("winter", "summer"):
            row = page.locator(f"#orders-body tr[data-order-id='{api.order_ids[season]}']")
            expect(row.locator("td").nth(6)).to_have_text(want[season])
        session.shot(f"orders-{lang}")
        page.goto(f"{api.url}/dashboard/orders/{api.order_ids['summer']}?lang={lang}")
        expect(page.get_by_text(want["full"], exact=True).first).to_be_visible()
        session.shot(f"order-{lang}")
    finally:
        session.close()
    session.clean()
