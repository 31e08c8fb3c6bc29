"""The edge actions' Prometheus families, read from the dispatcher at scrape time (one source
of truth: the sinks' and gates' own counters). Latency is a histogram in streams.metrics."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from streams.actions.limits import HELD_BACK
from streams.actions.sink import OUTCOMES


def action_families(dispatcher) -> list:
    stats = dispatcher.stats()
    messages = CounterMetricFamily(
        "gridsight_worker_action_messages",
        "Edge-action messages by sink and outcome: delivered, failed (hook refused or retries spent), dropped (queue "
        "full by its drop policy, or unsent at shutdown), logged (dry run)", labels=["sink", "outcome"])
    queued = GaugeMetricFamily("gridsight_worker_action_queue_depth", "Edge-action messages waiting in a sink's queue",
                               labels=["sink"])
    up = GaugeMetricFamily("gridsight_worker_action_sink_up", "1 while the sink can send (MQTT: connected)",
                           labels=["sink"])
    held = CounterMetricFamily("gridsight_worker_action_held_back",
                               "Event phases a route did not send: rate_limited, cooldown, start_held_back",
                               labels=["route", "reason"])
    sent = CounterMetricFamily("gridsight_worker_action_route_sent", "Event phases a route sent", labels=["route"])
    errors = CounterMetricFamily("gridsight_worker_action_errors",
                                 "Messages a route could not build or hand to its sink (logged; the other routes went on)",
                                 labels=["route"])
    for sink in stats["sinks"]:
        for outcome in OUTCOMES:
            messages.add_metric([sink["sink"], outcome], sink[outcome])
        queued.add_metric([sink["sink"]], sink["queued"])
        up.add_metric([sink["sink"]], 1 if sink["up"] else 0)
    for route, counts in stats["routes"].items():
        sent.add_metric([route], counts["sent"])
        errors.add_metric([route], counts["errors"])
        for reason in HELD_BACK:
            held.add_metric([route, reason], counts[reason])
    return [messages, queued, up, held, sent, errors]
