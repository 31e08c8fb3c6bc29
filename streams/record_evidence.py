"""Full-resolution evidence from a camera's record stream (streams.sources.record).

The analysed stream may be a low-resolution substream; around an event the record stream's
frames replace the analysed ones in the snapshot, the unannotated "frame", the after frame and
the clip's post window, with the boxes mapped from the analysed frame's pixels to the record
frame's (x * W_rec / W_det, y * H_rec / H_det). The "before" frame and the clip's pre-roll come
from the analysed frames as ever: the record stream was not open then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from inference.detections import Detections
from inference.evidence import decode_jpeg, render_snapshot
from inference.zones import PolygonZone
from streams.sources.record import RecordFrame


def map_boxes(detections: Detections, from_size: tuple[int, int], to_size: tuple[int, int]) -> Detections:
    """``detections`` in pixels of a ``from_size`` (width, height) frame, moved to a ``to_size`` frame of the same view."""
    if tuple(from_size) == tuple(to_size) or not len(detections):
        return detections
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    return Detections(detections.xyxy * np.array([sx, sy, sx, sy], np.float32), detections.confidence,
                      detections.labels, detections.tracker_id)


def split_highlight(tracked: Detections, highlight: frozenset[int]) -> tuple[Detections, Detections]:
    """(the event's boxes, the other tracked boxes). Untracked boxes are below the
    tracker's bar: noise, not context."""
    ids = tracked.tracker_id
    mine = np.isin(ids, list(highlight))
    return tracked[mine], tracked[(ids >= 0) & ~mine]


@dataclass(frozen=True)
class KeyView:
    """What the record frames need of a START's key frame: its time, size and boxes (analysed pixels)."""

    captured_at: float
    size: tuple[int, int]  # (width, height) of the analysed frame
    triggering: Detections  # the event's objects and actors
    context: Detections  # the other tracked boxes


@dataclass(frozen=True)
class MappedFrame:
    """A record frame with the nearest analysed frame's boxes in its own pixels; reads like a
    streams.evidence_buffer.BufferedFrame, so the clip treats both alike."""

    captured_at: float
    jpeg: bytes
    tracked: Detections
    scale: float = 1.0  # boxes are already in this frame's pixels
    frame_id: int = -1  # not an analysed frame

    def image(self) -> np.ndarray:
        return decode_jpeg(self.jpeg)


@dataclass(frozen=True)
class FullResolution:
    snapshot: bytes
    frame: bytes  # unannotated, in the record stream's pixels (the order's boxes are mapped to them)
    after: bytes | None
    post: list[MappedFrame]  # the clip's frames from the key on
    size: tuple[int, int]  # the record frames' (width, height)


def full_resolution(key: KeyView, record: list[RecordFrame], analysed: list, *, zone: PolygonZone, caption: str,
                    highlight: frozenset[int], time_zone: dt.tzinfo) -> FullResolution | None:
    """Evidence from ``record`` (frames from the key on, oldest first); ``analysed``: the buffered
    analysed frames of the window (BufferedFrame: captured_at, tracked in analysed pixels), whose
    nearest-in-time boxes each record frame is drawn with. None without record frames."""
    if not record:
        return None
    size = (record[0].width, record[0].height)
    first = record[0]
    snapshot = render_snapshot(first.image(), zone, map_boxes(key.triggering, key.size, size),
                               context=map_boxes(key.context, key.size, size), caption=caption,
                               captured_at=first.captured_at, time_zone=time_zone)
    post = [MappedFrame(f.captured_at, f.jpeg, map_boxes(_nearest(analysed, f.captured_at), key.size, size))
            for f in record]
    after = None
    if len(post) >= 2:
        last = post[-1]
        mine, others = split_highlight(last.tracked, highlight)
        after = render_snapshot(last.image(), zone, mine, context=others, caption=f"{caption} / after",
                                captured_at=last.captured_at, time_zone=time_zone)
    return FullResolution(snapshot, first.jpeg, after, post, size)


def _nearest(analysed: list, at: float) -> Detections:
    if not analysed:
        return Detections.empty()
    return min(analysed, key=lambda f: abs(f.captured_at - at)).tracked
