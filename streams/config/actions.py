"""Edge actions (issue 19): what the worker sends the moment a rule fires, straight from the
camera's pipeline, to an MQTT broker and/or local HTTP hooks (elevators, loudspeakers, site
systems), independent of the API. See docs/actions.md.

Routes pick events (by rule id, "camera/rule", tier, camera; phases) and name their targets;
the broker and the hooks are sinks, each with its own bounded queue and named drop policy.
Absent section: no actions at all.
"""

from __future__ import annotations

import difflib
import string
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from streams.config.base import Identifier, Strict

if TYPE_CHECKING:
    from streams.config.camera import CameraConfig

TOPIC_PLACEHOLDERS = ("prefix", "camera", "zone", "rule", "category", "phase", "priority")
DEFAULT_TOPIC = "{prefix}/events/{camera}/{zone}/{rule}"
STATE_TOPIC = "{prefix}/state/{camera}/{zone}"
PRIORITIES = ("normal", "urgent", "emergency")
DropPolicy = Literal["drop_oldest", "drop_newest"]
Phase = Literal["start", "update", "end"]
_TOPIC_CHARS = r"^[^#+\x00\s]{1,512}$"  # no MQTT wildcards or spaces in what is published to


class _SinkQueue(Strict):
    queue_size: int = Field(
        default=1000, ge=1, le=100_000,
        description="Messages this sink holds while it is slow or away; beyond that drop_policy decides (counted)",
    )
    drop_policy: DropPolicy = Field(
        default="drop_oldest",
        description="Queue full: drop_oldest (the newest news wins: the oldest waiting message is dropped) or "
                    "drop_newest (the incoming message is dropped); both counted as dropped",
    )


class MqttBrokerConfig(_SinkQueue):
    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:_\[\]-]+$", description="Broker host name or address")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (1883 plain, 8883 TLS)")
    username: str | None = Field(default=None, min_length=1, max_length=256, description="Broker user, if it requires one")
    password: SecretStr | None = Field(
        default=None, description="Broker password (never logged); or GRIDSIGHT_MQTT_PASSWORD in the environment",
    )
    client_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="MQTT client id; absent: gridsight-<host name>-<process id>",
    )
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive; a dead broker is noticed within ~1.5x this")
    topic_prefix: str = Field(
        default="gridsight", pattern=r"^[^#+/\x00\s][^#+\x00\s]{0,127}$", description="{prefix} in every topic (no wildcards)",
    )
    reconnect_min_s: float = Field(default=0.5, gt=0, le=60, description="First reconnect delay after the broker went away")
    reconnect_max_s: float = Field(default=30.0, gt=0, le=600, description="Longest reconnect delay while it stays away")
    tls: bool = Field(default=False, description="Connect with TLS (port 8883 as a rule)")
    ca_file: Path | None = Field(default=None, description="CA bundle for TLS; absent: the system's")
    state_topics: bool = Field(
        default=True,
        description="Keep a retained {prefix}/state/{camera}/{zone} per routed zone: the events active there "
                    "(active: true) from their start to their end (active: false), so a device that (re)subscribes "
                    "sees the current state",
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> "MqttBrokerConfig":
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(f"reconnect_max_s ({self.reconnect_max_s:g}) must be at least reconnect_min_s ({self.reconnect_min_s:g})")
        if self.ca_file is not None and not self.tls:
            raise ValueError("ca_file is set but tls is false; set tls: true to use it")
        if self.password is not None and self.username is None:
            raise ValueError("password is set without a username")
        return self


class HookConfig(_SinkQueue):
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2048, description="Local endpoint the event is POSTed to (JSON)")
    secret: SecretStr | None = Field(
        default=None,
        description="HMAC key: X-GridSight-Signature as the API's webhooks sign (never logged); or "
                    "GRIDSIGHT_HOOK_<NAME>_SECRET in the environment; absent: unsigned",
    )
    timeout_s: float = Field(default=2.0, gt=0, le=60, description="Per-attempt timeout")
    retries: int = Field(default=2, ge=0, le=10, description="Further attempts after a failure (connection error, 5xx, 429)")
    backoff_initial_s: float = Field(default=0.2, gt=0, le=60, description="Delay before the first retry")
    backoff_max_s: float = Field(default=2.0, gt=0, le=600, description="Longest delay between retries")
    include_jpeg: bool = Field(default=False, description="Attach the deciding frame as a small base64 JPEG")
    jpeg_max_width: int = Field(default=640, ge=64, le=3840, description="Width the JPEG is scaled down to (at most)")

    @model_validator(mode="after")
    def _backoff_order(self) -> "HookConfig":
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(f"backoff_max_s ({self.backoff_max_s:g}) must be at least backoff_initial_s ({self.backoff_initial_s:g})")
        return self


class MqttTargetConfig(Strict):
    topic: str = Field(
        default=DEFAULT_TOPIC, pattern=_TOPIC_CHARS,
        description="Topic template; placeholders {prefix} {camera} {zone} {rule} {category} {phase} {priority}",
    )
    qos: Literal[0, 1] = Field(default=1, description="MQTT QoS: 1 = at least once (the broker acknowledges), 0 = fire and forget")
    include_jpeg: bool = Field(default=False, description="Attach the deciding frame as a small base64 JPEG")
    jpeg_max_width: int = Field(default=640, ge=64, le=3840, description="Width the JPEG is scaled down to (at most)")

    @field_validator("topic")
    @classmethod
    def _known_placeholders(cls, topic: str) -> str:
        return check_topic_template(topic)


def check_topic_template(topic: str) -> str:
    try:
        names = [name for _text, name, _spec, _conv in string.Formatter().parse(topic) if name is not None]
    except ValueError as exc:
        raise ValueError(f"topic template {topic!r} does not parse ({exc}); write placeholders as {{camera}}") from None
    for name in names:
        if name not in TOPIC_PLACEHOLDERS:
            close = difflib.get_close_matches(name, TOPIC_PLACEHOLDERS, n=1)
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            raise ValueError(f"topic template has unknown placeholder {{{name}}}{hint} (known: "
                             f"{', '.join('{' + p + '}' for p in TOPIC_PLACEHOLDERS)})")
    if "" in topic.format(**{p: "x" for p in TOPIC_PLACEHOLDERS}).split("/")[1:-1]:
        raise ValueError(f"topic template {topic!r} has an empty level (//)")
    return topic


class RouteConfig(Strict):
    rules: list[str] | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Rule ids this route sends ('lift', or 'lift-01/lift' for one camera's rule); absent: any rule",
    )
    priorities: list[Literal["normal", "urgent", "emergency"]] | None = Field(
        default=None, min_length=1, max_length=3, description="Tiers this route sends (a preset's tier); absent: any tier",
    )
    cameras: list[Identifier] | None = Field(default=None, min_length=1, max_length=10_000, description="Only these cameras; absent: any")
    phases: list[Phase] = Field(default=["start"], min_length=1, max_length=3, description="Event phases sent: start, update, end")
    mqtt: MqttTargetConfig | None = Field(default=None, description="Publish to the broker (actions.mqtt)")
    hook: Identifier | None = Field(default=None, description="POST to this hook (a name under actions.hooks)")
    min_interval_s: float = Field(
        default=1.0, ge=0, le=86_400,
        description="Rate limit per camera and zone: at most one message per interval (an end that closes a sent "
                    "start always goes), so a flickering detection cannot machine-gun a loudspeaker",
    )
    cooldown_s: float = Field(
        default=0.0, ge=0, le=86_400, description="After a start is sent, no new start for the same camera and zone for this long",
    )

    @field_validator("rules")
    @classmethod
    def _rule_refs(cls, rules: list[str]) -> list[str]:
        for ref in rules:
            parts = ref.split("/")
            if len(parts) > 2 or not all(parts) or any(len(p) > 64 for p in parts):
                raise ValueError(f"rule reference {ref!r} must be a rule id or camera/rule")
        return rules

    @model_validator(mode="after")
    def _has_target_and_match(self) -> "RouteConfig":
        if self.mqtt is None and self.hook is None:
            raise ValueError("a route needs a target: mqtt (a topic on the broker) and/or hook (a name under actions.hooks)")
        if self.rules is None and self.priorities is None:
            raise ValueError("a route must say what it sends: rules and/or priorities (e.g. priorities: [emergency])")
        return self

    def matches(self, camera_id: str, rule_id: str, priority: str, phase: str) -> bool:
        return phase in self.phases and self.selects(camera_id, rule_id, priority)

    def selects(self, camera_id: str, rule_id: str, priority: str) -> bool:
        """Whether this route is about events of this camera's rule (whichever phases it sends)."""
        if self.cameras is not None and camera_id not in self.cameras:
            return False
        if self.priorities is not None and priority not in self.priorities:
            return False
        return self.rules is None or rule_id in self.rules or f"{camera_id}/{rule_id}" in self.rules


class ActionsConfig(Strict):
    dry_run: bool = Field(default=False, description="Log what would be sent (one line per message) and send nothing")
    mqtt: MqttBrokerConfig | None = Field(default=None, description="The MQTT broker; absent: no mqtt targets")
    hooks: dict[Identifier, HookConfig] = Field(default_factory=dict, max_length=256, description="Local HTTP hooks by name")
    routes: dict[Identifier, RouteConfig] = Field(
        default_factory=dict, max_length=1000, description="Which events go where, by route name; none: no actions",
    )

    @model_validator(mode="after")
    def _targets_exist(self) -> "ActionsConfig":
        for name, route in self.routes.items():
            if route.hook is not None and route.hook not in self.hooks:
                raise ValueError(f"routes.{name}.hook: names hook '{route.hook}', which is not defined"
                                 f"{_did_you_mean(route.hook, self.hooks)}")
            if route.mqtt is not None and self.mqtt is None:
                raise ValueError(f"routes.{name}.mqtt: publishes to MQTT but actions.mqtt (the broker) is not configured")
        return self


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else f" (known: {sorted(known)})"


def _tiers(route: RouteConfig, cameras: dict[str, "CameraConfig"]) -> str:
    named = {ref.rpartition("/")[2] for ref in route.rules or ()}
    tiers = sorted({f"{rule_id} {rule.priority}" for camera in cameras.values() for rule_id, rule in camera.rules.items()
                    if not named or rule_id in named})
    return ", ".join(tiers[:10]) or "none"


def check_route_rules(actions: ActionsConfig, cameras: dict[str, "CameraConfig"]) -> None:
    """Every rule a route names exists on some camera (or on the camera it names); raises ValueError with the path."""
    every = {rule_id for camera in cameras.values() for rule_id in camera.rules}
    for name, route in actions.routes.items():
        for unknown in sorted(set(route.cameras or ()) - set(cameras)):
            raise ValueError(f"actions.routes.{name}.cameras: camera '{unknown}' is not defined{_did_you_mean(unknown, cameras)}")
        for ref in route.rules or ():
            camera_id, _, rule_id = ref.rpartition("/")
            if camera_id:
                if camera_id not in cameras:
                    raise ValueError(f"actions.routes.{name}.rules: '{ref}' names camera '{camera_id}', which is not "
                                     f"defined{_did_you_mean(camera_id, cameras)}")
                if rule_id not in cameras[camera_id].rules:
                    raise ValueError(f"actions.routes.{name}.rules: camera '{camera_id}' has no rule '{rule_id}'"
                                     f"{_did_you_mean(rule_id, cameras[camera_id].rules)}")
            elif rule_id not in every:
                raise ValueError(f"actions.routes.{name}.rules: rule '{rule_id}' matches no rule of any camera"
                                 f"{_did_you_mean(rule_id, every)}")
        if cameras and not any(route.selects(camera_id, rule_id, rule.priority)
                               for camera_id, camera in cameras.items() for rule_id, rule in camera.rules.items()):
            raise ValueError(f"actions.routes.{name}: selects no rule of any camera, so it can never send "
                             f"(rules {route.rules or 'any'}, priorities {route.priorities or 'any'}, cameras "
                             f"{route.cameras or 'any'}; the rules' tiers: {_tiers(route, cameras)})")
