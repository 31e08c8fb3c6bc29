"""The pieces of the model loop's end-to-end test (issue 18) that are not the loop itself: the
domain-shifted camera family and its held-out sets, the worker config that watches it, what the
worker's /health and /metrics say, and the work orders counted against the clips' ground truth.

The family is gridsight.synth's ``night_sodium`` (night, sodium lamps, rain, a high oblique
camera): one camera per scenario clip, each clip looping at its own pace (a camera that sees the
same street again and again). The clips' sidecars carry the camera config that watches them
(zones warped like the picture, preset rules) and the incidents it must report.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import httpx
import numpy as np
import yaml

from gridsight.ml.dataset_version import CLASS_ORDER
from gridsight.synth.dataset import generate_dataset
from gridsight.synth.scenarios import shifted_cases
from gridsight.synth.scenarios.generate import SIDECAR_KEY, render_case

REPO = Path(__file__).resolve().parents[2]
V4 = REPO / "weights" / "gridsight-demo-v4.yaml"
DOMAIN = "night_sodium"
#: The family's stories: five the demo weights report by day and miss at night (littering,
#: a garbage bag and a pile left on the pavement, a stall on the road, a car in a no-parking
#: zone), one they still see at night (an e-bike in a lift: a big, close object), and a negative
#: (a person in the lift: any order is a false one).
CLIP_NAMES = ("littering-drop", "exposed-garbage-bag", "exposed-garbage-pile", "occupy-road-stall",
              "illegal-parking-car", "ebike-in-elevator", "person-in-elevator")
CANARY_GROUP = "night-canary"


def render_family(out_dir: Path, names: tuple[str, ...] = CLIP_NAMES) -> Path:
    """The family's scenario clips (``<name>-night.mp4`` + sidecar) under ``out_dir``; the directory."""
    for case in shifted_cases(DOMAIN, names):
        if not (out_dir / f"{case.name}.json").is_file():
            render_case(case, out_dir)
    return out_dir


def render_stills(out_dir: Path, *, n_train: int, n_val: int, seed: int, domain: str | None) -> Path:
    """A rendered still-image set (YOLO data.yaml); the family's when ``domain`` is given."""
    if (out_dir / "data.yaml").is_file():
        return out_dir / "data.yaml"
    return generate_dataset(out_dir, n_train=n_train, n_val=n_val, seed=seed, size=(384, 216), domain=domain)


def clips(family_dir: Path) -> dict[str, dict]:
    """camera id (the clip's name) -> its sidecar."""
    out = {}
    for sidecar in sorted(family_dir.glob("*.json")):
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        if SIDECAR_KEY in data:
            out[sidecar.stem] = data
    return out


def expected_events(family_dir: Path) -> dict[str, set[str]]:
    """camera id -> the rule ids its clip must report (empty for a negative clip)."""
    return {cam: {e["rule"] for e in data[SIDECAR_KEY]["events"]} for cam, data in clips(family_dir).items()}


def worker_config(workdir: Path, api_url: str, family_dir: Path, *, metrics_port: int,
                  harvest: dict | None = None) -> Path:
    """``gridsight worker`` on every clip of the family, one camera each, v4 from the config; the
    registry's assignments polled every second; harvesting as ``harvest`` says."""
    workdir.mkdir(parents=True, exist_ok=True)
    cameras = {}
    for cam, data in clips(family_dir).items():
        camera = dict(data[SIDECAR_KEY]["camera"])
        camera.update(url=str((family_dir / f"{cam}.mp4").resolve()), model="v4",
                      source={"loop": True, "realtime": True})
        cameras[cam] = camera
    raw = {
        "api": {"url": api_url},
        "worker": {"name": "night-worker", "spool_dir": str(workdir / "spool"), "stats_interval_s": 2,
                   "retry_max_s": 2, "metrics_port": metrics_port, "metrics_host": "127.0.0.1"},
        # The scenario evaluation's floor (gridsight.ml.scenario_eval), so the live orders and the
        # comparison judge the same detections.
        "models": {"v4": {"manifest": str(V4), "confidence": 0.2}},
        "model_sync": {"interval_s": 1, "retry_max_s": 2, "cache_dir": str(workdir / "model-cache")},
        "harvest": {"enabled": True, "retry_max_s": 2, **(harvest or {})},
        "cameras": cameras,
    }
    path = workdir / "worker.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def health(url: str) -> dict:
    try:
        return httpx.get(f"{url}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def running_models(url: str) -> dict[str, str]:
    """camera -> the model it runs now ("<name> <version>"), from the worker's /health."""
    return {cam: m.get("running", "") for cam, m in health(url).get("models", {}).items()}


def metric(url: str, name: str) -> dict[str, float]:
    """camera -> value of a per-camera counter on the worker's /metrics."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and 'camera="' in line:
            cam = line.split('camera="', 1)[1].split('"', 1)[0]
            out[cam] = float(line.rsplit(" ", 1)[1])
    return out


def orders_by_model(api_url: str) -> list[dict]:
    """Every stored order (camera, rule, model version, repeats)."""
    items, offset = [], 0
    while True:
        page = httpx.get(f"{api_url}/api/v1/work-orders", params={"limit": 200, "offset": offset}, timeout=10).json()
        items += page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page.get("total", offset):
            return items


def score_orders(orders: list[dict], expected: dict[str, set[str]], model_version: str) -> dict:
    """Event-level numbers of the orders one model version filed: an order of an expected
    (camera, rule) is a true positive (once per pair), any other a false positive."""
    seen = {(o["camera_id"], o["rule_id"]) for o in orders if o["model_version"] == model_version}
    truth = {(cam, rule) for cam, rules in expected.items() for rule in rules}
    tp, fp = len(seen & truth), len(seen - truth)
    return {"tp": tp, "fp": fp, "fn": len(truth) - tp, "recall": tp / len(truth) if truth else 1.0,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "pairs": sorted(f"{c}/{r}" for c, r in seen)}


class ClipTruth:
    """The ground-truth boxes of a harvested frame: the frame is found in its camera's clip by
    its pixels (the clip loops, so its capture time says nothing about which frame it was; every
    frame carries its own sensor noise, so the nearest one is the one)."""

    def __init__(self, family_dir: Path) -> None:
        self.family_dir = family_dir
        self._frames: dict[str, list[np.ndarray]] = {}
        self._sidecars = clips(family_dir)

    def _clip(self, camera: str) -> list[np.ndarray]:
        if camera not in self._frames:
            capture = cv2.VideoCapture(str(self.family_dir / f"{camera}.mp4"))
            frames = []
            while True:
                ok, image = capture.read()
                if not ok:
                    break
                frames.append(cv2.resize(image, (96, 54), interpolation=cv2.INTER_AREA).astype(np.float32))
            capture.release()
            self._frames[camera] = frames
        return self._frames[camera]

    def frame_index(self, camera: str, jpeg: bytes) -> int:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        small = cv2.resize(image, (96, 54), interpolation=cv2.INTER_AREA).astype(np.float32)
        return int(np.argmin([float(np.mean((small - f) ** 2)) for f in self._clip(camera)]))

    def boxes(self, camera: str, jpeg: bytes) -> list[dict]:
        """[{label, x1, y1, x2, y2}] (canonical labels, corners 0..1) of the clip frame this is."""
        index = str(self.frame_index(camera, jpeg))
        out = []
        for obj in self._sidecars[camera]["objects"]:
            box = obj["boxes"].get(index)
            if box and obj["class"] in CLASS_ORDER:
                out.append({"label": obj["class"], "x1": box[0], "y1": box[1], "x2": box[2], "y2": box[3]})
        return out


def fine_tune_view(version_dir: Path, val_yaml: Path, out: Path) -> Path:
    """What `gridsight train --data` gets: every labelled frame of the dataset version to train on,
    and the family's rendered val stills to validate on.

    The version keeps each camera-hour in one split; seven cameras harvested within one hour are
    seven groups, and which split each lands in is a hash of the hour: some runs would leave a
    camera's every frame out of training, others leave val empty. A site this small trains on all
    of it and is measured on what it never saw (the held-out stills and the clips' events)."""
    version = yaml.safe_load((version_dir / "data.yaml").read_text(encoding="utf-8"))
    val = yaml.safe_load(Path(val_yaml).read_text(encoding="utf-8"))
    val_root = Path(val.get("path") or Path(val_yaml).parent)
    doc = {"path": str(version_dir.resolve()), "train": [f"images/{s}" for s in ("train", "val", "test")],
           "val": str((val_root / val["val"]).resolve()), "names": version["names"], "nc": version["nc"]}
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def _events(row: dict) -> dict:
    return {k: row[k] for k in ("precision", "recall", "tp", "fp", "fn")}


def loop_record(comparison: dict, live_v4: dict, live_new: dict, seconds: dict[str, float], version_dir: Path,
                candidate_manifest: Path) -> dict:
    """benchmarks/results/domain-shift/e2e.json: v4 vs the fine-tuned model on the night family."""
    import os
    import platform

    from gridsight.ml.trainer import hardware_summary

    manifest = yaml.safe_load(candidate_manifest.read_text(encoding="utf-8"))
    training = manifest.get("training", {})
    det, ev = comparison["detection"]["overall"], comparison["events"]["overall"]
    dataset = json.loads((version_dir / "version.json").read_text(encoding="utf-8"))
    return {
        "what": "issue 18's end-to-end model loop (tests/integration/test_model_loop_e2e.py): night_sodium cameras, "
                "v4 vs the model fine-tuned from the frames they harvested",
        "created_at": comparison["created_at"],
        "family": {"domain": DOMAIN, "clips": [f"{n}-night" for n in CLIP_NAMES]},
        "models": {"current": comparison["current"], "candidate": comparison["candidate"]},
        "offline": {
            "events": {role: _events(ev[role]) for role in ("current", "candidate")},
            "events_per_rule": comparison["events"]["per_rule"],
            "detection": {role: det[role] for role in ("current", "candidate")},
            "heldout": comparison["detection"]["data"],
            "verdict": comparison["verdict"],
        },
        "live": {"current": live_v4, "candidate": live_new},
        "dataset": {k: dataset.get(k) for k in ("images", "instances", "classes", "cameras", "splits", "fingerprint")},
        "training": {"replay": training.get("replay"), "epochs": training.get("epochs"), "imgsz": training.get("imgsz"),
                     "settings": {k: (training.get("settings") or {}).get(k)
                                  for k in ("optimizer", "lr0", "freeze", "warmup_epochs", "batch")},
                     "duration_s": training.get("duration_s")},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "hardware": hardware_summary(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
