"""Evidence an operator can trust at a glance: the frame, the zone, and the
boxes that made the rule fire, burned into a JPEG (or into each frame of a clip).

Which side draws (issue 17): the ``snapshot`` carries its boxes, burned in here, and
the order page draws nothing over it; the page draws its own boxes only on the
unannotated ``frame`` (the same key frame, in the boxes' pixels). Both number the
event's tracks 1, 2, 3 (:func:`track_numbers`), not by the tracker's ids."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

from inference import site_time
from inference.detections import Detections
from inference.zones import PolygonZone

_ZONE_COLOUR = (0, 200, 255)  # BGR amber
_TRIGGER_COLOUR = (0, 0, 255)
_CONTEXT_COLOUR = (110, 110, 110)  # dark enough for the white label text
_DEFAULT_ZONE = site_time.site_zone()


def _draw_box(canvas: np.ndarray, xyxy, text: str, colour) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    top = max(0, y1 - th - base - 2)
    cv2.rectangle(canvas, (x1, top), (x1 + tw + 4, top + th + base + 2), colour, -1)
    cv2.putText(canvas, text, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)


def track_numbers(tracker_ids) -> list[int | None]:
    """The number an operator reads beside each box: 1, 2, 3 ... in the order the event lists its
    tracks (the order page numbers the order's boxes the same way), one number per track; None for
    an untracked box. The tracker's own ids (2000000-style) stay in the order's boxes, never drawn."""
    seen: dict[int, int] = {}
    numbers: list[int | None] = []
    for raw in tracker_ids:
        track = int(raw)
        if track < 0:
            numbers.append(None)
            continue
        numbers.append(seen.setdefault(track, len(seen) + 1))
    return numbers


def annotate(
    image: np.ndarray,
    zone: PolygonZone,
    triggering: Detections,
    *,
    context: Detections | None = None,
    caption: str = "",
    captured_at: float | None = None,
    box_scale: float = 1.0,
    time_zone: dt.tzinfo | None = None,
) -> np.ndarray:
    """A drawn-on copy of ``image``: zone polygon (translucent), triggering boxes in red,
    other boxes in grey, caption and capture time in a banner.

    ``box_scale`` maps detection pixels onto ``image``: the boxes are in the pixels the
    detector saw, and a buffered frame may have been downscaled since (the zone is
    normalised, so it needs no scaling). ``time_zone``: the site's zone the capture time is
    stamped in (worker.site_timezone; None: the default, Asia/Shanghai), with its UTC offset."""
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
            _draw_box(canvas, context.xyxy[i] * box_scale, f"{context.labels[i]} {context.confidence[i]:.2f}", _CONTEXT_COLOUR)
    numbers = track_numbers(triggering.tracker_id)
    for i in range(len(triggering)):
        track = f" #{numbers[i]}" if numbers[i] is not None else ""
        _draw_box(canvas, triggering.xyxy[i] * box_scale, f"{triggering.labels[i]}{track} {triggering.confidence[i]:.2f}",
                  _TRIGGER_COLOUR)

    stamp = site_time.stamp_text(captured_at, time_zone or _DEFAULT_ZONE) if captured_at else ""
    banner = "  ".join(t for t in (caption, stamp) if t)
    if banner:
        cv2.rectangle(canvas, (0, 0), (width, 22), (0, 0, 0), -1)
        cv2.putText(canvas, banner, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding of an evidence frame failed")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """A BGR image from JPEG bytes this module encoded (buffered evidence and record frames)."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def render_snapshot(image: np.ndarray, zone: PolygonZone, triggering: Detections, *, quality: int = 85, **drawing) -> bytes:
    """Annotated JPEG: zone polygon (translucent), triggering boxes in red, other boxes in grey.
    ``drawing``: the keywords of :func:`annotate` (context, caption, captured_at, box_scale, time_zone)."""
    return encode_jpeg(annotate(image, zone, triggering, **drawing), quality)


def encode_mp4(images: list[np.ndarray], times_s: list[float], *, crf: int = 28, nominal_fps: float = 5.0) -> bytes:
    """H.264 MP4 (yuv420p, so every browser and phone plays it) of equally sized BGR
    images with even width and height (4:2:0 subsampling needs them).

    Each frame keeps its own capture time (millisecond timestamps), so a camera whose
    analysis rate was shed under load still plays at the speed the street moved;
    ``nominal_fps`` is only the rate the stream header advertises."""
    import io
    from fractions import Fraction

    import av  # PyAV: already the worker's decoder; imported here so JPEG-only callers do not pay for it

    if len(images) != len(times_s) or not images:
        raise ValueError("encode_mp4 needs one capture time per image, and at least one image")
    height, width = images[0].shape[:2]
    if width % 2 or height % 2:
        raise ValueError(f"H.264 4:2:0 needs even dimensions, got {width}x{height}")
    ms = Fraction(1, 1000)
    out_buf = io.BytesIO()
    # No +faststart: it re-opens the output by file name, and a clip of a few hundred KB
    # is fetched whole before it plays anyway.
    with av.open(out_buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(nominal_fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = ms
        # ultrafast with the deblocking filter put back, on one thread: a 21-frame 640x360 clip of the
        # street scene measured ~60 ms of CPU (veryfast: ~80 on one thread, ~110 on x264's default
        # threads) at a PSNR no lower (35.7 dB against 35.0) for ~80 KB instead of ~29 KB. Clips are made
        # per event while the cameras analyse, so CPU is what is short; several clips run side by side
        # in the worker's evidence pool (streams.evidence_writer), so one encoder thread each.
        stream.options = {"crf": str(crf), "preset": "ultrafast", "threads": "1", "x264-params": "deblock=0,0"}
        start, last_pts = times_s[0], -1
        for image, at in zip(images, times_s):
            pts = max(last_pts + 1, int(round((at - start) * 1000)))  # strictly increasing, as the muxer demands
            last_pts = pts
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            frame.pts, frame.time_base = pts, ms
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out_buf.getvalue()
