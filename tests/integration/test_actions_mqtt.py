"""The MQTT sink against a real Eclipse Mosquitto (issue 19): the dispatcher that
streams.actions.from_config builds, a private broker on a loopback port, a paho subscriber.

QoS 1 delivery on the rendered topic with the v1 payload; the retained per-zone state and
the worker's availability topic as a late subscriber sees them; credentials (right ones
deliver, a wrong password is a one-line refusal in the health text and never printed); a
broker that is down at start or killed mid-run: messages wait in the bounded queue under
its drop policy, counted, and fire() never blocks. And the paho callback order the sink's
outage bookkeeping relies on, pinned against the real broker.

Where a subscriber must not miss what the sink sends the moment a broker comes back, it
holds a durable session (clean_session=False) on a broker with persistence: the broker
queues the messages for it whoever reconnects first, so no test races a reconnect.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from inference.detections import Detections
from inference.rules import EventPhase, RuleEvent
from streams.actions import from_config
from streams.actions.mqtt import CONNECT_GRACE_S
from streams.actions.queue import DELIVERED, DROPPED
from streams.config.actions import ActionsConfig
from tests.support.evidence_frames import BAG, T0, frame
from tests.support.mosquitto import CallbackLog, MosquittoBroker, Subscriber, requires_mosquitto
from tests.support.procs import REPO_ROOT, wait_until

pytestmark = [pytest.mark.integration, requires_mosquitto]

WORKER = "edge-1"
CAMERA, ZONE, RULE = "cam-1", "car", "lift"
TOPIC = "gridsight/events/cam-1/car/lift/{phase}"
STATE_TOPIC = "gridsight/state/cam-1/car"
AVAILABILITY_TOPIC = f"gridsight/workers/{WORKER}"
TEMPLATE = SimpleNamespace(category_code="ebike_in_elevator", category_name="E-bike in elevator",
                           priority="emergency", grid_cell="A-01")
RIGHT_PASSWORD, WRONG_PASSWORD = "right-pw-7f3a", "wrong-pw-c91e"
FIRE_BOUND_S = 0.050  # generous for a queue put; a publish that waits for the broker takes far longer


def actions(port: int, **broker) -> ActionsConfig:
    """Every phase of rule 'lift' to {prefix}/events/{camera}/{zone}/{rule}/{phase}, no rate limit."""
    return ActionsConfig.model_validate({
        "mqtt": {"host": "127.0.0.1", "port": port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5,
                 "client_id": f"gs-test-{port}", **broker},
        "routes": {"lift": {"rules": [RULE], "phases": ["start", "update", "end"], "min_interval_s": 0,
                            "mqtt": {"topic": "{prefix}/events/{camera}/{zone}/{rule}/{phase}"}}},
    })


def event(n: int, phase: EventPhase = EventPhase.START) -> RuleEvent:
    return RuleEvent(event_id=f"{CAMERA}/{RULE}/{ZONE}/{n}", phase=phase, camera_id=CAMERA, rule_id=RULE, zone_id=ZONE,
                     at=T0 + n, started_at=T0 + n - 0.5, labels=("ebike",), track_ids=(7,), max_confidence=0.9,
                     detections=BAG)


def fire(dispatcher, n: int, phase: EventPhase = EventPhase.START):
    """What the pipeline does on the camera's thread; returns (its one message, seconds fire() took)."""
    began = time.monotonic()
    messages = dispatcher.fire(CAMERA, event(n, phase), TEMPLATE, frame(n, (320, 180)), Detections.merge([BAG]))
    took = time.monotonic() - began
    assert len(messages) == 1, messages
    return messages[0], took


@pytest.fixture
def dispatchers():
    """Build (from_config) and start dispatchers; every one is stopped after the test."""
    started = []

    def start(config: ActionsConfig, **kwargs):
        dispatcher = from_config(config, WORKER, **kwargs)
        assert dispatcher is not None and dispatcher.mqtt is not None
        dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in started:
        dispatcher.stop(flush_timeout_s=0.5)


def up(dispatcher, timeout_s: float = 10) -> None:
    wait_until(lambda: dispatcher.mqtt.up, timeout_s, "the MQTT sink connected", poll_s=0.01,
               on_timeout=lambda: str(dispatcher.problem()))


def down(dispatcher, timeout_s: float = 10) -> None:
    wait_until(lambda: not dispatcher.mqtt.up, timeout_s, "the MQTT sink noticed the broker is gone", poll_s=0.01)


def settled(messages, timeout_s: float = 10) -> None:
    for message in messages:
        assert message.done.wait(timeout_s), f"{message.event_id} not settled: {message}"


def durable_subscriber(broker: MosquittoBroker, name: str) -> Subscriber:
    """Subscribed with a session the (persistent) broker keeps, and queues QoS 1 messages for, while away."""
    return Subscriber(broker.host, broker.port, client_id=name, clean_session=False).start()


def event_ids(subscriber: Subscriber) -> list[str]:
    """The event ids the subscriber got, in order; a QoS 1 redelivery (at least once) counts once."""
    ids = [subscriber.json(m)["event_id"] for m in subscriber.messages if m.topic.startswith("gridsight/events/")]
    return list(dict.fromkeys(ids))


def late_look(broker, topic: str, **auth):
    """What a subscriber that connects now sees first on ``topic`` (the retained message)."""
    with Subscriber(broker.host, broker.port, topics=(topic,), **auth) as late:
        return late.wait_for(lambda m: m.topic == topic, 5, f"the retained {topic}")


def retained_now(broker, topic: str):
    """The message a subscriber connecting now gets on ``topic``, if the broker holds it retained; else None."""
    with Subscriber(broker.host, broker.port, topics=(topic,)) as late:
        try:
            got = late.wait_for(lambda m: m.topic == topic, 1, f"the retained {topic}")
        except AssertionError:
            return None
    return got if got.retain else None


# ---- delivery ---------------------------------------------------------------------------------

def test_qos1_message_arrives_on_the_rendered_topic_with_the_v1_payload(mosquitto, dispatchers):
    latencies = []
    subscriber = Subscriber(mosquitto.host, mosquitto.port).start()
    dispatcher = dispatchers(actions(mosquitto.port), observe_latency=lambda sink, s: latencies.append((sink, s)))
    up(dispatcher)
    message, _ = fire(dispatcher, 1)
    settled([message])
    got = subscriber.wait_for(lambda m: m.topic == TOPIC.format(phase="start"), 5, "the START on its topic")
    body = subscriber.json(got)
    assert (body["schema"], body["version"], body["event_id"], body["phase"]) == ("gridsight.action", 1,
                                                                                  "cam-1/lift/car/1", "start")
    assert (body["camera_id"], body["rule_id"], body["zone_id"], body["priority"]) == (CAMERA, RULE, ZONE, "emergency")
    assert body["category"] == {"code": "ebike_in_elevator", "name": "E-bike in elevator"}
    assert body["boxes"][0]["label"] == "garbage_bag" and body["frame"]["width"] == 320
    assert got.qos == 1 and not got.retain
    assert message.outcome == DELIVERED
    stats = dispatcher.mqtt.stats()
    assert (stats["delivered"], stats["dropped"], stats["queued"], stats["inflight"]) == (1, 0, 0, 0)
    assert [sink for sink, _ in latencies] == ["mqtt"] and latencies[0][1] >= 0
    assert got.received_at >= body["sent_at"] - 1  # sent_at is the wall clock at fire(): same machine
    assert dispatcher.problem() is None
    subscriber.stop()


def test_a_late_subscriber_sees_the_zone_state_retained(mosquitto, dispatchers):
    live = Subscriber(mosquitto.host, mosquitto.port, topics=(STATE_TOPIC,)).start()
    dispatcher = dispatchers(actions(mosquitto.port))
    up(dispatcher)
    settled([fire(dispatcher, 1)[0]])
    live.wait_for(lambda m: live.json(m)["active"], 5, "the state going active")
    state = late_look(mosquitto, STATE_TOPIC)
    body = Subscriber.json(state)
    assert state.retain and body["active"] is True
    assert [e["event_id"] for e in body["events"]] == ["cam-1/lift/car/1"]

    settled([fire(dispatcher, 1, EventPhase.END)[0]])
    live.wait_for(lambda m: not live.json(m)["active"], 5, "the state going inactive")
    state = late_look(mosquitto, STATE_TOPIC)
    assert state.retain and Subscriber.json(state)["active"] is False and Subscriber.json(state)["events"] == []
    live.stop()


def test_the_worker_availability_is_retained_online_then_offline(mosquitto, dispatchers):
    dispatcher = dispatchers(actions(mosquitto.port))
    up(dispatcher)
    online = late_look(mosquitto, AVAILABILITY_TOPIC)
    assert (online.payload, online.retain) == (b"online", True)
    dispatcher.stop(flush_timeout_s=0.5)
    offline = late_look(mosquitto, AVAILABILITY_TOPIC)
    assert (offline.payload, offline.retain) == (b"offline", True)


def test_a_restarted_broker_without_persistence_gets_the_state_and_availability_again(tmp_path, dispatchers):
    """The retained topics never depend on the queue: the sink republishes them on every reconnect."""
    broker = MosquittoBroker(tmp_path / "broker").start()  # no persistence: a restart forgets every retained message
    try:
        dispatcher = dispatchers(actions(broker.port))
        up(dispatcher)
        settled([fire(dispatcher, 1)[0]])
        assert Subscriber.json(late_look(broker, STATE_TOPIC))["active"] is True
        broker.kill()
        down(dispatcher)
        broker.start()
        up(dispatcher)
        # Connected first, republished just after (the sender's next round): a look in between sees it live.
        state = wait_until(lambda: retained_now(broker, STATE_TOPIC), 10, "the zone state retained again")
        assert [e["event_id"] for e in Subscriber.json(state)["events"]] == ["cam-1/lift/car/1"]
        assert wait_until(lambda: retained_now(broker, AVAILABILITY_TOPIC), 10, "'online' again").payload == b"online"
    finally:
        broker.kill()


WORKER_SCRIPT = """
import sys, time
from streams.actions import from_config
from streams.config.actions import ActionsConfig
dispatcher = from_config(ActionsConfig.model_validate_json(sys.argv[1]), sys.argv[2])
dispatcher.start()
deadline = time.monotonic() + 10
while not dispatcher.mqtt.up and time.monotonic() < deadline:
    time.sleep(0.01)
print("UP" if dispatcher.mqtt.up else f"NOT UP: {dispatcher.problem()}", flush=True)
time.sleep(60)
"""


def test_a_worker_that_vanishes_is_marked_offline_by_its_will(mosquitto):
    config = actions(mosquitto.port)
    worker = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, config.model_dump_json(), "vanishing"],
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "UP"
        topic = "gridsight/workers/vanishing"
        with Subscriber(mosquitto.host, mosquitto.port, topics=(topic,)) as watcher:
            watcher.wait_for(lambda m: m.payload == b"online", 5, "the worker online")
            worker.kill()  # SIGKILL: no offline message of its own; the broker publishes the will
            watcher.wait_for(lambda m: m.payload == b"offline", 10, "the will: offline")
        assert late_look(mosquitto, topic).payload == b"offline"
    finally:
        worker.kill()
        worker.wait(10)
        worker.stdout.close()


# ---- credentials ---------------------------------------------------------------------------------

def test_right_credentials_deliver_and_a_wrong_password_is_a_one_line_refusal(tmp_path, dispatchers, caplog):
    caplog.set_level(logging.DEBUG)
    broker = MosquittoBroker(tmp_path / "broker", users={"gridsight": RIGHT_PASSWORD}).start()
    try:
        subscriber = Subscriber(broker.host, broker.port, username="gridsight", password=RIGHT_PASSWORD).start()
        good = dispatchers(actions(broker.port, username="gridsight", password=RIGHT_PASSWORD))
        up(good)
        settled([fire(good, 1)[0]])
        subscriber.wait_for(lambda m: m.topic == TOPIC.format(phase="start"), 5, "the START with credentials")
        assert good.mqtt.stats()["delivered"] == 1

        started = time.monotonic()
        bad = dispatchers(actions(broker.port, username="gridsight", password=WRONG_PASSWORD, client_id="gs-bad"))
        problem = wait_until(bad.problem, CONNECT_GRACE_S + 5, "the wrong password reported", poll_s=0.05)
        # a refusal is reported at once: the start-up grace is for a broker still coming up, not one that said no
        assert time.monotonic() - started < CONNECT_GRACE_S, "the refusal waited out the start-up grace"
        assert "refused" in problem and "Not authorized" in problem and "\n" not in problem, problem
        # paho follows each refused CONNACK with on_disconnect: after more refusals the reason is still the refusal
        refusals = broker.log_text().count("not authorised")
        wait_until(lambda: broker.log_text().count("not authorised") >= refusals + 2, 10, "two more refusals")
        assert "refused" in bad.problem(), bad.problem()
        texts = caplog.text + problem + str(bad.stats()) + str(good.stats()) + str(bad.problem())
        assert RIGHT_PASSWORD not in texts and WRONG_PASSWORD not in texts
        assert "refused" in caplog.text  # the outage was logged, once and without the password
        subscriber.stop()
    finally:
        broker.kill()


# ---- the broker away ------------------------------------------------------------------------------

def test_broker_down_at_start_connecting_then_a_problem_then_the_queue_goes_out_in_order(tmp_path, dispatchers):
    broker = MosquittoBroker(tmp_path / "broker", persistence=True).start()
    try:
        durable_subscriber(broker, "watcher").stop()
        broker.stop()
        started = time.monotonic()
        dispatcher = dispatchers(actions(broker.port))
        fired = []
        for n in range(3):
            message, took = fire(dispatcher, n)
            fired.append(message)
            assert took < FIRE_BOUND_S, f"fire() took {took * 1000:.0f} ms with the broker away"
        assert time.monotonic() - started < CONNECT_GRACE_S - 0.5, "too slow to see the grace period"
        assert dispatcher.problem() is None  # connecting, not degraded, for CONNECT_GRACE_S
        problem = wait_until(dispatcher.problem, CONNECT_GRACE_S + 5, "the broker reported away", poll_s=0.05)
        assert time.monotonic() - started >= CONNECT_GRACE_S - 0.1
        assert "unreachable" in problem and "3 message(s) queued" in problem and "\n" not in problem, problem
        assert not any(m.done.is_set() for m in fired)

        broker.start()
        settled(fired)
        assert [m.outcome for m in fired] == [DELIVERED] * 3
        watcher = durable_subscriber(broker, "watcher")
        wait_until(lambda: len(event_ids(watcher)) == 3, 5, "the three queued messages at the subscriber")
        assert event_ids(watcher) == [f"cam-1/lift/car/{n}" for n in range(3)]  # in order
        assert dispatcher.problem() is None and dispatcher.mqtt.stats()["delivered"] == 3
        watcher.stop()
    finally:
        broker.kill()


@pytest.mark.parametrize("policy, kept", [("drop_oldest", range(7, 10)), ("drop_newest", range(0, 3))])
def test_an_outage_with_a_small_queue_keeps_what_the_policy_says_and_counts_the_rest(
        tmp_path, dispatchers, policy, kept):
    broker = MosquittoBroker(tmp_path / "broker", persistence=True).start()
    try:
        watcher = durable_subscriber(broker, "watcher")
        dispatcher = dispatchers(actions(broker.port, queue_size=3, drop_policy=policy))
        up(dispatcher)
        before, _ = fire(dispatcher, 100)
        settled([before])
        watcher.wait_for(lambda m: m.topic.startswith("gridsight/events/"), 5, "the message before the outage")

        broker.kill()
        down(dispatcher)
        fired, slowest = [], 0.0
        for n in range(10):
            message, took = fire(dispatcher, n)
            fired.append(message)
            slowest = max(slowest, took)
        assert slowest < FIRE_BOUND_S, f"fire() took {slowest * 1000:.0f} ms with the broker killed"
        stats = dispatcher.mqtt.stats()
        assert (stats["queued"], stats["dropped"]) == (3, 7)
        assert [n for n, m in enumerate(fired) if m.outcome == DROPPED] == [n for n in range(10) if n not in kept]

        broker.start()
        settled(fired)
        expected = [f"cam-1/lift/car/{n}" for n in kept]
        wait_until(lambda: len(event_ids(watcher)) >= 4, 10, "the kept messages at the subscriber")
        assert event_ids(watcher) == ["cam-1/lift/car/100", *expected]
        stats = dispatcher.mqtt.stats()
        assert (stats["delivered"], stats["dropped"], stats["queued"]) == (4, 7, 0)
        assert stats["delivered"] + stats["dropped"] == 11  # everything fired is accounted for
        watcher.stop()
    finally:
        broker.kill()


def test_each_outage_is_logged_once_and_its_end_once(tmp_path, dispatchers, caplog):
    caplog.set_level(logging.INFO, logger="streams.actions")
    broker = MosquittoBroker(tmp_path / "broker").start()
    try:
        dispatcher = dispatchers(actions(broker.port))
        up(dispatcher)
        for outage in (1, 2):
            broker.kill()
            down(dispatcher)
            connects = dispatcher.mqtt.connects
            fire(dispatcher, outage)
            # on_disconnect began the outage; paho then calls on_connect_fail for every refused reconnect
            wait_until(lambda: "unreachable" in (dispatcher.problem() or ""), 5, "a refused reconnect in the health text")
            broker.start()
            up(dispatcher)
            assert dispatcher.mqtt.connects == connects + 1
        went = [r for r in caplog.records if "reconnecting with backoff" in r.getMessage()]
        back = [r for r in caplog.records if "is back after" in r.getMessage()]
        assert len(went) == 2 and len(back) == 2, [r.getMessage() for r in caplog.records]
        assert all("connection lost" in r.getMessage() for r in went)
        assert all("1 queued message(s) going out" in r.getMessage() for r in back)
    finally:
        broker.kill()


# ---- what the sink relies on in paho-mqtt 2.x ----------------------------------------------------

def test_paho_calls_connect_fail_while_unreachable_and_disconnect_only_for_a_lost_or_refused_session(tmp_path):
    """MqttSink._went_down's bookkeeping assumes: an unreachable broker -> on_connect_fail for each try
    (no on_disconnect); a session lost -> one on_disconnect, then on_connect_fail while away; a refused
    CONNACK -> on_connect with a failure code followed at once by on_disconnect."""
    broker = MosquittoBroker(tmp_path / "broker", users={"gridsight": RIGHT_PASSWORD})
    log = CallbackLog(broker.port, RIGHT_PASSWORD)
    try:
        wait_until(lambda: log.count("connect_fail") >= 2, 5, "two refused TCP connects")
        assert set(log.names()) == {"connect_fail"}
        broker.start()
        wait_until(lambda: "connect" in log.names(), 5, "the connect")
        assert log.calls[-1] == ("connect", "Success")
        broker.kill()
        wait_until(lambda: log.names()[-2:] == ["connect_fail", "connect_fail"], 5, "reconnects refused")
        after_connect = log.names()[log.names().index("connect") + 1:]
        assert after_connect[0] == "disconnect" and set(after_connect[1:]) == {"connect_fail"}  # one disconnect
        broker.start()
        wait_until(lambda: log.names()[-1] == "connect", 5, "the reconnect")

        refused = CallbackLog(broker.port, WRONG_PASSWORD)
        wait_until(lambda: refused.count("disconnect") >= 2, 5, "two refused sessions")
        assert refused.calls[:4] == [("connect", "Not authorized"), ("disconnect", "Unspecified error")] * 2
        refused.stop()
    finally:
        log.stop()
        broker.kill()
