"""Box arithmetic the rules share. Distances are measured in units of box size,
so one threshold works for an object near the camera and the same object far away."""

from __future__ import annotations

import numpy as np

from inference.geometry import as_boxes, box_areas, box_intersections


def box_sizes(xyxy: np.ndarray) -> np.ndarray:
    """(N,) the longer side of each box in pixels (at least 1, so it can divide)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.maximum(np.maximum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]), 1.0)


def box_heights(xyxy: np.ndarray) -> np.ndarray:
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.maximum(xyxy[:, 3] - xyxy[:, 1], 1.0)


def gap_distances(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(M,) pixel gap between ``box`` and each of ``others``: 0 when they touch or overlap."""
    box = np.asarray(box, dtype=np.float64).reshape(4)
    others = np.asarray(others, dtype=np.float64).reshape(-1, 4)
    dx = np.maximum(0.0, np.maximum(others[:, 0] - box[2], box[0] - others[:, 2]))
    dy = np.maximum(0.0, np.maximum(others[:, 1] - box[3], box[1] - others[:, 3]))
    return np.hypot(dx, dy)


def overlap_of_smaller(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection area over the smaller box's area.

    Unlike IoU this is 1 when one box lies inside the other (an e-bike box
    inside a wheelchair box), which is what an exclusion needs; it is never
    below IoU."""
    a, b = as_boxes(a), as_boxes(b)
    smaller = np.maximum(np.minimum(box_areas(a)[:, None], box_areas(b)[None, :]), 1e-9)
    return box_intersections(a, b) / smaller
