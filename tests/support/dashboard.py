"""What the dashboard's browser tests share (tests/integration/test_dashboard*.py): the tokens,
a drawn street frame and its JPEG/clip, an order as a worker files it, and the API they run
against (tokens on, dev mode off, a fast live feed)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import cv2
import numpy as np

from tests.support.api import ApiServer

GRID = "GC-0101-07"
WORKER_TOKEN = "worker-token-dashboard-0001"
OPERATOR_TOKEN = "operator-token-li-wei-0001"
ADMIN_TOKEN = "admin-token-dashboard-00001"
TOKENS = {
    WORKER_TOKEN: {"role": "worker", "name": "street-worker"},
    OPERATOR_TOKEN: {"role": "operator", "name": "li.wei", "grids": [GRID]},
    ADMIN_TOKEN: {"role": "admin", "name": "admin"},
}
UI_TIMEOUT_MS = 15_000


# ---- media ------------------------------------------------------------------------------------

def street_frame(width: int = 640, height: int = 360, bag: tuple[int, int, int, int] | None = (300, 250, 372, 318)) -> np.ndarray:
    """A drawn street: sky, buildings, road, pavement, and (optionally) a black bag on the pavement."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (200, 170, 120)
    for i, x in enumerate(range(0, width, width // 6)):
        cv2.rectangle(img, (x + 6, int(height * 0.12)), (x + width // 6 - 6, int(height * 0.55)), (90 + 25 * (i % 3), 110, 140), -1)
    cv2.rectangle(img, (0, int(height * 0.55)), (width, int(height * 0.68)), (70, 70, 70), -1)
    cv2.rectangle(img, (0, int(height * 0.68)), (width, height), (150, 160, 165), -1)
    for x in range(0, width, width // 8):
        cv2.line(img, (x, int(height * 0.615)), (x + width // 16, int(height * 0.615)), (240, 240, 240), 2)
    if bag is not None:
        x1, y1, x2, y2 = bag
        cv2.ellipse(img, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, (25, 25, 25), -1)
    return img


def jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


def clip_mp4(seconds: float = 2.0, fps: float = 5.0) -> bytes:
    """An H.264 clip made by the worker's own encoder: the bag moves left to right."""
    from inference.evidence import encode_mp4

    n = int(seconds * fps)
    images = [street_frame(bag=(60 + 40 * i, 250, 132 + 40 * i, 318)) for i in range(n)]
    return encode_mp4(images, [i / fps for i in range(n)], nominal_fps=fps)


def order_payload(event: str, *, category=("06010", "暴露垃圾 exposed garbage"), priority="normal",
                  camera="street-01", zone="west-kerb", days_ago: float = 0, clip: bytes | None = None) -> dict:
    box = [300.0, 250.0, 372.0, 318.0]
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    return {
        "camera_id": camera, "zone_id": zone, "rule_id": "west-litter", "event_id": event,
        "category_code": category[0], "category_name": category[1], "priority": priority,
        "labels": ["garbage_bag"], "confidence": 0.91,
        "detected_at": now.isoformat(), "event_started_at": (now - dt.timedelta(seconds=40)).isoformat(),
        "model_name": "gridsight-demo", "model_version": "1",
        "boxes": [{"label": "garbage_bag", "confidence": 0.91, "xyxy": box, "track_id": 7},
                  {"label": "person", "confidence": 0.64, "xyxy": [80.0, 150.0, 130.0, 300.0], "track_id": 3}],
        "grid_cell": GRID, "address": "Demo Rd 1",
        # As a worker sends it: the snapshot (its boxes burnt in; the page draws none over it) and the raw
        # key frame, on which the page draws the order's boxes (issue 17).
        "evidence": [{"kind": "snapshot", "content_type": "image/jpeg",
                      "data_b64": base64.b64encode(jpeg(street_frame())).decode()},
                     {"kind": "frame", "content_type": "image/jpeg",
                      "data_b64": base64.b64encode(jpeg(street_frame())).decode()}]
                    + ([{"kind": "clip", "content_type": "video/mp4", "data_b64": base64.b64encode(clip).decode()}] if clip else []),
    }


def dashboard_api(workdir: Path) -> ApiServer:
    """`gridsight serve` with tokens and dev mode off; the live feed polls twice a second (not started)."""
    return ApiServer(workdir, tokens=TOKENS, env={
        # Blocking a fire lane: two seconds to clear it, so a test can watch an order go overdue.
        "GRIDSIGHT_CATEGORY_DEADLINES": json.dumps({"09012": {"urgent": "PT2S"}}),
        "GRIDSIGHT_SSE_POLL_S": "0.5",
        "GRIDSIGHT_MERGE_WINDOW": "PT0S",  # each test files its own order for the same zone
    })
