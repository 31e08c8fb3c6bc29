"""Annotation exports read back as canonical boxes (issue 18): COCO JSON, YOLO directory, CVAT XML 1.1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gridsight.ml.annotation_import import AnnotationImportError, read_export
from gridsight.ml.dataset_version import write_dataset_version

JPEG = b"\xff\xd8\xff\xe0 image"
# image a.jpg 200x100: a car at pixels (20, 10)-(120, 60) and a person at (150, 20)-(190, 90); b.jpg empty
EXPECTED = {"a": [("car", 0.1, 0.1, 0.6, 0.6), ("person", 0.75, 0.2, 0.95, 0.9)], "b": []}


def _read(images) -> dict:
    return {i.name: [(b.label, *(round(v, 6) for v in (b.x1, b.y1, b.x2, b.y2))) for b in i.boxes] for i in images}


def _coco(tmp_path, car_name="car") -> tuple:
    (tmp_path / "a.jpg").write_bytes(JPEG + b"a")
    (tmp_path / "b.jpg").write_bytes(JPEG + b"b")
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 100},
                       {"id": 2, "file_name": "b.jpg", "width": 200, "height": 100}],
            "categories": [{"id": 3, "name": car_name}, {"id": 7, "name": "person"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [20, 10, 100, 50]},
                            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [150, 20, 40, 70]}]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path


def test_coco(tmp_path):
    assert _read(read_export("coco", _coco(tmp_path))) == EXPECTED


def test_yolo(tmp_path):
    for sub in ("images/train", "labels/train"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "images/train/a.jpg").write_bytes(JPEG + b"a")
    (tmp_path / "images/train/b.jpg").write_bytes(JPEG + b"b")  # no label file: no objects
    (tmp_path / "labels/train/a.txt").write_text("1 0.35 0.35 0.5 0.5\n0 0.85 0.55 0.2 0.7\n")
    (tmp_path / "data.yaml").write_text("names: {0: person, 1: car}\n")
    images = read_export("yolo", tmp_path)
    assert _read(images) == {"train__a": EXPECTED["a"], "train__b": []}


def test_cvat(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images/a.jpg").write_bytes(JPEG + b"a")
    (tmp_path / "images/b.jpg").write_bytes(JPEG + b"b")
    (tmp_path / "annotations.xml").write_text("""<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
<meta><task><labels><label><name>car</name></label><label><name>person</name></label></labels></task></meta>
<image id="0" name="a.jpg" width="200" height="100">
  <box label="car" occluded="0" xtl="20" ytl="10" xbr="120" ybr="60"/>
  <box label="person" occluded="0" xtl="150" ytl="20" xbr="190" ybr="90"/>
</image>
<image id="1" name="b.jpg" width="200" height="100"/>
</annotations>""")
    assert _read(read_export("cvat", tmp_path / "annotations.xml")) == EXPECTED


def test_unknown_names_fail_in_one_line_unless_mapped(tmp_path):
    path = _coco(tmp_path, car_name="sedan")
    with pytest.raises(AnnotationImportError) as caught:
        read_export("coco", path)
    assert "sedan" in str(caught.value) and "\n" not in str(caught.value) and "--map" in str(caught.value)
    (tmp_path / "map.yaml").write_text("sedan: car\n")
    assert _read(read_export("coco", path, map_file=tmp_path / "map.yaml")) == EXPECTED
    (tmp_path / "drop.yaml").write_text("sedan: null\n")
    assert _read(read_export("coco", path, map_file=tmp_path / "drop.yaml"))["a"] == [EXPECTED["a"][1]]
    (tmp_path / "bad.yaml").write_text("sedan: automobile\n")
    with pytest.raises(AnnotationImportError, match="not canonical: automobile"):
        read_export("coco", path, map_file=tmp_path / "bad.yaml")


def test_missing_image_and_broken_files_are_one_line(tmp_path):
    path = _coco(tmp_path)
    (tmp_path / "b.jpg").unlink()
    with pytest.raises(AnnotationImportError, match="image b.jpg of the export is not in"):
        read_export("coco", path)
    (tmp_path / "broken.xml").write_text("<annotations><image")
    with pytest.raises(AnnotationImportError, match="is not a CVAT XML export"):
        read_export("cvat", tmp_path / "broken.xml")
    with pytest.raises(AnnotationImportError, match="no images/ directory"):
        read_export("yolo", tmp_path)


def test_same_export_twice_same_fingerprint(tmp_path):
    path = _coco(tmp_path)
    first = write_dataset_version(read_export("coco", path), tmp_path / "v1", name="n", version="1", source="coco")
    second = write_dataset_version(read_export("coco", path), tmp_path / "v2", name="n", version="1", source="coco")
    assert first.fingerprint == second.fingerprint and first.classes == {"person": 1, "car": 1}


def test_cli_dataset_import_errors_are_one_line(tmp_path):
    path = _coco(tmp_path, car_name="sedan")
    run = subprocess.run([sys.executable, "-m", "gridsight.cli", "dataset", "import", "--format", "coco", str(path),
                          "--out", str(tmp_path / "out"), "--no-register"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and "sedan" in run.stderr
    assert not (tmp_path / "out").exists()
    (tmp_path / "map.yaml").write_text("sedan: car\n")
    run = subprocess.run([sys.executable, "-m", "gridsight.cli", "dataset", "import", "--format", "coco", str(path),
                          "--map", str(tmp_path / "map.yaml"), "--out", str(tmp_path / "out"), "--no-register"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    stored = json.loads((tmp_path / "out" / "version.json").read_text())
    assert stored["name"] == "instances" and stored["version"] == stored["fingerprint"][:12]
    assert stored["classes"] == {"person": 1, "car": 1} and stored["images"] == 2


def test_label_studio_percent_boxes_round_trip_and_config():
    from gridsight.ml.dataset_version import CLASS_ORDER
    from gridsight.ml.labelstudio import LabelStudioError, boxes_of, labelling_config, prediction_of

    config = labelling_config()
    assert all(f'<Label value="{label}"/>' in config for label in CLASS_ORDER) and 'value="$image"' in config
    frame = {"id": 9, "width": 640, "height": 360, "model_name": "gridsight-demo", "model_version": "v4",
             "boxes": [{"label": "car", "confidence": 0.3, "x1": 0.1, "y1": 0.2, "x2": 0.35, "y2": 0.6},
                       {"label": "not-a-label", "confidence": 0.9, "x1": 0.1, "y1": 0.1, "x2": 0.2, "y2": 0.2},
                       {"label": "bin", "confidence": 0.5, "x1": 0.5, "y1": 0.5, "x2": 0.9, "y2": 1.0}]}
    prediction = prediction_of(frame)
    assert prediction["model_version"] == "gridsight-demo:v4" and prediction["score"] == pytest.approx(0.4)
    value = prediction["result"][0]["value"]
    assert (value["x"], value["y"], value["width"], value["height"]) == pytest.approx((10, 20, 25, 40))
    back = boxes_of(prediction["result"], "task 1")
    assert [(b.label, round(b.x1, 6), round(b.y1, 6), round(b.x2, 6), round(b.y2, 6)) for b in back] == [
        ("car", 0.1, 0.2, 0.35, 0.6), ("bin", 0.5, 0.5, 0.9, 1.0)]
    wrong = [{**prediction["result"][0], "value": {**value, "rectanglelabels": ["sedan"]}}]
    with pytest.raises(LabelStudioError, match="task 3 uses labels that are not canonical: sedan"):
        boxes_of(wrong, "task 3")
