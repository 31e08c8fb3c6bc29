"""Edge actions (issue 19; docs/actions.md): MQTT messages and local HTTP hooks fired by the
worker the moment a rule fires, for lifts, loudspeakers and site systems next to the camera,
independent of the API, the outbox and Redis.

:func:`from_config` builds the :class:`ActionDispatcher` a worker's config asks for (None:
the config routes nothing); the pipeline factory hands each camera its ``fire``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from streams.actions.dispatcher import ActionDispatcher, Route
from streams.actions.http import HookSink
from streams.actions.mqtt import MqttSink
from streams.actions.queue import BoundedQueue
from streams.actions.sink import LogSink, Sink
from streams.config.actions import ActionsConfig

log = logging.getLogger(__name__)

__all__ = ["ActionDispatcher", "Route", "from_config"]


def from_config(actions: ActionsConfig, worker_name: str, *,
                observe_latency: Callable[[str, float], None] | None = None) -> ActionDispatcher | None:
    """The dispatcher for ``actions`` (sinks built, not started); None when no route is configured."""
    if not actions.routes:
        return None
    used_hooks = {route.hook for route in actions.routes.values() if route.hook is not None}
    wants_mqtt = actions.mqtt is not None and any(route.mqtt is not None for route in actions.routes.values())
    if actions.dry_run:
        mqtt: Sink | None = LogSink("mqtt", BoundedQueue(actions.mqtt.queue_size, actions.mqtt.drop_policy)) if wants_mqtt else None
        hooks: dict[str, Sink] = {
            name: LogSink(f"hook:{name}", BoundedQueue(actions.hooks[name].queue_size, actions.hooks[name].drop_policy),
                          config=actions.hooks[name])
            for name in sorted(used_hooks)}
    else:
        mqtt = MqttSink(actions.mqtt, worker_name, observe_latency=observe_latency) if wants_mqtt else None
        hooks = {name: HookSink(name, actions.hooks[name], observe_latency=observe_latency) for name in sorted(used_hooks)}
    routes = [Route.from_config(name, route) for name, route in actions.routes.items()]
    targets = ([f"mqtt {actions.mqtt.host}:{actions.mqtt.port} (prefix {actions.mqtt.topic_prefix})"] if mqtt else []) + \
        [f"hook {name}" for name in hooks]
    log.info("edge actions: %d route(s) to %s%s", len(routes), ", ".join(targets),
             " (dry run: logged, nothing sent)" if actions.dry_run else "")
    prefix = actions.mqtt.topic_prefix if actions.mqtt is not None else "gridsight"
    state = actions.mqtt.state_topics if actions.mqtt is not None else False
    return ActionDispatcher(routes, mqtt=mqtt, hooks=hooks, topic_prefix=prefix, state_topics=state)
