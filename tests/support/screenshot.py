"""The README's screenshot, made again: a real API process (tests/support/api.py) with the demo
district, a few orders filed from frames of the demo's own synthetic street clip and some closed
history for the map's colours, photographed by Debian's chromium through Playwright.

    .venv/bin/python -m tests.support.screenshot                      # docs/img/dashboard.png
    .venv/bin/python -m tests.support.screenshot --page /dashboard/orders --lang zh --out /tmp/x.png

Nothing leaves loopback. The PNG is quantised to a palette so it stays small (< 300 KB)."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import httpx

from tests.support.api import ApiServer
from tests.support.browser import CHROMIUM, OutsideGuard, PageSession, launched_chromium

REPO_ROOT = Path(__file__).resolve().parents[2]
GRID = "GC-0101-07"
# (event, zone, category code and name, priority, labels, second of the demo clip, minutes ago, moves)
ORDERS = [
    ("demo-bag", "west-kerb", ("06010", "暴露垃圾 exposed garbage"), "normal", ["garbage_bag"], 12.0, 3, ["filed"]),
    ("demo-bottle", "east-kerb", ("06010", "暴露垃圾 exposed garbage"), "normal", ["litter"], 17.0, 2, []),
    ("demo-litter", "east-kerb", ("06012", "乱扔垃圾 littering"), "urgent", ["litter"], 13.4, 40, ["filed", "dispatched"]),
    ("demo-bins", "west-kerb", ("06042", "垃圾满溢 overflowing bin"), "normal", ["garbage_bag"], 8.0, 300, ["filed"]),
]


# Past months for the district map's colours: cell -> orders in each of the last months (oldest first),
# all closed; with this month's orders: GC-0101-07 above its mean, -03 and -10 near it, -05 below it.
HISTORY = {"GC-0101-07": [1, 1, 1], "GC-0101-03": [2, 2], "GC-0101-10": [1, 1], "GC-0101-05": [3, 2]}
THIS_MONTH = {"GC-0101-03": 2, "GC-0101-10": 1}
CLOSE = ["filed", "dispatched", "accepted", "in_progress", "feedback", "verifying", "closed"]


def months_ago(n: int, zone: ZoneInfo) -> dt.datetime:
    """Noon on the 10th of the site's month ``n`` months before this one."""
    today = dt.datetime.now(zone)
    index = today.year * 12 + today.month - 1 - n
    return dt.datetime(index // 12, index % 12 + 1, 10, 12, 0, tzinfo=zone)


def seed_history(client: httpx.Client, jpeg: bytes) -> None:
    """Orders of other cameras in other cells, for the baselines: past ones closed, this month's open."""
    zone, filed = ZoneInfo("Asia/Shanghai"), []
    for cell, counts in HISTORY.items():
        whens = [months_ago(len(counts) - i, zone) for i, count in enumerate(counts) for _ in range(count)]
        filed += [(cell, when, True) for when in whens]
    filed += [(cell, dt.datetime.now(zone) - dt.timedelta(hours=5), False)
              for cell, count in THIS_MONTH.items() for _ in range(count)]
    for n, (cell, when, close) in enumerate(filed):
        body = {"camera_id": f"cam-{cell[-2:]}", "zone_id": "kerb", "rule_id": "litter", "event_id": f"past-{n}",
                "category_code": "06010", "category_name": "暴露垃圾 exposed garbage", "priority": "normal",
                "labels": ["garbage_bag"], "confidence": 0.8, "detected_at": when.isoformat(),
                "event_started_at": (when - dt.timedelta(seconds=30)).isoformat(), "model_name": "gridsight-demo",
                "model_version": "1", "boxes": [], "grid_cell": cell,
                "evidence": [{"kind": "snapshot", "content_type": "image/jpeg", "data_b64": base64.b64encode(jpeg).decode()}]}
        response = client.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": f"shot-past-{n}"})
        response.raise_for_status()
        for move in CLOSE if close else []:
            client.post(f"/api/v1/work-orders/{response.json()['id']}/transitions",
                        json={"to": move, "reason": "screenshot history"}).raise_for_status()


def demo_frames(seconds: set[float]) -> dict[float, tuple[bytes, list[dict]]]:
    """JPEG and ground-truth boxes of the demo clip at the given seconds (rendered, 640x360)."""
    from gridsight.synth.clip import scenario_frames
    from gridsight.synth.scenario import demo_scenario

    fps, wanted, out = 5, {round(s * 5) for s in seconds}, {}
    for frame in scenario_frames(demo_scenario(), fps=fps):
        if frame.index in wanted:
            ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            boxes = [{"label": a.label, "confidence": 0.9, "xyxy": [round(v, 1) for v in a.box], "track_id": a.track_id}
                     for a in frame.annotations if a.visible > 0.5]
            out[frame.index / fps] = (buf.tobytes(), boxes)
        if frame.index >= max(wanted):
            break
    return out


def file_orders(api: ApiServer) -> list[str]:
    """File ORDERS through the public API (dev mode: no token on loopback), make their moves; their numbers."""
    from api.contract.wire import CameraState, CameraStatusEvent
    from gridsight.demo.district import install_demo_district

    install_demo_district(api.url)  # the demo's district map: 12 cells, the camera in GC-0101-07
    frames = demo_frames({o[5] for o in ORDERS})
    now, numbers = dt.datetime.now(dt.timezone.utc), []
    with api.client() as client:
        status = CameraStatusEvent("street-01", CameraState.ONLINE, now.timestamp(), last_frame_at=now.timestamp(),
                                   grid_cell=GRID, address="Demo Rd 1")
        client.put("/api/v1/cameras/street-01/status", json=status.to_dict()).raise_for_status()
        seed_history(client, frames[min(frames)][0])
        for event, zone, (code, name), priority, labels, second, ago, moves in ORDERS:
            jpeg, boxes = frames[round(second * 5) / 5]
            at = now - dt.timedelta(minutes=ago)
            body = {"camera_id": "street-01", "zone_id": zone, "rule_id": f"{zone}-litter", "event_id": event,
                    "category_code": code, "category_name": name, "priority": priority, "labels": labels,
                    "confidence": 0.91, "detected_at": at.isoformat(),
                    "event_started_at": (at - dt.timedelta(seconds=8)).isoformat(),
                    "model_name": "gridsight-demo", "model_version": "1",
                    "boxes": [b for b in boxes if b["label"] in labels + ["person"]],
                    "grid_cell": GRID, "address": "Demo Rd 1",
                    "evidence": [{"kind": "snapshot", "content_type": "image/jpeg",
                                  "data_b64": base64.b64encode(jpeg).decode()}]}
            response = client.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": f"shot-{event}"})
            response.raise_for_status()
            order_id = response.json()["id"]
            numbers.append(response.json()["order_no"])
            for move in moves:
                client.post(f"/api/v1/work-orders/{order_id}/transitions",
                            json={"to": move, "reason": "screenshot"}).raise_for_status()
        snapshot = frames[max(frames)][0]
        client.put("/api/v1/cameras/street-01/snapshot", content=snapshot,
                   headers={"Content-Type": "image/jpeg"})
    return numbers


def shoot(api: ApiServer, page_path: str, lang: str, out: Path, size: tuple[int, int], newest: str) -> None:
    from playwright.sync_api import expect

    with launched_chromium() as browser:
        session = PageSession(browser, api.url, locale="zh-CN" if lang == "zh" else "en-GB", viewport=size,
                              guard=OutsideGuard())
        page, errors = session.page, session.errors
        session.goto(f"{page_path}?lang={lang}")
        # The pages fill themselves from the API: wait until the newest order is on screen.
        try:
            if not page_path.endswith("/map"):  # the map page has markers, no order numbers
                expect(page.get_by_text(newest).first).to_be_visible(timeout=20_000)
        except AssertionError:
            raise SystemExit(f"error: {page_path} never showed order {newest}; page errors: {errors or 'none'}") from None
        # (never "networkidle": the live feed's stream stays open) every image decoded, canvases drawn
        page.wait_for_function("[...document.images].every(i => i.complete)", timeout=20_000)
        if page.locator(".leaflet-container").count():  # a map: its cells drawn
            expect(page.locator(".leaflet-overlay-pane path").first).to_be_attached(timeout=20_000)
        page.wait_for_timeout(3000)  # a photograph, not a test: let the last frame paint
        page.screenshot(path=str(out))


def shrink(png: Path, colours: int = 128) -> None:
    """Palette PNG: the dashboard's flat colours survive, the file drops to a fraction."""
    from PIL import Image

    with Image.open(png) as img:
        small = img.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="/dashboard/live", help="page to photograph (default /dashboard/live)")
    parser.add_argument("--lang", choices=["zh", "en"], default="en", help="page language (default en)")
    parser.add_argument("--size", default="1600x900", help="viewport WIDTHxHEIGHT (default 1600x900)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img" / "dashboard.png",
                        help="PNG to write (default docs/img/dashboard.png)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: no chromium at {CHROMIUM} (apt-get install chromium, or set GRIDSIGHT_CHROMIUM)", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gridsight-shot-") as tmp, ApiServer(Path(tmp)) as api:
        numbers = file_orders(api)
        shoot(api, args.page, args.lang, args.out, (width, height), newest=numbers[-1])
    shrink(args.out)
    print(f"{args.out}: {args.out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
