"""The labelling round trip against real servers (issue 18, must-haves 2 and 3): a `gridsight serve`
with tokens receives harvest batches of rendered synthetic frames (their model boxes right on
some frames, wrong on others), `export_batch` turns them into tasks of a real Label Studio with
the boxes as pre-annotations, the annotator script accepts or corrects each from ground truth,
and `gridsight label import` makes a dataset version whose counts are the ground truth's, whose
camera-hours each sit in one split, registered with the API; importing again keeps the fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter

import cv2
import httpx
import numpy as np
import pytest

from api.contract.harvest import HarvestBatch, HarvestBox, HarvestFrame
from gridsight.ml.dataset_version import CLASS_ORDER, LabelledBox, split_of
from gridsight.ml.labelstudio import _plain, connect, export_batch, fetch_frames, import_project
from gridsight.synth.render import random_image
from tests.support.annotator import annotate
from tests.support.api import ApiServer
from tests.support.ops import TOKENS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

WORKER_TOKEN, _, _, _, ADMIN_TOKEN = TOKENS
CAMERAS = ("cam-north", "cam-east", "cam-pier")
HOURS = 6  # 3 cameras x 6 hours = 18 camera-hours: enough to reach all three splits
PER_HOUR = 2
T0 = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.timezone.utc)
PROJECT = "harbour-night"


def _truth_boxes(annotations, width: int, height: int) -> list[LabelledBox]:
    boxes = []
    for a in annotations:
        x1, y1, x2, y2 = (min(max(v, 0.0), lim) / lim for v, lim in zip(a.box, (width, height, width, height)))
        if x2 - x1 > 0.01 and y2 - y1 > 0.01:
            boxes.append(LabelledBox(a.label, x1, y1, x2, y2))
    return boxes


def _model_boxes(truth: list[LabelledBox], right: bool) -> list[HarvestBox]:
    """What the harvesting model saw: the truth nudged by 1 % (a right frame), else missing its first box."""
    kept = truth if right else truth[1:]
    return [HarvestBox(label=b.label, confidence=0.41, x1=b.x1, y1=b.y1, x2=min(1.0, b.x2 + 0.01) if b.x2 < 0.99
                       else b.x2, y2=b.y2, track_id=n) for n, b in enumerate(kept)]


def _rendered_frames() -> tuple[list[HarvestFrame], list[list[LabelledBox]], list[bool]]:
    rng = np.random.default_rng(18)
    frames, truths, right = [], [], []
    for camera in CAMERAS:
        for hour in range(HOURS):
            for k in range(PER_HOUR):
                image, annotations = random_image(rng, (640, 360))
                truth = _truth_boxes(annotations, 640, 360)
                ok = len(frames) % 3 != 0 or not truth  # every third frame with objects: the model missed one
                at = T0 + dt.timedelta(hours=hour, minutes=7 + 20 * k)
                jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes()
                frames.append(HarvestFrame(
                    camera_id=camera, captured_at=at.timestamp(), model_name="gridsight-demo", model_version="v4",
                    reasons=("uncertain",), jpeg=jpeg, width=640, height=360, boxes=tuple(_model_boxes(truth, ok))))
                truths.append(truth)
                right.append(ok)
    return frames, truths, right


@pytest.fixture(scope="module")
def harvest_api(tmp_path_factory):
    with ApiServer(tmp_path_factory.mktemp("api"), tokens=TOKENS,
                   env={"GRIDSIGHT_HARVEST_CAMERA_DAILY_MAX": "500"}) as server:
        yield server


def test_export_annotate_import_round_trip(harvest_api, label_studio, tmp_path):
    frames, truths, right = _rendered_frames()
    with harvest_api.client(WORKER_TOKEN, timeout=60) as worker:
        for start in range(0, len(frames), 16):
            reply = worker.post("/api/v1/harvest/frames",
                                json=HarvestBatch(worker="harbour", frames=tuple(frames[start:start + 16])).to_wire())
            assert reply.status_code == 201, reply.text
            assert reply.json()["accepted"] == len(frames[start:start + 16]), reply.json()
    ls = connect(label_studio.url, label_studio.token)
    with harvest_api.client(ADMIN_TOKEN, timeout=60) as api:
        records = fetch_frames(api, status="new")
        assert len(records) == len(frames)
        by_sha = {r["sha256"]: r for r in records}
        frame_of = [by_sha[hashlib.sha256(f.jpeg).hexdigest()]["id"] for f in frames]
        truth_of = dict(zip(frame_of, truths))

        exported = export_batch(api, ls, PROJECT, limit=len(frames))
        assert sorted(exported.exported) == sorted(frame_of) and not exported.already
        assert fetch_frames(api, status="new") == [] and len(fetch_frames(api, status="exported")) == len(frames)
        _check_tasks(ls, label_studio, exported.project_id, frames, frame_of)
        again = _cli(harvest_api, label_studio, "export", "--project", PROJECT, "--status", "exported")
        assert f"0 tasks created, {len(frames)} frames already there" in again  # no task twice

        label_studio.stop()  # tasks, uploaded images and the token survive a restart of Label Studio
        label_studio.start()
        _check_tasks(ls, label_studio, exported.project_id, frames, frame_of)

        outcome = annotate(ls, exported.project_id, truth_of)
        assert sorted(outcome["corrected"]) == sorted(f for f, ok in zip(frame_of, right) if not ok)
        assert len(outcome["accepted"]) == sum(right) > 0 and outcome["corrected"]

        version = import_project(api, ls, PROJECT, out=tmp_path / "v1", name="harbour-night", version="1")
        # an accepted frame keeps the model's (nudged) boxes, a corrected one gets the ground truth
        labelled = [[LabelledBox(b.label, b.x1, b.y1, b.x2, b.y2) for b in f.boxes] if ok else truth
                    for f, truth, ok in zip(frames, truths, right)]
        _check_version(version, tmp_path / "v1", frames, labelled, frame_of)
        stored = api.get("/api/v1/datasets").json()["items"]
        assert [(d["name"], d["version"], d["fingerprint"]) for d in stored] == [
            ("harbour-night", "1", version.fingerprint)]
        assert stored[0]["classes"] == version.classes and stored[0]["splits"] == version.splits
        assert len(fetch_frames(api, status="labelled")) == len(frames)

    rerun = _cli(harvest_api, label_studio, "import", "--project", PROJECT, "--out", str(tmp_path / "v1-again"),
                 "--name", "harbour-night", "--version", "1")
    assert "harbour-night 1" in rerun
    assert json.loads((tmp_path / "v1-again" / "version.json").read_text())["fingerprint"] == version.fingerprint


def _check_tasks(ls, server, project_id: int, frames, frame_of) -> None:
    """One task per frame: its image uploaded to Label Studio, the model's boxes as a prediction in percent."""
    tasks = {t["data"]["harvest_frame_id"]: t for t in map(_plain, ls.tasks.list(project=project_id, fields="all"))}
    assert sorted(tasks) == sorted(frame_of)
    for frame, frame_id in zip(frames, frame_of):
        task = tasks[frame_id]
        assert task["data"]["camera_id"] == frame.camera_id and task["data"]["image"].startswith("/data/upload/")
        image = httpx.get(server.url + task["data"]["image"], headers={"Authorization": f"Token {server.token}"},
                          timeout=30)
        assert image.status_code == 200 and image.content == frame.jpeg
        (prediction,) = [_plain(p) for p in task["predictions"]]
        assert prediction["model_version"] == "gridsight-demo:v4"
        got = sorted((r["value"]["rectanglelabels"][0], round(r["value"]["x"], 3), round(r["value"]["width"], 3))
                     for r in prediction["result"])
        assert got == sorted((b.label, round(b.x1 * 100, 3), round((b.x2 - b.x1) * 100, 3)) for b in frame.boxes)


def _check_version(version, out, frames, truths, frame_of) -> None:
    """Counts, cameras, splits and every label file against the boxes each frame was labelled with."""
    expected = Counter(b.label for truth in truths for b in truth)
    assert version.images == len(frames) and version.instances == sum(expected.values())
    assert version.classes == {label: expected[label] for label in CLASS_ORDER if expected[label]}
    assert version.cameras == {camera: HOURS * PER_HOUR for camera in sorted(CAMERAS)}
    assert sorted(version.harvest_frame_ids) == sorted(frame_of)
    assert all(version.splits[s] > 0 for s in ("train", "val", "test")), version.splits
    for frame, frame_id, truth in zip(frames, frame_of, truths):
        name = f"{frame.camera_id}-{frame_id:08d}"
        hour = dt.datetime.fromtimestamp(frame.captured_at, dt.timezone.utc).strftime("%Y-%m-%dT%H")
        split = split_of(f"{frame.camera_id}|{hour}")  # the camera-hour decides, for every frame of it
        assert (out / "images" / split / f"{name}.jpg").read_bytes() == frame.jpeg
        lines = (out / "labels" / split / f"{name}.txt").read_text().splitlines()
        got = sorted((CLASS_ORDER[int(parts[0])], *(float(v) for v in parts[1:])) for parts in map(str.split, lines))
        want = sorted((b.label, (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, b.x2 - b.x1, b.y2 - b.y1) for b in truth)
        assert [g[0] for g in got] == [w[0] for w in want]
        assert np.allclose([g[1:] for g in got], [w[1:] for w in want], atol=2e-6) if want else not got


def _cli(harvest_api, label_studio, *args: str) -> str:
    """`gridsight label ...` with the tokens in the environment only; returns what it printed (no token in it)."""
    env = {**os.environ, "GRIDSIGHT_API_TOKEN": ADMIN_TOKEN, "LS_TOKEN": label_studio.token}
    run = subprocess.run([sys.executable, "-m", "gridsight.cli", "label", *args, "--api-url", harvest_api.url,
                          "--ls-url", label_studio.url, "--ls-token-env", "LS_TOKEN"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    printed = run.stdout + run.stderr
    assert label_studio.token not in printed and ADMIN_TOKEN not in printed
    return printed


def test_a_project_whose_config_lacks_canonical_labels_is_refused_not_changed(label_studio):
    from gridsight.ml.labelstudio import LabelStudioError, ensure_project

    ls = connect(label_studio.url, label_studio.token)
    config = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
              '<Label value="car"/></RectangleLabels></View>')
    project_id = _plain(ls.projects.create(title="someone-elses", label_config=config))["id"]
    with pytest.raises(LabelStudioError, match="someone-elses.*without person"):
        ensure_project(ls, "someone-elses")
    assert _plain(ls.projects.get(id=project_id))["label_config"] == config
