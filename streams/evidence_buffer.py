"""Evidence per rule event: a bounded buffer of recent analysed frames, and the
recorder that turns a rule's START into (streams.evidence_files) an annotated key frame, a "before" and an
"after" frame, and a short H.264 clip from a few seconds before to a few after.

Memory: buffered frames are JPEG bytes of a downscaled copy (long side <= 960), not
pixel arrays. Measured on the 2-core worker CPU with a 1920x1080 frame (sensor noise
added, so JPEG is not flattered): downscale 1.1 ms + JPEG q80 1.8 ms -> ~64 KB, against
~1,555 KB for the downscaled array itself (24x more). Decoding back costs ~4.8 ms, but
only when a clip is made, once per event. At 5 fps a 4 s pre-roll is 20 frames: ~1.3 MB
a camera as JPEG, ~31 MB as arrays - the difference between "a few MB per camera" and
"half a GB on a 16-camera worker", for ~3 ms next to tens of ms of inference per frame.

The buffer and the recorder run on the camera's analysis thread (CameraPipeline.process and
run), so they hold no locks; making an event's files (streams.evidence_files) may run on
another thread, from references the recorder no longer touches.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

import cv2
import numpy as np

from inference import site_time
from inference.detections import Detections
from inference.evidence import decode_jpeg, encode_jpeg
from inference.zones import PolygonZone
from inference.frames import VideoFrame
from api.contract.wire import EvidenceItem
from streams.evidence_files import ClipSettings, ClosedEvent, CollectedEvent, EvidenceFiles, make_clip, make_files
from streams.record_evidence import KeyView, split_highlight as _split

log = logging.getLogger(__name__)


class StartEvent(Protocol):
    """What the recorder reads from a rule's START (inference.rules.RuleEvent)."""

    event_id: str
    started_at: float
    track_ids: tuple[int, ...]
    detections: Detections
    actor_track_ids: tuple[int, ...]
    before_at: float | None


@dataclass(frozen=True)
class EvidenceSettings:
    pre_s: float = 4.0  # clip seconds before the key frame: every analysed frame is kept this long
    post_s: float = 3.0  # stream seconds collected after START before the order goes out
    # How far back a "before" frame can come from: rules dwell up to minutes ("litter lying
    # for 5 minutes"), far beyond the pre-roll. One frame per step keeps it to ~140 frames
    # (~5-9 MB at 35-64 KB a frame); a longer dwell gets the oldest frame kept, and a log line.
    history_s: float = 420.0
    history_step_s: float = 3.0
    before_lead_s: float = 3.0  # events without before_at: the before frame is this long before started_at
    long_side: int = 960  # buffered frames are downscaled to this (evidence, not re-detection)
    jpeg_quality: int = 80
    max_buffer_bytes: int = 16 * 1024 * 1024  # per camera, pre-roll and history together
    max_pending: int = 8  # events collecting at once; the oldest goes out early beyond that
    stall_s: float = 10.0  # wall seconds past post_s a stalled stream may keep an order waiting
    clip_long_side: int = 640
    clip_crf: int = 28
    max_clip_bytes: int = 600_000  # "a few hundred KB"; far under the API's 8 MiB per file
    site_zone: dt.tzinfo = field(default_factory=site_time.site_zone)  # the stamps' clock (worker.site_timezone)

    def __post_init__(self) -> None:
        if min(self.pre_s, self.post_s, self.history_s, self.before_lead_s, self.stall_s) < 0:
            raise ValueError("evidence durations must be >= 0")
        if self.history_step_s <= 0 or self.max_pending < 1 or self.max_buffer_bytes <= 0:
            raise ValueError("history_step_s, max_pending and max_buffer_bytes must be positive")
        if self.long_side < 16 or self.clip_long_side < 16:
            raise ValueError("frames cannot be downscaled below 16 pixels")


@dataclass(frozen=True)
class BufferedFrame:
    captured_at: float
    frame_id: int
    jpeg: bytes
    scale: float  # buffered pixels per source pixel: boxes stay in the detector's pixels
    tracked: Detections  # what the tracker saw on this frame, for drawing the clip

    @property
    def nbytes(self) -> int:
        return len(self.jpeg)

    def image(self) -> np.ndarray:
        return decode_jpeg(self.jpeg)


class FrameRingBuffer:
    """The last ``pre_s`` seconds of analysed frames (all of them, for the clip), and a
    sparse history of one frame per ``history_step_s`` for ``history_s`` (for "before"
    frames of rules whose dwell is longer than the pre-roll). Bounded in stream time
    and in bytes: past ``max_buffer_bytes`` the oldest history goes first."""

    def __init__(self, settings: EvidenceSettings) -> None:
        self.settings = settings
        self._recent: deque[BufferedFrame] = deque()
        self._history: deque[BufferedFrame] = deque()
        self._bytes = 0
        self._newest = float("-inf")

    def __len__(self) -> int:
        return len(self._recent) + len(self._history)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def add(self, frame: VideoFrame, tracked: Detections) -> BufferedFrame:
        buffered = self._shrink(frame, tracked)
        self._recent.append(buffered)
        self._bytes += buffered.nbytes
        # A camera clock that steps back must not flush the buffer: age by the newest time seen.
        self._newest = max(self._newest, frame.captured_at)
        s = self.settings
        while self._recent and self._recent[0].captured_at < self._newest - s.pre_s:
            old = self._recent.popleft()
            if not self._history or old.captured_at - self._history[-1].captured_at >= s.history_step_s:
                self._history.append(old)
            else:
                self._bytes -= old.nbytes
        while self._history and self._history[0].captured_at < self._newest - s.history_s:
            self._bytes -= self._history.popleft().nbytes
        while self._bytes > s.max_buffer_bytes and len(self) > 1:
            self._bytes -= (self._history or self._recent).popleft().nbytes
        return buffered

    def recent(self, since: float) -> list[BufferedFrame]:
        """Pre-roll frames captured at or after ``since``, oldest first."""
        return [f for f in self._recent if f.captured_at >= since]

    def closest(self, at: float) -> BufferedFrame | None:
        frames = [*self._history, *self._recent]
        return min(frames, key=lambda f: abs(f.captured_at - at)) if frames else None

    def _shrink(self, frame: VideoFrame, tracked: Detections) -> BufferedFrame:
        height, width = frame.image.shape[:2]
        scale = min(1.0, self.settings.long_side / max(width, height))
        image = frame.image
        if scale < 1.0:
            image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        return BufferedFrame(frame.captured_at, frame.frame_id, encode_jpeg(image, self.settings.jpeg_quality), scale, tracked)


class EventEvidence:
    """A START's evidence, closed on the camera's thread; its files are made on first use
    (:meth:`build`, off that thread in the worker: streams.evidence_writer)."""

    def __init__(self, closed: ClosedEvent, clip: ClipSettings, *, post_window_seen: bool) -> None:
        self.event = closed.collected.event
        self.post_window_seen = post_window_seen  # False: sent before post_s of stream had passed (emergency, stop, stall)
        self._closed = closed
        self._clip = clip
        self._made: EvidenceFiles | None = None
        self._making = threading.Lock()  # the order's job and its clip's may ask from two pool threads

    @property
    def _files(self) -> EvidenceFiles:
        return self.build()._made

    def build(self, *, clip_later: bool = False) -> EventEvidence:
        """Make the files now (the costly part); later reads are free. ``clip_later``: every file but
        the clip, whose frames are kept for :meth:`build_clip` (an order sent before its clip)."""
        with self._making:
            if self._made is None:
                self._made = make_files(self._closed, self._clip, with_clip=not clip_later)
        return self

    def build_clip(self) -> EvidenceItem | None:
        """The clip that ``build(clip_later=True)`` left out (made first if it was not); None where
        there is none to make, or the files were made with it."""
        source = self.build(clip_later=True)._made.clip_source
        return make_clip(self._closed, source, self._clip) if source else None

    @property
    def items(self) -> tuple[EvidenceItem, ...]:
        """Snapshot and frame, then before / after / clip where there was material."""
        return self._files.items

    @property
    def clip_frames(self) -> int:
        return self._files.clip_frames

    @property
    def boxes_to(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(analysed size, record size) when the snapshot and frame come from the record stream: the
        order's boxes are mapped by them into the frame's pixels. None: the analysed frames' pixels."""
        return self._files.boxes_to

    @property
    def kinds(self) -> list[str]:
        return [item.kind for item in self.items]


@dataclass(kw_only=True)
class _Pending(CollectedEvent):
    """An event still collecting; closed, a copy of it is what its files are made from."""

    deadline: float  # stream time at which the post window is complete
    opened_wall: float


class EvidenceRecorder:
    """Per camera: buffer every analysed frame (:meth:`observe`), open a collection on
    START (:meth:`open`) and hand back closed :class:`EventEvidence` from any call.
    Nothing pending is lost: :meth:`finish`, :meth:`overdue` and :meth:`flush` send
    what was collected so far. Closing is cheap (references); the files are made by
    :meth:`EventEvidence.build`."""

    def __init__(self, settings: EvidenceSettings | None = None, *, wall_clock: Callable[[], float] = time.monotonic,
                 record=None) -> None:
        self.settings = settings or EvidenceSettings()
        self.buffer = FrameRingBuffer(self.settings)
        self._wall_clock = wall_clock
        # streams.sources.record.RecordCapture (or None): full-resolution frames for the post window.
        self.record = record
        self.record_fallbacks = 0  # events that asked the record stream and got none of its frames
        self._clip = ClipSettings(self.settings.clip_long_side, self.settings.clip_crf, self.settings.max_clip_bytes)
        self._pending: dict[str, _Pending] = {}

    @property
    def pending_ids(self) -> list[str]:
        return list(self._pending)

    def observe(self, frame: VideoFrame, tracked: Detections) -> list[EventEvidence]:
        buffered = self.buffer.add(frame, tracked)
        done = []
        for pending in list(self._pending.values()):
            if frame.captured_at > pending.deadline + self.settings.stall_s:
                # The stream jumped (reconnected after an outage): this frame is not "a few
                # seconds after", so the event goes out with what it had.
                done.append(self._close(pending, post_window_seen=False))
                continue
            pending.frames.append(buffered)
            pending.last = (frame, tracked)
            if frame.captured_at >= pending.deadline and self._record_settled(pending):
                done.append(self._close(pending, post_window_seen=True))
        return done

    def open(self, event: StartEvent, *, zone: PolygonZone, frame: VideoFrame, tracked: Detections, caption: str,
             wait: bool = True) -> list[EventEvidence]:
        """Start collecting for ``event`` on its key ``frame`` (already observed). With
        ``wait`` False, or post_s 0, the evidence comes back at once: key, before and
        the pre-roll clip, with no after frame."""
        highlight = frozenset(event.track_ids) | frozenset(event.actor_track_ids)
        in_event, others = _split(tracked, highlight)
        actors = in_event[~np.isin(in_event.tracker_id, list(event.track_ids))]  # drawn red beside the objects
        pending = _Pending(
            event=event, zone=zone, caption=caption, highlight=highlight,
            deadline=frame.captured_at + self.settings.post_s, opened_wall=self._wall_clock(),
            key_frame=frame, key_boxes=Detections.merge([event.detections, actors]), key_context=others,
            before=self._before(event, frame),
            frames=self.buffer.recent(frame.captured_at - self.settings.pre_s),
        )
        if not wait or self.settings.post_s == 0:
            return [self._close(pending, post_window_seen=False)]
        if self.record is not None:  # never blocks: the capture runs on its own thread
            pending.key = KeyView(frame.captured_at, (frame.width, frame.height), pending.key_boxes, others)
            self.record.request(pending.deadline)
        done = []
        if len(self._pending) >= self.settings.max_pending:  # bounded: the oldest goes out with what it has
            oldest = next(iter(self._pending.values()))
            log.warning("evidence: %d events collecting at once; sending %s early", len(self._pending), oldest.event.event_id)
            done.append(self._close(oldest, post_window_seen=False))
        self._pending[event.event_id] = pending
        return done

    def finish(self, event_id: str) -> list[EventEvidence]:
        """Send one event's evidence now (its END came before post_s: the order must go first)."""
        pending = self._pending.get(event_id)
        return [self._close(pending, post_window_seen=False)] if pending is not None else []

    def overdue(self) -> list[EventEvidence]:
        """Events whose stream stalled (camera offline, reconnecting): after post_s +
        stall_s of wall time they go out with what was collected."""
        limit = self.settings.post_s + self.settings.stall_s
        now = self._wall_clock()
        return [self._close(p, post_window_seen=False) for p in list(self._pending.values()) if now - p.opened_wall >= limit]

    def flush(self) -> list[EventEvidence]:
        """Everything pending, as collected so far (the pipeline is stopping)."""
        return [self._close(p, post_window_seen=False) for p in list(self._pending.values())]

    def _before(self, event: StartEvent, key: VideoFrame) -> BufferedFrame | None:
        """The buffered frame nearest the event's "before" moment (drawn when the files are made)."""
        before_at = event.before_at
        target = before_at if before_at is not None else event.started_at - self.settings.before_lead_s
        chosen = self.buffer.closest(target)
        if chosen is None or chosen.frame_id == key.frame_id:
            return None  # the camera has just started: the key frame is all there is
        if abs(chosen.captured_at - target) > self.settings.history_step_s:
            log.info("evidence %s: before frame %.1f s from the wanted moment (buffer does not reach back)",
                     event.event_id, chosen.captured_at - target)
        return chosen

    def _record_settled(self, pending: _Pending) -> bool:
        """The record stream's frames for this event are all in, or never will be (failed, timed out)."""
        return pending.key is None or self.record is None or self.record.settled(pending.deadline)

    def _record_frames(self, pending: _Pending) -> tuple:
        """The record stream's frames for ``pending``'s window; none (counted, with a log line saying
        why) means its evidence comes from the analysed frames."""
        if pending.key is None or self.record is None:
            return ()
        frames = tuple(self.record.frames(pending.key.captured_at, pending.deadline + 1.0))
        if not frames:
            self.record_fallbacks += 1
            log.warning("evidence %s: no record stream frames (%s); evidence from the analysed frames",
                        pending.event.event_id, self.record.failure or "none captured in the window yet")
        return frames

    def _close(self, pending: _Pending, *, post_window_seen: bool) -> EventEvidence:
        self._pending.pop(pending.event.event_id, None)
        # Its own copy of the frames: the files are made from the event as it was at the close.
        collected = replace(pending, frames=tuple(pending.frames))
        closed = ClosedEvent(collected, record_frames=self._record_frames(pending), time_zone=self.settings.site_zone)
        return EventEvidence(closed, self._clip, post_window_seen=post_window_seen)
