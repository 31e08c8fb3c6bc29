"""Operator verdicts -> a YOLO-format dataset to fine-tune on.

Every work order an operator marked ``confirmed`` or ``false_positive`` carries
the unannotated key frame (evidence kind ``frame``) and the boxes the worker
saw on it, in that frame's pixels. A confirmed order's boxes become labels; a
false positive's frame becomes a hard negative (an image with an empty label
file: "nothing the model should report here"). Frames are de-duplicated by
content (merged repeats of one incident often carry the same frame), and the
train/val split is decided per incident, so near-identical frames of one
event never sit on both sides. ``sources.json`` says where each image came
from (order, camera, zone, rule, verdict, evidence checksum).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.evidence import EvidenceStore
from api.db.models import WorkOrder

VERDICTS = ("confirmed", "false_positive")


@dataclass
class VerdictExport:
    data_yaml: Path
    images: dict[str, int]  # split -> images written
    positives: int  # confirmed orders exported
    hard_negatives: int  # false-positive orders exported
    boxes: dict[str, int]  # class -> boxes written
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> orders not exported

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        return (f"{self.data_yaml}: {self.positives} confirmed + {self.hard_negatives} false positives -> "
                f"{self.images} images, boxes {dict(self.boxes)}; skipped: {skipped}")


def _split_for(key: str, val_fraction: float) -> str:
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if bucket < val_fraction else "train"


def _label_lines(boxes: list[dict], classes: list[str], width: int, height: int) -> tuple[list[str], list[str]]:
    """YOLO lines for the boxes whose label the target model has; also the labels it lacks."""
    lines, unknown = [], []
    for box in boxes:
        label = box.get("label")
        if label not in classes:
            unknown.append(str(label))
            continue
        x1, y1, x2, y2 = (float(v) for v in box["xyxy"])
        x1, x2 = max(0.0, x1), min(float(width), x2)
        y1, y2 = max(0.0, y1), min(float(height), y2)
        if x2 <= x1 or y2 <= y1:
            continue
        lines.append(f"{classes.index(label)} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                     f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
    return lines, unknown


def export_verdicts(session: Session, store: EvidenceStore, out_dir: str | Path, classes: list[str], *,
                    val_fraction: float = 0.2) -> VerdictExport:
    """Write ``out_dir/{images,labels}/{train,val}``, ``data.yaml`` and ``sources.json``.

    ``classes`` is the target model's class list (canonical labels, in class-id order)."""
    out = Path(out_dir).resolve()
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    skipped: Counter = Counter()
    boxes: Counter = Counter()
    images: Counter = Counter()
    seen: set[str] = set()
    sources = []
    positives = negatives = 0
    orders = session.scalars(select(WorkOrder).where(WorkOrder.verdict.in_(VERDICTS)).order_by(WorkOrder.id))
    for order in orders:
        frame = next((e for e in order.evidence if e.kind == "frame"), None)
        path = store.resolve(frame.path) if frame is not None else None
        if frame is None or path is None or not path.is_file():
            skipped["without an unannotated frame"] += 1
            continue
        if frame.sha256 in seen:
            skipped["duplicate frame"] += 1
            continue
        data = path.read_bytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            skipped["unreadable frame"] += 1
            continue
        seen.add(frame.sha256)
        height, width = image.shape[:2]
        if order.verdict == "confirmed":
            lines, unknown = _label_lines(order.boxes or [], classes, width, height)
            if not lines:
                skipped["confirmed but no box of a target class"] += 1
                continue
            positives += 1
            boxes.update(classes[int(line.split()[0])] for line in lines)
        else:
            lines, unknown = [], []
            negatives += 1
        # One incident (its merged repeats share event_id) always lands in one split.
        split = _split_for(f"{order.camera_id}|{order.event_id}", val_fraction)
        stem = f"{order.order_no}"
        (out / "images" / split / f"{stem}.jpg").write_bytes(data)
        (out / "labels" / split / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        images[split] += 1
        sources.append({
            "image": f"images/{split}/{stem}.jpg", "order_no": order.order_no, "verdict": order.verdict,
            "verdict_reason": order.verdict_reason, "camera_id": order.camera_id, "zone_id": order.zone_id,
            "rule_id": order.rule_id, "category_code": order.category_code, "event_id": order.event_id,
            "detected_at": order.detected_at.isoformat(), "model": f"{order.model_name} {order.model_version}",
            "evidence_sha256": frame.sha256, "boxes": len(lines), "labels_not_in_target_model": sorted(set(unknown)),
        })
    data_yaml = out / "data.yaml"
    data_yaml.write_text(yaml.safe_dump({"path": str(out), "train": "images/train", "val": "images/val",
                                         "names": {i: c for i, c in enumerate(classes)}}, sort_keys=False),
                         encoding="utf-8")
    (out / "sources.json").write_text(json.dumps(sources, indent=1, ensure_ascii=False), encoding="utf-8")
    return VerdictExport(data_yaml, {s: images[s] for s in ("train", "val")}, positives, negatives, dict(boxes),
                         dict(skipped))
