"""Polygon zones drawn on a camera view, in normalised coordinates.

Normalised (0..1) so a zone survives a change of stream resolution; tested at
each object's bottom-centre because that is where it touches the ground — a
person standing behind a fence is not "in" the zone their head overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.detections import Detections


class ZoneGeometryError(ValueError):
    pass


def _segments_cross(p1, p2, q1, q2) -> bool:
    """Proper intersection of segments p1p2 and q1q2 (touching at ends counts)."""

    def orient(a, b, c) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    def on_segment(a, b, c) -> bool:
        return min(a[0], b[0]) - 1e-12 <= c[0] <= max(a[0], b[0]) + 1e-12 and min(a[1], b[1]) - 1e-12 <= c[1] <= max(a[1], b[1]) + 1e-12

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return any(
        abs(d) < 1e-12 and on_segment(a, b, c)
        for d, a, b, c in ((d1, q1, q2, p1), (d2, q1, q2, p2), (d3, p1, p2, q1), (d4, p1, p2, q2))
    )


def validate_polygon(points) -> np.ndarray:
    """Return the polygon as an (N, 2) float array or raise ZoneGeometryError saying what is wrong."""
    try:
        poly = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ZoneGeometryError(f"polygon points must be [x, y] number pairs ({exc})") from None
    if poly.ndim != 2 or poly.shape[1] != 2:
        raise ZoneGeometryError(f"polygon must be a list of [x, y] pairs, got shape {poly.shape}")
    if len(poly) >= 2 and np.allclose(poly[0], poly[-1]):
        poly = poly[:-1]  # tolerate an explicitly closed ring
    if len(poly) < 3:
        raise ZoneGeometryError(f"polygon needs at least 3 distinct points, got {len(poly)}")
    if not np.all(np.isfinite(poly)):
        raise ZoneGeometryError("polygon has non-finite coordinates")
    outside = np.where((poly < 0) | (poly > 1))[0]
    if len(outside):
        i = int(outside[0])
        raise ZoneGeometryError(
            f"point {i} {poly[i].tolist()} lies outside the frame: coordinates are normalised to 0..1"
        )
    repeated = np.where(np.all(np.isclose(poly, np.roll(poly, 1, axis=0)), axis=1))[0]
    if len(repeated):
        i = int(repeated[0])
        # Said plainly: otherwise the zero-length edge shows up as a puzzling "crossing".
        raise ZoneGeometryError(f"point {i} {poly[i].tolist()} repeats the point before it")
    n = len(poly)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # adjacent edges share a vertex by construction
            if _segments_cross(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n]):
                raise ZoneGeometryError(f"polygon self-intersects: edge {i}-{(i + 1) % n} crosses edge {j}-{(j + 1) % n}")
    if abs(polygon_area(poly)) < 1e-6:
        raise ZoneGeometryError("polygon has zero area (points are collinear or repeated)")
    return poly


def polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Vectorised even-odd ray casting; points on the boundary may fall either way."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    px, py = points[:, 0:1], points[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > py) != (y2 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    crossings = straddles & (px < x_cross)
    return (np.count_nonzero(crossings, axis=1) % 2) == 1


@dataclass(frozen=True)
class PolygonZone:
    zone_id: str
    polygon: np.ndarray  # (N, 2) normalised

    @classmethod
    def from_points(cls, zone_id: str, points) -> "PolygonZone":
        poly = validate_polygon(points)
        poly.setflags(write=False)
        return cls(zone_id, poly)

    def trigger(self, detections: Detections, frame_size: tuple[int, int]) -> np.ndarray:
        """Bool array: which detections have their bottom-centre anchor inside the zone.

        frame_size is (width, height) of the image the boxes were drawn on.
        """
        if len(detections) == 0:
            return np.zeros(0, dtype=bool)
        width, height = frame_size
        anchors = detections.bottom_centers() / np.array([width, height], dtype=np.float32)
        return points_in_polygon(anchors, self.polygon)

    def to_pixels(self, frame_size: tuple[int, int]) -> np.ndarray:
        width, height = frame_size
        return np.round(self.polygon * np.array([width, height])).astype(np.int32)
