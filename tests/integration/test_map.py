"""The district map and the big screen in a real browser (issue 17): Debian's chromium
driven by Playwright against `gridsight serve` in its own process (tokens on), with
the demo district loaded through the API as `gridsight demo` loads it.

1. a new order appears as a marker without a reload, turns overdue and leaves when
   rejected, all from the live feed;
2. a cell's colour follows its baseline (history seeded so cells are above, near and
   below their own mean), live and per period; a cell's click shows its counts and
   orders, an order's click its detail;
3. the pages make no outside request (every non-loopback request is aborted and
   recorded; with a tile server set, its tiles are the only outside requests);
4. the big screen at 1920x1080 shows map, feed with evidence thumbnails, overdue
   orders and camera health at once; screenshots in zh and en under test-output/map/
   (git-ignored)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from gridsight.demo.district import install_demo_district
from tests.support.api import ApiServer
from tests.support.browser import OutsideGuard, PageSession, requires_chromium, shots_dir
from tests.support.orders import jpeg_evidence, order_body

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

SHOTS = shots_dir("map")

pytestmark = [pytest.mark.integration, requires_chromium]

WORKER = "worker-token-map-00000001"
SUPERVISOR = "supervisor-token-map-0001"
ADMIN = "admin-token-map-000000001"
TOKENS = {WORKER: {"role": "worker", "name": "street-worker"}, SUPERVISOR: {"role": "supervisor", "name": "zhang.min"},
          ADMIN: {"role": "admin", "name": "admin"}}
LEVEL_FILL = {"alert": "#ff4d5e", "warning": "#f0a52b", "normal": "#2fbf71", "no_history": "#5d6f8c"}
LOCAL = dt.timezone(dt.timedelta(hours=8))  # the API's default site time zone, Asia/Shanghai (docs/time.md)
UI_TIMEOUT_MS = 20_000
HOT, NEAR, CALM, QUIET = "GC-0101-01", "GC-0101-02", "GC-0101-03", "GC-0101-04"


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def file_order(api: ApiServer, *, cell: str, at: dt.datetime | None = None, camera: str = "cam-seed",
               category: tuple[str, str] = ("06010", "暴露垃圾 exposed garbage"), priority: str = "normal") -> dict:
    event = f"map-{uuid.uuid4().hex[:10]}"
    when = at or dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    body = order_body(event_id=event, camera_id=camera, zone_id=f"zone-{cell}", grid_cell=cell,
                      category_code=category[0], category_name=category[1], priority=priority,
                      detected_at=when.isoformat(), event_started_at=(when - dt.timedelta(seconds=30)).isoformat(),
                      evidence=[jpeg_evidence()])
    response = httpx.post(f"{api.url}/api/v1/work-orders", json=body,
                          headers={**_headers(WORKER), "Idempotency-Key": f"key-{event}"}, timeout=10)
    assert response.status_code == 201, response.text
    return httpx.get(f"{api.url}/api/v1/work-orders/{response.json()['id']}", headers=_headers(SUPERVISOR),
                     timeout=10).json()


def move(api: ApiServer, order_id: int, to: str, **extra) -> dict:
    response = httpx.post(f"{api.url}/api/v1/work-orders/{order_id}/transitions", json={"to": to, **extra},
                          headers=_headers(SUPERVISOR), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def months_ago(n: int) -> dt.datetime:
    """Noon on the 10th of the local month ``n`` months before this one."""
    today = dt.datetime.now(LOCAL)
    index = today.year * 12 + today.month - 1 - n
    return dt.datetime(index // 12, index % 12 + 1, 10, 12, 0, tzinfo=LOCAL)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("map-api"), tokens=TOKENS, env={
        "GRIDSIGHT_CATEGORY_DEADLINES": json.dumps({"09012": {"urgent": "PT2S"}}),  # overdue two seconds after dispatch
        "GRIDSIGHT_SSE_POLL_S": "0.5",
        "GRIDSIGHT_JOB_INTERVAL_S": "1",
        "GRIDSIGHT_MERGE_WINDOW": "PT0S",
    })
    with server:
        loaded = install_demo_district(server.url, headers=_headers(ADMIN))
        assert len(loaded.created) == 12 and loaded.cameras_placed == ["street-01"], loaded
        seed_history(server)
        status = httpx.put(f"{server.url}/api/v1/cameras/street-01/status", headers=_headers(WORKER), timeout=10,
                           json={"state": "online", "at": time.time(), "last_frame_at": time.time()})
        assert status.status_code == 200, status.text
        yield server


def seed_history(api: ApiServer) -> None:
    """HOT: one order a month for three months, two this month (above its mean); NEAR: one a month for two
    months and one now (near it); CALM: two last month, none now (below); QUIET: none."""
    for n in (1, 2, 3):
        file_order(api, cell=HOT, at=months_ago(n))
    for _ in range(2):
        file_order(api, cell=HOT)
    for n in (1, 2):
        file_order(api, cell=NEAR, at=months_ago(n))
    file_order(api, cell=NEAR)
    for _ in range(2):
        file_order(api, cell=CALM, at=months_ago(1))
    late = file_order(api, cell="GC-0101-07", camera="street-01", category=("09012", "占用消防通道 fire lane"),
                      priority="urgent")
    move(api, late["id"], "filed")
    move(api, late["id"], "dispatched")


class Screen(PageSession):
    """A 1920x1080 page with a supervisor's token that aborts and records every request leaving loopback,
    and collects script errors and CSP violations."""

    def __init__(self, browser, base: str, locale: str = "zh-CN") -> None:
        super().__init__(browser, base, token=SUPERVISOR, locale=locale, viewport=(1920, 1080),
                         timeout_ms=UI_TIMEOUT_MS, shots=SHOTS, guard=OutsideGuard())

    @property
    def outside(self) -> list[str]:
        return self.guard.aborted

    def open(self, path: str) -> None:
        self.goto(path)
        expect(self.page.locator(".district-map[data-ready='1']")).to_have_count(1, timeout=UI_TIMEOUT_MS)

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        return super().shot(name, full_page=full_page)


@pytest.fixture
def screen(browser, api):
    screens: list[Screen] = []

    def make(locale: str = "zh-CN", base: str | None = None) -> Screen:
        screens.append(Screen(browser, base or api.url, locale))
        return screens[-1]

    yield make
    for s in screens:
        s.close()
        assert s.errors == [], s.errors


def cell(page, code: str):
    return page.locator(f'path.map-cell[data-cell="{code}"]')


def marker(page, order_id: int):
    return page.locator(f'path.map-order[data-order-id="{order_id}"]')


# ---- 1. markers from the live feed ------------------------------------------------------------

@pytest.mark.timeout(120)
def test_a_new_order_appears_as_a_marker_without_reload_turns_overdue_and_a_rejected_one_leaves(api, screen) -> None:
    s = screen()
    page = s.page
    s.open("/dashboard/map?lang=zh")
    expect(page.locator("#map-feed-state")).to_have_attribute("data-state", "open")
    page.evaluate("window.__noReload = true")

    order = file_order(api, cell="GC-0101-07", camera="street-01", category=("09012", "占用消防通道 fire lane"),
                       priority="urgent")
    assert order["latitude"] is not None  # the camera's position, from the demo district
    pin = marker(page, order["id"])
    expect(pin).to_have_count(1)
    expect(pin).to_have_attribute("data-status", "detected")
    expect(pin).to_have_attribute("data-overdue", "0")

    move(api, order["id"], "filed")
    move(api, order["id"], "dispatched")  # two seconds to clear it; the overdue job marks it
    expect(pin).to_have_attribute("data-overdue", "1", timeout=30_000)
    pin.click()
    popup = page.locator(f'.order-popup[data-order-id="{order["id"]}"]')
    expect(popup).to_contain_text(order["order_no"])
    expect(popup).to_contain_text("占用消防通道")
    expect(popup.locator("a.button")).to_have_attribute("href", f"/dashboard/orders/{order['id']}")

    # A false alarm leaves the map when it is rejected.
    false_alarm = file_order(api, cell="GC-0101-07", camera="street-01")
    expect(marker(page, false_alarm["id"])).to_have_count(1)
    move(api, false_alarm["id"], "rejected", reason="false alarm")
    expect(marker(page, false_alarm["id"])).to_have_count(0)
    expect(pin).to_have_count(1)
    assert page.evaluate("window.__noReload") is True
    assert s.outside == []


# ---- 2. cells coloured by their baseline --------------------------------------------------------

def api_levels(api: ApiServer, period: str, history: int, unit: str) -> dict[str, str]:
    report = httpx.get(f"{api.url}/api/v1/map/cells", params={"unit": unit, "period": period, "history": history},
                       headers=_headers(SUPERVISOR), timeout=10).json()
    return {f["id"]: f["properties"]["baseline"]["level"] for f in report["features"]}


@pytest.mark.timeout(120)
def test_a_cells_colour_follows_its_baseline(api, screen) -> None:
    s = screen(locale="en-GB")
    page = s.page
    s.open("/dashboard/map?lang=en")
    expect(page.locator("path.map-cell")).to_have_count(12)
    expect(page.locator("#district-map")).to_have_attribute("data-unit", "community")  # the seeds' wall map
    page.select_option("#map-unit", "grid_cell")
    expect(page.locator("#district-map")).to_have_attribute("data-unit", "grid_cell")
    for code, level in ((HOT, "alert"), (NEAR, "warning"), (CALM, "normal"), (QUIET, "no_history")):
        expect(cell(page, code)).to_have_attribute("data-level", level)
        expect(cell(page, code)).to_have_attribute("fill", LEVEL_FILL[level])
    expect(page.locator("path.map-street")).to_have_count(2)  # two streets, traced from the cells' edges
    expect(page.locator("path.map-community")).to_have_count(3)
    expect(page.locator('.map-label [data-community="金桥社区 Jinqiao"]')).to_have_count(1)
    expect(page.locator('path.map-camera[data-camera="street-01"]')).to_have_attribute("data-state", "online")

    # One more order this month puts NEAR above its mean, and the map says so without a reload.
    file_order(api, cell=NEAR)
    expect(cell(page, NEAR)).to_have_attribute("data-level", "alert")
    expect(cell(page, NEAR)).to_have_attribute("fill", LEVEL_FILL["alert"])

    # A click on a cell: its counts and its orders.
    box = cell(page, HOT).bounding_box()  # off the cell's centre, where orders without a position sit
    cell(page, HOT).click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    popup = page.locator(f'.cell-popup[data-cell="{HOT}"]')
    expect(popup).to_contain_text("Grid cell GC-0101-01")
    expect(popup).to_contain_text("This month")
    expect(popup.locator(".cell-orders li[data-order-id]")).to_have_count(5)

    # The day view colours by today against the previous 28 days, as the API says.
    page.select_option("#map-period", "day")
    expect(page.locator("#district-map")).to_have_attribute("data-period", "day")
    for code, level in api_levels(api, "day", 28, "grid_cell").items():
        expect(cell(page, code)).to_have_attribute("data-level", level)

    # By community (month): each community one coloured block, its cells all at the community's level.
    page.select_option("#map-period", "month")
    page.select_option("#map-unit", "community")
    expect(page.locator("#district-map")).to_have_attribute("data-unit", "community")
    by_community = api_levels(api, "month", 36, "community")
    assert by_community[HOT] == by_community["GC-0101-07"] == "alert"  # Cuiyuan: HOT and NEAR's orders together
    for code, level in by_community.items():
        expect(cell(page, code)).to_have_attribute("data-level", level)
    assert s.outside == []


# ---- 3. nothing from outside --------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_the_map_pages_make_no_outside_request(api, screen) -> None:
    for path in ("/dashboard/map", "/dashboard/live"):
        s = screen()
        s.open(path)
        expect(s.page.locator("path.map-cell")).to_have_count(12)
        s.page.mouse.wheel(0, -400)  # zoom: Leaflet would now ask a tile layer for more tiles, had it one
        expect(s.page.locator("path.map-order").first).to_be_visible()
        assert s.page.locator("img.leaflet-tile").count() == 0
        assert s.outside == [], s.outside


@pytest.mark.timeout(120)
def test_with_a_tile_server_set_its_tiles_are_the_only_outside_requests(tmp_path, browser, screen) -> None:
    # Proof that the recorder sees what leaves: 192.0.2.0/24 is TEST-NET-1, never a real host.
    tiles = "http://192.0.2.10:8080/tiles/{z}/{x}/{y}.png"
    with ApiServer(tmp_path, tokens=TOKENS, env={"GRIDSIGHT_MAP_TILES": tiles}) as other:
        install_demo_district(other.url, headers=_headers(ADMIN))
        s = screen(base=other.url)
        with s.page.expect_event("requestfailed") as failed:  # the first tile, aborted by the recorder
            s.open("/dashboard/map")
        assert failed.value.url.startswith("http://192.0.2.10:8080/tiles/")
        expect(s.page.locator("img.leaflet-tile").first).to_be_attached()
        assert all(url.startswith("http://192.0.2.10:8080/tiles/") and url.endswith(".png") for url in s.outside), s.outside


# ---- 4. the big screen ----------------------------------------------------------------------------

def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box


@pytest.mark.timeout(150)
@pytest.mark.parametrize("lang, locale", [("zh", "zh-CN"), ("en", "en-GB")])
def test_the_big_screen_uses_the_whole_1920x1080_wall(api, screen, lang: str, locale: str) -> None:
    s = screen(locale=locale)
    page = s.page
    s.open(f"/dashboard/live?lang={lang}")
    expect(page.locator("#feed li").first).to_be_visible()
    expect(page.locator("#feed img.feed-thumb[src^='blob:']").first).to_be_visible()  # evidence thumbnails
    expect(page.locator("#overdue-list li").first).to_be_visible()
    expect(page.locator('#camera-health li[data-camera-id="street-01"]')).to_have_attribute("data-state", "online")
    expect(page.locator("path.map-cell")).to_have_count(12)
    # Feed, map and side by side, each the screen's height; nothing needs scrolling.
    feed, live_map, side = (_box(page, sel) for sel in (".feed-panel", ".live-map-panel", ".page-live .side"))
    assert feed["x"] + feed["width"] <= live_map["x"] and live_map["x"] + live_map["width"] <= side["x"]
    assert live_map["width"] >= 900 and live_map["height"] >= 900
    for box in (feed, live_map, side, _box(page, "#camera-health"), _box(page, "#overdue-list")):
        assert box["y"] + box["height"] <= 1080 + 1, box
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080 + 1
    # The trend chart in the narrow side column: its date labels side by side, none printed over another.
    expect(page.locator("#trend-chart text.axis").last).to_be_attached()
    dates = page.evaluate("""[...document.querySelectorAll('#trend-chart text.axis')]
        .filter(t => t.getAttribute('text-anchor') === 'middle')
        .map(t => { const b = t.getBBox(); return [b.x, b.x + b.width]; })""")
    assert len(dates) >= 2 and all(a[1] <= b[0] for a, b in zip(dates, dates[1:])), dates
    s.shot(f"big-screen-{lang}")
    s.open(f"/dashboard/map?lang={lang}")
    expect(page.locator("path.map-cell")).to_have_count(12)
    s.shot(f"map-{lang}")
    assert s.outside == []
