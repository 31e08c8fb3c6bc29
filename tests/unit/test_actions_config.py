"""The worker config's actions section (issue 19): the broker, hooks and routes, the errors
bad input fails with (each naming its field), and secrets from the environment."""

import pytest

from streams.config import ActionsConfig, ConfigError, apply_env, parse_config
from tests.support.site_configs import DEMO, site

LIFT = {"lift": {"preset": "ebike_in_elevator", "zone": "car"}}
BROKER = {"host": "127.0.0.1", "port": 1883}


def with_actions(actions, rules=None):
    raw = site(rules or LIFT)
    raw["actions"] = actions
    return raw


def parse(raw):
    return parse_config(raw, DEMO)


def error_of(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse(raw)
    return str(exc.value)


def test_absent_section_means_no_routes():
    config = parse(site(LIFT))
    assert config.actions == ActionsConfig() and config.actions.routes == {} and config.actions.mqtt is None


def test_a_full_section_with_defaults():
    config = parse(with_actions({
        "mqtt": {**BROKER, "username": "lift", "password": "s3cret-pw"},
        "hooks": {"speaker": {"url": "http://127.0.0.1:9000/say", "secret": "hook-key"}},
        "routes": {
            "lift-warning": {"rules": ["lift"], "mqtt": {}},
            "speaker": {"priorities": ["emergency"], "phases": ["start", "end"], "hook": "speaker", "cooldown_s": 30},
        },
    }))
    actions = config.actions
    assert actions.mqtt.topic_prefix == "gridsight" and actions.mqtt.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(actions) and "hook-key" not in repr(actions)
    route = actions.routes["lift-warning"]
    assert (route.phases, route.mqtt.topic, route.mqtt.qos, route.mqtt.include_jpeg) == (
        ["start"], "{prefix}/events/{camera}/{zone}/{rule}", 1, False)
    assert (actions.mqtt.queue_size, actions.mqtt.drop_policy) == (1000, "drop_oldest")
    assert actions.routes["speaker"].matches("street-01", "lift", "emergency", "end")
    assert not actions.routes["speaker"].matches("street-01", "lift", "urgent", "start")


def test_route_matching_by_rule_camera_rule_tier_camera_and_phase():
    config = parse(with_actions({"mqtt": BROKER, "routes": {
        "r": {"rules": ["street-01/lift"], "cameras": ["street-01"], "phases": ["start", "update"], "mqtt": {}}}}))
    route = config.actions.routes["r"]
    assert route.matches("street-01", "lift", "normal", "update")
    assert not route.matches("street-01", "lift", "normal", "end")
    assert not route.matches("other", "lift", "normal", "start")


@pytest.mark.parametrize("actions, expected", [
    ({"hooks": {"speaker": {"url": "http://x/y"}}, "routes": {"r": {"rules": ["lift"], "hook": "speakr"}}},
     "actions: routes.r.hook: names hook 'speakr', which is not defined; did you mean 'speaker'?"),
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["lift"]}}}, "actions.routes.r: a route needs a target"),
    ({"routes": {"r": {"rules": ["lift"], "mqtt": {}}}},
     "actions: routes.r.mqtt: publishes to MQTT but actions.mqtt (the broker) is not configured"),
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["lift"], "mqtt": {"topic": "{prefix}/{camra}"}}}},
     "actions.routes.r.mqtt.topic: topic template has unknown placeholder {camra}; did you mean {camera}?"),
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["lift"], "mqtt": {"topic": "site/+/x"}}}},
     "actions.routes.r.mqtt.topic: String should match pattern"),
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["lfit"], "mqtt": {}}}},
     "actions.routes.r.rules: rule 'lfit' matches no rule of any camera; did you mean 'lift'?"),
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["street-01/nope"], "mqtt": {}}}},
     "actions.routes.r.rules: camera 'street-01' has no rule 'nope'"),
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["street-1/lift"], "mqtt": {}}}},
     "'street-1/lift' names camera 'street-1', which is not defined; did you mean 'street-01'?"),
    ({"mqtt": BROKER, "routes": {"r": {"mqtt": {}}}}, "a route must say what it sends: rules and/or priorities"),
    ({"mqtt": BROKER, "routes": {"r": {"priorities": ["critical"], "mqtt": {}}}},
     "actions.routes.r.priorities.0: Input should be 'normal', 'urgent' or 'emergency'"),
    ({"mqtt": {**BROKER, "password": "pw"}, "routes": {}}, "password is set without a username"),
    ({"mqtt": {**BROKER, "reconnect_min_s": 5, "reconnect_max_s": 1}}, "reconnect_max_s (1) must be at least"),
    ({"mqtt": {**BROKER, "drop_policy": "drop_all"}}, "actions.mqtt.drop_policy: Input should be 'drop_oldest' or 'drop_newest'"),
    ({"mqtt": {**BROKER, "qos": 1}}, "actions.mqtt.qos: unknown field"),
    ({"hooks": {"h": {"url": "ftp://x"}}}, "actions.hooks.h.url: String should match pattern"),
    # Silence is a bug: a route whose filters together select no rule could never send.
    ({"mqtt": BROKER, "routes": {"r": {"rules": ["lift"], "priorities": ["normal"], "mqtt": {}}}},
     "actions.routes.r: selects no rule of any camera, so it can never send (rules ['lift'], priorities ['normal'], "
     "cameras any; the rules' tiers: lift emergency)"),
    ({"mqtt": BROKER, "routes": {"r": {"priorities": ["urgent"], "mqtt": {}}}},
     "actions.routes.r: selects no rule of any camera"),
])
def test_bad_sections_fail_with_their_field(actions, expected):
    assert expected in error_of(with_actions(actions))


def test_a_bad_password_is_never_quoted_in_the_error():
    message = error_of(with_actions({"mqtt": {**BROKER, "username": "u", "password": 12345678901}}))
    assert "actions.mqtt.password" in message and "12345678901" not in message


def test_rules_are_not_checked_when_redis_supplies_the_cameras():
    raw = with_actions({"mqtt": BROKER, "routes": {"r": {"rules": ["from-redis"], "mqtt": {}}}})
    raw["redis"] = {"url": "redis://127.0.0.1:6379/0", "cameras_from": "both"}
    assert parse(raw).actions.routes["r"].rules == ["from-redis"]


def test_secrets_from_the_environment_only_where_the_section_exists():
    raw = with_actions({"mqtt": {**BROKER, "username": "lift"},
                        "hooks": {"speaker-1": {"url": "http://127.0.0.1:9/say"}},
                        "routes": {"r": {"rules": ["lift"], "mqtt": {}}}})
    env = {"GRIDSIGHT_MQTT_PASSWORD": "from-env", "GRIDSIGHT_HOOK_SPEAKER_1_SECRET": "hook-env"}
    actions = parse(apply_env(raw, env)).actions
    assert actions.mqtt.password.get_secret_value() == "from-env"
    assert actions.hooks["speaker-1"].secret.get_secret_value() == "hook-env"
    plain = parse(apply_env(site(LIFT), env))  # a password alone is no broker
    assert plain.actions.mqtt is None
