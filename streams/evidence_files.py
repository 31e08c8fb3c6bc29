"""Making an event's evidence files from what the recorder closed (streams.evidence_buffer).

:class:`ClosedEvent` is taken on the camera's thread when an event's collection (a
:class:`CollectedEvent`) ends: references to frames already buffered or decoded, nothing encoded.
:func:`make_files` turns it into the work order's files (annotated key frame, the raw key frame,
before, after, clip), the costly part, so the worker runs it off the analysis thread
(streams.evidence_writer). It reads nothing that changes after the close: the buffered frames are
immutable JPEG bytes and the video frames are the decoder's own arrays, never reused.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from api.contract.wire import JPEG, MP4, EvidenceItem
from inference.detections import Detections
from inference.evidence import annotate, encode_jpeg, encode_mp4, render_snapshot
from inference.frames import VideoFrame
from inference.zones import PolygonZone
from streams.record_evidence import KeyView, full_resolution, split_highlight

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipSettings:
    """The clip's part of streams.evidence_buffer.EvidenceSettings (clip_long_side, clip_crf,
    max_clip_bytes), whose defaults they are."""

    long_side: int
    crf: int
    max_bytes: int


@dataclass
class CollectedEvent:
    """What an event's files are drawn from, gathered on the camera's thread (streams.evidence_buffer
    adds frames, ``last`` and ``key`` while the post window runs; nothing touches it after the close)."""

    event: object  # streams.evidence_buffer.StartEvent
    zone: PolygonZone
    caption: str
    highlight: frozenset[int]  # track ids drawn in red: the event's objects and who left them
    key_frame: VideoFrame  # drawn (and kept raw, the boxes' pixel space) when the files are made
    key_boxes: Detections  # the event's objects and actors, drawn red on the snapshot
    key_context: Detections  # the other tracked boxes
    before: object | None  # BufferedFrame chosen as the "before" moment, or None
    frames: list | tuple  # BufferedFrame / MappedFrame for the clip, oldest first
    last: tuple[VideoFrame, Detections] | None = None  # newest frame after the key, full size
    key: KeyView | None = None  # set when the record stream was asked for the post window


@dataclass(frozen=True)
class ClosedEvent:
    """Everything an event's files are made from, as its collection closed."""

    collected: CollectedEvent  # its frames a tuple by now: the close's own copy
    record_frames: tuple  # streams.sources.record.RecordFrame from the key on; empty: none
    time_zone: dt.tzinfo


@dataclass(frozen=True)
class EvidenceFiles:
    items: tuple[EvidenceItem, ...]
    clip_frames: int
    boxes_to: tuple[tuple[int, int], tuple[int, int]] | None  # (analysed size, record size) or None
    clip_source: tuple = ()  # with_clip=False: the frames the clip is to be made of (make_clip), oldest first


def make_files(closed: ClosedEvent, clip: ClipSettings, *, with_clip: bool = True) -> EvidenceFiles:
    """The order's files: snapshot and frame, then before / after / clip where there is material;
    without the clip (``with_clip`` False) its frames are kept for :func:`make_clip`.
    Long because it lists the files in the order the order carries them."""
    collected = closed.collected
    frames = list(collected.frames)
    snapshot = raw_key = after = boxes_to = None
    if collected.key is not None and closed.record_frames:  # full_resolution is None only without them
        full = full_resolution(collected.key, list(closed.record_frames), frames, zone=collected.zone,
                               caption=collected.caption, highlight=collected.highlight, time_zone=closed.time_zone)
        boxes_to, after = (collected.key.size, full.size), full.after
        snapshot, raw_key = full.snapshot, full.frame
        frames = [*(f for f in frames if f.captured_at < full.post[0].captured_at), *full.post]
    if snapshot is None:
        key = collected.key_frame
        snapshot = render_snapshot(key.image, collected.zone, collected.key_boxes, context=collected.key_context,
                                   caption=collected.caption, captured_at=key.captured_at, time_zone=closed.time_zone)
        raw_key = encode_jpeg(key.image, quality=90)  # the boxes' pixel space, for retraining
    after = after or _after(closed)
    items = [EvidenceItem("snapshot", JPEG, snapshot), EvidenceItem("frame", JPEG, raw_key)]
    if (before := _before(closed)) is not None:
        items.append(EvidenceItem("before", JPEG, before))
    if after is not None:
        items.append(EvidenceItem("after", JPEG, after))
    if not with_clip:
        return EvidenceFiles(tuple(items), 0, boxes_to, tuple(frames) if len(frames) >= 2 else ())
    made = make_clip(closed, frames, clip)
    return EvidenceFiles(tuple(items) + ((made,) if made else ()), len(frames) if made else 0, boxes_to)


def make_clip(closed: ClosedEvent, frames, clip: ClipSettings) -> EvidenceItem | None:
    """The clip of ``frames`` (at least two), or None: too few, too big, or the codec failed (logged)."""
    if len(frames) < 2:
        return None
    try:
        data = _clip(closed, list(frames), clip)
    except Exception:  # a codec problem must cost the clip, never the order
        log.exception("evidence %s: clip encoding failed; the order goes without it", closed.collected.event.event_id)
        return None
    return EvidenceItem("clip", MP4, data) if data is not None else None


def _before(closed: ClosedEvent) -> bytes | None:
    collected = closed.collected
    chosen = collected.before
    if chosen is None:
        return None
    mine, others = split_highlight(chosen.tracked, collected.highlight)
    return render_snapshot(chosen.image(), collected.zone, mine, context=others,
                           caption=f"{collected.caption} / before", captured_at=chosen.captured_at,
                           box_scale=chosen.scale, time_zone=closed.time_zone)


def _after(closed: ClosedEvent) -> bytes | None:
    collected = closed.collected
    if collected.last is None:
        return None
    frame, tracked = collected.last
    mine, others = split_highlight(tracked, collected.highlight)
    return render_snapshot(frame.image, collected.zone, mine, context=others, caption=f"{collected.caption} / after",
                           captured_at=frame.captured_at, time_zone=closed.time_zone)


def _clip(closed: ClosedEvent, frames: list, settings: ClipSettings) -> bytes | None:
    times = [f.captured_at for f in frames]
    gaps = np.diff(times)
    fps = 1.0 / float(np.median(gaps)) if len(gaps) and np.median(gaps) > 0 else 5.0
    first = frames[0].image()
    src_h, src_w = first.shape[:2]
    # Smaller and coarser until it fits; a street scene at 640 px is normally well under.
    for long_side, crf in ((settings.long_side, settings.crf), (settings.long_side * 3 // 4, settings.crf + 5),
                           (settings.long_side // 2, settings.crf + 10)):
        ratio = min(1.0, long_side / max(src_w, src_h))
        size = (max(2, int(src_w * ratio) // 2 * 2), max(2, int(src_h * ratio) // 2 * 2))  # even, for 4:2:0
        images = [_clip_frame(closed, f, first if i == 0 else None, size) for i, f in enumerate(frames)]
        data = encode_mp4(images, times, crf=crf, nominal_fps=fps)
        if len(data) <= settings.max_bytes:
            return data
    log.warning("evidence %s: clip over %d bytes even at %dx%d; sent without it",
                closed.collected.event.event_id, settings.max_bytes, *size)
    return None


def _clip_frame(closed: ClosedEvent, frame, decoded: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    collected = closed.collected
    image = decoded if decoded is not None else frame.image()
    # Area averaging only where it matters (a record frame at a third of its size); for the buffered
    # frames' 1.5x it cost 3.6 ms a frame against 1.1 for bilinear, a third of a clip's CPU.
    shrink = image.shape[1] / size[0]
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink > 2 else cv2.INTER_LINEAR)
    mine, others = split_highlight(frame.tracked, collected.highlight)
    # Drawn after resizing, so boxes and text stay sharp at the clip's size.
    return annotate(resized, collected.zone, mine, context=others, caption=collected.caption,
                    captured_at=frame.captured_at, box_scale=frame.scale * size[0] / image.shape[1],
                    time_zone=closed.time_zone)
