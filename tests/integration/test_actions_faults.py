"""Issue 19's fault proof: the broker SIGKILLed mid-run and restarted.

Two lift cameras watch the looping e-bike-in-elevator clip (every showing is a fresh
incident: a START and an END each), so the e-bike keeps triggering while the broker is
away. During the outage the worker's /health is degraded ("actions"), the cameras keep
analysing and the emergency orders keep reaching the API; what the lift route fires meanwhile
waits in the MQTT sink's bounded queue under its drop policy (drop_oldest):

* queue 1000: nothing needs dropping; every message fired during the outage goes out after
  the restart and reaches the subscriber;
* queue 1: all but the newest are dropped, counted, and never reach the subscriber.

Either way every message is accounted for (fired == delivered + dropped + failed + queued +
in flight), and every one the broker acknowledged reaches the subscriber, whose durable
session (clean_session False, broker persistence) survives the SIGKILL."""

from __future__ import annotations

import time

import pytest

from tests.support.edge_site import REPEATING, EdgeSite
from tests.support.mosquitto import Subscriber, requires_mosquitto
from tests.support.procs import wait_until
from tests.support.rtsp import requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server, requires_mosquitto]

CAMERAS = ("lift-01", "lift-02")
NO_API_MERGE = {"GRIDSIGHT_MERGE_WINDOW": "PT0S"}  # one order per incident, so each can be found by its event



def unsettled(stats: dict) -> int:
    """Fired messages without an outcome yet (queued or handed to paho unacknowledged) minus those
    the counters hold: 0 when every fired message is accounted for."""
    sink = stats["sink"]
    return stats["route"]["sent"] - (sink["delivered"] + sink["dropped"] + sink["failed"] + sink["queued"] + sink["inflight"])


def settled(stats: dict) -> dict | None:
    """The counters once nothing waits and every fired message has an outcome."""
    sink = stats["sink"]
    return stats if not sink["queued"] and not sink["inflight"] and not unsettled(stats) else None


def distinct_events(subscriber: Subscriber) -> dict[tuple[str, str], dict]:
    """(event id, phase) -> payload of each event message received (QoS 1 may repeat one)."""
    out = {}
    for message in subscriber.messages:
        if not message.retain:
            payload = Subscriber.json(message)
            out.setdefault((payload["event_id"], payload["phase"]), {**payload, "received_at": message.received_at})
    return out


@pytest.mark.parametrize("queue_size", [1000, 1], ids=["queue-holds-the-outage", "queue-of-one-drops-oldest"])
def test_broker_killed_mid_run_then_restarted(tmp_path, lift_clip, queue_size):
    """Long because it is one story: the outage, observed from outside, then every message accounted for."""
    with EdgeSite(tmp_path, lift_clip, cameras=CAMERAS, loop=True, rule_overrides=REPEATING, persistent=True,
                  api_env=NO_API_MERGE, queue_size=queue_size) as site:
        sub = site.subscriber
        sub.wait_for(site.is_start, 90, "the first START")
        wait_until(lambda: all(site.frames_analysed().get(c, 0) > 0 for c in CAMERAS), 60, "both cameras analysing",
                   on_timeout=site.worker_log)

        site.broker.kill()
        print("injected: broker SIGKILLed")
        degraded = wait_until(lambda: site.health().get("degraded", {}).get("actions"), 15,
                              "/health degraded: actions", on_timeout=site.worker_log)
        # From here the worker knows the broker is away: whatever fires goes to the queue.
        at_kill = site.action_stats()
        outage_from = time.time()  # every message fired from here on is in `during` but not in `at_kill`
        frames_at_kill, orders_at_kill = site.frames_analysed(), len(site.orders())

        # The outage lasts while the e-bike triggers at least twice more, one of them a new incident (an order).
        def fired_twice_and_filed():
            stats, read_at = site.action_stats(), time.time()
            done = stats["route"]["sent"] >= at_kill["route"]["sent"] + 2 and len(site.orders()) > orders_at_kill
            return done and (stats, read_at)

        during, outage_to = wait_until(fired_twice_and_filed, 60, "messages fired and an order filed during the outage",
                                       on_timeout=site.worker_log)
        frames_during, orders_during = site.frames_analysed(), len(site.orders())
        still_degraded = site.health()["degraded"].get("actions")
        site.broker.start()
        restarted_at = time.time()
        fired_in_outage = during["route"]["sent"] - at_kill["route"]["sent"]
        queued_in_outage = during["sink"]["queued"] - at_kill["sink"]["queued"]
        dropped_in_outage = during["sink"]["dropped"] - at_kill["sink"]["dropped"]
        print(f"injected: broker restarted after {restarted_at - outage_from:.1f} s down; {fired_in_outage} fired "
              f"meanwhile; sink then {during['sink']}")

        wait_until(lambda: "actions" not in site.health().get("degraded", {"actions": "no answer"}), 30,
                   "/health no longer degraded by actions", on_timeout=site.worker_log)
        final = wait_until(lambda: settled(site.action_stats()), 30, "every fired message accounted for",
                           on_timeout=lambda: f"{site.action_stats()}\n{site.worker_log()}")
        # Every message the broker acknowledged reaches the subscriber (its session outlived the broker).
        wait_until(lambda: len(distinct_events(sub)) >= final["sink"]["delivered"], 60,
                   "the subscriber back with every delivered message",
                   on_timeout=lambda: f"{final}; received {sorted(distinct_events(sub))}")
        events = distinct_events(sub)
        starts = {eid for (eid, phase) in events if phase == "start"}
        wait_until(lambda: starts <= {o["event_id"] for o in site.orders()}, 30, "an order for every START",
                   on_timeout=site.worker_log)
        orders = site.orders()

    print(f"checked: counters during the outage {during}, at the end {final}; {len(events)} event message(s) "
          f"received, {len(orders)} order(s); degraded: {degraded!r}")
    # The outage, seen from outside: degraded, cameras analysing, orders still filed.
    assert "MQTT broker" in degraded and still_degraded, (degraded, still_degraded)
    for camera in CAMERAS:
        assert frames_during.get(camera, 0) > frames_at_kill.get(camera, 0), (frames_at_kill, frames_during)
    assert orders_during > orders_at_kill, "emergency orders must reach the API while the broker is away"
    # Counted either way, during the outage and after it.
    assert unsettled(during) == 0 and unsettled(final) == 0, (during, final)
    assert final["sink"]["failed"] == 0 and final["sink"]["connects"] >= 2, final
    assert final["route"]["sent"] == final["sink"]["delivered"] + final["sink"]["dropped"], final
    assert len(events) >= final["sink"]["delivered"], (final, sorted(events))
    outage = [p for p in events.values() if outage_from < p["sent_at"] < outage_to]
    assert all(p["received_at"] > restarted_at for p in outage), outage
    if queue_size > 1:  # the queue held the outage: nothing dropped, all of it delivered after the restart
        assert dropped_in_outage == 0 and queued_in_outage == fired_in_outage, (at_kill, during)
        assert final["sink"]["dropped"] == 0, final
        assert len(outage) == fired_in_outage, (fired_in_outage, outage)
    else:  # drop_oldest with room for one: the older ones dropped and counted, never delivered
        assert during["sink"]["queued"] == 1 and dropped_in_outage >= fired_in_outage - 1 >= 1, (at_kill, during)
        assert final["sink"]["dropped"] >= fired_in_outage - 1, final
        assert len(outage) <= 1 < fired_in_outage, (fired_in_outage, outage)
    assert starts <= {o["event_id"] for o in orders}
    assert all(o["priority"] == "emergency" for o in orders)
