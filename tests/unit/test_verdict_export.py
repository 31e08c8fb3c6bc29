"""Operator verdicts -> a YOLO dataset: confirmed orders give labels, false positives hard
negatives, repeats of one frame appear once, and the result loads as a dataset. The export
reads the orders and their frames over HTTP from a real API (the app, through TestClient)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from api.main import create_app
from gridsight.ml.dataset_check import check_dataset
from gridsight.ml.verdicts import VerdictExportError, export_verdicts
from tests.support.orders import b64, make_settings, order_body, post_order
from tests.support.procs import REPO_ROOT as REPO

CLASSES = ["person", "litter", "garbage_bag", "garbage_pile"]


def _frame(seed: int) -> bytes:
    image = np.random.default_rng(seed).integers(0, 255, (216, 384, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def _file(client: TestClient, n: int, frame: bytes, boxes: list[dict], verdict: str | None) -> int:
    body = order_body(
        event_id=f"evt-{n}", zone_id=f"zone-{n}", boxes=boxes,
        evidence=[{"kind": "frame", "content_type": "image/jpeg", "data_b64": b64(frame)}],
    )
    created = post_order(client, body, f"verdict-export-{n:04d}")
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    if verdict is not None:
        given = client.post(f"/api/v1/work-orders/{order_id}/verdict",
                            json={"verdict": verdict, "reason": f"checked on the clip ({verdict})"})
        assert given.status_code == 200, given.text
    return order_id


@pytest.fixture
def api(tmp_path):
    with TestClient(create_app(make_settings(tmp_path))) as client:
        yield client


def test_verdicts_become_a_loadable_dataset_with_matching_counts(api, tmp_path):
    pile = {"label": "garbage_pile", "confidence": 0.8, "xyxy": [10.0, 100.0, 110.0, 200.0], "track_id": 3}
    bag = {"label": "garbage_bag", "confidence": 0.7, "xyxy": [200.0, 150.0, 240.0, 210.0], "track_id": 4}
    cable = {"label": "cable", "confidence": 0.6, "xyxy": [300.0, 0.0, 310.0, 120.0], "track_id": 5}
    _file(api, 1, _frame(1), [pile, bag], "confirmed")
    _file(api, 2, _frame(2), [pile, cable], "confirmed")  # cable: not a class of the target model
    _file(api, 3, _frame(3), [bag], "false_positive")
    _file(api, 4, _frame(4), [bag], "false_positive")
    _file(api, 5, _frame(3), [bag], "false_positive")  # a repeat carrying the same frame as order 3
    _file(api, 6, _frame(6), [pile], None)  # no verdict yet: not exported

    result = export_verdicts(tmp_path / "ds", CLASSES, client=api, val_fraction=0.0)

    assert (result.positives, result.hard_negatives) == (2, 2)
    assert result.skipped == {"duplicate frame": 1}
    assert result.boxes == {"garbage_pile": 2, "garbage_bag": 1}
    assert sum(result.images.values()) == 4

    labels = sorted((tmp_path / "ds" / "labels").rglob("*.txt"))
    lines = {p.stem: p.read_text().split("\n")[:-1] for p in labels}
    assert sorted(len(v) for v in lines.values()) == [0, 0, 1, 2]
    first = next(v for v in lines.values() if len(v) == 2)
    cls, cx, cy, w, h = first[0].split()
    assert int(cls) == 3  # garbage_pile in CLASSES
    assert [float(v) for v in (cx, cy, w, h)] == pytest.approx([60 / 384, 150 / 216, 100 / 384, 100 / 216], abs=1e-5)

    sources = json.loads((tmp_path / "ds" / "sources.json").read_text())
    assert sorted(s["verdict"] for s in sources) == ["confirmed", "confirmed", "false_positive", "false_positive"]
    assert next(s for s in sources if s["boxes"] == 1 and s["verdict"] == "confirmed")["labels_not_in_target_model"] == ["cable"]

    spec = yaml.safe_load((tmp_path / "ds" / "data.yaml").read_text())
    assert list(spec["names"].values()) == CLASSES
    report = check_dataset(tmp_path / "ds" / "data.yaml")
    # val_fraction 0 leaves the val split empty, which the dataset check rightly refuses.
    assert [f.code for f in report.errors] == ["split-empty"]


def test_incidents_stay_on_one_side_of_the_split(api, tmp_path):
    bag = {"label": "garbage_bag", "confidence": 0.7, "xyxy": [200.0, 150.0, 240.0, 210.0], "track_id": 4}
    for n in range(1, 13):
        _file(api, n, _frame(100 + n), [bag], "confirmed")
    result = export_verdicts(tmp_path / "ds", CLASSES, client=api, val_fraction=0.3)
    assert result.images["train"] > 0 and result.images["val"] > 0
    report = check_dataset(tmp_path / "ds" / "data.yaml")
    assert report.ok, report.summary()
    assert report.images == result.images and report.instances["train"]["garbage_bag"] == result.images["train"]


def test_more_orders_than_one_page_are_all_read(api, tmp_path, monkeypatch):
    monkeypatch.setattr("gridsight.ml.verdicts.PAGE", 2)
    bag = {"label": "garbage_bag", "confidence": 0.7, "xyxy": [200.0, 150.0, 240.0, 210.0], "track_id": 4}
    for n in range(1, 6):
        _file(api, n, _frame(200 + n), [bag], "confirmed" if n % 2 else "false_positive")
    _file(api, 6, _frame(206), [bag], None)
    result = export_verdicts(tmp_path / "ds", CLASSES, client=api, val_fraction=0.0)
    assert (result.positives, result.hard_negatives) == (3, 2)
    sources = json.loads((tmp_path / "ds" / "sources.json").read_text())
    numbers = [s["order_no"] for s in sources]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5  # by order id, each once


def test_an_order_whose_frame_file_is_gone_is_skipped_with_the_reason(api, tmp_path):
    bag = {"label": "garbage_bag", "confidence": 0.7, "xyxy": [200.0, 150.0, 240.0, 210.0], "track_id": 4}
    kept, gone = _frame(301), _frame(302)
    _file(api, 1, kept, [bag], "confirmed")
    _file(api, 2, gone, [bag], "confirmed")
    files = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file() and p.read_bytes() == gone]
    assert files
    for path in files:
        path.unlink()
    result = export_verdicts(tmp_path / "ds", CLASSES, client=api, val_fraction=0.0)
    assert result.positives == 1 and result.skipped == {"without an unannotated frame": 1}


def test_a_token_that_may_not_read_orders_is_refused_with_the_status(tmp_path):
    settings = make_settings(tmp_path, tokens={"worker-secret-1": {"role": "worker", "name": "w"}})
    with TestClient(create_app(settings), headers={"Authorization": "Bearer worker-secret-1"}) as client:
        with pytest.raises(VerdictExportError, match="listing work orders: the API answered 403") as info:
            export_verdicts(tmp_path / "ds", CLASSES, client=client)
    assert "worker-secret-1" not in str(info.value)


def test_the_cli_sends_the_environment_token_and_never_prints_it(tmp_path, monkeypatch, capsys):
    import httpx

    from gridsight.cli import main

    seen = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        return httpx.Response(403, json={"detail": "role operator or above required"})

    real_client = httpx.Client
    monkeypatch.setattr("gridsight.ml.api_client.httpx.Client",
                        lambda **kw: real_client(transport=httpx.MockTransport(refuse), **kw))
    monkeypatch.setenv("GRIDSIGHT_API_TOKEN", "env-secret-token-0001")
    manifest = REPO / "weights" / "gridsight-demo-v1.yaml"
    rc = main(["verdicts", "--model", str(manifest), "--out", str(tmp_path / "ds"), "--api-url", "http://api.test:9/"])
    out = capsys.readouterr()
    assert rc == 2 and "listing work orders: the API answered 403: role operator or above required" in out.err
    assert seen == [("http://api.test:9/api/v1/work-orders?limit=200&offset=0", "Bearer env-secret-token-0001")]
    assert "env-secret-token-0001" not in out.out + out.err

    # The options the export took when it read the database itself are refused with what to give instead.
    assert main(["verdicts", "--model", str(manifest), "--out", str(tmp_path / "ds"), "--database-url", "sqlite://"]) == 2
    assert "--api-url" in capsys.readouterr().err
