"""ActionDispatcher (streams.actions.dispatcher) with recording sinks and a fake clock: which
routes an event takes, the topics it goes to, one encoding per JPEG setting, what the gates
held back, the retained zone state, a raising sink that must not take the other routes down,
and from_config's dry run (LogSinks: one log line per message, nothing sent)."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from types import SimpleNamespace

import pytest

from streams.actions import dispatcher as dispatcher_module
from streams.actions import from_config
from streams.actions.dispatcher import ActionDispatcher, Route
from streams.actions.mqtt import MqttSink
from streams.actions.queue import LOGGED, ActionMessage, BoundedQueue
from streams.actions.sink import LogSink, Sink
from streams.config.actions import ActionsConfig, HookConfig, MqttBrokerConfig, RouteConfig
from tests.support.action_facts import T0, facts


class RecordingMqtt(MqttSink):
    """The MQTT sink's type (the dispatcher keeps zone state only for one) without a broker."""

    def __init__(self) -> None:
        super().__init__(MqttBrokerConfig(host="broker.invalid"), "w1", client=SimpleNamespace())
        self.submitted: list[ActionMessage] = []
        self.states: list[tuple[str, dict]] = []

    def submit(self, message: ActionMessage) -> None:
        self.submitted.append(message)

    def set_state(self, topic: str, body: bytes) -> None:
        self.states.append((topic, json.loads(body)))


class RecordingHook(Sink):
    def __init__(self, name: str, *, include_jpeg: bool = False, raises: bool = False) -> None:
        super().__init__(f"hook:{name}", BoundedQueue(10))
        self.config = HookConfig(url="http://127.0.0.1:9/x", include_jpeg=include_jpeg, jpeg_max_width=64)
        self.submitted: list[ActionMessage] = []
        self.raises = raises

    def submit(self, message: ActionMessage) -> None:
        if self.raises:
            raise RuntimeError("hook sink exploded")
        self.submitted.append(message)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def route(name: str, **config) -> Route:
    config.setdefault("min_interval_s", 0)
    return Route.from_config(name, RouteConfig(**config))


def dispatcher(routes: list[Route], *, hooks: dict | None = None, clock=None, state_topics: bool = True):
    mqtt = RecordingMqtt()
    return ActionDispatcher(routes, mqtt=mqtt, hooks=hooks or {}, topic_prefix="site", state_topics=state_topics,
                            clock=clock or Clock(), wall=lambda: T0 + 3), mqtt


MQTT = {"topic": "{prefix}/{rule}"}


def routes_taken(messages: list[ActionMessage]) -> list[str]:
    return sorted(m.route for m in messages)


def test_routes_select_by_rule_camera_rule_tier_camera_and_phase():
    d, _mqtt = dispatcher([
        route("by_rule", rules=["lift"], mqtt=MQTT),
        route("by_camera_rule", rules=["lift-01/lift"], mqtt=MQTT),
        route("other_camera_rule", rules=["lift-02/lift"], mqtt=MQTT),
        route("by_tier", priorities=["emergency"], mqtt=MQTT),
        route("other_tier", priorities=["normal", "urgent"], mqtt=MQTT),
        route("by_camera", priorities=["emergency"], cameras=["lift-01"], mqtt=MQTT),
        route("other_camera", rules=["lift"], cameras=["lift-02"], mqtt=MQTT),
        route("other_rule", rules=["litter"], mqtt=MQTT),
        route("ends_only", rules=["lift"], phases=["end"], mqtt=MQTT),
    ])
    assert routes_taken(d.dispatch(facts("start"))) == ["by_camera", "by_camera_rule", "by_rule", "by_tier"]
    assert routes_taken(d.dispatch(facts("end"))) == ["ends_only"]  # the others send starts only (the default)
    assert routes_taken(d.dispatch(facts("start", camera_id="lift-02", event_id="lift-02/lift/car/1"))) == [
        "by_rule", "by_tier", "other_camera", "other_camera_rule"]
    assert routes_taken(d.dispatch(facts("start", priority="normal", event_id="lift-01/lift/car/2"))) == [
        "by_camera_rule", "by_rule", "other_tier"]


def test_the_message_carries_its_route_event_phase_and_qos():
    d, mqtt = dispatcher([route("lift", rules=["lift"], phases=["start", "end"], mqtt={"topic": "{prefix}/x", "qos": 0})])
    (message,) = d.dispatch(facts("start"))
    assert mqtt.submitted == [message]
    assert (message.sink, message.target, message.route, message.event_id, message.phase, message.qos) == (
        "mqtt", "site/x", "lift", "lift-01/lift/car/1", "start", 0)
    body = json.loads(message.body)
    assert body["event_id"] == "lift-01/lift/car/1" and body["sent_at"] == T0 + 3


def test_fire_names_the_pipeline_arguments_for_the_payload():
    d, mqtt = dispatcher([route("lift", rules=["lift"], mqtt=MQTT)])
    sample = facts("start")
    template = SimpleNamespace(category_code="X-EBIKE-ELEVATOR", category_name="电动车进电梯", priority="emergency",
                               grid_cell="GC-07")
    (message,) = d.fire("lift-01", sample.event, template, sample.frame, sample.tracked)
    body = json.loads(message.body)
    assert body["category"] == {"code": "X-EBIKE-ELEVATOR", "name": "电动车进电梯"}
    assert body["priority"] == "emergency" and body["grid_cell"] == "GC-07" and body["frame"]["width"] == 1280


def test_topic_templates_render_every_placeholder_and_ids_become_single_levels():
    template = "{prefix}/{camera}/{zone}/{rule}/{category}/{phase}/{priority}"
    d, _mqtt = dispatcher([route("all", priorities=["emergency"], mqtt={"topic": template})])
    (message,) = d.dispatch(facts("start", camera_id="lift/01", zone_id="car #1", rule_id="lift+2",
                                  category=("X/EBIKE", "电动车进电梯"), event_id="e1"))
    assert message.target == "site/lift_01/car__1/lift_2/X_EBIKE/start/emergency"
    assert not any(ch in message.target.replace("/", "") for ch in "+# ")


def test_one_body_per_jpeg_setting_shared_across_routes_and_sinks(monkeypatch):
    builds = []
    real = dispatcher_module.build_payload
    monkeypatch.setattr(dispatcher_module, "build_payload",
                        lambda f, **kw: builds.append(kw["jpeg_max_width"]) or real(f, **kw))
    hooks = {"plain": RecordingHook("plain"), "photo": RecordingHook("photo", include_jpeg=True)}
    d, _mqtt = dispatcher([
        route("a", rules=["lift"], mqtt={"topic": "{prefix}/a"}),
        route("b", rules=["lift"], mqtt={"topic": "{prefix}/b"}, hook="plain"),
        route("c", rules=["lift"], mqtt={"topic": "{prefix}/c", "include_jpeg": True, "jpeg_max_width": 64}),
        route("d", rules=["lift"], hook="photo"),
    ], hooks=hooks)
    by_target = {m.target: m.body for m in d.dispatch(facts("start"))}
    assert sorted(builds, key=str) == [64, None]  # one encoding without a JPEG, one with a 64 px one
    assert by_target["site/a"] is by_target["site/b"] is by_target["plain"]
    assert by_target["site/c"] is by_target["photo"]
    assert "jpeg" in json.loads(by_target["site/c"]) and "jpeg" not in json.loads(by_target["site/a"])


def test_what_the_gates_hold_back_is_counted_per_route_and_reason():
    clock = Clock()
    d, mqtt = dispatcher([route("lift", rules=["lift"], phases=["start", "update", "end"], min_interval_s=1.0,
                                cooldown_s=10.0, mqtt=MQTT)], clock=clock)
    d.dispatch(facts("start", event_id="e1"))
    clock.now += 0.5
    d.dispatch(facts("update", event_id="e1"))  # rate limited
    d.dispatch(facts("start", event_id="e2"))  # cooldown
    d.dispatch(facts("end", event_id="e2"))  # its start was held back
    d.dispatch(facts("end", event_id="e1"))  # always goes
    assert [(m.event_id, m.phase) for m in mqtt.submitted] == [("e1", "start"), ("e1", "end")]
    assert d.stats()["routes"] == {"lift": {"sent": 2, "rate_limited": 1, "cooldown": 1, "start_held_back": 1,
                                            "errors": 0}}


def test_bypassing_the_gates_sends_a_sample_whatever_the_limits_say():
    d, mqtt = dispatcher([route("lift", rules=["lift"], cooldown_s=3600, mqtt=MQTT)])
    d.dispatch(facts("start", event_id="e1"))
    assert d.dispatch(facts("start", event_id="e2")) == []
    assert len(d.dispatch(facts("start", event_id="e3"), bypass_gates=True)) == 1


def test_the_zone_state_changes_on_start_and_end_only():
    d, mqtt = dispatcher([route("lift", rules=["lift"], phases=["start", "update", "end"], mqtt=MQTT)])
    d.dispatch(facts("start", event_id="e1"))
    d.dispatch(facts("update", event_id="e1"))
    d.dispatch(facts("start", event_id="e2"))
    d.dispatch(facts("end", event_id="e1"))
    d.dispatch(facts("end", event_id="e1"))  # a repeated end changes nothing
    d.dispatch(facts("end", event_id="e2", at=T0 + 9))
    assert [topic for topic, _ in mqtt.states] == ["site/state/lift-01/car"] * 4
    assert [[e["event_id"] for e in state["events"]] for _, state in mqtt.states] == [["e1"], ["e1", "e2"], ["e2"], []]
    assert [state["active"] for _, state in mqtt.states] == [True, True, True, False]
    first = mqtt.states[0][1]["events"][0]
    assert first == {"event_id": "e1", "rule_id": "lift", "category": "X-EBIKE-ELEVATOR", "priority": "emergency",
                     "labels": ["ebike"], "since": T0}
    assert mqtt.states[-1][1]["at"] == T0 + 9


def test_the_zone_state_follows_every_routed_event_whatever_the_gates_held_back():
    # The route sends starts only, with a long cooldown: its devices hear one start. The state
    # still knows the second event started and both ended.
    d, mqtt = dispatcher([route("lift", rules=["lift"], cooldown_s=3600, mqtt=MQTT)])
    for phase, event_id in (("start", "e1"), ("start", "e2"), ("end", "e1"), ("end", "e2")):
        d.dispatch(facts(phase, event_id=event_id))
    assert [m.event_id for m in mqtt.submitted] == ["e1"]
    assert [[e["event_id"] for e in state["events"]] for _, state in mqtt.states] == [["e1"], ["e1", "e2"], ["e2"], []]


def test_no_zone_state_for_rules_no_mqtt_route_takes_or_when_switched_off():
    d, mqtt = dispatcher([route("hook_only", rules=["lift"], hook="h"), route("other", rules=["litter"], mqtt=MQTT)],
                         hooks={"h": RecordingHook("h")})
    d.dispatch(facts("start"))
    assert mqtt.states == []
    off, off_mqtt = dispatcher([route("lift", rules=["lift"], mqtt=MQTT)], state_topics=False)
    off.dispatch(facts("start"))
    assert off_mqtt.states == [] and len(off_mqtt.submitted) == 1


def test_a_raising_sink_is_counted_and_the_other_routes_and_targets_still_go(caplog):
    hooks = {"bad": RecordingHook("bad", raises=True), "good": RecordingHook("good")}
    d, mqtt = dispatcher([route("broken", rules=["lift"], mqtt={"topic": "{prefix}/broken"}, hook="bad"),
                          route("fine", rules=["lift"], hook="good")], hooks=hooks)
    with caplog.at_level(logging.ERROR, logger="streams.actions.dispatcher"):
        first = d.dispatch(facts("start", event_id="e1"))
        second = d.dispatch(facts("start", event_id="e2"))
    assert [(m.target, m.event_id) for m in first + second] == [("site/broken", "e1"), ("good", "e1"),
                                                                ("site/broken", "e2"), ("good", "e2")]
    assert d.stats()["routes"]["broken"]["errors"] == 2 and d.stats()["routes"]["fine"]["errors"] == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "route broken" in errors[0].getMessage() and "hook:bad" in errors[0].getMessage()
    assert mqtt.states and mqtt.states[-1][1]["active"] is True


def test_a_raising_state_update_does_not_raise_into_the_camera(monkeypatch):
    d, mqtt = dispatcher([route("lift", rules=["lift"], mqtt=MQTT)])
    monkeypatch.setattr(mqtt, "set_state", lambda topic, body: 1 / 0)
    assert len(d.dispatch(facts("start"))) == 1
    assert d.stats()["state_errors"] == 1


def test_many_cameras_firing_at_once_lose_no_count():
    d, mqtt = dispatcher([route("lift", rules=["lift"], phases=["start", "update", "end"], min_interval_s=0.5,
                                mqtt=MQTT)], state_topics=False)

    def camera(n: int) -> None:
        for i in range(200):
            for phase in ("start", "update", "end"):
                d.dispatch(facts(phase, camera_id=f"cam-{n}", event_id=f"cam-{n}/{i}", with_frame=False))

    threads = [threading.Thread(target=camera, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    counts = d.stats()["routes"]["lift"]
    assert counts["sent"] + counts["rate_limited"] + counts["cooldown"] + counts["start_held_back"] == 4 * 200 * 3
    assert counts["sent"] == len(mqtt.submitted)


# ---- from_config ----------------------------------------------------------------------------------

def test_from_config_without_routes_is_none():
    assert from_config(ActionsConfig(), "w1") is None
    assert from_config(ActionsConfig(mqtt={"host": "127.0.0.1"}, hooks={"h": {"url": "http://127.0.0.1:9/"}}), "w1") is None


class CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        CountingHandler.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_endpoint():
    CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_a_dry_run_logs_one_line_per_message_and_sends_nothing(caplog, http_endpoint):
    config = ActionsConfig(dry_run=True, mqtt={"host": "127.0.0.1", "port": 9}, hooks={"speaker": {"url": http_endpoint}},
                           routes={"lift": {"rules": ["lift"], "mqtt": {}, "hook": "speaker"},
                                   "tier": {"priorities": ["emergency"], "hook": "speaker"}})
    with caplog.at_level(logging.INFO, logger="streams.actions"):
        d = from_config(config, "w1")
        assert isinstance(d.mqtt, LogSink) and all(isinstance(s, LogSink) for s in d.hooks.values())
        assert set(d.hooks) == {"speaker"}
        d.start()
        try:
            messages = d.dispatch(facts("start"))
            assert len(messages) == 3
            for message in messages:
                assert message.done.wait(10)
        finally:
            d.stop(flush_timeout_s=1)
    assert [m.outcome for m in messages] == [LOGGED] * 3
    lines = [r.getMessage() for r in caplog.records if "would send" in r.getMessage()]
    assert len(lines) == 3
    assert sorted(line.split(" to ")[1].split(" ")[0] for line in lines) == [
        "gridsight/events/lift-01/car/lift", "speaker", "speaker"]
    assert any("dry run: logged, nothing sent" in r.getMessage() for r in caplog.records)
    assert CountingHandler.requests == []
    assert [s["logged"] for s in d.stats()["sinks"]] == [1, 2]


def test_a_dry_run_logs_the_message_a_hook_with_a_jpeg_would_get(http_endpoint):
    """The dry run stands in for the hook it replaces: its include_jpeg is honoured, so the logged size is real."""
    hooks = {"speaker": {"url": http_endpoint, "include_jpeg": True, "jpeg_max_width": 320}}
    routes = {"lift": {"rules": ["lift"], "hook": "speaker"}}
    dry = from_config(ActionsConfig(dry_run=True, hooks=hooks, routes=routes), "w1")
    wet = from_config(ActionsConfig(hooks=hooks, routes=routes), "w1")
    dry_body = dry.dispatch(facts("start"))[0].body
    wet_body = wet.dispatch(facts("start"))[0].body
    assert "jpeg" in json.loads(dry_body) and "jpeg" in json.loads(wet_body)
    assert abs(len(dry_body) - len(wet_body)) < 32  # the same message but for its sent_at
    for d in (dry, wet):
        d.stop(flush_timeout_s=0)
