"""Frame on which the rule's condition was met -> work order stored by the real API.

A real API (``gridsight serve`` on SQLite in a temp dir, tests/support/api.py's ApiServer, merge
window off so every START is its own order) and the worker's real delivery path: the durable
outbox (streams.delivery.outbox, fsync'd to a spool) drained by the OutboxPusher over HTTP
(streams.delivery.api_client.ApiClient). The cameras run as in their throughput config at the
count given, with the "latency" rules (ours.bench_camera: the demo dwell rules at emergency tier,
no cooldown) and evidence on: an emergency order goes out on its deciding frame with its key
frame and before frame, and its pre-roll clip follows it as an evidence follow-up (made on the
evidence pool's niced follow-up thread, spooled behind the order: streams.order_delivery); when the clip
is stored is measured apart (``condition_to_clip_stored_s_*``). A normal-tier order waits post_s
(3 s of stream) for its after frame and clip by design; that wait is not in these figures and is
said in the JSON.

The deciding frame's capture time is the order's ``detected_at`` (the event's time = that
frame's captured_at); stored is the API's ``created_at``; one machine's wall clock for both.
The cameras read copies of the clip started at LATENCY_PHASES points of the scene's 30 s showing
(throughput_parts.scenarios.latency_runner), so their events are spread over it, as independent
cameras' are, rather than all in the same second.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from throughput_parts.common import pct

TARGET_P95_S = 1.0
# The clip's two events (the bag at ~10 s, the bottle at ~17 s of each 30 s showing; ~14 and ~21 s
# with the key-frame rate's 8 s dwell): one showing per camera.
LATENCY_WINDOW_S = 30.0


def _utc(value: str) -> float:
    """A stored (naive UTC) or wire (ISO with offset) time as epoch seconds."""
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).timestamp()


class _TimedOutbox:
    """The worker runtime's outbox side, noting how long after its deciding frame each order is spooled."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.spooled: list[float] = []  # deciding frame -> the order written to the outbox, seconds

    def submit_order(self, key: str, payload: dict) -> None:
        self.spooled.append(time.time() - _utc(payload["detected_at"]))
        self.runtime.submit_order(key, payload)

    def submit_evidence_follow_up(self, key: str, payload: dict) -> None:
        self.runtime.submit_evidence_follow_up(key, payload)


def measure_latency(run_point, cameras: int, seconds: float = LATENCY_WINDOW_S) -> dict:
    """``run_point(cameras, seconds, outbox)``: the config's run_ours with the latency rules.
    Returns the samples' p50/p95/max, the count and whether p95 < 1 s.
    Long because it is one story: a real API and outbox up, the point run, drained, read back."""
    from streams.backoff import Backoff
    from streams.delivery.api_client import ApiClient
    from streams.delivery.outbox import DurableOutbox, OutboxPusher
    from streams.runtime import WorkerRuntime
    from tests.support.api import ApiServer

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        with ApiServer(Path(tmp) / "api", env={"GRIDSIGHT_MERGE_WINDOW": "PT0S"}) as api:
            client = ApiClient(api.url)
            outbox = DurableOutbox(Path(tmp) / "spool")
            pusher = OutboxPusher(outbox, client, Backoff(0.2, 2.0, rng=random.Random(0)))
            timed = _TimedOutbox(WorkerRuntime(outbox, pusher, None))
            pusher.start()
            point = run_point(cameras, seconds, timed)
            deadline = time.monotonic() + 60
            while outbox.pending_count() and time.monotonic() < deadline:
                time.sleep(0.2)
            pending = outbox.pending_count()
            pusher.stop(flush_timeout_s=5)
            client.close()
            rows = api.stored_orders("detected_at", "created_at")
            clips = sorted(_utc(stored) - _utc(detected) for detected, stored in api.stored_evidence("clip"))
    spooled = timed.spooled
    samples = sorted(_utc(stored) - _utc(detected) for detected, stored in rows)
    p95 = pct(samples, 0.95)
    return {
        "cameras": cameras, "orders_stored": len(samples), "orders_left_in_outbox": pending,
        "condition_to_stored_s_p50": pct(samples, 0.5), "condition_to_stored_s_p95": p95,
        "condition_to_stored_s_max": round(max(samples), 3) if samples else None,
        # Where the time goes: evidence made (in the worker's evidence pool, off the camera's thread), order built
        # and spooled; then the outbox + HTTP.
        "condition_to_spooled_s_p50": pct(spooled, 0.5), "condition_to_spooled_s_p95": pct(spooled, 0.95),
        # The clip, sent after its order (not part of the target): when it was stored beside the order.
        "clips_stored": len(clips), "condition_to_clip_stored_s_p50": pct(clips, 0.5),
        "condition_to_clip_stored_s_p95": pct(clips, 0.95),
        # An order still in the outbox a minute after the run is later than any stored one: never met.
        "target_p95_s": TARGET_P95_S, "met": (p95 < TARGET_P95_S and not pending) if p95 is not None else None,
        "point": {k: point.get(k) for k in ("fps_per_camera_min", "lag_growth_s_max", "sustained", "events",
                                             "decode_seen", "cpu_cores_used")},
    }
