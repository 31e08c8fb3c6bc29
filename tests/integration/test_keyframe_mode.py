"""Key-frame mode end to end: the demo street clip (rendered with a 2 s GOP) from a real RTSP
server, a worker whose camera follows its slow rule (``analysis_fps: auto``: an exposed-garbage
dwell shortened to 8 s needs 0.375 fps, an interval longer than the GOP), decodes key frames
only, and still files the bag's work order with its evidence."""

from __future__ import annotations

import ast
import io
import re

import av
import httpx
import pytest

from tests.support.procs import wait_until
from tests.support.rtsp import RtspServer, requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server]

CAMERA = "street-01"
SLOW_RULE = {
    "bag": {"preset": "exposed_garbage", "zone": "west-kerb", "min_dwell_s": 8, "cooldown_s": 600},
}


def last_stats(log_text: str) -> dict:
    """The newest ``stats {...}`` line the worker logged for the camera (streams.worker)."""
    lines = [m.group(1) for m in re.finditer(r"stats (\{.*\})$", log_text, re.MULTILINE)]
    assert lines, "the worker logged no stats"
    return ast.literal_eval(lines[-1])


def gop_of(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keys = [float(p.pts * p.time_base) for p in container.demux(stream) if p.is_keyframe and p.size]
    return max(b - a for a, b in zip(keys, keys[1:]))


def test_a_slow_rule_files_its_order_decoding_key_frames_only(demo_clip, api, start_worker):
    assert gop_of(demo_clip) == pytest.approx(2.0)
    with RtspServer({"/street": demo_clip}, loop=False) as rtsp:
        worker = start_worker(api.url, rtsp.url("/street"), analysis_fps="auto", rules=SLOW_RULE,
                              tracker={"lost_track_seconds": 10})
        wait_until(lambda: "analysing at 0.375 fps (auto: rule 'bag' needs 0.375 fps" in worker.log_text(), 60,
                   "the rate chosen, and why", on_timeout=worker.log_text)
        orders = wait_until(lambda: api.orders(), 90, "the bag's work order", on_timeout=worker.log_text)
        wait_until(lambda: last_stats(worker.log_text()).get("decode") == "keyframes", 30,
                   "stats in key-frame mode", on_timeout=worker.log_text)
        stats = last_stats(worker.log_text())
    assert [(o["zone_id"], o["category_code"]) for o in orders] == [("west-kerb", "06010")]
    assert "garbage_bag" in orders[0]["labels"]
    assert stats["gop_s"] == 2.0
    # Two GOPs decoded in full to measure it, then one frame in 50: most frames never decoded.
    assert stats["frames_skipped"] > 2 * stats["frames_decoded"], stats
    # Evidence as ever, made of analysed frames, which are key frames here: the clip is a few of them.
    evidence = {e["kind"]: e for e in orders[0]["evidence"]}
    assert list(evidence) == ["snapshot", "frame", "before", "after", "clip"]
    clip = httpx.get(f"{api.url}{evidence['clip']['url']}", timeout=10).content
    with av.open(io.BytesIO(clip)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert 2 <= frames <= (4 + 3) * 0.375 + 2, frames  # pre_s 4 + post_s 3 at 0.375 fps
