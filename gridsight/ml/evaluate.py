"""``gridsight eval``: per-class detector quality on a labelled set, and what threshold to run at.

Ultralytics' validator computes, per class, precision and recall as functions
of the confidence threshold and the precision/recall curve at IoU 0.5. From
those this module reports P, R, mAP50 and mAP50-95 per class, draws the PR
curves, and recommends a per-class confidence threshold: the one with the
best F1, or the lowest one that reaches a target precision (operations
centres usually prefer fewer false work orders to a few missed ones).
Two or more models evaluated on the same set can be put side by side.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ClassQuality:
    name: str
    instances: int
    precision: float  # at the validator's best-F1 operating point, as ultralytics reports it
    recall: float
    map50: float
    map50_95: float
    best_f1_threshold: float
    best_f1: float
    target_precision_threshold: float | None = None  # None: the target is never reached
    recall_at_target: float | None = None


@dataclass
class ModelEvaluation:
    model: str
    data: str
    split: str
    imgsz: int
    overall: dict[str, float]
    classes: list[ClassQuality]
    target_precision: float | None = None
    pr_curve_png: str | None = None
    scenario_events: dict[str, Any] | None = field(default=None)  # event-level results, when asked for
    # class -> [[recall, precision], ...] at IoU 0.5, 101 recall points (what the PNG draws, as data)
    pr_curves: dict[str, list[list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def recommended_thresholds(self) -> dict[str, float]:
        """Per class: the target-precision threshold where one exists, else the best-F1 one."""
        return {
            c.name: round(c.target_precision_threshold if c.target_precision_threshold is not None else c.best_f1_threshold, 3)
            for c in self.classes
        }


def _threshold_for_precision(px: np.ndarray, p_curve: np.ndarray, r_curve: np.ndarray, target: float) -> tuple[float | None, float | None]:
    """Lowest confidence at which precision stays >= target from there up (the most recall at that precision)."""
    ok = p_curve >= target
    # Precision is noisy at the high-confidence end; require it to hold for every higher threshold.
    holds = np.flip(np.logical_and.accumulate(np.flip(ok)))
    if not holds.any() or r_curve[np.argmax(holds)] <= 0:
        return None, None
    i = int(np.argmax(holds))
    return float(px[i]), float(r_curve[i])


def _plot_pr(path: Path, title: str, px: np.ndarray, prec: np.ndarray, classes: list[ClassQuality]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6), dpi=100)
    for i, c in enumerate(classes):
        ax.plot(px, prec[i], linewidth=1, label=f"{c.name} {c.map50:.3f}")
    if len(classes):
        ax.plot(px, prec.mean(0), linewidth=3, color="black", label=f"all {np.mean([c.map50 for c in classes]):.3f} mAP50")
    ax.set(xlabel="Recall", ylabel="Precision", xlim=(0, 1), ylim=(0, 1.01), title=title)
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _pr_points(prec: np.ndarray, classes: list[ClassQuality], points: int = 101) -> dict[str, list[list[float]]]:
    """Each class's precision at recall 0, 0.01, .. 1 (ultralytics samples it at 1000 recall values)."""
    if prec.ndim != 2 or len(prec) != len(classes):
        return {}
    recall = np.linspace(0, 1, prec.shape[1])
    at = np.linspace(0, 1, points)
    return {c.name: [[round(float(r), 3), round(float(p), 4)] for r, p in zip(at, np.interp(at, recall, prec[i]))]
            for i, c in enumerate(classes)}


def evaluate_detector(weights: str | Path, data_yaml: str | Path, *, split: str = "val", imgsz: int = 320,
                      target_precision: float | None = None, plots_dir: str | Path | None = None,
                      batch: int = 16, device: str = "cpu", label: str | None = None) -> ModelEvaluation:
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    with tempfile.TemporaryDirectory(prefix="gridsight-eval-") as tmp:
        metrics = model.val(data=str(data_yaml), split=split, imgsz=imgsz, batch=batch, device=device, workers=0,
                            plots=False, project=tmp, name="val", exist_ok=True, verbose=False)
    box = metrics.box
    names = model.names
    counts = getattr(metrics, "nt_per_class", None)  # ground-truth boxes per class id
    classes: list[ClassQuality] = []
    for i, cid in enumerate(box.ap_class_index.tolist()):
        p, r, ap50, ap = box.class_result(i)
        f1 = box.f1_curve[i]
        best = int(np.argmax(f1))
        thr, rec = (None, None)
        if target_precision is not None:
            thr, rec = _threshold_for_precision(box.px, box.p_curve[i], box.r_curve[i], target_precision)
        classes.append(ClassQuality(
            name=names[int(cid)], instances=int(counts[int(cid)]) if counts is not None else -1,
            precision=round(float(p), 4), recall=round(float(r), 4), map50=round(float(ap50), 4),
            map50_95=round(float(ap), 4), best_f1_threshold=round(float(box.px[best]), 3), best_f1=round(float(f1[best]), 4),
            target_precision_threshold=None if thr is None else round(thr, 3),
            recall_at_target=None if rec is None else round(rec, 4),
        ))
    evaluation = ModelEvaluation(
        model=label or Path(weights).name, data=str(data_yaml), split=split, imgsz=imgsz,
        overall={"precision": round(float(box.mp), 4), "recall": round(float(box.mr), 4),
                 "map50": round(float(box.map50), 4), "map50_95": round(float(box.map), 4)},
        classes=classes, target_precision=target_precision, pr_curves=_pr_points(np.asarray(box.prec_values), classes),
    )
    if plots_dir is not None:
        out = Path(plots_dir)
        out.mkdir(parents=True, exist_ok=True)
        png = out / f"pr-{Path(evaluation.model).stem}.png"
        _plot_pr(png, f"{evaluation.model} on {Path(data_yaml).name} ({split})", box.px, np.asarray(box.prec_values), classes)
        evaluation.pr_curve_png = str(png)
    return evaluation


def format_table(evaluations: list[ModelEvaluation]) -> str:
    """One row per class, one block of columns per model: the comparison view."""
    names: list[str] = []
    for e in evaluations:
        names += [c.name for c in e.classes if c.name not in names]
    heads = ["class"] + [f"{e.model}: P  R  mAP50  mAP50-95  thr" for e in evaluations]
    rows = []
    for name in names + ["(all)"]:
        row = [name]
        for e in evaluations:
            if name == "(all)":
                o = e.overall
                row.append(f"{o['precision']:.3f} {o['recall']:.3f} {o['map50']:.3f} {o['map50_95']:.3f}   -")
                continue
            c = next((c for c in e.classes if c.name == name), None)
            if c is None:
                row.append("-")
                continue
            thr = e.recommended_thresholds()[name]
            row.append(f"{c.precision:.3f} {c.recall:.3f} {c.map50:.3f} {c.map50_95:.3f} {thr:.2f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in [heads] + rows) for i in range(len(heads))]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([fmt(heads), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])
