import numpy as np
import pytest

from inference.detections import Detections
from inference.zones import PolygonZone, ZoneGeometryError, points_in_polygon, validate_polygon

SQUARE = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]


def dets(*boxes):
    boxes = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return Detections(boxes, np.full(len(boxes), 0.9), np.array(["person"] * len(boxes), dtype=object))


def test_points_inside_and_outside_convex_and_concave():
    square = np.array(SQUARE)
    assert points_in_polygon([[0.4, 0.4], [0.1, 0.1], [0.7, 0.4]], square).tolist() == [True, False, False]
    # An L shape: the notch at top-right is outside.
    ell = np.array([[0, 0], [0.5, 0], [0.5, 0.5], [1, 0.5], [1, 1], [0, 1]])
    assert points_in_polygon([[0.75, 0.25], [0.25, 0.25], [0.75, 0.75]], ell).tolist() == [False, True, True]


def test_trigger_uses_bottom_centre_anchor_in_normalised_coordinates():
    zone = PolygonZone.from_points("kerb", SQUARE)
    frame = (1000, 500)
    # Box whose top overlaps the zone but whose feet stand below it: outside.
    head_in_feet_out = (350, 150, 450, 400)  # bottom-centre (400, 400) -> (0.4, 0.8)
    feet_in = (350, 50, 450, 250)  # bottom-centre (400, 250) -> (0.4, 0.5)
    assert zone.trigger(dets(head_in_feet_out, feet_in), frame).tolist() == [False, True]


def test_trigger_on_no_detections_is_empty():
    zone = PolygonZone.from_points("kerb", SQUARE)
    assert zone.trigger(Detections.empty(), (640, 360)).shape == (0,)


@pytest.mark.parametrize(
    "points, message",
    [
        ([[0, 0], [1, 1], [1, 0], [0, 1]], "self-intersects"),
        ([[0.1, 0.1], [1.2, 0.1], [0.5, 0.9]], "outside the frame"),
        ([[0.1, 0.1], [0.5, 0.5]], "at least 3"),
        ([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], "zero area"),
        ([[0.1], [0.2], [0.3]], "pairs"),
    ],
)
def test_invalid_polygons_are_refused_with_reason(points, message):
    with pytest.raises(ZoneGeometryError, match=message):
        validate_polygon(points)


def test_closed_ring_is_accepted():
    assert len(validate_polygon(SQUARE + [SQUARE[0]])) == 4
