"""Detect and record streams end to end (issue 16): one rendered street scene served by a real
RTSP server at two sizes, 640x360 (/sub, the camera's analytics substream) and 1920x1080 (/main).
The worker analyses /sub, files the bag's work order, and its evidence comes from /main, opened
only around the event, with the box mapped onto the bag at 1080p. A record stream that cannot be
reached costs the resolution, never the order, and the camera's stats say why."""

from __future__ import annotations

import io
import json
import subprocess

import av
import cv2
import httpx
import numpy as np
import pytest

from tests.integration.test_keyframe_mode import last_stats
from tests.support.procs import wait_until
from tests.support.rtsp import RtspServer, requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server]

START_S, LENGTH_S = 7.0, 12.0  # of the demo clip: the bag lies at the west kerb from 6 s to the end
MAIN, SUB = (1920, 1080), (640, 360)
RULES = {"bag": {"kind": "dwell", "zone": "west-kerb", "labels": ["garbage_bag"], "min_dwell_s": 3, "cooldown_s": 600,
                 "category_code": "06010", "category_name": "exposed garbage", "priority": "normal"}}


def _cut(source, out, size) -> None:
    """``LENGTH_S`` of ``source`` from ``START_S`` at ``size``, with the demo clip's 2 s GOP and headers."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", str(START_S), "-t", str(LENGTH_S),
                    "-i", str(source), "-vf", f"scale={size[0]}:{size[1]}", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-bf", "0", "-crf", "20",
                    "-x264-params", "repeat-headers=1", "-pix_fmt", "yuv420p", "-an", str(out)], check=True, timeout=180)


@pytest.fixture(scope="module")
def two_sizes(demo_clip, tmp_path_factory):
    """(substream, main stream, the bag's box at 1080p): one rendered scene at 640x360 and 1920x1080."""
    folder = tmp_path_factory.mktemp("record-streams")
    sub, main = folder / "sub.mp4", folder / "main.mp4"
    _cut(demo_clip, sub, SUB)
    _cut(demo_clip, main, MAIN)
    truth = json.loads(demo_clip.with_suffix(".json").read_text(encoding="utf-8"))
    bag = next(o for o in truth["objects"] if o["class"] == "garbage_bag")
    x1, y1, x2, y2 = bag["boxes"][str(int((START_S + 2) * truth["fps"]))]  # lying still: any frame of the cut
    return sub, main, [x1 * MAIN[0], y1 * MAIN[1], x2 * MAIN[0], y2 * MAIN[1]]


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def fetch(api, item) -> bytes:
    return httpx.get(f"{api.url}{item['url']}", timeout=10).content


def image_of(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def red_share_on_edges(image: np.ndarray, box, margin: int = 6) -> float:
    """Share of the box's left and right edge rows that have a red (triggering) pixel within ``margin``."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    hits = []
    for x in (x1, x2):
        strip = image[y1 + 8:y2 - 8, max(0, x - margin):x + margin + 1].astype(int)
        hits.append(((strip[..., 2] > 150) & (strip[..., 1] < 90) & (strip[..., 0] < 90)).any(axis=1))
    return float(np.concatenate(hits).mean())


def test_the_substream_is_analysed_and_the_evidence_is_full_resolution_from_the_main_stream(two_sizes, api,
                                                                                            start_worker):
    sub, main, bag_1080 = two_sizes
    with RtspServer({"/sub": sub, "/main": main}) as rtsp:
        worker = start_worker(api.url, rtsp.url("/main"), detect_url=rtsp.url("/sub"), rules=RULES)
        wait_until(lambda: rtsp.sessions("/sub") == 1, 60, "the worker on the substream", on_timeout=worker.log_text)
        # Read in this order: a START logged after the count cannot have opened the main stream yet.
        main_sessions = rtsp.sessions("/main")
        if worker.event_starts() == 0:  # the bag's dwell takes 3 s: normally the case
            assert main_sessions == 0, "the main stream was opened before any event"
        orders = wait_until(lambda: api.orders(), 60, "the bag's work order", on_timeout=worker.log_text)
        wait_until(lambda: last_stats(worker.log_text()).get("record_stream") == "ok", 30,
                   "stats: the record capture went well", on_timeout=worker.log_text)
        assert rtsp.sessions("/main") == 1, rtsp.stderr()  # once, around the one event
    [order] = orders
    evidence = {e["kind"]: e for e in order["evidence"]}
    assert list(evidence) == ["snapshot", "frame", "before", "after", "clip"]
    snapshot, frame = image_of(fetch(api, evidence["snapshot"])), image_of(fetch(api, evidence["frame"]))
    assert snapshot.shape[:2] == frame.shape[:2] == (MAIN[1], MAIN[0])
    assert image_of(fetch(api, evidence["after"])).shape[:2] == (MAIN[1], MAIN[0])
    assert image_of(fetch(api, evidence["before"])).shape[:2] == (SUB[1], SUB[0])  # before the record stream opened
    # The order's box is in the frame's (1080p) pixels, on the bag, and drawn there on the snapshot.
    [box] = [b["xyxy"] for b in order["boxes"] if b["label"] == "garbage_bag"]
    assert iou(box, bag_1080) > 0.6, (box, bag_1080)
    assert red_share_on_edges(snapshot, box) > 0.8
    with av.open(io.BytesIO(fetch(api, evidence["clip"]))) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (640, 360)  # clip_long_side 640, from the full-resolution frames
        assert sum(1 for _ in container.decode(video=0)) >= 10


def test_an_unreachable_record_stream_files_the_order_with_the_analysed_frames_and_says_why(two_sizes, api,
                                                                                            start_worker):
    sub, _main, _bag = two_sizes
    with RtspServer({"/sub": sub}) as rtsp:
        worker = start_worker(api.url, rtsp.url("/gone"), detect_url=rtsp.url("/sub"), rules=RULES)
        orders = wait_until(lambda: api.orders(), 90, "the bag's work order", on_timeout=worker.log_text)
        stats = wait_until(lambda: (s := last_stats(worker.log_text())).get("record_stream") == "failed" and s, 30,
                           "stats: the record stream failed", on_timeout=worker.log_text)
    assert stats["record_reason"] and stats["record_failures"] == 1, stats
    assert "no record stream frames" in worker.log_text()
    [order] = orders
    frame = image_of(fetch(api, next(e for e in order["evidence"] if e["kind"] == "frame")))
    assert frame.shape[:2] == (SUB[1], SUB[0])
    [box] = [b["xyxy"] for b in order["boxes"] if b["label"] == "garbage_bag"]
    assert box[2] <= SUB[0] and box[3] <= SUB[1]  # in the analysed frame's pixels, like the frame
