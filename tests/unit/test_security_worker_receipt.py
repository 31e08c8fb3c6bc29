"""A worker token files orders but cannot read them, not even through the answer to
its own POST (issue 14 §7): workers get a receipt, admins the order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from streams.delivery.api_client import ApiClient
from tests.support.ops import ADMIN, OP_A, SUP, TOKENS, WORKER, FakeClock, secured_settings
from tests.support.orders import order_body, post_order

RECEIPT = {"id", "order_no", "status", "merged", "replayed"}
WORKER_TOKEN = next(t for t, spec in TOKENS.items() if spec["role"] == "worker")


@pytest.fixture
def merging(tmp_path: Path) -> Iterator[TestClient]:
    settings = secured_settings(tmp_path, merge_window=dt.timedelta(hours=24))
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        yield client


def test_a_workers_repeat_gets_a_receipt_not_the_merged_order(merging: TestClient) -> None:
    first = post_order(merging, order_body(grid_cell="cell-a"), "key-receipt-0001", **WORKER)
    assert first.status_code == 201 and set(first.json()) == RECEIPT
    order_id = first.json()["id"]
    verdict = merging.post(f"/api/v1/work-orders/{order_id}/verdict", headers=OP_A,
                           json={"verdict": "confirmed", "reason": "bag of rubbish by the bins"})
    assert verdict.status_code == 200, verdict.text
    patched = merging.post(f"/api/v1/work-orders/{order_id}/comments", headers=SUP, json={"text": "sent Wang"})
    assert patched.status_code in (200, 201), patched.text

    repeat = post_order(merging, order_body(grid_cell="cell-a", event_id="evt-0002"), "key-receipt-0002", **WORKER)
    assert repeat.status_code == 200 and repeat.headers["work-order-merged"] == "true"
    body = repeat.json()
    assert body == {"id": order_id, "order_no": first.json()["order_no"], "status": body["status"],
                    "merged": True, "replayed": False}
    for leaked in ("verdict_reason", "assignee", "team", "address", "grid_cell", "evidence", "boxes"):
        assert leaked not in body

    replay = post_order(merging, order_body(grid_cell="cell-a", event_id="evt-0002"), "key-receipt-0002", **WORKER)
    assert replay.status_code == 200 and replay.json()["replayed"] is True and set(replay.json()) == RECEIPT


def test_an_admin_filing_an_order_still_gets_the_order(merging: TestClient) -> None:
    created = post_order(merging, order_body(), "key-receipt-admin1", **ADMIN)
    assert created.status_code == 201
    assert created.json()["address"] == "Xietang street 1" and "allowed_transitions" in created.json()


def test_the_worker_client_still_reads_what_it_needs(merging: TestClient) -> None:
    client = ApiClient("http://testserver", token=WORKER_TOKEN)
    client._client.close()
    client._client = TestClient(merging.app, headers={"Authorization": f"Bearer {WORKER_TOKEN}"})
    first = client.send_work_order(order_body(), "key-client-00001")
    again = client.send_work_order(order_body(event_id="evt-0009"), "key-client-00002")
    assert (first.status_code, first.merged) == (201, False)
    assert (again.status_code, again.merged) == (200, True)


def test_the_openapi_document_names_both_answers(merging: TestClient) -> None:
    spec = merging.get("/openapi.json").json()
    created = spec["paths"]["/api/v1/work-orders"]["post"]["responses"]["201"]["content"]["application/json"]
    refs = {item["$ref"].rsplit("/", 1)[1] for item in created["schema"]["anyOf"]}
    assert refs == {"WorkOrderPublic", "WorkOrderReceipt"}
