"""The worker's last line counts orders, repeats and ENDs apart (issue 13, section 7): it said
"10 order(s) delivered" for 2 orders, counting every outbox record (repeats and rule ENDs) as one."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from fastapi.testclient import TestClient

from api.main import create_app
from streams.delivery.api_client import ApiClient
from streams.backoff import Backoff
from streams.delivery.outbox import EVENT_END, DurableOutbox, OutboxPusher, SendResult
from streams.delivery.status import StatusReporter
from streams.runtime import Worker, WorkerRuntime
from streams.worker import StaticCameras
from tests.support.orders import make_settings, order_body


class Api:
    """Answers like the API: a new order, a repeat merged into it, an END."""

    def __init__(self) -> None:
        self.orders = 0

    def send_work_order(self, payload: dict, idempotency_key: str) -> SendResult:
        self.orders += 1
        return SendResult(201) if self.orders == 1 else SendResult(200, merged=True)

    def send_event_end(self, payload: dict, idempotency_key: str) -> SendResult:
        return SendResult(200)

    def put_camera_status(self, camera_id: str, status: dict) -> SendResult:
        return SendResult(200)


def test_worker_log_counts_orders_repeats_and_ends_apart(tmp_path, caplog):
    outbox = DurableOutbox(tmp_path / "spool")
    outbox.put("order-1", {"n": 1})
    outbox.put("order-1-repeat-1", {"n": 2})
    outbox.put("order-1-repeat-2", {"n": 3})
    for i in range(3):
        outbox.put(f"end-{i}", {"n": i}, kind=EVENT_END)
    api = Api()
    pusher = OutboxPusher(outbox, api, Backoff(0.01, 0.1))
    worker = Worker(WorkerRuntime(outbox, pusher, StatusReporter(api)), StaticCameras([]), stats_interval_s=0.01)
    with caplog.at_level(logging.INFO, logger="streams.runtime"):
        worker.run(threading.Event())  # no camera: stops at once, flushing the outbox
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("worker stopped")]
    assert "1 order(s), 2 repeat(s) merged into open orders, 3 END(s)" in line, line
    assert "0 record(s) still pending" in line
    assert pusher.delivered == 6
    assert pusher.delivered_summary(merges_known=False) == "3 order(s) (repeats included), 3 END(s)"


def test_api_client_tells_a_merged_repeat_from_a_new_order(tmp_path):
    settings = make_settings(tmp_path, merge_window=dt.timedelta(hours=1))
    with TestClient(create_app(settings)) as client:
        api = ApiClient("http://testserver")
        api._client = client
        first = api.send_work_order(order_body(event_id="evt-1"), "key-order-0001")
        repeat = api.send_work_order(order_body(event_id="evt-2"), "key-order-0002")  # same camera, zone, category
        replay = api.send_work_order(order_body(event_id="evt-1"), "key-order-0001")
    assert (first.status_code, first.merged) == (201, False)
    assert (repeat.status_code, repeat.merged) == (200, True)
    assert (replay.status_code, replay.merged) == (200, False)
