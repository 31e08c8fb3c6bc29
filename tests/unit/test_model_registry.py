"""The API's model registry (issue 18): uploads checked file by file, promotion to all
cameras or a canary group, step-wise rollback, the assignments workers read, their load
reports, the audit timeline, roles, and hostile input."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
import yaml
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.contract.models import ModelAssignments, ModelLoadReport
from api.db.engine import make_engine
from api.db.migrate import _config, current, upgrade
from api.main import create_app
from tests.support.model_registry import model_paths, upload, write_model
from tests.support.ops import ADMIN, OP_A, SUP, TOKENS, WORKER, FakeClock, secured_settings

NEW_TABLES = {"model_versions", "model_files", "camera_groups", "camera_group_members", "model_assignments",
              "model_load_reports", "model_audit"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def reg(tmp_path: Path, clock: FakeClock):
    settings = secured_settings(tmp_path, model_dir=tmp_path / "models", max_model_upload_bytes=2 * 1024 * 1024)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


def one_line(response) -> str:
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail, detail
    return detail


def promote(client, name: str, version: str, scope: str, **kw):
    return client.post(f"/api/v1/models/{name}/{version}/promote", json={"scope": scope, **kw}, headers=ADMIN)


def assignments(client, cameras: str) -> ModelAssignments:
    response = client.get("/api/v1/models/assignments", params={"cameras": cameras}, headers=WORKER)
    assert response.status_code == 200, response.text
    return ModelAssignments.from_wire(response.json())


def running(client, cameras: str) -> dict[str, tuple[str, str, int]]:
    return {a.camera_id: (a.model_version, a.scope, a.assignment_id) for a in assignments(client, cameras).assignments}


# ---- uploads ------------------------------------------------------------------------------------

def test_upload_stores_every_file_with_its_checksum_and_a_retry_changes_nothing(reg, tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "src")
    created = upload(reg, manifest, ADMIN)
    assert created.status_code == 201, created.text
    record = created.json()
    assert (record["name"], record["version"], record["status"], record["uploaded_by"]) == ("gs-test", "1",
                                                                                           "candidate", "root")
    assert record["manifest"]["canonical_labels"] == {"bag": "garbage_bag", "person": "person"}
    expected = {p: hashlib.sha256((manifest.parent / p).read_bytes()).hexdigest()
                for p in [manifest.name, *model_paths(manifest)]}
    assert {f["path"]: f["sha256"] for f in record["files"]} == expected
    stored = tmp_path / "models" / "gs-test" / "1"
    assert all((stored / p).read_bytes() == (manifest.parent / p).read_bytes() for p in expected)
    assert upload(reg, manifest, ADMIN).status_code == 200  # the same content again: no new version
    other = write_model(tmp_path / "other", weights=b"different weights")
    conflict = upload(reg, other, ADMIN)
    assert conflict.status_code == 409 and "other files" in one_line(conflict)
    assert [m["version"] for m in reg.get("/api/v1/models", headers=SUP).json()["items"]] == ["1"]
    assert not list((tmp_path / "models" / ".incoming").iterdir())  # refused uploads leave nothing behind


def _refused(reg, tmp_path: Path, manifest: Path, **kwargs) -> str:
    response = upload(reg, manifest, ADMIN, **kwargs)
    assert response.status_code == 422, response.text
    assert reg.get("/api/v1/models", headers=SUP).json()["items"] == []
    assert not [p for p in (tmp_path / "models").rglob("*") if p.is_file()]
    return one_line(response)


def test_weights_or_export_that_do_not_match_the_manifest_are_refused(reg, tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "src")
    (manifest.parent / "gs-test-v1.pt").write_bytes(b"swapped weights")
    assert "checksum mismatch for gs-test-v1.pt" in _refused(reg, tmp_path, manifest)
    manifest = write_model(tmp_path / "src2")
    (manifest.parent / "gs-test-v1_openvino_model" / "model.bin").write_bytes(b"tampered")
    assert "checksum mismatch for the openvino export" in _refused(reg, tmp_path, manifest)


def test_paths_outside_the_version_missing_and_extra_files_are_refused(reg, tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "src")
    assert "must be relative" in _refused(reg, tmp_path, manifest, renames={"gs-test-v1.pt": "../gs-test-v1.pt"})
    assert "must be relative" in _refused(reg, tmp_path, manifest, renames={"gs-test-v1.pt": "/etc/gs-test-v1.pt"})
    assert "were not sent: gs-test-v1.pt" in _refused(reg, tmp_path, manifest,
                                                      paths=model_paths(manifest)[1:])
    (manifest.parent / "notes.txt").write_text("x")
    assert "not named in the manifest" in _refused(reg, tmp_path, manifest,
                                                   paths=[*model_paths(manifest), "notes.txt"])
    escaping = write_model(tmp_path / "esc", export=False, file="../outside.pt")  # the manifest points outside
    assert "must be relative" in _refused(reg, tmp_path, escaping, paths=[])


def test_manifests_that_are_not_valid_canonical_pinned_yaml_are_refused(reg, tmp_path: Path) -> None:
    wrong_labels = write_model(tmp_path / "labels", labels={"bag": "rubbish"})
    assert "outside the canonical vocabulary" in _refused(reg, tmp_path, wrong_labels)
    unpinned = write_model(tmp_path / "unpinned", sha256=None)
    assert "no sha256" in _refused(reg, tmp_path, unpinned)
    unknown = write_model(tmp_path / "unknown", colour="red")
    assert "colour" in _refused(reg, tmp_path, unknown)
    bad = tmp_path / "bad" / "bad.yaml"
    bad.parent.mkdir()
    for text, why in ((b"name: [unclosed", "not valid YAML"), (b"- just\n- a list\n", "must be a YAML mapping"),
                      (b"a: &x [1]\nb: *x\n", "aliases"), (b"\xff\xfe", "not UTF-8")):
        bad.write_bytes(text)
        assert why in _refused(reg, tmp_path, bad, paths=[])
    bad.write_bytes(b"description: '" + b"x" * 300_000 + b"'\n")
    assert "larger than" in _refused(reg, tmp_path, bad, paths=[])


def test_an_upload_past_the_size_limit_is_refused_with_413(reg, tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "big", weights=b"\0" * (3 * 1024 * 1024))
    response = upload(reg, manifest, ADMIN)
    assert response.status_code == 413 and "GRIDSIGHT_MAX_MODEL_UPLOAD_BYTES" in response.json()["detail"]
    assert reg.get("/api/v1/models", headers=SUP).json()["items"] == []


# ---- promotion, canaries, rollback ---------------------------------------------------------------

def _two_versions(reg, tmp_path: Path) -> None:
    for version in ("1", "2"):
        manifest = write_model(tmp_path / f"v{version}", version=version, weights=f"weights-{version}".encode())
        assert upload(reg, manifest, ADMIN).status_code == 201


def test_camera_scope_beats_groups_newest_group_beats_older_and_all_is_last(reg, tmp_path: Path, clock) -> None:
    _two_versions(reg, tmp_path)
    assert running(reg, "cam-1,cam-2") == {}  # nothing assigned: every camera keeps its config's model
    assert reg.put("/api/v1/camera-groups/canary", json={"cameras": ["cam-1", "cam-3"]}, headers=ADMIN).status_code == 200
    reg.put("/api/v1/camera-groups/night", json={"cameras": ["cam-3"], "description": "sodium lamps"}, headers=ADMIN)
    first = promote(reg, "gs-test", "1", "all").json()
    canary = promote(reg, "gs-test", "2", "group:canary", reason="night fine-tune").json()
    assert canary["assignment_id"] > first["assignment_id"]
    assert running(reg, "cam-1,cam-2,cam-3") == {"cam-1": ("2", "group:canary", canary["assignment_id"]),
                                                  "cam-2": ("1", "all", first["assignment_id"]),
                                                  "cam-3": ("2", "group:canary", canary["assignment_id"])}
    night = promote(reg, "gs-test", "1", "group:night").json()  # newer than canary's: cam-3 takes it
    assert running(reg, "cam-3")["cam-3"] == ("1", "group:night", night["assignment_id"])
    mine = promote(reg, "gs-test", "2", "camera:cam-3").json()
    assert running(reg, "cam-3")["cam-3"] == ("2", "camera", mine["assignment_id"])
    assert promote(reg, "gs-test", "2", "camera:cam-3").json() == mine  # already in force: no new id
    models = {m["version"]: m for m in reg.get("/api/v1/models", headers=SUP).json()["items"]}
    assert (models["1"]["status"], sorted(models["1"]["scopes"])) == ("active", ["all", "group:night"])
    assert (models["2"]["status"], sorted(models["2"]["scopes"])) == ("canary", ["camera:cam-3", "group:canary"])
    groups = reg.get("/api/v1/camera-groups", headers=SUP).json()["items"]
    assert groups == [{"name": "canary", "cameras": ["cam-1", "cam-3"], "description": None},
                      {"name": "night", "cameras": ["cam-3"], "description": "sodium lamps"}]
    missing = promote(reg, "gs-test", "2", "group:nobody")
    assert missing.status_code == 404 and "create it first" in one_line(missing)
    assert promote(reg, "gs-test", "9", "all").status_code == 404


def test_rollback_walks_back_one_step_with_a_new_id_and_past_the_first_removes_the_scope(reg, tmp_path) -> None:
    _two_versions(reg, tmp_path)
    one = promote(reg, "gs-test", "1", "all").json()
    two = promote(reg, "gs-test", "2", "all").json()
    back = reg.post("/api/v1/models/rollback", json={"scope": "all", "reason": "v2 misses bags"}, headers=ADMIN).json()
    assert (back["model_version"], back["removed"], back["rolled_back"]) == ("1", False, "gs-test/2")
    assert back["assignment_id"] > two["assignment_id"] > one["assignment_id"]
    assert running(reg, "cam-1")["cam-1"] == ("1", "all", back["assignment_id"])
    gone = reg.post("/api/v1/models/rollback", json={"scope": "all"}, headers=ADMIN).json()
    assert gone["removed"] is True and gone["assignment_id"] is None and "config" in gone["detail"]
    assert running(reg, "cam-1") == {}
    again = reg.post("/api/v1/models/rollback", json={"scope": "all"}, headers=ADMIN)
    assert again.status_code == 409 and "nothing to roll back" in one_line(again)
    statuses = {m["version"]: m["status"] for m in reg.get("/api/v1/models", headers=SUP).json()["items"]}
    assert statuses == {"1": "retired", "2": "retired"}


# ---- what workers see and say --------------------------------------------------------------------

def test_files_download_with_their_checksum_and_unknown_paths_are_404(reg, tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "src")
    upload(reg, manifest, ADMIN)
    promote(reg, "gs-test", "1", "all")
    assignment = assignments(reg, "cam-1").for_camera("cam-1")
    assert assignment is not None and assignment.manifest == manifest.name
    for f in assignment.files:
        got = reg.get(f"/api/v1/models/gs-test/1/files/{f.path}", headers=WORKER)
        assert got.status_code == 200 and got.headers["x-checksum-sha256"] == f.sha256
        assert hashlib.sha256(got.content).hexdigest() == f.sha256 and len(got.content) == f.size
    assert reg.get("/api/v1/models/gs-test/1/files/nope.pt", headers=WORKER).status_code == 404
    assert reg.get("/api/v1/models/gs-test/1/files/..%2F..%2Fgridsight.db", headers=WORKER).status_code == 404
    assert reg.get("/api/v1/models/gs-test/1/files/gs-test-v1.pt", headers=OP_A).status_code == 403


def _report(camera: str, assignment_id: int, state: str, version: str = "1", **kw) -> dict:
    return ModelLoadReport(camera_id=camera, worker="w-1", assignment_id=assignment_id, model_name="gs-test",
                           model_version=version, state=state, at=1_800_000_000.0, **kw).to_wire()


def test_load_reports_show_where_a_version_runs_and_where_it_failed(reg, tmp_path: Path) -> None:
    _two_versions(reg, tmp_path)
    aid = promote(reg, "gs-test", "2", "all").json()["assignment_id"]
    for body in (_report("cam-1", aid, "loaded", "2"),
                 _report("cam-2", aid, "failed", "2", running_version="1", reason="openvino: cannot read model.xml")):
        assert reg.post("/api/v1/models/load-reports", json=body, headers=WORKER).status_code == 202
    record = reg.get("/api/v1/models/gs-test/2", headers=SUP).json()
    assert record["running_on"] == ["cam-1"]
    assert [(f["camera_id"], f["reason"]) for f in record["failed_on"]] == [("cam-2", "openvino: cannot read model.xml")]
    assert record["failed_on"][0]["at"].startswith("2027-01-15T08:00:00")
    fixed = _report("cam-2", aid, "loaded", "2")  # the retry worked: the latest report wins
    reg.post("/api/v1/models/load-reports", json=fixed, headers=WORKER)
    record = reg.get("/api/v1/models/gs-test/2", headers=SUP).json()
    assert (record["running_on"], record["failed_on"]) == (["cam-1", "cam-2"], [])
    for bad in ({**fixed, "state": "exploded"}, {**fixed, "assignment_id": 0}, {"camera_id": "cam-1"}, [1, 2],
                {**fixed, "at": 1e300}, {**fixed, "extra": 1}, {**fixed, "version": 2}):
        refused = reg.post("/api/v1/models/load-reports", json=bad, headers=WORKER)
        assert refused.status_code == 422, bad
    assert reg.get("/api/v1/models/gs-test/2", headers=SUP).json()["running_on"] == ["cam-1", "cam-2"]


def test_the_audit_timeline_lists_every_change_newest_first_by_name_never_token(reg, tmp_path, clock) -> None:
    manifest = write_model(tmp_path / "src")
    upload(reg, manifest, ADMIN)
    clock.advance(seconds=1)
    comparison = {"version": 1, "candidate": {"name": "gs-test", "version": "1"}, "current": None,
                  "verdict": {"better": True, "reasons": ["recall up"]}}
    stored = reg.put("/api/v1/models/gs-test/1/comparison", json=comparison, headers=ADMIN)
    assert stored.status_code == 200 and stored.json()["comparison"] == comparison
    clock.advance(seconds=1)
    reg.put("/api/v1/camera-groups/canary", json={"cameras": ["cam-1"]}, headers=ADMIN)
    clock.advance(seconds=1)
    aid = promote(reg, "gs-test", "1", "group:canary").json()["assignment_id"]
    clock.advance(seconds=1)
    reg.post("/api/v1/models/load-reports", json=_report("cam-1", aid, "loaded"), headers=WORKER)
    reg.post("/api/v1/models/load-reports", json=_report("cam-1", aid, "loaded"), headers=WORKER)  # no news
    clock.advance(seconds=1)
    reg.post("/api/v1/models/rollback", json={"scope": "group:canary"}, headers=ADMIN)
    response = reg.get("/api/v1/models/timeline", headers=SUP)
    items = response.json()["items"]
    assert [e["action"] for e in items] == ["rollback", "load", "promote", "group", "comparison", "upload"]
    assert [e["actor"] for e in items] == ["root", "cam-worker", "root", "root", "root", "root"]
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)
    assert items[2]["scope"] == "group:canary" and items[2]["detail"]["assignment_id"] == aid
    assert not any(token in response.text for token in TOKENS)
    assert len(reg.get("/api/v1/models/timeline", params={"limit": 2}, headers=SUP).json()["items"]) == 2


def test_comparisons_must_be_objects_with_their_key_fields_and_at_most_2_mib(reg, tmp_path: Path) -> None:
    upload(reg, write_model(tmp_path / "src"), ADMIN)
    url = "/api/v1/models/gs-test/1/comparison"
    refused = reg.put(url, json={"version": 1, "candidate": {}}, headers=ADMIN)
    assert refused.status_code == 422 and {e["loc"][-1] for e in refused.json()["detail"]} == {"current", "verdict"}
    assert reg.put(url, json=[1, 2], headers=ADMIN).status_code == 422
    assert reg.get("/api/v1/models/gs-test/1", headers=SUP).json()["comparison"] is None
    huge = {"version": 1, "candidate": {}, "current": {}, "verdict": {}, "pad": "x" * (2 * 1024 * 1024)}
    assert reg.put(url, json=huge, headers=ADMIN).status_code == 413
    assert reg.put("/api/v1/models/gs-test/9/comparison", json=huge | {"pad": ""}, headers=ADMIN).status_code == 404


# ---- roles and hostile input ---------------------------------------------------------------------

def test_roles(reg, tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "src")
    for headers, status in ((WORKER, 403), (SUP, 403), (OP_A, 403), ({}, 401)):
        assert upload(reg, manifest, headers).status_code == status
    assert upload(reg, manifest, ADMIN).status_code == 201
    assert reg.get("/api/v1/models", headers=OP_A).status_code == 403
    assert reg.get("/api/v1/models", headers=WORKER).status_code == 403
    assert reg.get("/api/v1/models/timeline").status_code == 401
    assert promote(reg, "gs-test", "1", "all").status_code == 200
    for headers in (SUP, WORKER):
        assert reg.post("/api/v1/models/gs-test/1/promote", json={"scope": "all"}, headers=headers).status_code == 403
        assert reg.post("/api/v1/models/rollback", json={"scope": "all"}, headers=headers).status_code == 403
        assert reg.put("/api/v1/camera-groups/g", json={"cameras": []}, headers=headers).status_code == 403
    assert reg.get("/api/v1/models/assignments", params={"cameras": "c"}, headers=OP_A).status_code == 403
    assert reg.get("/api/v1/models/assignments", params={"cameras": "c"}, headers=SUP).status_code == 200
    report = _report("cam-1", 1, "loaded")
    assert reg.post("/api/v1/models/load-reports", json=report, headers=SUP).status_code == 403


def test_unknown_fields_bad_scopes_and_bad_names_are_refused(reg, tmp_path: Path) -> None:
    upload(reg, write_model(tmp_path / "src"), ADMIN)
    for body in ({"scope": "all", "force": True}, {"scope": "everywhere"}, {"scope": "group:"},
                 {"scope": "camera:a b"}, {"scope": "group:../x"}, {"scope": "all", "reason": "x" * 501}):
        assert promote(reg, "gs-test", "1", body.pop("scope"), **body).status_code == 422
    assert reg.put("/api/v1/camera-groups/g", json={"cameras": ["a"], "colour": 1}, headers=ADMIN).status_code == 422
    assert reg.put("/api/v1/camera-groups/g", json={"cameras": ["a/b"]}, headers=ADMIN).status_code == 422
    assert reg.put("/api/v1/camera-groups/..", json={"cameras": []}, headers=ADMIN).status_code in (404, 422)
    assert reg.get("/api/v1/models/assignments", params={"cameras": ","}, headers=WORKER).status_code == 422
    assert reg.get("/api/v1/models/assignments", params={"cameras": "x" * 65}, headers=WORKER).status_code == 422


def test_migration_0006_adds_the_registry_tables_and_takes_them_away(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0005")
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    upgrade(engine, "0006")
    assert NEW_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        command.downgrade(_config(conn), "0005")
        conn.commit()
    assert current(engine) == "0005" and not NEW_TABLES & set(inspect(engine).get_table_names())


def test_the_registry_works_on_postgresql(pg_database: str, tmp_path: Path) -> None:
    settings = secured_settings(tmp_path, database_url=pg_database, model_dir=tmp_path / "models")
    with TestClient(create_app(settings)) as client:
        upload(client, write_model(tmp_path / "src"), ADMIN)
        client.put("/api/v1/camera-groups/canary", json={"cameras": ["cam-1"]}, headers=ADMIN)
        aid = promote(client, "gs-test", "1", "group:canary").json()["assignment_id"]
        assert running(client, "cam-1,cam-2") == {"cam-1": ("1", "group:canary", aid)}
        client.post("/api/v1/models/load-reports", json=_report("cam-1", aid, "loaded"), headers=WORKER)
        assert client.get("/api/v1/models/gs-test/1", headers=SUP).json()["running_on"] == ["cam-1"]
        assert yaml.safe_load(client.get(f"/api/v1/models/gs-test/1/files/gs-test-v1.yaml",
                                         headers=WORKER).text)["name"] == "gs-test"


def test_an_upload_clears_what_crashed_uploads_left_in_incoming(reg, tmp_path: Path) -> None:
    incoming = tmp_path / "models" / ".incoming"
    stale, live = incoming / "crashed", incoming / "in-progress"
    for d in (stale, live):
        d.mkdir(parents=True)
        (d / "part.pt").write_bytes(b"half")
    os.utime(stale, (time.time() - 2 * 24 * 3600,) * 2)
    assert upload(reg, write_model(tmp_path / "src"), ADMIN).status_code == 201
    assert not stale.exists() and (live / "part.pt").exists()
