"""The edge-action dispatcher: the pipeline hands it every rule event on the frame that
fired it (:meth:`ActionDispatcher.fire`); it picks the routes that want the event, asks
each route's gate (streams.actions.limits), builds the v1 message (streams.actions.payload)
and hands it to the sinks' queues. It never blocks the camera and never raises into it:
the sinks send on their own threads, and what they cannot send is queued, dropped by a
named policy, or failed, and counted either way. A route whose message cannot be built or
handed over (a sink that raises) is counted as an error and logged; the other routes and
targets of the event still go.

Every camera's thread calls it: the gates, the counters and the zone state are kept under
one lock (held for decisions and bookkeeping only, never while a payload is encoded).

It also keeps the retained per-zone state (which events are active in a camera's zone)
for the MQTT sink, from every event of a routed rule, whatever the gates held back: the
state is the truth, the gates only spare the devices.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from inference.detections import Detections
from inference.frames import VideoFrame
from inference.rules import RuleEvent
from streams.actions.limits import HELD_BACK, SENT, RouteGate
from streams.actions.mqtt import MqttSink, topic_level
from streams.actions.payload import EventFacts, build_payload, encode, state_payload
from streams.actions.queue import ActionMessage
from streams.actions.sink import Sink
from streams.config.actions import STATE_TOPIC, RouteConfig

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 3.0  # at shutdown: how long the sinks may still send what they hold
STATE = "(state topic)"  # errors' key for the retained zone state (no route of its own)


@dataclass
class Route:
    name: str
    config: RouteConfig
    gate: RouteGate

    @classmethod
    def from_config(cls, name: str, config: RouteConfig) -> "Route":
        return cls(name, config, RouteGate(config.min_interval_s, config.cooldown_s,
                                           sends_starts="start" in config.phases))


class ActionDispatcher:
    """``mqtt``: the broker's sink (or None); ``hooks``: hook name -> sink; ``clock``: monotonic
    seconds for the gates; ``wall``: Unix seconds stamped on each message (``sent_at``)."""

    def __init__(self, routes: list[Route], *, mqtt: Sink | None = None, hooks: dict[str, Sink] | None = None,
                 topic_prefix: str = "gridsight", state_topics: bool = True,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.routes = routes
        self.mqtt = mqtt
        self.hooks = dict(hooks or {})
        self.topic_prefix = topic_prefix
        self.state_topics = state_topics and isinstance(mqtt, MqttSink)
        self._clock = clock
        self._wall = wall
        self.held_back: dict[tuple[str, str], int] = {(r.name, why): 0 for r in routes for why in HELD_BACK}
        self.sent: dict[str, int] = {r.name: 0 for r in routes}
        self.errors: dict[str, int] = {r.name: 0 for r in routes}  # messages a route could not build or hand over
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], dict[str, dict]] = {}  # (camera, zone) -> event id -> summary

    @property
    def sinks(self) -> list[Sink]:
        return [s for s in (self.mqtt, *self.hooks.values()) if s is not None]

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()

    def stop(self, flush_timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        for sink in self.sinks:
            sink.stop(flush_timeout_s)
        for sink in self.sinks:
            stats = sink.stats()
            log.info("edge actions: %s sent this run: %d delivered, %d failed, %d dropped, %d logged (dry run)",
                     sink.name, stats["delivered"], stats["failed"], stats["dropped"], stats["logged"])

    def fire(self, camera_id: str, event: RuleEvent, template, frame: VideoFrame | None, tracked: Detections) -> list[ActionMessage]:
        """The pipeline's hook: called on the camera's thread as the rule emits ``event``."""
        facts = EventFacts(camera_id, event, template.category_code, template.category_name, template.priority,
                           template.grid_cell, frame, tracked)
        return self.dispatch(facts)

    def dispatch(self, facts: EventFacts, *, bypass_gates: bool = False) -> list[ActionMessage]:
        """Send ``facts`` to every route that wants it; returns the messages queued.
        ``bypass_gates``: `gridsight actions test` (one sample, whatever the limits say)."""
        event, now = facts.event, self._clock()
        phase = event.phase.value
        queued: list[ActionMessage] = []
        bodies: dict[int | None, bytes] = {}  # one encoding per JPEG width (None: no JPEG)
        state_routed = False
        for route in self.routes:
            if not route.config.selects(facts.camera_id, event.rule_id, facts.priority):
                continue
            state_routed |= route.config.mqtt is not None
            if phase not in route.config.phases or not self._passes(route, facts, now, bypass_gates):
                continue
            queued.extend(self._messages(route, facts, bodies))
        if state_routed and self.state_topics:
            try:
                self._update_state(facts)
            except Exception:
                self._failed(STATE, "mqtt", facts)
        return queued

    def _passes(self, route: Route, facts: EventFacts, now: float, bypass_gates: bool) -> bool:
        """Whether the route's gate lets this phase go (counted either way)."""
        event = facts.event
        with self._lock:
            decision = SENT if bypass_gates else route.gate.decide(facts.camera_id, event.zone_id, event.event_id,
                                                                   event.phase.value, now)
            if decision == SENT:
                self.sent[route.name] += 1
                return True
            self.held_back[(route.name, decision)] += 1
        log.debug("edge actions: route %s held back %s of %s (%s)", route.name, event.phase.value, event.event_id, decision)
        return False

    def _messages(self, route: Route, facts: EventFacts, bodies: dict) -> list[ActionMessage]:
        out = []
        event = facts.event
        if route.config.mqtt is not None and self.mqtt is not None:
            target = route.config.mqtt
            try:
                body = self._body(facts, target.jpeg_max_width if target.include_jpeg else None, bodies)
                topic = target.topic.format(**self._topic_values(facts))
                out.append(self._submit(self.mqtt, ActionMessage("mqtt", topic, body, event.event_id, event.phase.value,
                                                                  route.name, qos=target.qos)))
            except Exception:
                self._failed(route.name, "mqtt", facts)
        if route.config.hook is not None and route.config.hook in self.hooks:
            sink = self.hooks[route.config.hook]
            hook = getattr(sink, "config", None)
            width = hook.jpeg_max_width if hook is not None and hook.include_jpeg else None
            try:
                body = self._body(facts, width, bodies)
                out.append(self._submit(sink, ActionMessage(sink.name, route.config.hook, body, event.event_id,
                                                            event.phase.value, route.name)))
            except Exception:
                self._failed(route.name, sink.name, facts)
        return out

    def _failed(self, route: str, sink: str, facts: EventFacts) -> None:
        """A message that could not be built or handed to its sink: counted; logged the first time and
        every 100th (with the traceback the first time), never raised into the camera."""
        with self._lock:
            self.errors[route] = errors = self.errors.get(route, 0) + 1
        if errors == 1 or errors % 100 == 0:
            log.error("edge actions: route %s could not hand %s of %s to %s (%d error(s) so far); the other routes "
                      "and the cameras go on", route, facts.event.phase.value, facts.event.event_id, sink, errors,
                      exc_info=errors == 1)

    def _body(self, facts: EventFacts, jpeg_width: int | None, bodies: dict) -> bytes:
        if jpeg_width not in bodies:
            bodies[jpeg_width] = encode(build_payload(facts, sent_at=self._wall(), jpeg_max_width=jpeg_width))
        return bodies[jpeg_width]

    @staticmethod
    def _submit(sink: Sink, message: ActionMessage) -> ActionMessage:
        sink.submit(message)
        return message

    def _topic_values(self, facts: EventFacts) -> dict[str, str]:
        event = facts.event
        return {"prefix": self.topic_prefix, "camera": topic_level(facts.camera_id), "zone": topic_level(event.zone_id),
                "rule": topic_level(event.rule_id), "category": topic_level(facts.category_code), "phase": event.phase.value,
                "priority": topic_level(facts.priority)}

    def _update_state(self, facts: EventFacts) -> None:
        event = facts.event
        with self._lock:
            active = self._active.setdefault((facts.camera_id, event.zone_id), {})
            if event.phase.value == "end":
                if active.pop(event.event_id, None) is None:
                    return
            elif event.event_id in active:
                return  # an update: the zone's state has not changed
            else:
                active[event.event_id] = {"event_id": event.event_id, "rule_id": event.rule_id,
                                          "category": facts.category_code, "priority": facts.priority,
                                          "labels": list(event.labels), "since": round(event.started_at, 3)}
            body = encode(state_payload(facts.camera_id, event.zone_id, active, at=event.at))
            topic = STATE_TOPIC.format(prefix=self.topic_prefix, camera=topic_level(facts.camera_id),
                                       zone=topic_level(event.zone_id))
            self.mqtt.set_state(topic, body)  # under the lock: two cameras' changes reach the sink in order

    # -- what the runtime reads -----------------------------------------------------------
    def problem(self) -> str | None:
        """/health's "actions" entry: every sink that cannot send, in one line; None: all can."""
        problems = [p for sink in self.sinks if (p := sink.problem())]
        return "; ".join(problems) if problems else None

    def stats(self) -> dict:
        with self._lock:
            routes = {name: {"sent": self.sent[name], **{why: self.held_back[(name, why)] for why in HELD_BACK},
                             "errors": self.errors.get(name, 0)} for name in self.sent}
            state_errors = self.errors.get(STATE, 0)
        return {"sinks": [sink.stats() for sink in self.sinks], "routes": routes, "state_errors": state_errors}
