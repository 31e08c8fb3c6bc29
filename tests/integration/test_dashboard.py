"""The dashboard in a real browser: Debian's chromium, headless, driven by
Playwright against `gridsight serve` in its own process (tokens on, dev mode
off, so the browser's bearer token is exercised).

1. an order filed through the API appears in the live feed without a reload,
   and a change to it updates its card in place;
2. an operator opens it (evidence with the boxes drawn), files, dispatches,
   accepts, starts, submits feedback, verifies and closes it with the buttons
   (and plays its evidence clip);
   an overdue order is highlighted;
3. the zone editor draws a polygon on a camera frame and saves it (the API
   returns it, normalised); a self-intersecting one shows the API's error;
4. the language switch changes the labels;
5. a running worker picks up a zone edited in the API without a restart, and
   uploads its camera's latest frame.

Screenshots go to test-output/dashboard/ (git-ignored)."""

from __future__ import annotations

import re
import shutil
import time
import uuid

import cv2
import numpy as np
import pytest
import yaml

from gridsight.processes import ChildProcess, gridsight_argv
from tests.support.api import ApiServer
from tests.support.browser import requires_chromium, shots_dir
from tests.support.dashboard import (ADMIN_TOKEN, OPERATOR_TOKEN, UI_TIMEOUT_MS, WORKER_TOKEN, clip_mp4, dashboard_api,
                                     jpeg, order_payload, street_frame)
from tests.support.procs import wait_until

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

SHOTS = shots_dir("dashboard")

pytestmark = [pytest.mark.integration, requires_chromium]

# ---- processes --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with dashboard_api(tmp_path_factory.mktemp("dashboard-api")) as server:
        yield server


def file_order(api: ApiServer, event: str, **kwargs) -> dict:
    with api.client(WORKER_TOKEN) as worker:
        response = worker.post("/api/v1/work-orders", json=order_payload(event, **kwargs),
                               headers={"Idempotency-Key": f"key-{event}"})
    assert response.status_code == 201, response.text
    return response.json()


def api_status(api: ApiServer, order_id: int) -> str:
    with api.client(OPERATOR_TOKEN) as op:
        return op.get(f"/api/v1/work-orders/{order_id}").json()["status"]


# ---- 1. live feed -----------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_an_order_filed_through_the_api_appears_in_the_live_feed_without_reload(api, open_page) -> None:
    p = open_page(None)
    page = p.page
    p.goto("/dashboard?lang=zh")
    # The operator types the token into the top bar (stored in localStorage, sent as a bearer header).
    page.fill("#token-input", OPERATOR_TOKEN)
    page.click("#token-save")
    expect(page.locator("#token-state")).to_have_attribute("data-set", "1")
    expect(page.locator("#feed-state")).to_have_attribute("data-state", "open")
    page.evaluate("window.__noReload = true")

    order = file_order(api, f"live-{uuid.uuid4().hex[:8]}")
    card = page.locator(f'#feed li[data-order-id="{order["id"]}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text(order["order_no"])
    expect(card).to_contain_text("暴露垃圾")
    expect(card.locator(".kind-new")).to_be_visible()
    expect(page.locator("#feed li").first).to_have_attribute("data-order-id", str(order["id"]))
    assert page.evaluate("window.__noReload") is True  # the same document: no reload happened

    # A change made elsewhere updates the card in place.
    with api.client(OPERATOR_TOKEN) as op:
        assert op.post(f"/api/v1/work-orders/{order['id']}/transitions", json={"to": "filed"}).status_code == 200
    expect(card).to_have_attribute("data-status", "filed")
    expect(card.locator('[data-status="filed"]')).to_have_text("已立案")
    assert page.locator(f'#feed li[data-order-id="{order["id"]}"]').count() == 1
    expect(page.locator("#kpi-total")).not_to_have_text(re.compile(r"^[–0]$"))
    p.shot("01-live-feed-zh")


# ---- 2. operator handles an order -------------------------------------------------------------

@pytest.mark.timeout(150)
def test_operator_handles_an_order_with_the_buttons_and_overdue_orders_stand_out(api, open_page) -> None:
    order = file_order(api, f"flow-{uuid.uuid4().hex[:8]}")
    late = file_order(api, f"late-{uuid.uuid4().hex[:8]}", category=("09012", "占用消防通道 blocking a fire lane"),
                      priority="urgent", zone="fire-lane")
    with api.client(OPERATOR_TOKEN) as op:
        for to in ("filed", "dispatched"):  # dispatch starts its two-second clock
            assert op.post(f"/api/v1/work-orders/{late['id']}/transitions", json={"to": to}).status_code == 200

    p = open_page(OPERATOR_TOKEN)
    page = p.page
    p.goto(f"/dashboard/orders/{order['id']}?lang=zh")
    expect(page.locator("#d-order-no")).to_have_text(order["order_no"])
    expect(page.locator("#d-status")).to_have_attribute("data-status", "detected")

    # Evidence with the boxes drawn over it, in the image's own pixel space.
    boxes = page.locator("#evidence-boxes g.det-box")
    expect(boxes).to_have_count(2)
    assert page.evaluate("document.getElementById('evidence-img').naturalWidth") == 640
    assert page.get_attribute("#evidence-boxes", "viewBox") == "0 0 640 360"
    first = boxes.first.locator("rect")
    assert [float(first.get_attribute(a)) for a in ("x", "y", "width", "height")] == [300, 250, 72, 68]
    shown = page.locator("#evidence-boxes").bounding_box()
    assert shown["width"] > 300  # drawn at the size the image is shown
    p.shot("02-order-detail-detected-zh")

    steps = [("filed", None), ("dispatched", "wang.fang"), ("accepted", None), ("in_progress", None),
             ("feedback", "after-photo"), ("verifying", None), ("closed", None)]
    for target, extra in steps:
        button = page.locator(f'#action-buttons button[data-action="{target}"]')
        expect(button).to_be_visible()
        if extra == "wang.fang":
            page.fill("#a-assignee", "wang.fang")
        if extra == "after-photo":
            page.set_input_files("#a-photo", files=[{"name": "after.jpg", "mimeType": "image/jpeg",
                                                     "buffer": jpeg(street_frame(bag=None))}])
            page.fill("#a-reason", "已清理干净")
        button.click()
        # Generous: the feedback step uploads a photo, and a loaded CI machine has taken > 5 s for it.
        expect(page.locator("#d-status")).to_have_attribute("data-status", target, timeout=30_000)
        assert api_status(api, order["id"]) == target
        if target == "dispatched":
            expect(page.locator("#f-assignee")).to_have_text("wang.fang")
        if target == "feedback":
            expect(page.locator("#evidence-thumbs button")).to_have_count(2)  # snapshot + after-photo
    expect(page.locator("#no-actions")).to_be_visible()  # an operator cannot reopen a closed order
    expect(page.locator("#timeline li[data-action='transition']")).to_have_count(7)
    with api.client(OPERATOR_TOKEN) as op:
        final = op.get(f"/api/v1/work-orders/{order['id']}").json()
    assert final["assignee"] == "wang.fang" and final["closed_at"] is not None
    assert [e["kind"] for e in final["evidence"]] == ["snapshot", "frame", "after"]
    p.shot("03-order-detail-closed-zh")

    # The fire-lane order passed its deadline: highlighted in the list, the live page and its own page.
    deadline = time.monotonic() + 10
    with api.client(OPERATOR_TOKEN) as op:
        while not op.get(f"/api/v1/work-orders/{late['id']}").json()["overdue"]:
            assert time.monotonic() < deadline, "the fire-lane order never went overdue"
            time.sleep(0.2)
    p.goto("/dashboard/orders?lang=zh")
    row = page.locator(f'tr[data-order-id="{late["id"]}"]')
    expect(row).to_have_class("overdue")
    expect(row.locator(".badge-overdue")).to_be_visible()
    expect(page.locator(f'tr[data-order-id="{order["id"]}"]')).not_to_have_class("overdue")
    page.select_option("#f-overdue", "true")
    page.click("#filters button[type=submit]")
    expect(page.locator("#orders-body tr")).to_have_count(1)
    expect(page.locator("#orders-body tr").first).to_have_attribute("data-order-id", str(late["id"]))
    assert "overdue=true" in page.url
    p.shot("04-orders-overdue-filter-zh")
    p.goto("/dashboard?lang=zh")
    expect(page.locator(f'#overdue-list li[data-order-id="{late["id"]}"]')).to_be_visible()
    expect(page.locator(f'#feed li[data-order-id="{late["id"]}"]')).to_have_class("feed-item prio-urgent overdue")
    p.shot("05-live-overdue-zh")
    p.goto(f"/dashboard/orders/{late['id']}")
    expect(page.locator("#d-overdue")).to_be_visible()


def poll_page(page, expression: str, timeout_s: float = UI_TIMEOUT_MS / 1000) -> None:
    """Wait until ``expression`` is true in the page (wait_for_function would eval, which the CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        time.sleep(0.1)


@pytest.mark.timeout(90)
def test_the_evidence_clip_plays_on_the_order_page(api, open_page) -> None:
    order = file_order(api, f"clip-{uuid.uuid4().hex[:8]}", clip=clip_mp4(seconds=2.0, fps=5.0))
    p = open_page(OPERATOR_TOKEN)
    page = p.page
    p.goto(f"/dashboard/orders/{order['id']}?lang=en")
    expect(page.locator("#evidence-boxes g.det-box")).to_have_count(2)  # the snapshot comes first
    expect(page.locator("#evidence-clip")).to_be_hidden()
    thumb = page.locator('#evidence-thumbs button[data-kind="clip"]')
    expect(thumb).to_have_text("Clip")
    thumb.click()
    expect(page.locator("#evidence-clip")).to_be_visible()
    expect(page.locator("#evidence-frame")).to_be_hidden()
    # The browser decoded the clip fetched with the bearer token: its real length and size.
    video = "document.getElementById('evidence-video')"
    poll_page(page, f"{video}.readyState >= 1")
    duration, width = page.evaluate(f"[{video}.duration, {video}.videoWidth]")
    assert 1.5 <= duration <= 2.5 and width == 640, (duration, width)
    page.evaluate(f"{video}.play()")
    poll_page(page, f"{video}.currentTime > 0.3")
    p.shot("06-order-clip-en")
    page.locator('#evidence-thumbs button[data-kind="snapshot"]').click()
    expect(page.locator("#evidence-frame")).to_be_visible()
    expect(page.locator("#evidence-clip")).to_be_hidden()
    assert page.evaluate(f"{video}.paused") is True


# ---- 3. zone editor ---------------------------------------------------------------------------

def click_at(page, selector: str, fx: float, fy: float) -> None:
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


@pytest.mark.timeout(120)
def test_zone_editor_saves_a_polygon_and_shows_the_apis_error(api, open_page) -> None:
    camera = "gate-3"
    with api.client(ADMIN_TOKEN) as admin:
        assert admin.post("/api/v1/cameras", json={"camera_id": camera, "name": "3号门 Gate 3",
                                                   "address": "Demo Rd 3"}).status_code == 201
        existing = {"zone_id": "bus-stop", "name": "公交站", "polygon": [[0.6, 0.7], [0.95, 0.7], [0.95, 0.98], [0.6, 0.98]]}
        assert admin.post(f"/api/v1/cameras/{camera}/zones", json=existing).status_code == 201
    with api.client(WORKER_TOKEN) as worker:
        frame = jpeg(street_frame(1280, 720, bag=(600, 500, 744, 636)))
        response = worker.put(f"/api/v1/cameras/{camera}/snapshot", content=frame, headers={"Content-Type": "image/jpeg"})
        assert response.status_code == 200, response.text

    p = open_page(ADMIN_TOKEN)
    page = p.page
    p.goto("/dashboard/cameras?lang=zh")
    card = page.locator(f'.camera-card[data-camera-id="{camera}"]')
    expect(card.locator("img")).to_be_visible()
    expect(card.locator("svg g.zone")).to_have_count(1)
    p.shot("06-cameras-zh")

    card.locator("a.button").click()
    expect(page).to_have_url(f"{api.url}/dashboard/cameras/{camera}/zones")
    page.wait_for_function("() => document.getElementById('editor-img').naturalWidth === 1280")
    expect(page.locator("#editor-svg g.zone.other")).to_have_count(1)

    page.click("#z-new")
    page.fill("#z-id", "west-kerb")
    page.fill("#z-name", "西侧人行道")
    for fx, fy in [(0.1, 0.6), (0.5, 0.6), (0.5, 0.95), (0.1, 0.95)]:
        click_at(page, "#editor-svg", fx, fy)
    expect(page.locator("#editor-svg circle.vertex")).to_have_count(4)
    # Drag the second point up and to the right.
    svg = page.locator("#editor-svg").bounding_box()
    page.mouse.move(svg["x"] + 0.5 * svg["width"], svg["y"] + 0.6 * svg["height"])
    page.mouse.down()
    page.mouse.move(svg["x"] + 0.53 * svg["width"], svg["y"] + 0.57 * svg["height"], steps=5)
    page.mouse.move(svg["x"] + 0.55 * svg["width"], svg["y"] + 0.55 * svg["height"], steps=5)
    page.mouse.up()
    expect(page.locator("#editor-svg circle.vertex")).to_have_count(4)
    page.click("#z-save")
    expect(page.locator("#z-ok")).to_be_visible()
    expect(page.locator('#zone-list button[data-zone-id="west-kerb"]')).to_be_visible()

    with api.client(ADMIN_TOKEN) as admin:
        zones = {z["zone_id"]: z for z in admin.get(f"/api/v1/cameras/{camera}/zones").json()}
    assert zones["west-kerb"]["name"] == "西侧人行道"
    expected = [[0.1, 0.6], [0.55, 0.55], [0.5, 0.95], [0.1, 0.95]]
    got = zones["west-kerb"]["polygon"]
    assert len(got) == 4 and all(abs(a - b) < 0.01 for pa, pb in zip(got, expected) for a, b in zip(pa, pb)), got
    p.shot("07-zone-editor-saved-zh")

    # A bow tie: the API refuses it and the page says why, marking the crossing edges.
    page.click("#z-new")
    page.fill("#z-id", "bad-zone")
    for fx, fy in [(0.2, 0.15), (0.45, 0.45), (0.45, 0.15), (0.2, 0.45)]:
        click_at(page, "#editor-svg", fx, fy)
    page.click("#z-save")
    error = page.locator("#z-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("self-intersects")
    expect(page.locator("#editor-svg line.bad-edge")).to_have_count(2)
    p.shot("08-zone-editor-self-intersection-zh")
    with api.client(ADMIN_TOKEN) as admin:
        assert "bad-zone" not in {z["zone_id"] for z in admin.get(f"/api/v1/cameras/{camera}/zones").json()}

    # Deleting the last point leaves a valid triangle, which saves.
    page.locator("#editor-svg circle.vertex").nth(3).click()
    page.click("#z-del-point")
    expect(page.locator("#editor-svg circle.vertex")).to_have_count(3)
    page.click("#z-save")
    expect(page.locator("#z-ok")).to_be_visible()
    with api.client(ADMIN_TOKEN) as admin:
        saved = {z["zone_id"]: z for z in admin.get(f"/api/v1/cameras/{camera}/zones").json()}
    assert len(saved["bad-zone"]["polygon"]) == 3


# ---- 4. languages -----------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_language_switch_changes_the_labels(api, open_page) -> None:
    # History for the baseline panel: a market street had 2 orders a month before, 4 this month (an alert).
    for n, days_ago in enumerate([40, 41, 70, 71, 0, 0, 0, 0]):
        file_order(api, f"market-{uuid.uuid4().hex[:6]}-{n}", camera="street-02", zone="market",
                   category=("09006", "占道经营 occupying the road to trade"), days_ago=days_ago)
    p = open_page(OPERATOR_TOKEN, locale="en-US")
    page = p.page
    p.goto("/dashboard/stats?lang=en")
    expect(page.locator('#chart-baselines .bar-row[data-key="street-02/market"]')).to_have_class("bar-row level-alert")
    expect(page.locator('#baselines-body tr[data-key="street-02/market"]')).to_have_class("level-alert")
    expect(page.locator('nav a[data-nav="live"]')).to_have_text("Live")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#chart-status svg")).to_be_visible()
    expect(page.locator("#baselines-body tr").first).to_be_visible()
    p.shot("09-stats-en")
    page.click("#lang-switch")
    expect(page.locator('nav a[data-nav="live"]')).to_have_text("实时工单")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#chart-status .bar-row").first).to_be_visible()
    p.shot("10-stats-zh")
    p.goto("/dashboard")  # the choice sticks (cookie), whatever the browser prefers
    expect(page.locator("h1")).to_have_text("实时工单")
    expect(page.locator("#feed li").first).to_be_visible()
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Live work orders")
    expect(page.locator("#feed-state")).to_have_text("Live")
    p.shot("11-live-en")


# ---- 5. the worker picks up an edited zone ----------------------------------------------------

@pytest.mark.timeout(240)
def test_worker_picks_up_a_zone_edited_in_the_api_without_restart(api, demo_clip, tmp_path, open_page) -> None:
    from gridsight.demo import write_worker_config

    try:  # the shipped demo weights, or an untrained stand-in (this test needs frames analysed, not detections)
        from tests.support.models import model_manifest
    except ImportError:
        pytest.skip("tests/support/models.py (the test detector) is not in this checkout")
    config_path = write_worker_config(tmp_path, api.url, str(demo_clip))
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["api"]["token"] = WORKER_TOKEN
    for model in raw["models"].values():
        model["manifest"] = str(model_manifest())
    raw["worker"].update({"stats_interval_s": 2, "snapshot_interval_s": 1, "zone_sync_interval_s": 1})
    for cam in raw["cameras"].values():
        cam["analysis_fps"] = 2
        cam["source"].update({"loop": True, "realtime": True})
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    worker = ChildProcess("worker", gridsight_argv("worker", "--config", str(config_path)), tmp_path / "worker.log")
    worker.start()
    try:
        with api.client(OPERATOR_TOKEN) as op, api.client(ADMIN_TOKEN) as admin:
            deadline = time.monotonic() + 120
            snapshot = None
            while time.monotonic() < deadline and worker.alive:
                response = op.get("/api/v1/cameras/street-01/snapshot")
                if response.status_code == 200:
                    snapshot = response.content
                    break
                time.sleep(1)
            assert snapshot is not None, worker.log_text()[-3000:]
            image = cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR)
            assert image is not None and image.shape[1] > 100

            moved = [[0.05, 0.6], [0.45, 0.6], [0.45, 1.0], [0.05, 1.0]]
            ignored = {"zone_id": "not-in-any-rule", "polygon": [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]]}
            assert admin.post("/api/v1/cameras/street-01/zones", json=ignored).status_code == 201
            # The worker registered its config's zones (issue 17): the dashboard edits the one it runs.
            wait_until(lambda: admin.get("/api/v1/cameras/street-01/zones/west-kerb").status_code == 200, 30,
                       "west-kerb registered by the worker", on_timeout=worker.log_text)
            response = admin.patch("/api/v1/cameras/street-01/zones/west-kerb", json={"polygon": moved})
            assert response.status_code == 200, response.text
            worker.wait_for_log("zone west-kerb updated from the API", 30)
            pid = worker.proc.pid
            assert worker.alive and worker.proc.pid == pid
            log = worker.log_text()
            assert log.count("worker starting") == 1  # no restart
            assert "not-in-any-rule" not in log

        # The zone editor shows the worker's own frame with the zone as it now is.
        p = open_page(ADMIN_TOKEN)
        p.goto("/dashboard/cameras/street-01/zones?lang=zh")
        p.page.wait_for_function("() => document.getElementById('editor-img').naturalWidth > 100")
        expect(p.page.locator('#zone-list button[data-zone-id="west-kerb"]')).to_be_visible()
        p.page.click('#zone-list button[data-zone-id="west-kerb"]')
        expect(p.page.locator("#editor-svg circle.vertex")).to_have_count(4)
        p.shot("12-zone-editor-worker-frame-zh")
    finally:
        worker.stop()
    shutil.copy(tmp_path / "worker.log", SHOTS / "worker-zone-sync.log") if SHOTS.exists() else None
