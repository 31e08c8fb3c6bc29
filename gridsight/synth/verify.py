"""Check a detector against a rendered clip's JSON ground truth.

Decodes the mp4 (so the model sees what a camera stream would deliver, H.264
artefacts included), runs an ultralytics model on every ``stride``-th frame
and matches detections to the per-frame ground-truth boxes by class and IoU.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridsight.synth.clip import ground_truth_path
from inference.geometry import box_iou


@dataclass
class ClipCheck:
    objects: list[dict[str, Any]]  # per ground-truth object: frames present/detected, first detection time...
    per_second: list[dict[str, Any]]  # per second: detections per class, ground truth visible
    false_positives: dict[str, int]  # detections matching no ground-truth object, per class
    frames_checked: int
    unmatched: list[dict[str, Any]]  # those detections: time, class, normalised box, confidence

    def as_dict(self) -> dict[str, Any]:
        return {"objects": self.objects, "per_second": self.per_second, "false_positives": self.false_positives,
                "frames_checked": self.frames_checked, "unmatched": self.unmatched}


def _detections(model, img, names, W: int, H: int, conf: float, imgsz: int, nms_iou: float, device: str,
                classes_map: dict[str, str]) -> list[tuple[str, list[float], float]]:
    """(label, box normalised to the frame, confidence) of every detection in one frame."""
    r = model.predict(img, imgsz=imgsz, conf=conf, iou=nms_iou, device=device, verbose=False)[0]
    dets = []
    if r.boxes is not None and len(r.boxes):
        for box, c, p in zip(r.boxes.xyxy.cpu().numpy(), r.boxes.cls.cpu().numpy(), r.boxes.conf.cpu().numpy()):
            label = classes_map.get(names[int(c)], names[int(c)])
            dets.append((label, [box[0] / W, box[1] / H, box[2] / W, box[3] / H], float(p)))
    return dets


def _match_objects(objs: dict, dets: list, idx: int, t: float, sec: dict, iou_match: float) -> set[int]:
    """Pair each object visible in frame ``idx`` with its best same-class detection; returns the used ones."""
    used: set[int] = set()
    for o in objs.values():
        b = o["boxes"].get(str(idx))
        if b is None:
            continue
        o["present"] += 1
        sec["visible"][o["class"]] = sec["visible"].get(o["class"], 0) + 1
        static_from = o["static"][0]["from"] if o["static"] else None
        after = static_from is not None and t >= static_from
        o["present_after_static"] += after
        best, best_i = 0.0, None
        for k, (label, db, _) in enumerate(dets):
            if label == o["class"] and k not in used:
                v = float(box_iou(b, db)[0, 0])
                if v > best:
                    best, best_i = v, k
        if best >= iou_match:
            used.add(best_i)
            o["hit"] += 1
            o["hits_after_static"] += after
            if o["first_hit_s"] is None:
                o["first_hit_s"] = round(t, 2)
    return used


def _object_row(o: dict) -> dict[str, Any]:
    return {
        "id": o["id"], "class": o["class"], "appear_s": o["appear_s"], "disappear_s": o["disappear_s"],
        "static_from_s": o["static"][0]["from"] if o["static"] else None,
        "frames_visible": o["present"], "frames_detected": o["hit"],
        "fraction_detected": round(o["hit"] / o["present"], 3) if o["present"] else None,
        "fraction_detected_while_static": round(o["hits_after_static"] / o["present_after_static"], 3) if o["present_after_static"] else None,
        "first_detected_s": o["first_hit_s"],
    }


def check_clip(weights: Path, clip: Path, conf: float = 0.35, imgsz: int = 320, iou_match: float = 0.3,
               stride: int = 1, device: str = "cpu", classes_map: dict[str, str] | None = None,
               nms_iou: float = 0.5) -> ClipCheck:
    """Run ``weights`` over ``clip`` and compare with ``<clip>.json``.

    An object counts as detected in a frame when a detection of its class
    overlaps its ground-truth box with IoU >= ``iou_match``. ``nms_iou`` is the
    model's NMS threshold (0.5, as :class:`inference.models.detector.YoloDetector` uses)."""
    os.environ["YOLO_OFFLINE"] = "1"
    import av
    from ultralytics import YOLO

    gt = json.loads(ground_truth_path(clip).read_text(encoding="utf-8"))
    W, H = gt["size"]
    fps = gt["fps"]
    model = YOLO(str(weights), task="detect")
    classes_map = classes_map or {}
    objs = {o["id"]: {**o, "present": 0, "hit": 0, "first_hit_s": None, "hits_after_static": 0, "present_after_static": 0}
            for o in gt["objects"]}
    per_second: dict[int, dict[str, Any]] = {}
    fps_count: dict[str, int] = {}
    unmatched: list[dict[str, Any]] = []
    checked = 0
    with av.open(str(clip)) as container:
        for idx, frame in enumerate(container.decode(video=0)):
            if idx % stride:
                continue
            dets = _detections(model, frame.to_ndarray(format="bgr24"), model.names, W, H, conf, imgsz, nms_iou,
                               device, classes_map)
            checked += 1
            t = idx / fps
            sec = per_second.setdefault(int(t), {"second": int(t), "frames": 0, "detections": {}, "visible": {}})
            sec["frames"] += 1
            for label, _, _ in dets:
                sec["detections"][label] = sec["detections"].get(label, 0) + 1
            used = _match_objects(objs, dets, idx, t, sec, iou_match)
            for k, (label, _, _) in enumerate(dets):
                if k not in used:
                    fps_count[label] = fps_count.get(label, 0) + 1
                    unmatched.append({"t": round(t, 2), "class": label, "box": [round(float(v), 3) for v in dets[k][1]], "conf": round(dets[k][2], 2)})
    objects = [_object_row(o) for o in objs.values()]
    return ClipCheck(objects, [per_second[k] for k in sorted(per_second)], fps_count, checked, unmatched)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m gridsight.synth.verify")
    p.add_argument("weights", type=Path)
    p.add_argument("clip", type=Path)
    p.add_argument("--conf", type=float, default=0.35)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--nms-iou", type=float, default=0.5)
    p.add_argument("--show-unmatched", action="store_true")
    a = p.parse_args(argv)
    res = check_clip(a.weights, a.clip, conf=a.conf, imgsz=a.imgsz, stride=a.stride, nms_iou=a.nms_iou)
    for s in res.per_second:
        print(f"{s['second']:>3}s  det={s['detections']}  gt={ {k: round(v / s['frames'], 1) for k, v in s['visible'].items()} }")
    for o in res.objects:
        print(o)
    print("unmatched detections:", res.false_positives, "frames:", res.frames_checked)
    if a.show_unmatched:
        for u in res.unmatched:
            print("  ", u)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
