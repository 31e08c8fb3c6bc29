"""`gridsight train` checks the dataset first, refuses a broken one, and fine-tunes the demo
model on a dataset exported from operator verdicts, recording its fingerprint."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import httpx
import yaml

from gridsight.cli import main
from gridsight.ml.dataset_check import check_dataset
from gridsight.ml.export import synthetic_frames
from tests.support.api import ApiServer
from tests.support.orders import b64, order_body, post_order

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "weights" / "gridsight-demo-v1.pt"
MANIFEST = ROOT / "weights" / "gridsight-demo-v1.yaml"
CLASSES = ["person", "litter", "garbage_bag"]


def _verdict_dataset(tmp_path: Path, monkeypatch, capsys) -> Path:
    """Orders filed with an API server, reviewed, then exported by `gridsight verdicts` over HTTP."""
    from ultralytics import YOLO

    model = YOLO(str(V1), task="detect")
    with ApiServer(tmp_path / "api", env={"GRIDSIGHT_MERGE_WINDOW": "PT0S"}, log_level="WARNING") as server, \
            server.client(timeout=30) as api:
        for n, image in enumerate(synthetic_frames(10, seed=5)):
            found = model.predict([image], imgsz=320, conf=0.4, verbose=False)[0].boxes
            boxes = [{"label": CLASSES[int(c)], "confidence": float(p), "xyxy": [float(v) for v in xyxy], "track_id": None}
                     for xyxy, c, p in zip(found.xyxy.tolist(), found.cls.tolist(), found.conf.tolist())]
            ok, jpeg = cv2.imencode(".jpg", image)
            body = order_body(event_id=f"evt-{n}", zone_id=f"z{n}", boxes=boxes or [], labels=["garbage_bag"],
                              evidence=[{"kind": "frame", "content_type": "image/jpeg", "data_b64": b64(jpeg.tobytes())}])
            order = post_order(api, body, f"lifecycle-{n:04d}").json()  # open dev-mode API: an admin
            verdict = "confirmed" if boxes and n % 3 else "false_positive"
            assert api.post(f"/api/v1/work-orders/{order['id']}/verdict",
                            json={"verdict": verdict, "reason": "checked"}).status_code == 200
        command = ["verdicts", "--model", str(MANIFEST), "--out", str(tmp_path / "verdicts"), "--api-url", server.url,
                   "--val-fraction", "0.3"]
        capsys.readouterr()
        monkeypatch.setenv("GRIDSIGHT_API_TOKEN", "lifecycle-secret-token-0001")  # sent, never printed
        assert main(command) == 0
    out = capsys.readouterr()
    assert "fine-tune with: gridsight train" in out.out, out.out
    assert "lifecycle-secret-token-0001" not in out.out + out.err
    data = tmp_path / "verdicts" / "data.yaml"
    report = check_dataset(data)
    assert report.images["train"] and report.images["val"], report.summary()
    return data


def test_train_refuses_a_broken_dataset_then_fine_tunes_on_verdicts(tmp_path, capsys, monkeypatch):
    data = _verdict_dataset(tmp_path, monkeypatch, capsys)

    broken = tmp_path / "broken"
    shutil.copytree(data.parent, broken)
    spec = yaml.safe_load(data.read_text())
    spec["path"] = str(broken)
    (broken / "data.yaml").write_text(yaml.safe_dump(spec))
    label = next((broken / "labels" / "train").glob("*.txt"))
    label.write_text(label.read_text() + "9 0.5 0.5 0.1 0.1\n")
    assert main(["train", "--data", str(broken / "data.yaml"), "--out", str(tmp_path / "nope")]) == 2
    out = capsys.readouterr()
    assert "class id is not in 0..2" in out.out and "fix them before training" in out.err
    assert not (tmp_path / "nope").exists()

    rc = main(["train", "--data", str(data), "--out", str(tmp_path / "ft"), "--init", str(V1), "--epochs", "1",
               "--imgsz", "160", "--batch", "4", "--name", "street-ft", "--version", "ft1"])
    assert rc == 0
    manifest = yaml.safe_load((tmp_path / "ft" / "street-ft.yaml").read_text())
    assert manifest["classes"] == CLASSES and manifest["version"] == "ft1"
    assert manifest["training"]["dataset"]["fingerprint"] == check_dataset(data).fingerprint
    assert manifest["training"]["init"] == str(V1)
    assert (tmp_path / "ft" / "street-ft.pt").is_file()
    assert main(["weights", "verify", str(tmp_path / "ft" / "street-ft.yaml")]) == 0


def test_eval_and_export_refuse_bad_input_with_the_reason(tmp_path, capsys):
    assert main(["eval", "--model", str(ROOT / "weights" / "gridsight-demo-v1.yaml"), "--data", str(tmp_path / "none.yaml")]) == 2
    assert "dataset description not found" in capsys.readouterr().err
    manifest = tmp_path / "m.yaml"
    manifest.write_text((ROOT / "weights" / "gridsight-demo-v1.yaml").read_text())
    assert main(["export", str(manifest)]) == 2  # the weights file is not beside this copy
    assert "weights file for model gridsight-demo-v1 not found" in capsys.readouterr().err
    assert main(["export", str(ROOT / "weights" / "gridsight-demo-v1.yaml"), "--format", "tensorrt"]) == 2
    assert "TensorRT" in capsys.readouterr().err


def test_eval_writes_recommended_floors_into_the_manifest(tmp_path, capsys, monkeypatch):
    data = _verdict_dataset(tmp_path, monkeypatch, capsys)
    shutil.copy(V1, tmp_path)
    manifest = tmp_path / "gridsight-demo-v1.yaml"
    manifest.write_text((ROOT / "weights" / "gridsight-demo-v1.yaml").read_text())
    assert main(["eval", "--model", str(manifest), "--data", str(data), "--write-thresholds", "--plots", str(tmp_path / "pr")]) == 0
    floors = yaml.safe_load(manifest.read_text())["class_confidence"]
    assert floors and set(floors) <= set(CLASSES) and all(0.01 <= v <= 0.99 for v in floors.values())
    assert "class_confidence written" in capsys.readouterr().out
    assert list((tmp_path / "pr").glob("pr-*.png"))
