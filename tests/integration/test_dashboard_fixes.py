"""Issue 17, points 3, 4 and 8 in a real browser (Debian's chromium through Playwright,
against `gridsight serve` in its own process, tokens on): the order page draws each
box once with a number an operator can read, the action form shows only what the
allowed moves need and clears after a move, server reasons are translated, the two
"after" pictures are told apart, a stats bar is its share of all orders, categories
carry their names, and the camera page and zone editor show a worker's registered
zones."""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid

import numpy as np
import pytest

from inference.detections import Detections
from inference.evidence import render_snapshot
from inference.zones import PolygonZone
from tests.support.browser import requires_chromium
from tests.support.dashboard import (ADMIN_TOKEN, GRID, OPERATOR_TOKEN, WORKER_TOKEN, dashboard_api, jpeg, order_payload,
                                     street_frame)

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.integration, requires_chromium]

RAW_TRACKS = (2000000, 2000007)  # what ByteTrack hands out: never what an operator should read


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with dashboard_api(tmp_path_factory.mktemp("dashboard-fixes-api")) as server:
        yield server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def file(api, event: str, **kwargs) -> dict:
    body = order_payload(event, **kwargs)
    body["boxes"][0]["track_id"], body["boxes"][1]["track_id"] = RAW_TRACKS
    image = street_frame()
    boxes = [b["xyxy"] for b in body["boxes"]]
    triggering = Detections(xyxy=np.array(boxes, dtype=float), confidence=np.array([0.91, 0.64]),
                            labels=["garbage_bag", "person"], tracker_id=np.array(RAW_TRACKS))
    zone = PolygonZone.from_points("west-kerb", [[0.05, 0.7], [0.45, 0.7], [0.45, 1.0], [0.05, 1.0]])
    later = street_frame(bag=(320, 250, 392, 318))
    body["evidence"] = [
        {"kind": "snapshot", "content_type": "image/jpeg", "data_b64": b64(render_snapshot(image, zone, triggering))},
        {"kind": "frame", "content_type": "image/jpeg", "data_b64": b64(jpeg(image))},
        {"kind": "after", "content_type": "image/jpeg", "data_b64": b64(jpeg(later))},
    ]
    with api.client(WORKER_TOKEN) as worker:
        response = worker.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": f"key-{event}"})
    assert response.status_code == 201, response.text
    return response.json()


def move(api, order_id: int, *targets: str, **extra) -> None:
    with api.client(OPERATOR_TOKEN) as op:
        for to in targets:
            r = op.post(f"/api/v1/work-orders/{order_id}/transitions", json={"to": to, **extra})
            assert r.status_code == 200, r.text


@pytest.mark.timeout(120)
def test_the_order_page_draws_each_box_once_with_a_readable_number(api, open_page) -> None:
    order = file(api, f"boxes-{uuid.uuid4().hex[:8]}")
    p = open_page(OPERATOR_TOKEN)
    page = p.page
    p.goto(f"/dashboard/orders/{order['id']}?lang=en")
    boxes = page.locator("#evidence-boxes g.det-box")
    expect(boxes).to_have_count(2)
    texts = boxes.locator("text").all_text_contents()
    assert texts == ["garbage_bag #1 91%", "person #2 64%"], texts
    assert [boxes.nth(i).get_attribute("data-track-id") for i in range(2)] == [str(t) for t in RAW_TRACKS]
    assert "2000000" not in "".join(texts)
    # The snapshot tab shows the raw frame (the page draws on it), so the raw frame has no tab of its own;
    # the later frame carries its own drawings: nothing is drawn over it.
    kinds = page.locator("#evidence-thumbs button").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["snapshot", "after"], kinds
    page.locator('#evidence-thumbs button[data-kind="after"]').click()
    expect(boxes).to_have_count(0)
    page.locator('#evidence-thumbs button[data-kind="snapshot"]').click()
    expect(boxes).to_have_count(2)
    p.shot("fixes-01-boxes-once-en")


@pytest.mark.timeout(120)
def test_a_snapshot_without_a_raw_frame_is_shown_as_it_came(api, open_page) -> None:
    body = order_payload(f"snaponly-{uuid.uuid4().hex[:8]}")
    body["evidence"] = body["evidence"][:1]  # another client: the snapshot alone, its drawings its own
    with api.client(WORKER_TOKEN) as worker:
        order = worker.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": f"key-{body['event_id']}"}).json()
    p = open_page(OPERATOR_TOKEN)
    p.goto(f"/dashboard/orders/{order['id']}?lang=en")
    expect(p.page.locator("#d-boxes")).to_have_text("2 detection box(es)")
    expect(p.page.locator("#evidence-boxes g.det-box")).to_have_count(0)


@pytest.mark.timeout(150)
def test_the_action_form_shows_what_the_moves_need_and_clears_after_one(api, open_page) -> None:
    order = file(api, f"form-{uuid.uuid4().hex[:8]}")
    p = open_page(OPERATOR_TOKEN)
    page = p.page
    p.goto(f"/dashboard/orders/{order['id']}?lang=en")
    expect(page.locator('#action-buttons button[data-action="filed"]')).to_be_visible()
    expect(page.locator("#in-reason")).to_be_visible()
    for hidden in ("#in-assignee", "#in-department", "#in-extend", "#in-photo"):
        expect(page.locator(hidden)).to_be_hidden()  # detected: filing needs none of them
    page.fill("#a-reason", "looks real")
    page.click('#action-buttons button[data-action="filed"]')
    expect(page.locator("#d-status")).to_have_attribute("data-status", "filed")
    expect(page.locator("#a-reason")).to_have_value("")  # cleared after the move
    expect(page.locator("#in-assignee")).to_be_visible()  # dispatching names an assignee and a department
    expect(page.locator("#in-department")).to_be_visible()
    expect(page.locator("#in-photo")).to_be_hidden()
    page.fill("#a-assignee", "wang.fang")
    page.fill("#a-department", "环卫")
    page.click('#action-buttons button[data-action="dispatched"]')
    expect(page.locator("#d-status")).to_have_attribute("data-status", "dispatched")
    expect(page.locator("#a-assignee")).to_have_value("")
    expect(page.locator("#a-department")).to_have_value("")
    expect(page.locator("#in-department")).to_be_hidden()  # accepting takes an assignee, no department
    expect(page.locator("#in-assignee")).to_be_visible()
    move(api, order["id"], "accepted", "in_progress")
    expect(page.locator("#d-status")).to_have_attribute("data-status", "in_progress", timeout=30_000)
    expect(page.locator("#in-photo")).to_be_visible()  # feedback takes the after-photo
    expect(page.locator("#in-assignee")).to_be_hidden()
    p.shot("fixes-02-action-form-en")


@pytest.mark.timeout(150)
def test_server_reasons_are_translated_and_the_two_after_pictures_are_told_apart(api, open_page) -> None:
    event = f"words-{uuid.uuid4().hex[:8]}"
    order = file(api, event)
    with api.client(WORKER_TOKEN) as worker:
        end = {"event_id": event, "camera_id": "street-01", "zone_id": "west-kerb",
               "rule_id": "west-litter", "ended_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        r = worker.post("/api/v1/events/end", json=end, headers={"Idempotency-Key": f"key-end-{event}"})
        assert r.status_code in (200, 201) and r.json()["outcome"] == "ignored", r.text
    move(api, order["id"], "filed", "dispatched", "accepted", "in_progress")
    photo = {"kind": "after", "content_type": "image/jpeg", "data_b64": b64(jpeg(street_frame(bag=None)))}
    move(api, order["id"], "feedback", reason="已清理", evidence=[photo])
    p = open_page(OPERATOR_TOKEN)
    page = p.page
    p.goto(f"/dashboard/orders/{order['id']}?lang=zh")
    reason = page.locator('#timeline li[data-action="event_end"] .tl-reason')
    expect(reason).to_have_text("已忽略：工单当时为待核实")
    afters = page.locator('#evidence-thumbs button[data-kind="after"]')
    expect(afters).to_have_count(2)
    expect(page.locator('#evidence-thumbs button[data-kind="after"][data-by="person"]')).to_have_text("处置后照片（人员上传）")
    expect(page.locator('#evidence-thumbs button[data-kind="after"][data-by="camera"]')).to_have_text("之后画面（摄像头）")
    # Relabelled once the timeline came: the tab shown is still marked as shown.
    expect(page.locator('#evidence-thumbs button[data-kind="snapshot"]')).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator('#timeline li[data-action="transition"] .tl-reason').first).to_have_text("已清理")  # a person's words as written
    p.goto(f"/dashboard/orders/{order['id']}?lang=en")
    expect(page.locator('#timeline li[data-action="event_end"] .tl-reason')).to_have_text("ignored: the order was Detected")
    p.shot("fixes-03-words-en")


def bar_fill(page, chart: str) -> list[tuple[str, float]]:
    return page.locator(f"#{chart} g.bar-row").evaluate_all(
        "rows => rows.map(r => [r.querySelector('text.label').textContent, r.querySelector('text.value').textContent,"
        " r.querySelector('rect.bar').getBBox().width / r.querySelector('rect.track').getBBox().width])")


@pytest.mark.timeout(120)
def test_a_stats_bar_is_its_share_of_all_orders_and_categories_carry_names(api, open_page) -> None:
    file(api, f"stats-{uuid.uuid4().hex[:8]}", category=("09012", "占用消防通道 blocking a fire lane"))
    with api.client(OPERATOR_TOKEN) as op:
        summary = op.get("/api/v1/stats/summary").json()
    total = summary["total"]
    p = open_page(OPERATOR_TOKEN)
    page = p.page
    p.goto("/dashboard/stats?lang=en")
    expect(page.locator("#chart-category g.bar-row")).to_have_count(len(summary["by_category"]))
    rows = {label: (value, fill) for label, value, fill in bar_fill(page, "chart-category")}
    assert any(label.startswith("09012 占用消防通道") for label in rows), rows  # the code, then its name (clipped)
    for label, (value, fill) in rows.items():
        assert abs(fill - int(value) / total) < 0.02, (label, value, fill, total)
    prios = bar_fill(page, "chart-priority")
    assert abs(sum(fill for _l, _v, fill in prios) - 1.0) < 0.03, prios  # every order has one priority
    p.shot("fixes-04-stats-en")


@pytest.mark.timeout(120)
def test_the_camera_page_and_zone_editor_show_a_workers_registered_zones(api, open_page) -> None:
    from api.contract.wire import CameraRegistration, ZoneRegistration

    reg = CameraRegistration("cam-registered", "demo-worker", (
        ZoneRegistration("west-kerb", ((0.05, 0.7), (0.45, 0.7), (0.45, 1.0), (0.05, 1.0)), kind="sidewalk",
                         description="West pavement", rules=("west-litter",)),
        ZoneRegistration("east-kerb", ((0.55, 0.7), (0.95, 0.7), (0.95, 1.0), (0.55, 1.0)), rules=("east-litter",)),
    ), grid_cell=GRID, address="Demo Rd 1")
    with api.client(WORKER_TOKEN) as worker:
        r = worker.put("/api/v1/cameras/cam-registered/registration", json=reg.to_dict())
        assert r.status_code == 200, r.text
    p = open_page(ADMIN_TOKEN)
    page = p.page
    p.goto("/dashboard/cameras?lang=en")
    card = page.locator('article[data-camera-id="cam-registered"]')
    expect(card.locator("footer")).to_contain_text("2")
    expect(card.locator(".fields")).to_contain_text(GRID)
    expect(card.locator(".fields")).to_contain_text("Demo Rd 1")
    expect(card.locator("svg g.zone")).to_have_count(2)
    p.goto("/dashboard/cameras/cam-registered/zones?lang=en")
    items = page.locator("#zone-list .zone-item")
    expect(items).to_have_count(2)
    west = page.locator('#zone-list .zone-item[data-zone-id="west-kerb"]')
    expect(west.locator(".zone-facts")).to_have_attribute("data-origin", "config")
    expect(west).to_contain_text("worker config")
    expect(west).to_contain_text("kind sidewalk")
    expect(west).to_contain_text("rules west-litter")
    p.shot("fixes-05-registered-zones-en")
