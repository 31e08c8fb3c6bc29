"""The worker runtime and the edge actions (streams.runtime): the dispatcher starts before the
spool's sender and stops after it; /health is degraded with "actions" (in DEGRADED_ORDER's place)
while a sink cannot send and reports the dispatcher's stats; the metrics carry the actions'
families (streams.actions.metrics) and, built from a config, the delivery latency histogram."""

from __future__ import annotations

import http.server
import threading
from types import SimpleNamespace

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.actions import from_config
from streams.actions.queue import DELIVERED, LOGGED
from streams.config import parse_config
from streams.config.actions import ActionsConfig
from streams.delivery.outbox import DurableOutbox
from streams.metrics import WorkerMetrics
from streams.runtime import DEGRADED_ORDER, HTTP, WorkerRuntime, build_runtime
from tests.support.action_facts import facts
from tests.support.site_configs import DEMO


class FakeDispatcher:
    def __init__(self, timeline: list[str], problem: str | None = None) -> None:
        self.timeline = timeline
        self._problem = problem

    def start(self) -> None:
        self.timeline.append("actions.start")

    def stop(self) -> None:
        self.timeline.append("actions.stop")

    def problem(self) -> str | None:
        return self._problem

    def stats(self) -> dict:
        return {"sinks": [{"sink": "mqtt", "up": False, "queued": 3, "delivered": 1, "failed": 0, "dropped": 2,
                           "logged": 0}], "routes": {"lift": {"sent": 4}}}


class FakePusher:
    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline
        self.retries = 0

    def start(self) -> None:
        self.timeline.append("pusher.start")

    def stop(self, flush_timeout_s: float) -> None:
        self.timeline.append("pusher.stop")

    def notify(self) -> None:
        pass

    def delivered_summary(self, merges_known: bool) -> str:
        return "nothing"


class FakeReporter:
    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline

    def start(self) -> None:
        self.timeline.append("reporter.start")

    def stop(self) -> None:
        self.timeline.append("reporter.stop")


def runtime(tmp_path, actions, *, metrics=None, sender_down=lambda: False, timeline=None) -> WorkerRuntime:
    timeline = timeline if timeline is not None else []
    return WorkerRuntime(DurableOutbox(tmp_path / "spool"), FakePusher(timeline), FakeReporter(timeline),
                         metrics=metrics, sender_down=sender_down, actions=actions)


def broken_camera():
    """A pipeline with every kind of trouble /health reports."""
    return SimpleNamespace(camera_id="lift-01", source=SimpleNamespace(state="error", degraded_reason="h264 damaged"),
                           health_problems=lambda: ["no detector"],
                           record_stream_state={"record_stream": "failed", "record_reason": "connection refused"},
                           harvest=SimpleNamespace(stats=dict, uploader=SimpleNamespace(
                               stats=dict, problem=lambda: "harvesting is on but the API refuses it: HTTP 403")))


def test_health_is_degraded_with_actions_in_its_place_and_reports_their_stats(tmp_path):
    rt = runtime(tmp_path, FakeDispatcher([], problem="MQTT broker 127.0.0.1:1883 away for 12 s"),
                 sender_down=lambda: True)
    rt.outbox.put("k1", {"event_id": "e1"})
    report = rt.health([broken_camera()], {"redis": "Redis unreachable", "config": "1 config refused",
                                           "model": "lift-01: assigned city 5 not loaded: checksum mismatch"})
    assert report["status"] == "degraded"
    assert list(report["degraded"]) == list(DEGRADED_ORDER)  # every entry present, in the documented order
    assert DEGRADED_ORDER.index("actions") == DEGRADED_ORDER.index("spool") + 1
    assert report["degraded"]["actions"] == "MQTT broker 127.0.0.1:1883 away for 12 s"
    assert report["actions"] == FakeDispatcher([]).stats()


def test_health_is_ok_while_the_sinks_can_send(tmp_path):
    report = runtime(tmp_path, FakeDispatcher([])).health([], {})
    assert report["status"] == "ok" and report["degraded"] == {}
    assert report["actions"]["routes"] == {"lift": {"sent": 4}}


def test_without_actions_health_has_no_actions_entry(tmp_path):
    report = runtime(tmp_path, None).health([], {})
    assert "actions" not in report and report["status"] == "ok"


def test_the_dispatcher_starts_before_the_sender_and_stops_after_the_spool(tmp_path):
    timeline: list[str] = []
    rt = runtime(tmp_path, FakeDispatcher(timeline), timeline=timeline)
    rt.start(health=lambda: {})
    rt.stop()
    assert timeline == ["actions.start", "reporter.start", "pusher.start", "pusher.stop", "actions.stop",
                        "reporter.stop"]


def samples(metrics: WorkerMetrics) -> dict[tuple[str, tuple], float]:
    text = metrics.exposition().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_metrics_carry_the_action_families(tmp_path):
    actions = ActionsConfig(dry_run=True, mqtt={"host": "127.0.0.1", "port": 9},
                            routes={"lift": {"priorities": ["emergency"], "mqtt": {}, "cooldown_s": 3600}})
    dispatcher = from_config(actions, "w1")
    metrics = WorkerMetrics("w1")
    runtime(tmp_path, dispatcher, metrics=metrics)
    dispatcher.start()
    try:
        (sent,) = dispatcher.dispatch(facts("start", event_id="e1"))
        assert dispatcher.dispatch(facts("start", event_id="e2")) == []  # cooldown
        assert sent.done.wait(10) and sent.outcome == LOGGED
    finally:
        dispatcher.stop(flush_timeout_s=1)
    values = samples(metrics)
    assert values[("gridsight_worker_action_messages_total", (("outcome", "logged"), ("sink", "mqtt")))] == 1
    assert values[("gridsight_worker_action_messages_total", (("outcome", "dropped"), ("sink", "mqtt")))] == 0
    assert values[("gridsight_worker_action_queue_depth", (("sink", "mqtt"),))] == 0
    assert values[("gridsight_worker_action_sink_up", (("sink", "mqtt"),))] == 1
    assert values[("gridsight_worker_action_route_sent_total", (("route", "lift"),))] == 1
    assert values[("gridsight_worker_action_held_back_total", (("reason", "cooldown"), ("route", "lift")))] == 1
    assert values[("gridsight_worker_action_held_back_total", (("reason", "rate_limited"), ("route", "lift")))] == 0
    assert values[("gridsight_worker_action_errors_total", (("route", "lift"),))] == 0


class Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/speaker"
    server.shutdown()
    server.server_close()


def test_a_runtime_built_from_a_config_times_each_delivery(tmp_path, hook_url):
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw["worker"].update(spool_dir=str(tmp_path / "spool"), metrics_port=0)
    raw["actions"] = {"hooks": {"speaker": {"url": hook_url}},
                      "routes": {"alerts": {"priorities": ["normal", "emergency"], "hook": "speaker"}}}
    config = parse_config(raw, DEMO)
    metrics = WorkerMetrics(config.worker.name)
    rt = build_runtime(config, sender=None, reporter=None, transport=HTTP, metrics=metrics)
    assert rt.actions is not None and list(rt.actions.hooks) == ["speaker"]
    rt.actions.start()
    try:
        (message,) = rt.actions.dispatch(facts("start"))
        assert message.done.wait(10) and message.outcome == DELIVERED
    finally:
        rt.actions.stop(flush_timeout_s=1)
    values = samples(metrics)
    assert values[("gridsight_worker_action_seconds_count", (("sink", "hook:speaker"),))] == 1
    assert 0 < values[("gridsight_worker_action_seconds_sum", (("sink", "hook:speaker"),))] < 10
    assert values[("gridsight_worker_action_messages_total", (("outcome", "delivered"), ("sink", "hook:speaker")))] == 1
