"""What the demo prints while it runs (issue 17, point 7): every change to an order as one line,
counted in the worker's own words."""

from __future__ import annotations

from gridsight.demo.feed import FeedPrinter, parse_sse

API = "http://127.0.0.1:8000"
ORDER = {
    "id": 7, "order_no": "GS-20261202-000007", "status": "detected", "category_code": "06010",
    "category_name": "暴露垃圾 exposed garbage", "priority": "normal", "camera_id": "street-01",
    "zone_id": "west-kerb", "labels": ["garbage_bag"], "confidence": 0.9, "detected_at": "2026-12-02T06:00:00+00:00",
    "deadline_at": "2026-12-04T06:00:00+00:00",
    "evidence": [{"kind": "snapshot"}, {"kind": "before"}, {"kind": "before"}, {"kind": "clip"}],
}


def message(action, *, status="detected", actor="system", from_status=None, to_status=None, reason=None, data=None):
    entry = {"id": 1, "work_order_id": 7, "at": "2026-12-02T06:01:02.5+00:00", "actor": actor, "role": "system",
             "action": action, "from_status": from_status, "to_status": to_status, "reason": reason,
             "data": data or {}}
    return {"entry": entry, "work_order": {**ORDER, "status": status}}


def test_a_new_order_is_a_block_with_its_dashboard_page():
    text = FeedPrinter(API).show(message("created"))
    assert ">>> NEW WORK ORDER GS-20261202-000007  [06010 暴露垃圾 exposed garbage]" in text
    assert "zone=west-kerb labels=garbage_bag confidence=0.90" in text
    assert "evidence: snapshot, 2 before, clip; open it: http://127.0.0.1:8000/dashboard/orders/7" in text


def test_every_change_is_one_line_naming_the_order():
    printer = FeedPrinter(API)
    lines = [
        printer.show(message("merged", reason="repeat sighting #2", data={"confidence": 0.81})),
        printer.show(message("event_end", actor="camera:street-01", reason="ignored in state 'detected'")),
        printer.show(message("camera_recheck", status="verifying", actor="camera:street-01",
                             from_status="feedback", to_status="verifying")),
        printer.show(message("transition", status="filed", actor="dev", from_status="detected", to_status="filed")),
        printer.show(message("recurrence", status="rework", from_status="closed", to_status="rework")),
        printer.show(message("overdue", status="dispatched")),
        printer.show(message("comment", actor="dev", reason=None)),
    ]
    for line in lines:
        # 06:01:02 UTC on the site's clock (default Asia/Shanghai, docs/time.md)
        assert "\n" not in line and line.startswith("  14:01:02 ") and "GS-20261202-000007" in line, line
    repeat, end, verified, moved, recurred, overdue, comment = lines
    assert "repeat" in repeat and "seen again in west-kerb, confidence 0.81" in repeat and "no new order" in repeat
    assert "END" in end and "west-kerb empty again" in end and "does not change" in end
    assert "ignored in state" not in end, "the server's internal wording is not shown to an operator"
    assert "verified" in verified and "feedback -> verifying" in verified
    assert "detected -> filed by dev" in moved
    assert "came back after closure: closed -> rework" in recurred
    assert "past its deadline 2026-12-04 14:00:00" in overdue
    assert comment.endswith("GS-20261202-000007: by dev")


def test_the_summary_counts_orders_repeats_and_ends_apart_in_the_workers_words():
    printer = FeedPrinter(API)
    for action in ("created", "created", "merged", "merged", "merged", "event_end", "camera_recheck", "transition"):
        printer.show(message(action, to_status="filed" if action == "transition" else None))
    printer.show(message("recurrence", from_status="closed", to_status="rework"))  # reopened: a repeat
    printer.show(message("recurrence", reason="recurred as GS-2"))  # link policy: the new order is counted as created
    summary = printer.summary()
    assert summary.startswith("2 order(s), 4 repeat(s) merged into open orders, 2 END(s) (zone empty again)"), summary
    assert summary.endswith("2 other change(s)")


def test_the_worker_says_the_same_words():
    """Its last line (streams.delivery.outbox.OutboxPusher.delivered_summary) and the demo's agree."""
    from streams.backoff import Backoff
    from streams.delivery.outbox import OutboxPusher

    pusher = OutboxPusher(outbox=None, sender=None, backoff=Backoff(0.1, 1))
    pusher.delivered_kinds.update(orders=2, repeats=4, ends=2)
    printer = FeedPrinter(API)
    printer.counts.update(orders=2, repeats=4, ends=2)
    assert printer.summary().startswith(pusher.delivered_summary())


def test_server_sent_events_are_parsed_into_id_and_data():
    stream = ["retry: 3000", "", ": keep-alive", "", "id: 41", "event: order.created", 'data: {"a": 1}', "",
              "id: 42", "event: order.changed", 'data: {"b":', "data: 2}", ""]
    assert list(parse_sse(stream)) == [("41", {"a": 1}), ("42", {"b": 2})]
