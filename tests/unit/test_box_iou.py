"""inference.geometry.box_iou: the one IoU the sampler, the export check, the clip check and the annotator use."""

import numpy as np
import pytest

from inference.geometry import box_iou


def test_identical_boxes_are_one_and_disjoint_or_touching_boxes_zero():
    box = [10.0, 20.0, 50.0, 60.0]
    assert box_iou(box, box).tolist() == [[1.0]]
    assert box_iou(box, [60.0, 20.0, 90.0, 60.0]).tolist() == [[0.0]]
    assert box_iou(box, [50.0, 20.0, 90.0, 60.0]).tolist() == [[0.0]]  # sharing an edge is no area


def test_a_partial_overlap_is_intersection_over_union():
    # Two 10 x 10 boxes offset by 5 in x: intersection 50, union 150.
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10])[0, 0] == pytest.approx(1 / 3)
    # A 4 x 4 box inside a 10 x 10 one: 16 / 100.
    assert box_iou([0, 0, 10, 10], [3, 3, 7, 7])[0, 0] == pytest.approx(0.16)


def test_it_is_pairwise_n_by_m_and_symmetric():
    a = np.array([[0, 0, 10, 10], [100, 100, 110, 110]], dtype=np.float32)
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [100, 105, 110, 115]], dtype=np.float32)
    ious = box_iou(a, b)
    assert ious.shape == (2, 3)
    np.testing.assert_allclose(ious, [[1 / 3, 1.0, 0.0], [0.0, 0.0, 1 / 3]])
    np.testing.assert_allclose(box_iou(b, a), ious.T)


def test_zero_area_boxes_give_zero_not_nan():
    point, line = [5.0, 5.0, 5.0, 5.0], [0.0, 5.0, 10.0, 5.0]
    ious = box_iou([point, line], [point, line, [0, 0, 10, 10]])
    assert not np.isnan(ious).any()
    assert ious.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_no_boxes_on_either_side_is_an_empty_matrix():
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert box_iou([[0, 0, 1, 1]], np.zeros((0, 4))).shape == (1, 0)
