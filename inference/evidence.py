"""Evidence an operator can trust at a glance: the frame, the zone, and the
boxes that made the rule fire, burned into a JPEG."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

from inference.detections import Detections
from inference.zones import PolygonZone

_ZONE_COLOUR = (0, 200, 255)  # BGR amber
_TRIGGER_COLOUR = (0, 0, 255)
_CONTEXT_COLOUR = (110, 110, 110)  # dark enough for the white label text


def _draw_box(canvas: np.ndarray, xyxy, text: str, colour) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    top = max(0, y1 - th - base - 2)
    cv2.rectangle(canvas, (x1, top), (x1 + tw + 4, top + th + base + 2), colour, -1)
    cv2.putText(canvas, text, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)


def render_snapshot(
    image: np.ndarray,
    zone: PolygonZone,
    triggering: Detections,
    *,
    context: Detections | None = None,
    caption: str = "",
    captured_at: float | None = None,
    quality: int = 85,
) -> bytes:
    """Annotated JPEG: zone polygon (translucent), triggering boxes in red, other boxes in grey."""
    canvas = image.copy()
    height, width = canvas.shape[:2]
    poly = zone.to_pixels((width, height))
    overlay = canvas.copy()
    cv2.fillPoly(overlay, [poly], _ZONE_COLOUR)
    cv2.addWeighted(overlay, 0.18, canvas, 0.82, 0, dst=canvas)
    cv2.polylines(canvas, [poly], isClosed=True, color=_ZONE_COLOUR, thickness=2)
    cv2.putText(canvas, zone.zone_id, tuple(int(v) for v in poly[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _ZONE_COLOUR, 1, cv2.LINE_AA)

    if context is not None:
        for i in range(len(context)):
            _draw_box(canvas, context.xyxy[i], f"{context.labels[i]} {context.confidence[i]:.2f}", _CONTEXT_COLOUR)
    for i in range(len(triggering)):
        track = f" #{triggering.tracker_id[i]}" if triggering.tracker_id[i] >= 0 else ""
        _draw_box(canvas, triggering.xyxy[i], f"{triggering.labels[i]}{track} {triggering.confidence[i]:.2f}", _TRIGGER_COLOUR)

    stamp = dt.datetime.fromtimestamp(captured_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if captured_at else ""
    banner = "  ".join(t for t in (caption, stamp) if t)
    if banner:
        cv2.rectangle(canvas, (0, 0), (width, 22), (0, 0, 0), -1)
        cv2.putText(canvas, banner, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)

    ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding of the evidence snapshot failed")
    return buf.tobytes()
