"""The models page (/dashboard/models, issue 18) in a real browser: Debian's chromium through
Playwright against `gridsight serve` in its own process (tokens on, dev mode off).

The API is seeded only through its own endpoints, as the loop's other parts feed it: a worker's
harvest batch, a dataset version as the annotation import posts it, the shipped v4 weights with
both OpenVINO exports uploaded twice (v4 in force for all cameras, a copy as candidate 4b),
a canary group, a comparison for 4b as `gridsight compare` writes it, and workers' load reports.

1. a supervisor sees all of it (harvest counts, dataset, both versions with scopes, running_on and
   failed_on with the reason, 4b's verdict, per-class and per-rule tables and PR curves, the audit
   timeline) and no promote or rollback control; the Chinese page too;
2. an admin promotes 4b to the canary group from the page (a dismissed confirmation changes nothing),
   the API's assignments and the page follow, then rolls the group back from the page.

Screenshots go to test-output/dashboard/models-*.png (git-ignored)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from api.contract.harvest import HarvestBatch, HarvestBox, HarvestFrame
from api.contract.models import ModelLoadReport
from tests.support.api import ApiServer
from tests.support.browser import requires_chromium
from tests.support.dashboard import jpeg, street_frame
from tests.support.model_registry import copy_as_version, upload
from tests.support.ops import TOKENS

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is Debian's chromium)")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.integration, requires_chromium]

REPO = Path(__file__).resolve().parents[2]
V4 = REPO / "weights" / "gridsight-demo-v4.yaml"
WORKER_TOKEN, SUPERVISOR_TOKEN, ADMIN_TOKEN = (
    "worker-token-0123456789", "supervisor-token-0123456", "admin-token-01234567890")
NAME = "gridsight-demo-v4"
FINGERPRINT = "ab12cd34ef56" + "0" * 52
FAILED_REASON = "openvino export: sha256 mismatch on gridsight-demo-v4.bin; kept gridsight-demo-v4 4"



def curve(top: float) -> list[list[float]]:
    """A falling precision-recall curve of 300 points (the page thins it to 200)."""
    return [[i / 299, round(top * (1 - 0.6 * (i / 299) ** 2), 4)] for i in range(300)]


def comparison() -> dict:
    """4b against 4 as `gridsight compare` writes it (shapes.md)."""
    pair = lambda cand, cur: {"candidate": cand, "current": cur}  # noqa: E731
    det = lambda p, r, m, n=0: {"precision": p, "recall": r, "map50": m, "map50_95": m / 2, "instances": n}  # noqa: E731
    ev = lambda p, r, tp, fp, fn: {"precision": p, "recall": r, "tp": tp, "fp": fp, "fn": fn}  # noqa: E731
    return {
        "version": 1, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "candidate": {"name": NAME, "version": "4b", "sha256": "1" * 64},
        "current": {"name": NAME, "version": "4", "sha256": "2" * 64},
        "detection": {
            "data": {"path": "datasets/night-v1", "fingerprint": FINGERPRINT, "images": 40},
            "overall": pair(det(0.81, 0.74, 0.78), det(0.52, 0.31, 0.36)),
            "per_class": {"person": pair(det(0.88, 0.80, 0.85, 61), det(0.60, 0.42, 0.47, 61)),
                          "garbage_bag": pair(det(0.74, 0.68, 0.71, 23), det(0.44, 0.20, 0.25, 23))},
            "pr_curves": {"person": {"candidate": curve(0.95), "current": curve(0.7)},
                          "garbage_bag": {"candidate": curve(0.85), "current": curve(0.5)}},
        },
        "events": {"scenarios": "night-sodium", "overall": pair(ev(0.9, 0.83, 5, 1, 1), ev(0.5, 0.17, 1, 1, 5)),
                   "per_rule": {"exposed_garbage": pair(ev(1.0, 0.75, 3, 0, 1), ev(0.5, 0.25, 1, 1, 3))}},
        "shadow": None,
        "verdict": {"better": True, "reasons": ["event recall 0.83 vs 0.17 on night-sodium (+0.66, margin 0.2)",
                                                "mAP50 0.78 vs 0.36 on the held-out real split"]},
    }


def harvest_batch() -> dict:
    """Three frames of cam-night that look nothing alike (so none is a near duplicate) and an exact copy."""
    now = time.time()
    box = HarvestBox(label="garbage_bag", confidence=0.31, x1=0.47, y1=0.69, x2=0.58, y2=0.88, track_id=4)
    street = street_frame()
    images = [(("uncertain",), street), (("uncertain", "scene_change"), 255 - street),
              (("time_of_day",), np.ascontiguousarray(street[::-1])), (("uncertain",), street)]
    frames = [HarvestFrame(camera_id="cam-night", captured_at=now - 60 * i, model_name=NAME, model_version="4",
                           reasons=reasons, jpeg=jpeg(image), width=640, height=360, boxes=(box,), detail={})
              for i, (reasons, image) in enumerate(images)]
    return HarvestBatch(worker="night-worker", frames=tuple(frames)).to_wire()


def dataset() -> dict:
    return {"name": "night-v1", "version": "1", "fingerprint": FINGERPRINT, "source": "label-studio",
            "images": 40, "instances": 84, "classes": {"person": 61, "garbage_bag": 23},
            "cameras": {"cam-night": 40}, "splits": {"train": 28, "val": 6, "test": 6},
            "harvest_frame_ids": [1, 2], "path": None}


def load_report(camera: str, assignment_id: int, state: str, reason: str | None = None) -> dict:
    return ModelLoadReport(camera_id=camera, worker="day-worker", assignment_id=assignment_id, model_name=NAME,
                           model_version="4", state=state, at=time.time(), reason=reason).to_wire()


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The API, seeded through its own endpoints (module docstring)."""
    root = tmp_path_factory.mktemp("models-page")
    with ApiServer(root, tokens=TOKENS, env={"GRIDSIGHT_MODEL_DIR": str(root / "models")}) as server:
        with server.client(ADMIN_TOKEN, timeout=120) as admin, server.client(WORKER_TOKEN) as worker:
            harvested = ok(worker.post("/api/v1/harvest/frames", json=harvest_batch()), 201)
            assert (harvested["accepted"], harvested["duplicates"]) == (3, 1), harvested
            ok(admin.post("/api/v1/datasets", json=dataset()), 201)
            ok(upload(admin, V4), 201)
            ok(upload(admin, copy_as_version(V4, root / "v4b", "4b")), 201)
            everywhere = ok(admin.post(f"/api/v1/models/{NAME}/4/promote", json={"scope": "all", "reason": "baseline"}))
            ok(admin.put("/api/v1/camera-groups/canary", json={"cameras": ["cam-night"], "description": "night"}))
            ok(admin.put(f"/api/v1/models/{NAME}/4b/comparison", json=comparison()))
            for camera, state, reason in (("cam-day", "loaded", None), ("cam-rain", "failed", FAILED_REASON)):
                ok(worker.post("/api/v1/models/load-reports",
                               json=load_report(camera, everywhere["assignment_id"], state, reason)), 202)
        yield server


def night_assignment(api: ApiServer) -> dict | None:
    with api.client(WORKER_TOKEN) as worker:
        body = ok(worker.get("/api/v1/models/assignments", params={"cameras": "cam-night"}))
    found = [a for a in body["assignments"] if a["camera_id"] == "cam-night"]
    return found[0] if found else None


def card(page, version: str):
    return page.locator(f'#model-list article[data-model="{NAME}/{version}"]')


@pytest.mark.timeout(120)
def test_a_supervisor_sees_harvest_datasets_models_comparison_and_timeline_without_controls(api, open_page) -> None:
    p = open_page(SUPERVISOR_TOKEN, locale="en-GB")
    page = p.page
    p.goto("/dashboard/models?lang=en")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    expect(page.locator("body")).to_have_attribute("data-admin", "0")
    expect(page.locator("nav a[data-nav='models']")).to_have_attribute("aria-current", "page")

    # Harvest: per camera today/total, per reason, disk use against the bound.
    expect(page.locator("#h-frames")).to_have_text("3")
    expect(page.locator("#h-duplicates")).to_have_text("1")
    expect(page.locator('#harvest-cameras tr[data-camera-id="cam-night"] td')).to_have_text(["cam-night", "3", "3"])
    expect(page.locator('#harvest-reasons g[data-key="uncertain"]')).to_contain_text("uncertain detection")
    expect(page.locator('#harvest-reasons g[data-key="uncertain"] .value')).to_have_text("2")
    expect(page.locator("#h-disk")).to_contain_text("of 2.0 GiB")
    assert float(page.get_attribute("#h-disk-bar", "value")) > 0

    # The dataset version.
    row = page.locator('#datasets-body tr[data-dataset="night-v1/1"]')
    expect(row).to_contain_text("label-studio")
    expect(row).to_contain_text("person: 61")
    expect(row).to_contain_text("28 / 6 / 6")
    expect(row.locator("td.mono")).to_have_text(FINGERPRINT[:12])

    # Both versions: v4 in force everywhere, running on cam-day, failed on cam-rain with the worker's reason.
    current, candidate = card(page, "4"), card(page, "4b")
    expect(current).to_have_attribute("data-status", "active")
    expect(current.locator('.scopes [data-scope="all"]')).to_have_text("all cameras")
    expect(current.locator(".running-on")).to_have_text("cam-day")
    expect(current.locator('.failed-on li[data-camera-id="cam-rain"]')).to_contain_text(FAILED_REASON)
    expect(current.locator(".comparison")).to_have_count(0)
    expect(candidate).to_have_attribute("data-status", "candidate")

    # 4b's comparison: verdict with reasons, per-class and per-rule tables, a PR plot per class.
    expect(candidate.locator(".verdict")).to_have_attribute("data-better", "1")
    expect(candidate.locator(".verdict li")).to_have_count(2)
    person = candidate.locator('table[data-table="per_class"] tr[data-key="person"]')
    expect(person.locator('td[data-metric="recall"][data-who="candidate"]')).to_have_text("0.800")
    expect(person.locator('td[data-metric="recall"][data-who="current"]')).to_have_text("0.420")
    expect(person.locator('td[data-metric="recall"][data-who="candidate"]')).to_have_class("num cand up")
    rule = candidate.locator('table[data-table="per_rule"] tr[data-key="exposed_garbage"]')
    expect(rule.locator('td[data-metric="recall"][data-who="candidate"]')).to_have_text("0.750")
    expect(rule).to_contain_text("3/0/1 · 1/1/3")
    plot = candidate.locator('.pr-figure[data-label="person"]')
    expect(plot.locator("polyline")).to_have_count(2)
    assert plot.locator("polyline.pr-candidate").get_attribute("data-points") == "200"

    # The audit timeline, newest first, and no promote or rollback control for a supervisor.
    actions = page.locator("#audit-list li").evaluate_all("els => els.map(e => e.dataset.action)")
    assert {"upload", "promote", "group", "comparison"} <= set(actions)
    assert actions.index("comparison") < actions.index("promote") < actions.index("upload")  # newest first
    expect(page.locator(".promote-form")).to_have_count(0)
    expect(page.locator("#rollback")).to_be_hidden()
    expect(page.locator("#admin-note")).to_be_visible()
    p.shot("models-supervisor-en")

    p.goto("/dashboard/models?lang=zh")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    expect(candidate.locator(".badge")).to_have_text("候选")
    expect(page.locator('#harvest-reasons g[data-key="uncertain"]')).to_contain_text("检测不确定")
    p.shot("models-supervisor-zh")


@pytest.mark.timeout(120)
def test_an_admin_promotes_the_candidate_to_the_canary_group_and_rolls_it_back_from_the_page(api, open_page) -> None:
    assert night_assignment(api)["model_version"] == "4"
    p = open_page(ADMIN_TOKEN, locale="en-GB")
    page = p.page
    p.goto("/dashboard/models?lang=en")
    expect(page.locator("body")).to_have_attribute("data-admin", "1")
    expect(page.locator("#rollback")).to_be_visible()
    form = card(page, "4b").locator(".promote-form")
    form.locator("select.promote-scope").select_option("group:canary")
    form.locator("input.promote-reason").fill("night fine-tune beats v4")

    # A dismissed confirmation sends nothing.
    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    form.locator("button.promote-button").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    assert questions == [f"Promote {NAME} 4b to group canary? Its cameras swap to it at their next assignment check."]
    assert night_assignment(api)["model_version"] == "4"

    page.once("dialog", lambda d: d.accept())
    form.locator("button.promote-button").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "2")  # reloaded after the promotion
    expect(page.locator(".toast.ok")).to_contain_text(f"{NAME} 4b promoted to group canary")
    assigned = night_assignment(api)
    assert (assigned["model_version"], assigned["scope"]) == ("4b", "group:canary")
    expect(card(page, "4b")).to_have_attribute("data-status", "canary")
    expect(card(page, "4b").locator('.scopes [data-scope="group:canary"]')).to_be_visible()
    newest = page.locator("#audit-list li").first
    expect(newest).to_have_attribute("data-action", "promote")
    expect(newest).to_contain_text("night fine-tune beats v4")
    p.shot("models-admin-promoted-en")

    # Roll the canary back from the page: cam-night falls back to all cameras' v4.
    page.select_option("#rollback-scope", "group:canary")
    page.fill("#rollback-reason", "seen enough")
    page.once("dialog", lambda d: d.accept())
    page.click("#rollback-submit")
    expect(page.locator("body")).to_have_attribute("data-loaded", "3")
    expect(page.locator(".toast.ok").last).to_contain_text("Rolled back")
    assert night_assignment(api)["model_version"] == "4"
    expect(card(page, "4b").locator('.scopes [data-scope="group:canary"]')).to_have_count(0)
    expect(page.locator("#audit-list li").first).to_have_attribute("data-action", "rollback")
