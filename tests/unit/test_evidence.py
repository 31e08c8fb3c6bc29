import cv2
import numpy as np

from inference.detections import Detections
from inference.evidence import render_snapshot
from inference.zones import PolygonZone


def test_snapshot_is_a_jpeg_with_zone_and_triggering_box_drawn():
    image = np.full((360, 640, 3), 128, dtype=np.uint8)
    original = image.copy()
    zone = PolygonZone.from_points("kerb", [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]])
    bag = Detections(np.array([[400, 250, 460, 320]]), [0.9], np.array(["garbage_bag"], dtype=object), [7])
    jpeg = render_snapshot(image, zone, bag, caption="cam / rule / 06010", captured_at=1_700_000_000)
    assert jpeg[:3] == b"\xff\xd8\xff"
    out = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert out.shape == image.shape
    b, g, r = (int(v) for v in out[300, 400])  # left edge of the box: red
    assert r > 180 and g < 80 and b < 80
    inside_zone, outside_zone = out[340, 600].astype(int), out[100, 100].astype(int)
    assert abs(inside_zone - 128).sum() > 20 and abs(outside_zone - 128).sum() < 12
    assert out[:22].mean() < 60  # the caption banner
    assert np.array_equal(image, original), "the caller's frame must not be drawn on"
