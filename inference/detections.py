"""The one result type every stage after the model speaks.

Parallel numpy arrays, shape-checked on construction, so a bug at the model
edge fails loudly there instead of as an index error three stages later.
Labels are canonical strings (``person``, ``litter``...), never model class ids:
rules must not care which model produced a box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NO_TRACK = -1


@dataclass(frozen=True)
class Detections:
    xyxy: np.ndarray  # (N, 4) float32, pixels in the frame the detector saw
    confidence: np.ndarray  # (N,) float32 in [0, 1]
    labels: np.ndarray  # (N,) canonical label strings (dtype object)
    tracker_id: np.ndarray = field(default=None)  # (N,) int64, NO_TRACK where untracked

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4) if np.size(self.xyxy) else np.zeros((0, 4), np.float32)
        n = len(xyxy)
        confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        labels = np.asarray(self.labels, dtype=object).reshape(-1)
        if self.tracker_id is None:
            tracker_id = np.full(n, NO_TRACK, dtype=np.int64)
        else:
            tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(-1)
        for name, arr in (("confidence", confidence), ("labels", labels), ("tracker_id", tracker_id)):
            if len(arr) != n:
                raise ValueError(f"Detections.{name} has {len(arr)} entries but xyxy has {n} boxes")
        if n and np.any(xyxy[:, 2:] < xyxy[:, :2]):
            raise ValueError("Detections.xyxy must have x2 >= x1 and y2 >= y1")
        for name, arr in (("xyxy", xyxy), ("confidence", confidence), ("labels", labels), ("tracker_id", tracker_id)):
            if isinstance(arr, np.ndarray) and arr.dtype != object:
                arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, object))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> "Detections":
        """Select by boolean mask or integer index array; always returns Detections."""
        index = np.asarray(index)
        if index.dtype == bool and index.shape != (len(self),):
            raise IndexError(f"boolean mask of shape {index.shape} for {len(self)} detections")
        return Detections(
            self.xyxy[index].reshape(-1, 4),
            self.confidence[index].reshape(-1),
            self.labels[index].reshape(-1),
            self.tracker_id[index].reshape(-1),
        )

    def with_labels(self, wanted) -> "Detections":
        return self[np.isin(self.labels, list(wanted))] if len(self) else self

    def bottom_centers(self) -> np.ndarray:
        """(N, 2) anchor points: the bottom-centre of each box, where an object touches the ground."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    @classmethod
    def merge(cls, parts: list["Detections"]) -> "Detections":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.tracker_id for p in parts]),
        )

    def to_records(self) -> list[dict]:
        """JSON-ready boxes for work orders and evidence."""
        return [
            {
                "label": str(self.labels[i]),
                "confidence": round(float(self.confidence[i]), 4),
                "xyxy": [round(float(v), 1) for v in self.xyxy[i]],
                "track_id": int(self.tracker_id[i]) if self.tracker_id[i] != NO_TRACK else None,
            }
            for i in range(len(self))
        ]
