"""Pairwise arithmetic of axis-aligned boxes (``x1, y1, x2, y2``, any unit).

One intersection-over-union for everyone who matches boxes: the harvest sampler
(a track that changed label), the export parity check, the synthetic clips' check
and the tests' annotator. A pair whose union has no area (two zero-area boxes)
has an IoU of 0, not NaN, so a degenerate box never matches and never poisons a max.
"""

from __future__ import annotations

import numpy as np


def as_boxes(xyxy) -> np.ndarray:
    """(N, 4) float64 of one box, a sequence of boxes or an (N, 4) array."""
    return np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)


def box_areas(xyxy: np.ndarray) -> np.ndarray:
    """(N,) area of each box of an (N, 4) array."""
    return (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])


def box_intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) area shared by each box of (N, 4) ``a`` and each of (M, 4) ``b``: 0 where they do not overlap."""
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return ix * iy


def box_iou(a, b) -> np.ndarray:
    """(N, M) intersection over union of the boxes of ``a`` (N, 4) and ``b`` (M, 4); a single box
    counts as (1, 4). 0 where the union has no area."""
    a, b = as_boxes(a), as_boxes(b)
    inter = box_intersections(a, b)
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
