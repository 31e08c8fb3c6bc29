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

The orders and their frames are read from the API over HTTP (``GET
/api/v1/work-orders`` page by page, then each frame's evidence URL), like
``gridsight replay --order`` does, so the export needs a token that may read
orders, not the API's database or evidence directory. An operator's token
sees only its grid cells' orders; a supervisor's or admin's sees them all.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import httpx
import numpy as np
import yaml

from gridsight.ml.api_client import api_client, refusal_detail

VERDICTS = ("confirmed", "false_positive")
PAGE = 200  # the API's largest page


class VerdictExportError(ValueError):
    """The API refused or failed a request the export needs (the message says which)."""


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


def _refused(what: str, resp: httpx.Response) -> VerdictExportError:
    return VerdictExportError(f"{what}: the API answered {resp.status_code}: {refusal_detail(resp, 200)}")


def reviewed_orders(client: httpx.Client) -> list[dict]:
    """Every order with a verdict the caller's token may read, as the API shows it, by id.

    The list endpoint has no verdict filter, so every page is read and filtered here; an
    order filed while paging shifts the pages by one, which the de-duplication by id absorbs."""
    found: dict[int, dict] = {}
    offset = 0
    while True:
        resp = client.get("/api/v1/work-orders", params={"limit": PAGE, "offset": offset})
        if resp.status_code != 200:
            raise _refused("listing work orders", resp)
        page = resp.json()
        found.update((o["id"], o) for o in page["items"] if o.get("verdict") in VERDICTS)
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return [found[i] for i in sorted(found)]


def _frame_of(client: httpx.Client, order: dict) -> tuple[dict, bytes] | None:
    """The order's first unannotated frame and its bytes; None when it has none or the file is gone."""
    frame = next((e for e in order.get("evidence") or [] if e.get("kind") == "frame"), None)
    if frame is None:
        return None
    resp = client.get(frame["url"])
    if resp.status_code in (404, 410):  # 410: the evidence row exists but its file is gone
        return None
    if resp.status_code != 200:
        raise _refused(f"downloading the frame of work order {order['id']}", resp)
    return frame, resp.content


def _source_row(order: dict, image: str, frame: dict, lines: list[str], unknown: list[str]) -> dict:
    return {
        "image": image, "order_no": order["order_no"], "verdict": order["verdict"],
        "verdict_reason": order.get("verdict_reason"), "camera_id": order["camera_id"], "zone_id": order["zone_id"],
        "rule_id": order["rule_id"], "category_code": order["category_code"], "event_id": order["event_id"],
        "detected_at": order["detected_at"], "model": f"{order['model_name']} {order['model_version']}",
        "evidence_sha256": frame["sha256"], "boxes": len(lines), "labels_not_in_target_model": sorted(set(unknown)),
    }


@dataclass
class _Tally:
    skipped: Counter = field(default_factory=Counter)
    boxes: Counter = field(default_factory=Counter)
    images: Counter = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)
    sources: list[dict] = field(default_factory=list)
    positives: int = 0
    negatives: int = 0


def _export_order(client: httpx.Client, order: dict, out: Path, classes: list[str], val_fraction: float,
                  tally: _Tally) -> None:
    """Write one reviewed order's frame and label file, or count why it was skipped."""
    got = _frame_of(client, order)
    if got is None:
        tally.skipped["without an unannotated frame"] += 1
        return
    frame, data = got
    if frame["sha256"] in tally.seen:
        tally.skipped["duplicate frame"] += 1
        return
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        tally.skipped["unreadable frame"] += 1
        return
    tally.seen.add(frame["sha256"])
    height, width = image.shape[:2]
    lines, unknown = [], []
    if order["verdict"] == "confirmed":
        lines, unknown = _label_lines(order.get("boxes") or [], classes, width, height)
        if not lines:
            tally.skipped["confirmed but no box of a target class"] += 1
            return
        tally.positives += 1
        tally.boxes.update(classes[int(line.split()[0])] for line in lines)
    else:
        tally.negatives += 1
    # One incident (its merged repeats share event_id) always lands in one split.
    split = _split_for(f"{order['camera_id']}|{order['event_id']}", val_fraction)
    stem = f"{order['order_no']}"
    (out / "images" / split / f"{stem}.jpg").write_bytes(data)
    (out / "labels" / split / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    tally.images[split] += 1
    tally.sources.append(_source_row(order, f"images/{split}/{stem}.jpg", frame, lines, unknown))


def export_verdicts(out_dir: str | Path, classes: list[str], *, api_url: str | None = None,
                    token: str | None = None, client: httpx.Client | None = None, val_fraction: float = 0.2,
                    timeout_s: float = 30.0) -> VerdictExport:
    """Write ``out_dir/{images,labels}/{train,val}``, ``data.yaml`` and ``sources.json``.

    ``classes`` is the target model's class list (canonical labels, in class-id order).
    ``client`` (an httpx.Client rooted at the API) replaces ``api_url``/``token`` in tests."""
    out = Path(out_dir).resolve()
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    tally = _Tally()
    with api_client(api_url, token, client=client, timeout_s=timeout_s) as http:
        for order in reviewed_orders(http):
            _export_order(http, order, out, classes, val_fraction, tally)
    data_yaml = out / "data.yaml"
    data_yaml.write_text(yaml.safe_dump({"path": str(out), "train": "images/train", "val": "images/val",
                                         "names": {i: c for i, c in enumerate(classes)}}, sort_keys=False),
                         encoding="utf-8")
    (out / "sources.json").write_text(json.dumps(tally.sources, indent=1, ensure_ascii=False), encoding="utf-8")
    return VerdictExport(data_yaml, {s: tally.images[s] for s in ("train", "val")}, tally.positives,
                         tally.negatives, dict(tally.boxes), dict(tally.skipped))
