"""One edge site for the edge-action proofs (issue 19): the e-bike-in-elevator scenario clip
served by gst-rtsp-server, the API (``gridsight serve``), a real Mosquitto broker, a
subscriber, and a real ``gridsight worker`` whose config routes the lift rule's START and END
to an MQTT topic. Used by tests/integration/test_actions_e2e.py, test_actions_faults.py and
benchmarks/edge_latency.py, so the test and the benchmark measure the same thing.

    clip = render_lift_clip(tmp_path / "clips")                 # 5 fps, the real model fires on it
    with EdgeSite(tmp_path, clip, cameras=("lift-01",)) as site:
        got = site.subscriber.wait_for(site.is_start, 90, "the lift START")
        order = site.wait_order(Subscriber.json(got)["event_id"], 30)
        latencies(Subscriber.json(got), got.received_at, order)

Latencies (all on this machine's wall clock, so the receive time and the payload's times
compare directly): the payload's ``started_at`` is the capture time of the first frame in
which the rule saw the e-bike in the car zone (k-of-n: the first hit of its window);
``frame.captured_at`` is the deciding frame's (the k-th hit), ``sent_at`` when the message
was built; the API's ``created_at`` is when it stored the order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import signal
from pathlib import Path

import httpx
import yaml

from gridsight.processes import ChildProcess, gridsight_argv
from tests.support.api import ApiServer
from tests.support.mosquitto import MosquittoBroker, Received, Subscriber
from tests.support.procs import REPO_ROOT, free_port, wait_until
from tests.support.rtsp import RtspServer

MODEL = REPO_ROOT / "weights" / "gridsight-demo-v4.yaml"  # has the class ebike; fires on the clip at 5 fps
FPS = 5
ROUTE = "lift-alarm"
TOPIC = "{prefix}/lift/{camera}/{zone}/{phase}"
PREFIX = "gridsight"
EVENTS_TOPICS = (f"{PREFIX}/lift/#",)
# Every showing of the looping clip is a fresh incident: no quiet time after an END, no
# reopening of the last one (the preset's 120 s cooldown and 600 s merge window would make
# the second showing an UPDATE of the first).
REPEATING = {"cooldown_s": 0, "merge_window_s": 0}


def render_lift_clip(out_dir: Path, fps: int = FPS) -> Path:
    """The scenario ebike-in-elevator (15 s: the e-bike is wheeled in at ~1.7 s, out by ~12.4 s)
    rendered at ``fps`` with its sidecar; the same story as the committed 4 fps clip."""
    from gridsight.synth.scenarios.ebike import ebike_in_elevator
    from gridsight.synth.scenarios.generate import render_case

    video = Path(out_dir) / "ebike-in-elevator.mp4"
    if video.exists():
        return video
    return render_case(dataclasses.replace(ebike_in_elevator(), fps=fps), Path(out_dir))


def lift_camera(url: str, rule_overrides: dict | None = None, fps: int = FPS) -> dict:
    """The scenario's camera (zone car, rule lift: preset ebike_in_elevator) watching ``url``."""
    return {
        "url": url, "model": "lift", "analysis_fps": fps,
        "source": {"open_timeout_s": 5, "read_timeout_s": 5, "backoff_initial_s": 0.3, "backoff_max_s": 2},
        "zones": {"car": {"kind": "elevator", "polygon": [[0.02, 0.55], [0.98, 0.55], [0.98, 0.99], [0.02, 0.99]]}},
        "rules": {"lift": {"preset": "ebike_in_elevator", "zone": "car", **(rule_overrides or {})}},
    }


def worker_config(workdir: Path, api_url: str, camera_urls: dict[str, str], broker: MosquittoBroker, *,
                  metrics_port: int, rule_overrides: dict | None = None, reconnect_min_s: float = 0.2,
                  queue_size: int = 1000, drop_policy: str = "drop_oldest") -> Path:
    """A worker config: the lift cameras, the demo-v4 model, the lift rule's start and end to MQTT."""
    raw = {
        "api": {"url": api_url},
        "worker": {"name": "edge-worker", "spool_dir": str(workdir / "spool"), "stats_interval_s": 2,
                   "retry_max_s": 2, "metrics_port": metrics_port, "metrics_host": "127.0.0.1",
                   "snapshot_interval_s": 0, "zone_sync_interval_s": 0},
        "models": {"lift": {"manifest": str(MODEL), "confidence": 0.2}},
        "cameras": {cam: lift_camera(url, rule_overrides) for cam, url in camera_urls.items()},
        "actions": {
            "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": PREFIX, "client_id": "edge-worker",
                     "reconnect_min_s": reconnect_min_s, "reconnect_max_s": 1.0, "keepalive_s": 5,
                     "queue_size": queue_size, "drop_policy": drop_policy},
            "routes": {ROUTE: {"rules": ["lift"], "phases": ["start", "end"], "mqtt": {"topic": TOPIC, "qos": 1}}},
        },
    }
    path = workdir / "worker.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def save_broker_state(broker: MosquittoBroker, timeout_s: float = 10.0) -> Path:
    """Make a persistent broker write its database now (mosquitto: SIGUSR1), so its sessions and
    subscriptions survive a SIGKILL; returns the file once written."""
    db = broker.workdir / "mosquitto.db"
    before = db.stat().st_mtime_ns if db.exists() else 0
    broker.proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: db.exists() and db.stat().st_mtime_ns != before, timeout_s, "the broker's persistence file")
    return db


class EdgeSite:
    """RTSP clip -> worker (cameras ``cameras``, each its own RTSP client of the same clip) ->
    broker -> subscriber, and worker -> API. ``persistent``: the broker keeps its database and
    the subscriber a durable session (clean_session False), so a SIGKILLed broker's restart
    still delivers what the worker sends before the subscriber is back."""

    def __init__(self, workdir: Path, clip: Path, *, cameras=("lift-01",), loop: bool = False,
                 rule_overrides: dict | None = None, persistent: bool = False, api_env: dict | None = None,
                 reconnect_min_s: float = 0.2, queue_size: int = 1000) -> None:
        self.workdir = Path(workdir)
        self.clip = clip
        self.cameras = tuple(cameras)
        self.loop = loop
        self.rule_overrides = rule_overrides
        self.persistent = persistent
        self.reconnect_min_s = reconnect_min_s
        self.queue_size = queue_size
        self.api = ApiServer(self.workdir / "api", env=api_env)
        self.rtsp = RtspServer({f"/{cam}": clip for cam in self.cameras}, loop=loop)
        self.broker = MosquittoBroker(self.workdir / "broker", persistence=persistent)
        self.subscriber: Subscriber | None = None
        self.worker: ChildProcess | None = None
        self.metrics_port = free_port()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "EdgeSite":
        try:
            self.broker.start()
            self.start_subscriber()
            if self.persistent:
                save_broker_state(self.broker)
            self.api.start()
            self.rtsp.start()
            self.worker = self._worker().start()
            wait_until(lambda: self.health().get("actions") is not None, 90, "the worker's /health",
                       on_timeout=self.worker_log)
        except BaseException:
            self.stop()
            raise
        return self

    def start_subscriber(self) -> Subscriber:
        extra = {"client_id": "edge-subscriber", "clean_session": False} if self.persistent else {}
        self.subscriber = Subscriber(self.broker.host, self.broker.port, EVENTS_TOPICS, **extra).start()
        return self.subscriber

    def _worker(self) -> ChildProcess:
        workdir = self.workdir / "worker"
        workdir.mkdir(parents=True, exist_ok=True)
        urls = {cam: self.rtsp.url(f"/{cam}") for cam in self.cameras}
        config = worker_config(workdir, self.api.url, urls, self.broker, metrics_port=self.metrics_port,
                               rule_overrides=self.rule_overrides, reconnect_min_s=self.reconnect_min_s,
                               queue_size=self.queue_size)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSIGHT_")}
        env["YOLO_OFFLINE"] = "1"
        return ChildProcess("worker", gridsight_argv("worker", "--config", str(config)), workdir / "worker.log", env=env)

    def stop(self) -> None:
        """Worker first (it flushes its queue while the broker is still there), then the rest."""
        for part in (self.worker, self.subscriber, self.rtsp, self.api):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - teardown: stop what can be stopped
                    pass
        self.broker.kill()

    def __enter__(self) -> "EdgeSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what the tests read --------------------------------------------------------------
    def worker_log(self) -> str:
        return self.worker.log_text()[-6000:] if self.worker is not None else ""

    def health(self) -> dict:
        try:
            return httpx.get(f"http://127.0.0.1:{self.metrics_port}/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return {}

    def frames_analysed(self) -> dict[str, int]:
        """camera -> frames run through detector, tracker and rules (the worker's metrics)."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return {}
        found = re.findall(r'^gridsight_worker_frames_analysed(?:_total)?\{[^}]*camera="([^"]+)"[^}]*\} ([0-9.e+]+)$',
                           text, re.MULTILINE)
        return {camera: int(float(value)) for camera, value in found}

    def action_stats(self) -> dict:
        """The worker's report["actions"]: the mqtt sink's counters and the route's."""
        actions = self.health().get("actions") or {}
        sink = next((s for s in actions.get("sinks", []) if s.get("sink") == "mqtt"), {})
        return {"sink": sink, "route": actions.get("routes", {}).get(ROUTE, {})}

    def orders(self) -> list[dict]:
        return self.api.orders()

    def wait_order(self, event_id: str, timeout_s: float) -> dict:
        return wait_until(lambda: next((o for o in self.orders() if o["event_id"] == event_id), None), timeout_s,
                          f"the order of event {event_id}", on_timeout=self.worker_log)

    @staticmethod
    def is_start(received: Received) -> bool:
        return received.topic.endswith("/start") and not received.retain


def parse_utc(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def latencies(payload: dict, received_at: float, order: dict | None = None) -> dict[str, float]:
    """Seconds between the stages of one START (see the module docstring)."""
    first, decided = payload["started_at"], payload["frame"]["captured_at"]
    out = {
        "first_frame_to_deciding_frame_s": decided - first,
        "first_frame_to_message_s": received_at - first,
        "deciding_frame_to_message_s": received_at - decided,
        "deciding_frame_to_sent_s": payload["sent_at"] - decided,
        "sent_to_message_s": received_at - payload["sent_at"],
    }
    if order is not None:
        stored = parse_utc(order["created_at"])
        out["message_to_order_stored_s"] = stored - received_at
        out["first_frame_to_order_stored_s"] = stored - first
    return {k: round(v, 4) for k, v in out.items()}
