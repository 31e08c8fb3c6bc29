"""The model registry end to end (issue 18): the real API process on PostgreSQL, and an
engineer's `gridsight models` commands uploading the shipped v4 weights with their two
OpenVINO exports, grouping a canary, promoting, rolling back; a worker's token reads the
assignment and downloads every file, byte for byte what was uploaded."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from api.contract.models import ModelAssignments
from gridsight.processes import gridsight_argv
from tests.support.api import ApiServer
from tests.support.model_registry import copy_as_version
from tests.support.ops import TOKENS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
V4 = REPO / "weights" / "gridsight-demo-v4.yaml"
ADMIN_TOKEN, WORKER_TOKEN = "admin-token-01234567890", "worker-token-0123456789"


def gridsight_models(api: ApiServer, *args: str) -> subprocess.CompletedProcess:
    """One `gridsight models ...` command as an engineer runs it, the admin token in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSIGHT_")}
    env.update({"GRIDSIGHT_API_URL": api.url, "GRIDSIGHT_API_TOKEN": ADMIN_TOKEN, "YOLO_OFFLINE": "1"})
    done = subprocess.run(gridsight_argv("models", *args), env=env, capture_output=True, text=True, timeout=300)
    assert ADMIN_TOKEN not in done.stdout + done.stderr
    return done



@pytest.fixture
def api(tmp_path: Path, pg_database: str):
    with ApiServer(tmp_path, database_url=pg_database, tokens=TOKENS,
                   env={"GRIDSIGHT_MODEL_DIR": str(tmp_path / "models")}) as server:
        yield server


def test_engineer_uploads_promotes_and_rolls_back_and_a_worker_downloads_the_same_bytes(api, tmp_path) -> None:
    uploaded = gridsight_models(api, "upload", str(V4))
    assert uploaded.returncode == 0, uploaded.stderr
    assert "uploaded gridsight-demo-v4 4: 8 files" in uploaded.stdout
    candidate = copy_as_version(V4, tmp_path / "v4b", "4b")
    assert gridsight_models(api, "upload", str(candidate)).returncode == 0

    tampered = copy_as_version(V4, tmp_path / "bad", "4c")
    (tampered.parent / "gridsight-demo-v4_openvino_model" / "metadata.yaml").write_text("tampered: true\n")
    refused = gridsight_models(api, "upload", str(tampered))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "openvino export" in refused.stderr and "sha256" in refused.stderr

    assert gridsight_models(api, "group", "canary", "--cameras", "cam-night,cam-rain").returncode == 0
    assert gridsight_models(api, "promote", "gridsight-demo-v4", "4", "--scope", "all").returncode == 0
    promoted = gridsight_models(api, "promote", "gridsight-demo-v4", "4b", "--scope", "group:canary",
                                "--reason", "night fine-tune")
    assert promoted.returncode == 0 and "in force for group:canary" in promoted.stdout
    listed = gridsight_models(api, "list").stdout
    assert "gridsight-demo-v4 4b  canary  scopes: group:canary" in listed and "gridsight-demo-v4 4  active" in listed

    worker = api.client(WORKER_TOKEN)
    seen = ModelAssignments.from_wire(worker.get("/api/v1/models/assignments",
                                                 params={"cameras": "cam-night,cam-day"}).json())
    night, day = seen.for_camera("cam-night"), seen.for_camera("cam-day")
    assert (night.model_version, night.scope, day.model_version, day.scope) == ("4b", "group:canary", "4", "all")
    for f in night.files:
        with worker.stream("GET", f"/api/v1/models/{night.model_name}/{night.model_version}/files/{f.path}") as r:
            assert r.status_code == 200 and r.headers["x-checksum-sha256"] == f.sha256
            digest = hashlib.sha256()
            for chunk in r.iter_bytes():
                digest.update(chunk)
        source = candidate.parent / f.path
        assert digest.hexdigest() == f.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()

    rolled = gridsight_models(api, "rollback", "--scope", "group:canary", "--reason", "misses bags at dusk")
    assert rolled.returncode == 0 and "config" in rolled.stdout  # the canary's first: the group falls back to all
    after = ModelAssignments.from_wire(worker.get("/api/v1/models/assignments", params={"cameras": "cam-night"}).json())
    assert (after.for_camera("cam-night").model_version, after.for_camera("cam-night").scope) == ("4", "all")
    again = gridsight_models(api, "rollback", "--scope", "group:canary")
    assert again.returncode == 2 and "nothing to roll back" in again.stderr

    timeline = httpx.get(f"{api.url}/api/v1/models/timeline", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         timeout=10).json()["items"]
    assert [e["action"] for e in timeline] == ["rollback", "promote", "promote", "group", "upload", "upload"]
    assert {e["actor"] for e in timeline} == {"root"}
