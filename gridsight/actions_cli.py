"""`gridsight actions test`: one sample event through a worker config's edge actions, so an
installer can check the wiring (broker, topics, hooks, signatures) before a real e-bike does.

It builds the sample the pipeline would hand the dispatcher for the rule (its labels, one box
in its zone, a dark 640x360 frame; marked ``"test": true``), dispatches it with the gates
bypassed (one message whatever the rate limit and cooldown say), waits for each message's
outcome and prints one line per target. It connects as its own MQTT client and worker name
(``<worker>-actions-test``), and leaves the retained per-zone state alone, so a worker running
with the same config keeps its session, its availability topic and its zones' state.
Nothing it prints carries a credential (broker password, hook secret, URL user info).

Exit codes: 0 every message delivered (or logged, dry run); 1 one was not, or no route sends
the rule; 2 bad input (the config, the rule, the camera).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid

DEFAULT_TIMEOUT_S = 10.0  # a hook's defaults (2 s x 3 attempts + backoff) fit
SAMPLE_SIZE = (640, 360)  # the config does not know a camera's resolution; a common sub-stream size
SAMPLE_DWELL_S = 3.0
TEST_SUFFIX = "-actions-test"


class UsageError(Exception):
    """Bad input: one line for the operator, exit 2."""


def add_commands(sub) -> None:
    """The ``actions`` command and its ``test`` action."""
    p = sub.add_parser("actions", help="edge actions (MQTT, local hooks): send a sample event to check the wiring")
    asub = p.add_subparsers(dest="action", required=True)
    t = asub.add_parser("test", help="publish one sample event of a rule through the config's routes (docs/actions.md)")
    t.add_argument("--config", required=True, help="the worker config (site.yaml)")
    t.add_argument("--rule", required=True, help="rule id, or camera/rule")
    t.add_argument("--camera", help="the camera, when several have the rule")
    t.add_argument("--phase", choices=["start", "update", "end"], default="start", help="event phase (default start)")
    t.add_argument("--dry-run", action="store_true", help="log what would be sent, send nothing")
    t.add_argument("--timeout-s", type=_positive_seconds, default=DEFAULT_TIMEOUT_S,
                   help=f"how long to wait for the broker and hooks (default {DEFAULT_TIMEOUT_S:g})")
    t.set_defaults(func=run_actions_test)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 and at most 600 seconds")
    return value


def run_actions_test(args) -> int:
    from streams.config import ConfigError, load_config

    try:
        config = load_config(args.config, check_models=False, env=os.environ)
    except ConfigError as exc:
        return _errors(config_error_lines(exc), 2)
    try:
        camera_id, rule_id = pick_camera(config, args.rule, args.camera)
    except UsageError as exc:
        return _errors([str(exc)], 2)
    actions = config.actions
    if args.dry_run:
        actions = actions.model_copy(update={"dry_run": True})
    facts = sample_facts(config, camera_id, rule_id, args.phase)
    sending = [name for name, route in actions.routes.items()
               if route.matches(camera_id, rule_id, facts.priority, args.phase)]
    if not sending:
        return _errors([no_route_line(actions, camera_id, rule_id, facts.priority, args.phase)], 1)
    print(f"actions test: camera {camera_id}, rule {rule_id} ({facts.category_code}, {facts.priority}), "
          f"phase {args.phase}, event {facts.event.event_id}, route(s) {', '.join(sending)}"
          f"{' (dry run: nothing is sent)' if actions.dry_run else ''}")
    lines, ok = send_sample(actions, config.worker.name, facts, args.timeout_s)
    for line in lines:
        print(line)
    return 0 if ok else 1


def _errors(lines: list[str], code: int) -> int:
    for line in lines:
        print(f"error: {' '.join(str(line).split())}", file=sys.stderr)
    return code


def config_error_lines(exc: Exception) -> list[str]:
    """A ConfigError as check-config words it: one line per problem ("config X: field: problem")."""
    lines = str(exc).splitlines()
    if len(lines) < 2 or not lines[0].endswith(" is invalid:"):
        return [" ".join(str(exc).split())]  # not found, not valid YAML: one problem
    head, out = lines[0].removesuffix(" is invalid:"), []
    for line in lines[1:]:
        if line.startswith("  - "):
            out.append(f"{head}: {line[4:]}")
        elif out:  # a message that ran onto a second line
            out[-1] += " " + line.strip()
    return out


def pick_camera(config, rule: str, camera: str | None) -> tuple[str, str]:
    """(camera id, rule id) for ``--rule`` (an id or camera/rule) and ``--camera``; UsageError otherwise."""
    named, _, rule_id = rule.rpartition("/")
    if named and camera and named != camera:
        raise UsageError(f"--rule {rule} names camera '{named}' but --camera is '{camera}'")
    camera = camera or named or None
    every = sorted({f"{cid}/{rid}" for cid, cam in config.cameras.items() for rid in cam.rules})
    if camera is not None:
        if camera not in config.cameras:
            raise UsageError(f"camera '{camera}' is not defined (cameras: {', '.join(sorted(config.cameras))})")
        if rule_id not in config.cameras[camera].rules:
            raise UsageError(f"camera '{camera}' has no rule '{rule_id}' (its rules: "
                             f"{', '.join(sorted(config.cameras[camera].rules))})")
        return camera, rule_id
    having = sorted(cid for cid, cam in config.cameras.items() if rule_id in cam.rules)
    if not having:
        raise UsageError(f"no camera has rule '{rule_id}' (rules: {', '.join(every) or 'none'})")
    if len(having) > 1:
        raise UsageError(f"cameras {', '.join(having)} all have rule '{rule_id}'; say which with --camera")
    return having[0], rule_id


def sample_facts(config, camera_id: str, rule_id: str, phase: str):
    """The EventFacts the pipeline would hand the dispatcher for this rule, marked as a test."""
    import numpy as np

    from inference.detections import Detections
    from inference.frames import VideoFrame
    from inference.rules import EventPhase, RuleEvent
    from streams.actions.payload import EventFacts

    camera = config.cameras[camera_id]
    rule = camera.rules[rule_id]
    width, height = SAMPLE_SIZE
    box = box_in_zone(camera.zones[rule.zone].polygon, width, height)
    detections = Detections(np.array([box], np.float32), np.array([0.9], np.float32),
                            np.array([rule.labels[0]], object), np.array([1], np.int64))
    now = time.time()
    event = RuleEvent(event_id=f"actions-test-{uuid.uuid4().hex[:12]}", phase=EventPhase(phase), camera_id=camera_id,
                      rule_id=rule_id, zone_id=rule.zone, at=now, started_at=now - SAMPLE_DWELL_S,
                      labels=tuple(rule.labels), track_ids=(1,), max_confidence=0.9, detections=detections)
    frame = VideoFrame(np.full((height, width, 3), 16, np.uint8), frame_id=0, captured_at=now, camera_id=camera_id)
    return EventFacts(camera_id, event, rule.category_code, rule.category_name, rule.priority, camera.grid_cell,
                      frame, detections, test=True)


def box_in_zone(polygon, width: int, height: int) -> list[float]:
    """A box (pixels) whose bottom centre, the point a zone tests, lies inside ``polygon`` (normalised)."""
    import numpy as np

    from inference.zones import points_in_polygon

    poly = np.asarray(polygon, dtype=np.float64)
    centre = poly.mean(axis=0)
    xs = np.linspace(poly[:, 0].min(), poly[:, 0].max(), 41)[1:-1]
    ys = np.linspace(poly[:, 1].min(), poly[:, 1].max(), 41)[1:-1]
    grid = np.array([(x, y) for y in ys for x in xs] + [tuple(centre)])
    inside = grid[points_in_polygon(grid, poly)]
    x, y = inside[np.argmin(np.linalg.norm(inside - centre, axis=1))] if len(inside) else centre
    bottom_x, bottom_y = x * width, y * height
    half_w, box_h = 0.05 * width, 0.2 * height
    return [max(0.0, bottom_x - half_w), max(0.0, bottom_y - box_h), min(float(width), bottom_x + half_w), bottom_y]


def no_route_line(actions, camera_id: str, rule_id: str, priority: str, phase: str) -> str:
    """Why nothing would be sent: every route and what it selects."""
    what = f"no route sends the {phase} of rule '{rule_id}' on camera '{camera_id}' (tier {priority})"
    if not actions.routes:
        return f"{what}: the config has no actions.routes (docs/actions.md)"
    return f"{what}; routes: " + "; ".join(describe_route(name, route) for name, route in actions.routes.items())


def describe_route(name: str, route) -> str:
    picks = [f"rules {', '.join(route.rules)}" if route.rules else "",
             f"priorities {', '.join(route.priorities)}" if route.priorities else "",
             f"cameras {', '.join(route.cameras)}" if route.cameras else "",
             f"phases {', '.join(route.phases)}"]
    targets = ([f"mqtt {route.mqtt.topic}"] if route.mqtt is not None else []) + \
        ([f"hook {route.hook}"] if route.hook is not None else [])
    return f"{name} ({', '.join(p for p in picks if p)} -> {' and '.join(targets)})"


def send_sample(actions, worker_name: str, facts, timeout_s: float) -> tuple[list[str], bool]:
    """Dispatch ``facts`` through the config's sinks; (one line per message, all delivered or logged)."""
    from streams.actions import from_config
    from streams.actions.queue import DELIVERED, LOGGED

    actions = _as_own_client(actions, worker_name)
    dispatcher = from_config(actions, worker_name + TEST_SUFFIX)
    dispatcher.state_topics = False  # a sample must not tell a lift its zone is occupied
    started = time.monotonic()
    deadline = started + timeout_s
    dispatcher.start()
    try:
        _wait_until_connected(dispatcher, started + timeout_s / 2)  # a broker that is away leaves the hooks time
        messages = dispatcher.dispatch(facts, bypass_gates=True)
        finished_at = _wait_for_outcomes(messages, deadline)
        lines = [_outcome_line(dispatcher, m, finished_at.get(id(m)), messages, timeout_s) for m in messages]
    finally:
        dispatcher.stop(flush_timeout_s=0.5)
    return lines, bool(messages) and all(id(m) in finished_at and m.outcome in (DELIVERED, LOGGED) for m in messages)


def _as_own_client(actions, worker_name: str):
    """The broker settings with a client id of its own: one the worker uses would take its session over."""
    if actions.mqtt is None:
        return actions
    own = (actions.mqtt.client_id or f"gridsight-{worker_name}")[:100] + f"{TEST_SUFFIX}-{os.getpid()}"
    return actions.model_copy(update={"mqtt": actions.mqtt.model_copy(update={"client_id": own})})


def _wait_until_connected(dispatcher, deadline: float) -> None:
    """Until every sink can send (MQTT: connected), so a delivery time is the message's, not the connect's."""
    while time.monotonic() < deadline and not all(sink.up for sink in dispatcher.sinks):
        time.sleep(0.005)


def _wait_for_outcomes(messages, deadline: float) -> dict[int, float]:
    """Monotonic time each message finished (one watcher each, so every time is its own), until the deadline."""
    finished_at: dict[int, float] = {}

    def watch(message) -> None:
        if message.done.wait(max(0.0, deadline - time.monotonic())):
            finished_at[id(message)] = time.monotonic()

    watchers = [threading.Thread(target=watch, args=(m,), daemon=True) for m in messages]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join()
    return finished_at


def _outcome_line(dispatcher, message, finished_at: float | None, messages, timeout_s: float) -> str:
    from streams.actions.queue import DELIVERED, FAILED, LOGGED

    sink = next(s for s in dispatcher.sinks if s.name == message.sink)
    outcome = message.outcome if finished_at is not None else None  # one that came after the deadline is late
    if message.sink == "mqtt":
        label, where = f"mqtt  {message.target}", f"qos {message.qos}"
    else:
        label, where = f"hook {message.target}", getattr(sink, "url", "dry run")
    if outcome == DELIVERED:
        return f"{label}  delivered in {(finished_at - message.fired_at) * 1000:.0f} ms ({where})"
    if outcome == LOGGED:
        return f"{label}  logged (dry run: not sent)"
    if outcome == FAILED:
        attempts = getattr(sink, "attempts", None)
        alone = sum(1 for m in messages if m.sink == message.sink) == 1
        return f"{label}  failed: {message.detail}" + (f" after {attempts} attempt(s)" if alone and attempts else "")
    if outcome is not None:  # dropped
        return f"{label}  {outcome}: {message.detail}"
    why = sink.problem() or (f"not connected to the broker {sink.address}" if not sink.up and hasattr(sink, "address")
                             else f"no answer yet ({getattr(sink, 'attempts', 0)} attempt(s) so far)")
    return f"{label}  not delivered within {timeout_s:g} s: {why}"
