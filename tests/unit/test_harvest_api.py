"""Harvest frames and dataset versions in the API (issue 18): POST /harvest/frames with
batches built by the contract itself (api.contract.harvest.HarvestBatch), de-duplication
(exact bytes, and the same view re-encoded), the per-camera daily cap, eviction order under
a tiny byte bound, listing and paging, the raw image, status marking, the summary, a
false-positive verdict's frame, dataset versions, hostile input, roles, the migration, and
the same on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import base64
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.contract.harvest import HarvestBatch, HarvestBox, HarvestFrame
from api.db.engine import make_engine
from api.db.migrate import _config, current, head, upgrade
from api.main import create_app
from tests.support.harvest_frames import T0, distinct_scenes, frame, jpeg, scene
from tests.support.ops import ADMIN, OP_A, SUP, WORKER, FakeClock, secured_settings
from tests.support.orders import jpeg_evidence, make_settings, order_body, post_order

FRAMES = "/api/v1/harvest/frames"


def post(client: TestClient, *frames: HarvestFrame, headers: dict | None = None):
    return client.post(FRAMES, json=HarvestBatch(worker="worker-a", frames=frames).to_wire(), headers=headers or {})


def posted(client: TestClient, *frames: HarvestFrame, headers: dict | None = None) -> dict:
    response = post(client, *frames, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def listed(client: TestClient, headers: dict | None = None, **params) -> list[dict]:
    response = client.get(FRAMES, params={"limit": 1000, **params}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.fixture
def app_clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def harvest_client(tmp_path: Path, app_clock: FakeClock):
    """Dev mode (anonymous acts as admin), SQLite, on the fake clock."""
    with TestClient(create_app(make_settings(tmp_path), clock=app_clock)) as client:
        yield client


@pytest.fixture
def secured(tmp_path: Path, app_clock: FakeClock):
    with TestClient(create_app(secured_settings(tmp_path), clock=app_clock)) as client:
        yield client


# ---- accepting, de-duplicating, capping -------------------------------------------------------

def test_a_batch_is_stored_with_its_provenance_and_the_raw_jpeg_comes_back(harvest_client: TestClient) -> None:
    a, b = distinct_scenes(2)
    box = HarvestBox(label="garbage_bag", confidence=0.31, x1=0.1, y1=0.2, x2=0.4, y2=0.6, track_id=7)
    result = posted(harvest_client, frame(a, boxes=[box]), frame(b, reasons=("scene_change", "time_of_day")))
    assert result["accepted"] == 2 and result["duplicates"] == 0 and result["over_budget"] == 0
    items = listed(harvest_client)
    assert [i["batch_id"] for i in items] == [result["batch_id"]] * 2
    first = items[0]
    assert first["camera_id"] == "cam-1" and first["model_name"] == "gridsight-demo" and first["model_version"] == "v4"
    assert first["captured_at"] == T0.isoformat() and first["status"] == "new" and first["note"] is None
    assert (first["width"], first["height"]) == (320, 192)
    assert first["boxes"] == [box.to_wire()] and first["detail"] == {"uncertain_labels": ["garbage_bag"]}
    assert items[1]["reasons"] == ["scene_change", "time_of_day"]
    image = harvest_client.get(first["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == a  # the raw bytes, never annotated or re-encoded
    assert harvest_client.get(f"{FRAMES}/999/image").status_code == 404


def test_exact_and_near_duplicates_are_counted_not_stored(harvest_client: TestClient) -> None:
    image = scene(11)
    original = jpeg(image, 90)
    reencoded = jpeg(image, 60)
    assert reencoded != original
    assert posted(harvest_client, frame(original))["accepted"] == 1
    again = posted(harvest_client, frame(original), frame(reencoded, at=T0 + dt.timedelta(seconds=2)))
    assert again["accepted"] == 0 and again["duplicates"] == 2
    # The same view a minute later (a fixed camera's next moment), or on another camera, is new; so is another scene.
    assert posted(harvest_client, frame(jpeg(image, 80), at=T0 + dt.timedelta(minutes=1)))["accepted"] == 1
    (other,) = distinct_scenes(1, first_seed=40)
    later = posted(harvest_client, frame(reencoded, at=T0 + dt.timedelta(hours=2)),
                   frame(jpeg(image, 75), camera="cam-2"), frame(other))
    assert later["accepted"] == 3 and later["duplicates"] == 0
    # Within one batch too: the second copy is caught by the first.
    twice = posted(harvest_client, frame(jpeg(scene(90))), frame(jpeg(scene(90), 70)))
    assert twice["accepted"] == 1 and twice["duplicates"] == 1
    assert len(listed(harvest_client)) == 6
    assert harvest_client.get("/api/v1/harvest/summary").json()["duplicates"] == 3


def test_the_camera_daily_cap_counts_over_budget_frames(tmp_path: Path, app_clock: FakeClock) -> None:
    settings = make_settings(tmp_path, harvest_camera_daily_max=2)
    frames = distinct_scenes(5)
    with TestClient(create_app(settings, clock=app_clock)) as client:
        first = posted(client, *(frame(f, at=T0 + dt.timedelta(hours=i)) for i, f in enumerate(frames[:3])),
                       frame(frames[3], camera="cam-2"))
        assert (first["accepted"], first["over_budget"]) == (3, 1)  # cam-1 2 of 3, cam-2 1
        app_clock.advance(hours=15)  # 01:00 the next site day
        second = posted(client, frame(frames[4], at=T0 + dt.timedelta(hours=15)))
        assert (second["accepted"], second["over_budget"]) == (1, 0)
        by_camera = client.get("/api/v1/harvest/summary").json()["by_camera"]
        assert by_camera == {"cam-1": {"today": 1, "total": 3}, "cam-2": {"today": 0, "total": 1}}


def test_eviction_takes_the_oldest_new_frames_before_exported_or_labelled_ones(tmp_path: Path,
                                                                                  app_clock: FakeClock) -> None:
    frames = distinct_scenes(5)
    sizes = [len(f) for f in frames]
    limit = sum(sizes[:3]) + min(sizes) // 2  # three fit, a fourth does not
    settings = make_settings(tmp_path, harvest_max_bytes=limit)
    with TestClient(create_app(settings, clock=app_clock)) as client:
        stamps = [T0 + dt.timedelta(minutes=90 * i) for i in range(5)]
        posted(client, *(frame(frames[i], at=stamps[i]) for i in range(3)))
        a, b, c = listed(client)
        marked = client.post(f"{FRAMES}/status", json={"ids": [a["id"]], "status": "labelled", "note": "ds v1"})
        assert marked.status_code == 200 and marked.json() == {"updated": 1}
        assert client.post(f"{FRAMES}/status", json={"ids": [b["id"]], "status": "exported"}).json() == {"updated": 1}
        posted(client, frame(frames[3], at=stamps[3]))
        assert [i["id"] for i in listed(client)] == [a["id"], b["id"], listed(client)[-1]["id"]]
        assert client.get(c["image_url"]).status_code == 404  # c was the only new one: it went
        d = listed(client)[-1]
        posted(client, frame(frames[4], at=stamps[4]))
        kept = listed(client)
        assert [i["id"] for i in kept[:2]] == [a["id"], b["id"]] and d["id"] not in [i["id"] for i in kept]
        summary = client.get("/api/v1/harvest/summary").json()
        assert summary["evicted"] == 2 and summary["frames"] == 3 and summary["bytes"] <= limit
        assert summary["by_status"] == {"new": 1, "exported": 1, "labelled": 1}
        files = [p for p in (tmp_path / "harvest").rglob("*.jpg")]
        assert len(files) == 3  # the evicted files are gone from disk
        assert client.get(a["image_url"]).content == frames[0]
        # A re-send of an evicted frame is still a duplicate: its row keeps its hashes.
        assert posted(client, frame(frames[2], at=stamps[2]))["duplicates"] == 1


# ---- reading -----------------------------------------------------------------------------------

def test_listing_filters_and_pages(harvest_client: TestClient) -> None:
    frames = distinct_scenes(7)
    one = posted(harvest_client, *(frame(f, at=T0 + dt.timedelta(hours=2 * i)) for i, f in enumerate(frames[:4])))
    two = posted(harvest_client, frame(frames[4], camera="cam-2", reasons=("flicker",)),
                 frame(frames[5], camera="cam-2", reasons=("flicker", "uncertain")),
                 frame(frames[6], camera="cam-3", reasons=("scene_change",)))
    assert len(listed(harvest_client, batch_id=one["batch_id"])) == 4
    assert [i["camera_id"] for i in listed(harvest_client, batch_id=two["batch_id"])] == ["cam-2", "cam-2", "cam-3"]
    assert len(listed(harvest_client, camera_id="cam-2")) == 2
    assert len(listed(harvest_client, reason="flicker")) == 2
    assert len(listed(harvest_client, reason="uncertain")) == 5
    assert len(listed(harvest_client, reason="uncertain", camera_id="cam-2")) == 1
    ids = [i["id"] for i in listed(harvest_client)]
    harvest_client.post(f"{FRAMES}/status", json={"ids": ids[:2], "status": "exported", "note": "ls project 3"})
    exported = listed(harvest_client, status="exported")
    assert [i["id"] for i in exported] == ids[:2] and {i["note"] for i in exported} == {"ls project 3"}
    assert len(listed(harvest_client, status="new")) == 5
    paged, after = [], 0
    while after is not None:
        page = harvest_client.get(FRAMES, params={"limit": 3, "after_id": after}).json()
        assert len(page["items"]) <= 3
        paged += [i["id"] for i in page["items"]]
        after = page["next_after_id"]
    assert paged == ids
    assert harvest_client.get(FRAMES, params={"reason": "bogus"}).status_code == 422
    assert harvest_client.get(FRAMES, params={"limit": 0}).status_code == 422


def test_status_marking_skips_unknown_ids_and_refuses_new(harvest_client: TestClient) -> None:
    posted(harvest_client, frame(distinct_scenes(1)[0]))
    (item,) = listed(harvest_client)
    result = harvest_client.post(f"{FRAMES}/status", json={"ids": [item["id"], 4242], "status": "labelled"})
    assert result.json() == {"updated": 1}
    assert listed(harvest_client)[0]["status"] == "labelled"
    assert harvest_client.post(f"{FRAMES}/status", json={"ids": [item["id"]], "status": "new"}).status_code == 422
    assert harvest_client.post(f"{FRAMES}/status", json={"ids": [], "status": "labelled"}).status_code == 422


def test_the_summary_counts_by_status_reason_and_camera(harvest_client: TestClient) -> None:
    frames = distinct_scenes(3)
    posted(harvest_client, frame(frames[0]), frame(frames[1], reasons=("flicker", "uncertain")),
           frame(frames[2], camera="cam-9", reasons=("time_of_day",)))
    posted(harvest_client, frame(frames[0]))
    summary = harvest_client.get("/api/v1/harvest/summary").json()
    assert summary["frames"] == 3 and summary["bytes"] == sum(len(f) for f in frames)
    assert summary["max_bytes"] == 2 * 1024**3 and summary["evicted"] == 0 and summary["duplicates"] == 1
    assert summary["by_status"] == {"new": 3, "exported": 0, "labelled": 0}
    assert summary["by_reason"] == {"uncertain": 2, "flicker": 1, "time_of_day": 1, "scene_change": 0,
                                    "false_positive": 0}
    assert summary["by_camera"] == {"cam-1": {"today": 2, "total": 2}, "cam-9": {"today": 1, "total": 1}}


# ---- false positives ---------------------------------------------------------------------------

def test_a_false_positive_verdict_adds_its_key_frame_with_the_orders_boxes(harvest_client: TestClient) -> None:
    key_frame = jpeg(scene(5))
    boxes = [{"label": "garbage_bag", "confidence": 0.55, "xyxy": [32.0, 48.0, 160.0, 192.0], "track_id": 3}]
    body = order_body(boxes=boxes, evidence=[jpeg_evidence(key_frame, kind="frame")])
    order = post_order(harvest_client, body, "key-harvest-fp-01").json()
    verdict = harvest_client.post(f"/api/v1/work-orders/{order['id']}/verdict",
                                  json={"verdict": "false_positive", "reason": "a shadow, not a bag"})
    assert verdict.status_code == 200 and verdict.json()["status"] == "rejected"
    (item,) = listed(harvest_client, reason="false_positive")
    assert item["camera_id"] == "cam-01" and item["model_name"] == "yolo11n-gridsight"
    assert item["model_version"] == "2026.11.1" and item["reasons"] == ["false_positive"]
    assert item["boxes"] == [{"label": "garbage_bag", "confidence": 0.55, "x1": 0.1, "y1": 0.25, "x2": 0.5,
                              "y2": 1.0, "track_id": 3}]
    assert item["detail"]["work_order_id"] == order["id"] and item["detail"]["verdict_reason"] == "a shadow, not a bag"
    assert harvest_client.get(item["image_url"]).content == key_frame


def test_a_png_key_frame_is_harvested_as_jpeg(harvest_client: TestClient) -> None:
    png = cv2.imencode(".png", scene(8))[1].tobytes()
    evidence = [{"kind": "frame", "content_type": "image/png", "data_b64": base64.b64encode(png).decode()}]
    order = post_order(harvest_client, order_body(event_id="evt-png", evidence=evidence), "key-harvest-fp-04").json()
    harvest_client.post(f"/api/v1/work-orders/{order['id']}/verdict", json={"verdict": "false_positive", "reason": "x"})
    (item,) = listed(harvest_client, reason="false_positive")
    image = harvest_client.get(item["image_url"]).content
    assert image[:3] == b"\xff\xd8\xff" and (item["width"], item["height"]) == (320, 192)


def test_a_verdict_stands_when_there_is_no_frame_to_harvest(harvest_client: TestClient, caplog) -> None:
    bare = post_order(harvest_client, order_body(event_id="evt-bare"), "key-harvest-fp-02").json()
    confirmed = post_order(harvest_client, order_body(event_id="evt-ok", evidence=[jpeg_evidence(
        jpeg(scene(6)), kind="frame")]), "key-harvest-fp-03").json()
    with caplog.at_level("WARNING", logger="api.crud.harvest"):
        verdict = harvest_client.post(f"/api/v1/work-orders/{bare['id']}/verdict",
                                      json={"verdict": "false_positive", "reason": "empty street"})
    assert verdict.status_code == 200 and verdict.json()["verdict"] == "false_positive"
    assert "no unannotated key frame" in caplog.text
    ok = harvest_client.post(f"/api/v1/work-orders/{confirmed['id']}/verdict",
                             json={"verdict": "confirmed", "reason": "a real bag"})
    assert ok.status_code == 200
    assert listed(harvest_client) == []  # neither a missing frame nor a confirmed order makes one


# ---- hostile input -----------------------------------------------------------------------------

def _one_line(response) -> str:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    return detail


def test_bad_batches_are_one_line_422s_and_store_nothing(harvest_client: TestClient) -> None:
    good = frame(distinct_scenes(1)[0])
    wire = HarvestBatch(worker="w", frames=(good,)).to_wire()
    too_many = {**wire, "frames": wire["frames"] * 33}
    assert "1-32 frames" in _one_line(harvest_client.post(FRAMES, json=too_many))
    bad_b64 = {**wire, "frames": [{**wire["frames"][0], "jpeg_b64": "not base64!!"}]}
    assert "base64" in _one_line(harvest_client.post(FRAMES, json=bad_b64))
    png_bytes = cv2.imencode(".png", scene(1))[1].tobytes()
    not_jpeg = {**wire, "frames": [{**wire["frames"][0], "jpeg_b64": base64.b64encode(png_bytes).decode()}]}
    assert "not a JPEG" in _one_line(harvest_client.post(FRAMES, json=not_jpeg))
    garbage = b"\xff\xd8\xff" + bytes(range(256)) * 8
    broken = {**wire, "frames": [{**wire["frames"][0], "jpeg_b64": base64.b64encode(garbage).decode()}]}
    assert _one_line(harvest_client.post(FRAMES, json=broken)).startswith("frames[0]: ")
    truncated = {**wire, "frames": [{**wire["frames"][0], "jpeg_b64": base64.b64encode(good.jpeg[:len(good.jpeg) // 2])
                                     .decode()}]}
    assert _one_line(harvest_client.post(FRAMES, json=truncated)).startswith("frames[0]: ")
    wrong_size = {**wire, "frames": [{**wire["frames"][0], "width": 640}]}
    assert "320x192" in _one_line(harvest_client.post(FRAMES, json=wrong_size))
    bad_box = {**wire, "frames": [{**wire["frames"][0], "boxes": [{"label": "bag", "confidence": 0.5, "x1": 0.6,
                                                                    "y1": 0.1, "x2": 0.2, "y2": 0.5}]}]}
    assert "x1 < x2" in _one_line(harvest_client.post(FRAMES, json=bad_box))
    assert "version 9 is newer" in _one_line(harvest_client.post(FRAMES, json={**wire, "version": 9}))
    unknown = harvest_client.post(FRAMES, json={**wire, "frames": [{**wire["frames"][0], "colour": "red"}]})
    assert unknown.status_code == 422 and "colour" in unknown.text
    assert harvest_client.post(FRAMES, json={**wire, "priority": 1}).status_code == 422
    assert listed(harvest_client) == [] and harvest_client.get("/api/v1/harvest/summary").json()["frames"] == 0


def test_a_batch_over_the_body_limit_is_413(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_evidence_body_bytes=64 * 1024)
    frames = [frame(jpeg(scene(i), 98)) for i in range(8)]
    with TestClient(create_app(settings)) as client:
        response = post(client, *frames)
        assert response.status_code == 413
        assert "GRIDSIGHT_MAX_EVIDENCE_BODY_BYTES" in response.json()["detail"]
        assert listed(client) == []


def test_roles(secured: TestClient) -> None:
    data = distinct_scenes(1)[0]
    assert post(secured, frame(data)).status_code == 401
    assert post(secured, frame(data), headers=SUP).status_code == 403
    assert posted(secured, frame(data), headers=WORKER)["accepted"] == 1
    assert secured.get(FRAMES, headers=WORKER).status_code == 403
    assert secured.get(FRAMES, headers=OP_A).status_code == 403
    (item,) = listed(secured, headers=SUP)
    assert secured.get(item["image_url"], headers=OP_A).status_code == 403
    assert secured.get(item["image_url"], headers=SUP).content == data
    assert secured.get("/api/v1/harvest/summary", headers=SUP).status_code == 200
    status = {"ids": [item["id"]], "status": "exported"}
    assert secured.post(f"{FRAMES}/status", json=status, headers=SUP).status_code == 403
    assert secured.post(f"{FRAMES}/status", json=status, headers=ADMIN).json() == {"updated": 1}
    assert secured.post("/api/v1/datasets", json=dataset(), headers=SUP).status_code == 403
    assert secured.post("/api/v1/datasets", json=dataset(), headers=ADMIN).json()["created_by"] == "root"
    assert len(secured.get("/api/v1/datasets", headers=SUP).json()["items"]) == 1


# ---- dataset versions --------------------------------------------------------------------------

def dataset(version: str = "1", fingerprint: str = "a" * 64, **overrides) -> dict:
    body = {"name": "city-night", "version": version, "fingerprint": fingerprint, "source": "label-studio",
            "images": 40, "instances": 95, "classes": {"garbage_bag": 60, "pedestrian": 35},
            "cameras": {"cam-1": 25, "cam-2": 15}, "splits": {"train": 28, "val": 6, "test": 6},
            "harvest_frame_ids": [1, 2, 3], "path": "var/datasets/city-night-1/data.yaml"}
    body.update(overrides)
    return body


def test_dataset_versions_are_recorded_once_listed_newest_first_and_conflict_on_another_fingerprint(
        harvest_client: TestClient, app_clock: FakeClock) -> None:
    first = harvest_client.post("/api/v1/datasets", json=dataset())
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["id"] >= 1 and record["created_at"] == T0.isoformat() and record["created_by"] == "dev-mode"
    assert {k: record[k] for k in dataset()} == dataset()
    replay = harvest_client.post("/api/v1/datasets", json=dataset())
    assert replay.status_code == 200 and replay.json()["id"] == record["id"]
    conflict = harvest_client.post("/api/v1/datasets", json=dataset(fingerprint="b" * 64))
    assert conflict.status_code == 409 and "city-night 1" in conflict.json()["detail"]
    app_clock.advance(minutes=5)
    second = harvest_client.post("/api/v1/datasets", json=dataset("2", "b" * 64, source="coco", path=None))
    assert second.status_code == 201
    items = harvest_client.get("/api/v1/datasets").json()["items"]
    assert [(i["version"], i["source"]) for i in items] == [("2", "coco"), ("1", "label-studio")]
    for bad in ({"fingerprint": "A" * 64}, {"source": "excel"}, {"images": -1}, {"splits": {"train": 1}},
                {"extra": True}, {"classes": {"": 3}}):
        assert harvest_client.post("/api/v1/datasets", json=dataset("9", **bad)).status_code == 422, bad


# ---- the migration and PostgreSQL ----------------------------------------------------------------

def test_migration_0007_adds_the_harvest_tables_and_takes_them_away(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0006")
    tables = {"harvest_batches", "harvest_frames", "dataset_versions"}
    assert not tables & set(inspect(engine).get_table_names())
    upgrade(engine, "0007")
    assert current(engine) == "0007" and tables <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        from alembic import command

        command.downgrade(_config(conn), "0006")
        conn.commit()
    assert current(engine) == "0006" and not tables & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert current(engine) == head()
    assert harvest_schema_drift(engine) == []


HARVEST_TABLES = {"harvest_batches", "harvest_frames", "dataset_versions"}


def harvest_schema_drift(engine) -> list:
    """What alembic autogenerate would still change in the harvest tables (the ORM vs the migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base

    def table_of(diff) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in HARVEST_TABLES:
                return name
        return None

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    return [d for d in diffs if table_of(d) in HARVEST_TABLES]


def test_the_drift_check_sees_a_planted_difference(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'drift.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_harvest_frames_sha256")
        conn.exec_driver_sql("ALTER TABLE dataset_versions ADD COLUMN extra INTEGER")
    assert sorted(d[0] for d in harvest_schema_drift(engine)) == ["add_index", "remove_column"]


def test_harvest_and_datasets_on_postgresql(pg_database: str, tmp_path: Path, app_clock: FakeClock) -> None:
    settings = make_settings(tmp_path, database_url=pg_database, harvest_camera_daily_max=3)
    frames = distinct_scenes(4)
    with TestClient(create_app(settings, clock=app_clock)) as client:
        assert current(client.app.state.engine) == head()
        assert harvest_schema_drift(client.app.state.engine) == []
        result = posted(client, *(frame(f) for f in frames), frame(frames[0]))
        assert (result["accepted"], result["duplicates"], result["over_budget"]) == (3, 1, 1)
        assert len(listed(client, reason="uncertain", camera_id="cam-1")) == 3
        summary = client.get("/api/v1/harvest/summary").json()
        assert summary["by_camera"] == {"cam-1": {"today": 3, "total": 3}} and summary["duplicates"] == 1
        assert client.post("/api/v1/datasets", json=dataset()).status_code == 201
        assert client.post("/api/v1/datasets", json=dataset(fingerprint="c" * 64)).status_code == 409
        nul = client.post("/api/v1/datasets", json=dataset("3", path="a\x00b"))
        assert nul.status_code == 422
