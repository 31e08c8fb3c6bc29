"""`gridsight actions test` (issue 19): one sample event through the config's routes, against a
real local HTTP hook (http.server on a thread) and, marked integration, a real Mosquitto broker.
Output: one line per target; exit 0 all delivered (or logged), 1 not, 2 bad input; never a
credential."""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import yaml

from api.contract.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from gridsight.actions_cli import box_in_zone
from gridsight.cli import main
from inference.zones import points_in_polygon
from streams.config import check_model_labels, parse_config
from tests.support.mosquitto import MosquittoBroker, Subscriber, requires_mosquitto
from tests.support.procs import free_port
from tests.support.site_configs import REPO, SQUARE, site

LIFT = {"lift": {"preset": "ebike_in_elevator", "zone": "car"}}
CAR = [[0.2, 0.3], [0.6, 0.3], [0.6, 0.95], [0.2, 0.95]]
HOOK_SECRET = "hook-secret-Zq8Lw3"
BROKER_PASSWORD = "broker-pw-Kx7Tn2"


class Hook:
    """A local HTTP endpoint that records each POST and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[dict, bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append((dict(self.headers), body))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/say"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Hook":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_config(tmp_path, actions, *, rules=None, second_camera=False):
    raw = site(rules or LIFT, zones={"car": {"polygon": CAR, "kind": "elevator"},
                                     "kerb": {"polygon": SQUARE, "kind": "pavement"}})
    raw["models"]["demo"]["manifest"] = str(REPO / "weights" / "gridsight-demo-v1.yaml")
    raw["worker"]["spool_dir"] = str(tmp_path / "spool")
    if second_camera:
        raw["cameras"]["street-02"] = copy.deepcopy(raw["cameras"]["street-01"])
    raw["actions"] = actions
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def hook_actions(url, route=None, **hook):
    return {"hooks": {"siren": {"url": url, **hook}},
            "routes": {"speaker": {"priorities": ["emergency"], "hook": "siren", **(route or {})}}}


def run(capsys, config, *args) -> tuple[int, str, str]:
    rc = main(["actions", "test", "--config", str(config), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def result_lines(out: str) -> list[str]:
    """The per-target lines (log lines start with a date)."""
    return [line for line in out.splitlines() if re.match(r"(mqtt|hook) ", line)]


def test_a_hook_gets_one_signed_sample_marked_as_a_test(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRIDSIGHT_HOOK_SIREN_SECRET", HOOK_SECRET)
    with Hook() as hook:
        config = write_config(tmp_path, hook_actions(hook.url, {"phases": ["start", "end"], "min_interval_s": 3600}))
        rc, out, err = run(capsys, config, "--rule", "lift")
        # The gates are bypassed: an END whose START this process never sent still goes.
        rc_end, out_end, _ = run(capsys, config, "--rule", "lift", "--phase", "end")
    assert (rc, rc_end, err) == (0, 0, "")
    [line] = result_lines(out)
    assert re.fullmatch(rf"hook siren  delivered in \d+ ms \({re.escape(hook.url)}\)", line), line
    assert len(hook.requests) == 2 and json.loads(hook.requests[1][1])["phase"] == "end"
    assert hook.requests[1][0]["X-GridSight-Event"] == "action.end"
    headers, body = hook.requests[0]
    assert verify(HOOK_SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    message = json.loads(body)
    assert message["test"] is True and message["schema"] == "gridsight.action" and message["phase"] == "start"
    assert (message["camera_id"], message["rule_id"], message["zone_id"], message["priority"]) == (
        "street-01", "lift", "car", "emergency")
    assert message["event_id"] in out and message["labels"] == ["ebike", "motorcycle"]  # the preset's
    assert message["frame"]["width"] == 640 and message["frame"]["height"] == 360
    [box] = message["boxes"]
    assert box["label"] == "ebike"
    x1, _y1, x2, y2 = box["xyxy_norm"]
    assert points_in_polygon(np.array([[(x1 + x2) / 2, y2]]), np.array(CAR))[0]  # the point a zone tests


def test_box_in_a_concave_zone_lands_inside_it():
    ell = [[0.1, 0.1], [0.3, 0.1], [0.3, 0.7], [0.9, 0.7], [0.9, 0.9], [0.1, 0.9]]  # centroid outside the L
    assert not points_in_polygon(np.mean(ell, axis=0, keepdims=True), np.array(ell))[0]
    x1, _y1, x2, y2 = box_in_zone(ell, 640, 360)
    assert points_in_polygon(np.array([[(x1 + x2) / 2 / 640, y2 / 360]]), np.array(ell))[0]


def test_a_failing_hook_is_one_line_with_its_attempts_and_exit_1(tmp_path, capsys):
    with Hook(status=500) as hook:
        config = write_config(tmp_path, hook_actions(hook.url, retries=2, backoff_initial_s=0.01, backoff_max_s=0.02))
        rc, out, _err = run(capsys, config, "--rule", "lift")
    assert rc == 1 and len(hook.requests) == 3
    assert result_lines(out) == ["hook siren  failed: HTTP 500 after 3 attempt(s)"]


@pytest.mark.parametrize("how", ["flag", "config"])
def test_dry_run_sends_nothing_and_says_so(tmp_path, capsys, how):
    with Hook() as hook:
        actions = {**hook_actions(hook.url), **({"dry_run": True} if how == "config" else {})}
        config = write_config(tmp_path, actions)
        rc, out, err = run(capsys, config, "--rule", "lift", *(["--dry-run"] if how == "flag" else []))
    assert (rc, err, hook.requests) == (0, "", [])
    assert result_lines(out) == ["hook siren  logged (dry run: not sent)"]
    assert "would send hook:siren start event actions-test-" in out  # the dry-run sink's own log line


def test_an_unknown_rule_lists_the_rules(tmp_path, capsys):
    config = write_config(tmp_path, hook_actions("http://127.0.0.1:9/x"))
    rc, out, err = run(capsys, config, "--rule", "lfit")
    assert (rc, out) == (2, "")
    assert err == "error: no camera has rule 'lfit' (rules: street-01/lift)\n"


def test_a_rule_on_several_cameras_needs_camera(tmp_path, capsys):
    config = write_config(tmp_path, {**hook_actions("http://127.0.0.1:9/x"), "dry_run": True}, second_camera=True)
    rc, _out, err = run(capsys, config, "--rule", "lift")
    assert rc == 2 and err == "error: cameras street-01, street-02 all have rule 'lift'; say which with --camera\n"
    for args in (["--rule", "lift", "--camera", "street-02"], ["--rule", "street-02/lift"]):
        rc, out, err = run(capsys, config, *args)
        assert (rc, err) == (0, "") and "camera street-02, rule lift" in out
    rc, _out, err = run(capsys, config, "--rule", "lift", "--camera", "street-9")
    assert rc == 2 and err == "error: camera 'street-9' is not defined (cameras: street-01, street-02)\n"


def test_bad_config_files_are_check_configs_one_line_errors(tmp_path, capsys):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("models: [\n", encoding="utf-8")
    bad_schema = tmp_path / "schema.yaml"
    bad_schema.write_text("models: {}\ncameras: {a: 1}\nfoo: 2\n", encoding="utf-8")
    for config in (tmp_path / "nope.yaml", bad_yaml, bad_schema):
        rc, out, err = run(capsys, config, "--rule", "lift")
        assert rc == 2 and out == "" and "Traceback" not in err
        assert err.count("\n") == len(err.splitlines()) and all(line.startswith("error: ") for line in err.splitlines())
        assert main(["check-config", str(config)]) == 2
        assert capsys.readouterr().err == err  # word for word what check-config says
    assert err.count("error: ") == 3 and "foo: unknown field" in err


def test_a_rule_no_route_sends_names_the_routes(tmp_path, capsys):
    actions = {**hook_actions("http://127.0.0.1:9/x"), "mqtt": {"host": "127.0.0.1"},
               "routes": {"speaker": {"priorities": ["emergency"], "hook": "siren"},
                          "kerb": {"rules": ["street-01/litter"], "phases": ["start", "end"], "mqtt": {"topic": "site/{zone}"}}}}
    rules = {**LIFT, "litter": {"preset": "exposed_garbage", "zone": "kerb"}}
    config = write_config(tmp_path, actions, rules=rules)
    rc, out, err = run(capsys, config, "--rule", "lift", "--phase", "end")
    assert (rc, out) == (1, "")
    assert err == ("error: no route sends the end of rule 'lift' on camera 'street-01' (tier emergency); routes: "
                   "speaker (priorities emergency, phases start -> hook siren); "
                   "kerb (rules street-01/litter, phases start, end -> mqtt site/{zone})\n")
    config = write_config(tmp_path, {})
    rc, _out, err = run(capsys, config, "--rule", "lift")
    assert rc == 1 and err.endswith("(tier emergency): the config has no actions.routes (docs/actions.md)\n")


def test_no_credential_is_printed_even_when_everything_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRIDSIGHT_MQTT_PASSWORD", BROKER_PASSWORD)
    monkeypatch.setenv("GRIDSIGHT_HOOK_SIREN_SECRET", HOOK_SECRET)
    url_password = "url-pw-Vb5Rm9"
    actions = {"mqtt": {"host": "127.0.0.1", "port": free_port(), "username": "lift-ctl"},
               "hooks": {"siren": {"url": f"http://admin:{url_password}@127.0.0.1:{free_port()}/say", "retries": 0}},
               "routes": {"lift": {"rules": ["lift"], "mqtt": {}, "hook": "siren"}}}
    config = write_config(tmp_path, actions)
    rc, out, err = run(capsys, config, "--rule", "lift", "--timeout-s", "1")
    assert rc == 1
    lines = result_lines(out)
    assert lines[0].startswith("mqtt  gridsight/events/street-01/car/lift  not delivered within 1 s")
    assert lines[1].startswith("hook siren  failed: ConnectError") and len(lines) == 2
    for secret in (BROKER_PASSWORD, HOOK_SECRET, url_password):
        assert secret not in out + err


def test_timeout_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["actions", "test", "--config", "x.yaml", "--rule", "lift", "--timeout-s", "0"])
    assert exc.value.code == 2 and "must be more than 0" in capsys.readouterr().err


def test_the_docs_example_is_a_valid_config():
    text = (REPO / "docs" / "actions.md").read_text(encoding="utf-8")
    raw = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    config = parse_config(raw, REPO / "configs" / "site.yaml")  # its relative paths as if it lay in configs/
    check_model_labels(config)  # raises where a rule's labels cannot work with the model
    routes = config.actions.routes
    assert set(routes) == {"lift-warning", "fire-lane-sign", "loudspeaker"} and set(config.actions.hooks) == {"speaker"}
    assert routes["loudspeaker"].matches("gate-3", "litter", "urgent", "start")
    assert not routes["loudspeaker"].matches("lift-01", "lift", "emergency", "start")


@pytest.mark.integration
def test_a_sample_reaches_a_real_broker_and_leaves_the_zone_state_alone(tmp_path, capsys, monkeypatch, mosquitto):
    monkeypatch.setenv("GRIDSIGHT_MQTT_PASSWORD", BROKER_PASSWORD)
    actions = {"mqtt": {"host": mosquitto.host, "port": mosquitto.port, "username": "lift-ctl", "client_id": "lift-gw"},
               "routes": {"lift-warning": {"rules": ["lift"], "mqtt": {}}}}
    config = write_config(tmp_path, actions)
    with Subscriber(mosquitto.host, mosquitto.port).start() as sub:
        rc, out, err = run(capsys, config, "--rule", "lift")
        offline = sub.wait_for(lambda m: m.topic == "gridsight/workers/demo-worker-actions-test"
                               and m.payload == b"offline", 5, "the test client's goodbye")
        topics = [m.topic for m in sub.messages[:sub.messages.index(offline)]]
        event = next(m for m in sub.messages if m.topic == "gridsight/events/street-01/car/lift")
    assert (rc, err) == (0, "")
    [line] = result_lines(out)
    assert re.fullmatch(r"mqtt  gridsight/events/street-01/car/lift  delivered in \d+ ms \(qos 1\)", line), line
    assert int(re.search(r"in (\d+) ms", line).group(1)) < 1000
    message = sub.json(event)
    assert message["test"] is True and message["event_id"] in out and event.qos == 1
    assert not [t for t in topics if t.startswith("gridsight/state/")]  # no lift is told its car is occupied
    assert "gridsight/workers/demo-worker" not in topics  # the real worker's availability is untouched
    assert "lift-gw-actions-test-" in mosquitto.log_text()  # its own client id: the worker keeps its session
    assert BROKER_PASSWORD not in out + err


@pytest.mark.integration
@requires_mosquitto
def test_a_broker_that_refuses_the_password_is_named_and_the_password_is_not(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRIDSIGHT_MQTT_PASSWORD", BROKER_PASSWORD)  # the broker knows another one
    with MosquittoBroker(tmp_path / "mosquitto", users={"lift-ctl": "the-right-one-Hq4"}) as broker:
        actions = {"mqtt": {"host": broker.host, "port": broker.port, "username": "lift-ctl"},
                   "routes": {"lift-warning": {"rules": ["lift"], "mqtt": {}}}}
        # Past the sink's 3 s connect grace, so its /health reason (the refusal) is what is printed.
        rc, out, err = run(capsys, write_config(tmp_path, actions), "--rule", "lift", "--timeout-s", "4")
    assert rc == 1
    [line] = result_lines(out)
    assert line.startswith("mqtt  gridsight/events/street-01/car/lift  not delivered within 4 s: MQTT broker "
                           f"{broker.host}:{broker.port} away for") and "refused the connection" in line, line
    assert BROKER_PASSWORD not in out + err
