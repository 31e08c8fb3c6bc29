"""The "annotator" of issue 18's proof: labels every task of a Label Studio project from ground truth.

For each task it looks up the harvest frame's ground-truth boxes. When the model's
pre-annotation matches them (every truth box has a predicted box of the same label with
IoU >= 0.5 and there is no extra predicted box) it accepts the prediction, as a person
clicking "accept" does: an annotation whose result is the prediction's, linked to it
(parent_prediction). Otherwise it corrects it, submitting the ground-truth boxes.
Everything goes through label-studio-sdk, like a labelling script of a real team.

    ground_truth = {harvest_frame_id: [LabelledBox, ...]}
    outcome = annotate(ls, project_id, ground_truth)   # {"accepted": [...], "corrected": [...]}
"""

from __future__ import annotations

from gridsight.ml.dataset_version import LabelledBox
from gridsight.ml.labelstudio import FRAME_KEY, FROM_NAME, TO_NAME, _plain
from inference.geometry import box_iou

MATCH_IOU = 0.5


def iou(a: LabelledBox, b: LabelledBox) -> float:
    return float(box_iou([a.x1, a.y1, a.x2, a.y2], [b.x1, b.y1, b.x2, b.y2])[0, 0])


def matches(predicted: list[LabelledBox], truth: list[LabelledBox]) -> bool:
    """One-to-one: each truth box has its own predicted box of the same label at IoU >= 0.5, none left over."""
    if len(predicted) != len(truth):
        return False
    free = list(predicted)
    for box in truth:
        best = max((p for p in free if p.label == box.label), key=lambda p: iou(p, box), default=None)
        if best is None or iou(best, box) < MATCH_IOU:
            return False
        free.remove(best)
    return True


def _boxes(result: list[dict]) -> list[LabelledBox]:
    out = []
    for region in result:
        value = region["value"]
        x1, y1 = value["x"] / 100, value["y"] / 100
        out.append(LabelledBox(value["rectanglelabels"][0], x1, y1, x1 + value["width"] / 100,
                               y1 + value["height"] / 100))
    return out


def result_of(boxes: list[LabelledBox], width: int, height: int) -> list[dict]:
    return [{"id": f"gt{n}", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "rectanglelabels",
             "original_width": width, "original_height": height, "image_rotation": 0,
             "value": {"x": b.x1 * 100, "y": b.y1 * 100, "width": (b.x2 - b.x1) * 100, "height": (b.y2 - b.y1) * 100,
                       "rotation": 0, "rectanglelabels": [b.label]}}
            for n, b in enumerate(boxes)]


def annotate(ls, project_id: int, ground_truth: dict[int, list[LabelledBox]], *, width: int = 640,
             height: int = 360) -> dict[str, list[int]]:
    """Annotate every task of the project whose frame is in ``ground_truth``; returns frame ids by outcome."""
    outcome: dict[str, list[int]] = {"accepted": [], "corrected": []}
    for task in ls.tasks.list(project=project_id, fields="all"):
        task = _plain(task)
        frame_id = task["data"].get(FRAME_KEY)
        if frame_id not in ground_truth:
            continue
        truth = list(ground_truth[frame_id])
        predictions = [_plain(p) for p in task.get("predictions") or []]
        prediction = predictions[-1] if predictions else None
        if prediction is not None and matches(_boxes(prediction.get("result") or []), truth):
            ls.annotations.create(id=task["id"], result=prediction["result"], parent_prediction=prediction["id"],
                                  was_cancelled=False)
            outcome["accepted"].append(frame_id)
        else:
            ls.annotations.create(id=task["id"], result=result_of(truth, width, height), was_cancelled=False)
            outcome["corrected"].append(frame_id)
    return outcome
