import numpy as np
import pytest

from inference.detections import NO_TRACK, Detections


def test_shapes_are_checked_at_construction():
    with pytest.raises(ValueError, match="confidence has 1 entries but xyxy has 2"):
        Detections(np.zeros((2, 4)), np.zeros(1), np.array(["a", "b"], dtype=object))
    with pytest.raises(ValueError, match="x2 >= x1"):
        Detections(np.array([[10, 0, 5, 5]]), np.ones(1), np.array(["a"], dtype=object))


def test_defaults_masks_and_records():
    d = Detections(np.array([[0, 0, 10, 20], [5, 5, 6, 6]]), np.array([0.9, 0.4]), np.array(["person", "litter"], dtype=object))
    assert d.tracker_id.tolist() == [NO_TRACK, NO_TRACK]
    assert d.bottom_centers().tolist() == [[5.0, 20.0], [5.5, 6.0]]
    people = d.with_labels(["person"])
    assert len(people) == 1 and people.labels[0] == "person"
    assert d.to_records()[1] == {"label": "litter", "confidence": 0.4, "xyxy": [5.0, 5.0, 6.0, 6.0], "track_id": None}
    with pytest.raises(ValueError):
        d.xyxy[0, 0] = 1  # frozen arrays: no stage can mutate another's view


def test_empty_and_merge():
    assert len(Detections.empty()) == 0
    a = Detections(np.array([[0, 0, 1, 1]]), [0.5], np.array(["x"], dtype=object), [3])
    merged = Detections.merge([a, Detections.empty(), a])
    assert len(merged) == 2 and merged.tracker_id.tolist() == [3, 3]
