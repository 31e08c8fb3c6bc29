"""From a new city's cameras to its own deployed model (issue 18, the proof), with real processes.

A `gridsight serve` (SQLite) and one `gridsight worker` watch seven cameras of a scene family the
demo weights were never trained on (gridsight.synth's night_sodium: night, sodium lamps, rain, a
high oblique camera; one camera per scenario clip, each looping in real time), running v4 from
the worker's config and harvesting. Then, as an engineer would:

harvest batches in the API -> `gridsight label export` to a real Label Studio -> the annotator
script accepts or corrects each pre-annotation from the renderer's ground truth -> `gridsight
label import` (a dataset version, registered) -> `gridsight train --init v4` on it with a replay
share of the synthetic set (small and short, CPU) -> `gridsight compare` (candidate vs v4 on a
held-out set of the family's stills and on the family's scenario clips), stored with the
candidate -> `gridsight models upload` + a canary group of the night cameras + promote -> the
running worker swaps the model in (its /health and the API's running_on say so, same process)
-> the same clips now file the work orders v4 missed, under the new model's version.

The numbers (v4 vs the fine-tuned model: event P/R, mAP50, train seconds, hardware, load) go to
test-output/model-loop/e2e.json, and to $GRIDSIGHT_MODEL_LOOP_RESULTS when set (that is how
benchmarks/results/domain-shift/e2e.json was written).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gridsight.ml.dataset_version import LabelledBox
from gridsight.ml.labelstudio import connect, fetch_frames, find_project, frame_image
from gridsight.processes import ChildProcess, gridsight_argv
from tests.support.annotator import annotate
from tests.support.api import ApiServer
from tests.support.model_loop import (CANARY_GROUP, V4, ClipTruth, clips, expected_events, fine_tune_view, health,
                                      loop_record, metric, orders_by_model, render_family, render_stills,
                                      running_models, score_orders, worker_config)
from tests.support.procs import REPO_ROOT, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

#: Per camera: at most 12 frames, at least 5.5 s of stream apart (the API counts frames of one
#: camera within 5 s as the same moment). The thresholds are the loose end of each bound: the
#: night frames are dark and noisy, and a few dozen frames are all this camera family gives.
HARVEST = {"budget_per_day": 12, "min_spacing_s": 5.5, "uncertainty_margin": 0.3, "scene_change_threshold": 0.01,
           "duplicate_threshold": 0.002}
PROJECT = "night-cameras"
CANDIDATE = ("gridsight-night", "5")
#: The short CPU recipe: all layers, AdamW at a fixed 0.002 (ultralytics' "auto" would pick
#: 0.00035 for so few iterations and barely move in 12 epochs), 30 % replay of the synthetic set.
RECIPE = ("--epochs", "12", "--imgsz", "320", "--batch", "16", "--optimizer", "AdamW", "--lr0", "0.002",
          "--warmup-epochs", "0.5", "--workers", "0", "--seed", "0", "--replay-share", "0.3")
V4_RUNNING = "gridsight-demo-v4 4"


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> dict[str, Path]:
    """The night cameras' clips, the family's stills (val for training, a held-out set for the
    comparison: both rendered apart from anything harvested) and a normal-domain replay set."""
    root = tmp_path_factory.mktemp("night-family")
    return {
        "clips": render_family(root / "clips"),
        "val": render_stills(root / "night-val", n_train=0, n_val=16, seed=21, domain="night_sodium"),
        "heldout": render_stills(root / "night-heldout", n_train=0, n_val=48, seed=22, domain="night_sodium"),
        "replay": render_stills(root / "replay", n_train=40, n_val=0, seed=23, domain=None),
    }


def cli(*args: str, env: dict | None = None, timeout_s: float = 900) -> str:
    """A `gridsight` command as an engineer types it; what it printed (a failure fails the test with its output)."""
    run = subprocess.run([sys.executable, "-m", "gridsight.cli", *args], capture_output=True, text=True,
                         timeout=timeout_s, cwd=REPO_ROOT, env={**os.environ, "YOLO_OFFLINE": "1", **(env or {})})
    assert run.returncode == 0, f"gridsight {' '.join(args[:2])} failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout + run.stderr


def test_a_night_camera_family_gets_its_own_model_harvested_labelled_trained_compared_and_swapped_in(
        family, label_studio, tmp_path):
    cameras = sorted(clips(family["clips"]))
    expected = expected_events(family["clips"])
    seconds: dict[str, float] = {}
    with ApiServer(tmp_path / "api") as api:
        worker_url = f"http://127.0.0.1:{free_port()}"
        config = worker_config(tmp_path / "worker", api.url, family["clips"], metrics_port=int(worker_url.rsplit(":", 1)[1]),
                               harvest=HARVEST)
        worker = ChildProcess("worker", gridsight_argv("worker", "--config", str(config)), tmp_path / "worker.log").start()
        try:
            t0 = time.monotonic()
            harvested = harvest_on_v4(api, worker, worker_url, cameras)
            seconds["harvest"] = time.monotonic() - t0

            t0 = time.monotonic()
            version = label_in_label_studio(api, label_studio, family["clips"], harvested, tmp_path)
            seconds["label"] = time.monotonic() - t0

            t0 = time.monotonic()
            data = fine_tune_view(version, family["val"], tmp_path / "fine-tune-data.yaml")
            cli("train", "--data", str(data), "--init", str(V4), "--replay-data", str(family["replay"]), *RECIPE,
                "--name", CANDIDATE[0], "--version", CANDIDATE[1], "--out", str(tmp_path / "train"))
            seconds["train"] = time.monotonic() - t0
            candidate = tmp_path / "train" / f"{CANDIDATE[0]}.yaml"

            t0 = time.monotonic()
            cli("models", "upload", str(candidate), "--api", api.url)  # a candidate: nothing runs it yet
            cli("compare", "--candidate", str(candidate), "--current", str(V4), "--data", str(family["heldout"]),
                "--scenarios", str(family["clips"]), "--out", str(tmp_path / "comparison.json"), "--api", api.url)
            seconds["compare"] = time.monotonic() - t0
            comparison = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))

            t0 = time.monotonic()
            swap = promote_to_the_canary_and_wait_for_the_swap(api, worker, worker_url, cameras)
            seconds["swap"] = time.monotonic() - t0
            t0 = time.monotonic()
            wait_two_loops_and_delivered(worker, worker_url, family["clips"], swap["decoded"])
            seconds["after_swap"] = time.monotonic() - t0
            orders = orders_by_model(api.url)
            dropped_after = metric(worker_url, "gridsight_worker_frames_dropped_total")
            assert worker.alive and worker.proc.pid == swap["pid"] and worker.log_text().count("worker starting") == 1
        finally:
            worker.stop()
    assert "Traceback" not in worker.log_text()
    check_and_record(comparison, orders, expected, swap, dropped_after, seconds, version, candidate)


def harvest_on_v4(api: ApiServer, worker, worker_url: str, cameras: list[str]) -> list[dict]:
    """Until every camera has spent its harvest budget and the API holds what was sent, and v4's
    orders are delivered; the harvested frames."""
    wait_until(lambda: (r := running_models(worker_url)) and all(r.get(c) == V4_RUNNING for c in cameras), 300,
               "every camera running v4", poll_s=1, on_timeout=worker.log_text)

    def budget_spent():
        stats = health(worker_url).get("harvest") or {}
        per_camera = stats.get("cameras", {})
        return (all(per_camera.get(c, {}).get("harvest_today", 0) >= HARVEST["budget_per_day"] for c in cameras)
                and stats.get("pending") == 0 and stats.get("sent") == HARVEST["budget_per_day"] * len(cameras))

    wait_until(budget_spent, 420, "every camera's harvest budget sent", poll_s=1,
               on_timeout=lambda: f"{health(worker_url).get('harvest')}\n{worker.log_text()[-3000:]}")
    wait_delivered(worker_url, worker)
    frames = fetch_frames(api.client(timeout=30), status="new")
    summary = httpx.get(f"{api.url}/api/v1/harvest/summary", timeout=10).json()
    assert len(frames) == summary["frames"] and summary["frames"] + summary["duplicates"] == stats_sent(worker_url)
    assert {f["camera_id"] for f in frames} == set(cameras), "every night camera gave frames"
    assert all(f["model_name"] == "gridsight-demo-v4" and f["model_version"] == "4" and f["reasons"] for f in frames)
    # Enough to learn the night look from (measured: 82 of the 84 sent are new moments; a frame
    # the looping clip shows again byte for byte is a duplicate to the API). Below 30 the fine-tune
    # has too little to learn from and the comparison below would fail for that reason.
    assert len(frames) >= 30, summary
    return frames


def stats_sent(worker_url: str) -> int:
    return int((health(worker_url).get("harvest") or {}).get("sent", -1))


def wait_delivered(worker_url: str, worker) -> None:
    """Every order the worker spooled is acknowledged by the API."""
    def drained():
        submitted = sum(metric(worker_url, "gridsight_worker_orders_submitted_total").values())
        text = httpx.get(f"{worker_url}/metrics", timeout=5).text
        delivered = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                        if line.startswith("gridsight_worker_orders_delivered_total"))
        return delivered >= submitted

    wait_until(drained, 120, "the worker's orders delivered", poll_s=1, on_timeout=worker.log_text)


def label_in_label_studio(api: ApiServer, label_studio, clips_dir: Path, frames: list[dict], tmp_path: Path) -> Path:
    """`gridsight label export`, the annotator from ground truth, `gridsight label import`; the version's directory."""
    env = {"LS_TOKEN": label_studio.token}
    common = ("--api-url", api.url, "--ls-url", label_studio.url, "--ls-token-env", "LS_TOKEN")
    printed = cli("label", "export", "--project", PROJECT, "--limit", str(len(frames)), *common, env=env)
    assert label_studio.token not in printed
    ls = connect(label_studio.url, label_studio.token)
    project_id = find_project(ls, PROJECT)
    truth = ClipTruth(clips_dir)
    with api.client(timeout=30) as http:
        exported = fetch_frames(http, status="exported")
        assert sorted(f["id"] for f in exported) == sorted(f["id"] for f in frames)
        ground_truth = {f["id"]: [LabelledBox(b["label"], b["x1"], b["y1"], b["x2"], b["y2"])
                                  for b in truth.boxes(f["camera_id"], frame_image(http, f))] for f in exported}
    width, height = frames[0]["width"], frames[0]["height"]
    outcome = annotate(ls, project_id, ground_truth, width=width, height=height)
    # At night v4's boxes are mostly missing or wrong: most frames need correcting.
    assert len(outcome["accepted"]) + len(outcome["corrected"]) == len(frames) and outcome["corrected"]
    out = tmp_path / "dataset"
    cli("label", "import", "--project", PROJECT, "--out", str(out), "--name", PROJECT, "--version", "1", *common, env=env)
    stored = httpx.get(f"{api.url}/api/v1/datasets", timeout=10).json()["items"]
    assert [(d["name"], d["version"], d["images"], d["source"]) for d in stored] == [
        (PROJECT, "1", len(frames), "label-studio")]
    assert sorted(stored[0]["harvest_frame_ids"]) == sorted(f["id"] for f in frames)
    assert stored[0]["instances"] == sum(len(b) for b in ground_truth.values())
    return out


def promote_to_the_canary_and_wait_for_the_swap(api: ApiServer, worker, worker_url: str, cameras: list[str]) -> dict:
    """A canary group of the night cameras, the candidate promoted to it; until every camera runs it."""
    name, version = CANDIDATE
    cli("models", "group", CANARY_GROUP, "--cameras", ",".join(cameras), "--description", "the night cameras",
        "--api", api.url)
    before = {"dropped": metric(worker_url, "gridsight_worker_frames_dropped_total"), "pid": worker.proc.pid}
    cli("models", "promote", name, version, "--scope", f"group:{CANARY_GROUP}", "--reason", "night fine-tune",
        "--api", api.url)
    wait_until(lambda: (r := running_models(worker_url)) and all(r.get(c) == f"{name} {version}" for c in cameras),
               180, "every night camera running the candidate", poll_s=0.5, on_timeout=worker.log_text)
    decoded = metric(worker_url, "gridsight_worker_frames_decoded_total")
    wait_delivered(worker_url, worker)  # what v4 saw before the swap is in; every later order is the candidate's
    v4_orders = {o["id"] for o in orders_by_model(api.url)}
    record = wait_until(lambda: set(cameras) <= set((r := httpx.get(f"{api.url}/api/v1/models/{name}/{version}",
                                                                      timeout=10).json())["running_on"]) and r,
                        60, "the API's running_on", on_timeout=worker.log_text)
    assert record["failed_on"] == [] and record["scopes"] == [f"group:{CANARY_GROUP}"]
    assert record["comparison"] is not None and record["comparison"]["verdict"]["better"], record["comparison"]
    return {**before, "decoded": decoded, "v4_orders": v4_orders}


def wait_two_loops_and_delivered(worker, worker_url: str, clips_dir: Path, decoded_at_swap: dict[str, float]) -> None:
    """Each camera's clip played twice through with the new model (a rule's dwell may straddle a
    loop's end), and the orders delivered."""
    frames = {cam: data["frame_count"] for cam, data in clips(clips_dir).items()}
    wait_until(lambda: (d := metric(worker_url, "gridsight_worker_frames_decoded_total"))
               and all(d.get(c, 0) >= decoded_at_swap.get(c, 0) + 2 * n for c, n in frames.items()),
               300, "two loops of every clip after the swap", poll_s=1, on_timeout=worker.log_text)
    wait_delivered(worker_url, worker)


def check_and_record(comparison: dict, orders: list[dict], expected: dict[str, set[str]],
                     swap: dict, dropped_after: dict[str, float], seconds: dict[str, float], version: Path,
                     candidate: Path) -> None:
    name, version_label = CANDIDATE
    events = comparison["events"]["overall"]
    cur, cand = events["current"], events["candidate"]
    live_v4 = score_orders(orders, expected, "4")
    live_new = score_orders(orders, expected, version_label)
    record = loop_record(comparison, live_v4, live_new, seconds, version, candidate)
    record["frames_dropped"] = {"before_promote": sum(swap["dropped"].values()), "at_end": sum(dropped_after.values())}
    out = REPO_ROOT / "test-output" / "model-loop" / "e2e.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for path in (out, os.environ.get("GRIDSIGHT_MODEL_LOOP_RESULTS")):
        if path:
            Path(path).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    summary = json.dumps({"events": events, "live_v4": live_v4, "live_new": live_new}, indent=1)

    # v4 at night: it files the e-bike in the lift (a big, close object) and one of the two
    # garbage cases, and misses the pile, the stall, the parked car and the littering (measured:
    # event recall 2/6 = 0.33 on these clips, offline and live alike; by day it files all six).
    assert cur["recall"] <= 0.34, summary
    # Six incidents on seven clips: one more true positive moves recall by 0.17. Measured after
    # the fine-tune (this recipe, seed 0, on a harvest of 82 frames): 5/6 = 0.83, +0.5 over v4;
    # on an earlier six-clip set +0.4 (0.4 -> 0.8), and the same recipe on 70 ground-truth frames
    # of these clips +0.67. Between runs the harvest differs (which moments the real-time worker
    # analysed) and the candidate moves by one incident either way. A margin of +0.3 therefore
    # asks for at least two incidents more than v4, which one lucky incident cannot supply.
    assert cand["recall"] - cur["recall"] >= 0.3 and cand["tp"] >= cur["tp"] + 2, summary
    assert cand["precision"] >= cur["precision"] - 0.2, summary
    assert comparison["verdict"]["better"], comparison["verdict"]

    # Live: the swap dropped no frame, orders filed after it carry the new model, and they are
    # the incidents v4 missed (an incident v4 had filed is a repeat of its open order).
    assert all(dropped_after.get(c, 0) == swap["dropped"].get(c, 0) for c in dropped_after), (swap, dropped_after)
    new_orders = [o for o in orders if o["id"] not in swap["v4_orders"]]
    assert new_orders and all((o["model_name"], o["model_version"]) == CANDIDATE for o in new_orders), summary
    # Measured: the pile, the stall and the parked car, filed by the candidate within two loops.
    missed_by_v4 = set(live_new["pairs"]) - set(live_v4["pairs"])
    assert len(missed_by_v4) >= 2, summary
    assert live_new["fp"] <= 1, summary
