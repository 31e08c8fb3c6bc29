"""Damaged video: which decoded frames are not analysed, and when a camera is degraded.

A frame the decoder flags corrupt (FFmpeg's error concealment:
``VideoFrame.is_corrupt``), a frame decoded from a packet the demuxer flags
corrupt (``Packet.is_corrupt``), and the frames predicted from either until the
next key frame are damaged (:class:`PacketDamage`, one per connection). Above
``max_corrupt_ratio`` of the frames decoded in the last ``corrupt_window_s``
the camera is degraded (:class:`DamageWatch`), and an online camera's status
carries the reason.
"""

from __future__ import annotations

import logging

from api.contract.wire import CameraState
from streams.sources.failures import Failure
from streams.sources.stats import SourceStats
from streams.sources.status import StatusTracker

# Logged under the source's name: operators filter camera logs by one logger.
log = logging.getLogger("streams.sources.source")

# The corrupt share is judged once the window holds at least this many decoded frames.
MIN_FRAMES_FOR_RATIO = 20
# Demuxer-flagged packets whose frame has not come out of the decoder yet (bounded).
MAX_PENDING_CORRUPT = 64


class PacketDamage:
    """One connection's bookkeeping: the pts of demuxer-flagged packets not decoded yet,
    and whether the frames coming out are predicted from a corrupt one."""

    def __init__(self, stats: SourceStats) -> None:
        self._stats = stats
        self._pending: set[int] = set()
        self._predicted = False  # frames predicted from a corrupt one, until the next key frame
        self.demuxed = 0  # packets with data fed to the decoder on this connection
        self._last_packet_corrupt = False
        self._last_frame_flagged = False

    def packet(self, packet) -> None:
        """A packet with data goes into the decoder."""
        self.demuxed += 1
        self._last_packet_corrupt = packet.is_corrupt  # e.g. cut short by the end of a truncated file
        if not self._last_packet_corrupt:
            return
        if packet.pts is None:
            self._predicted = True
            return
        self._pending.add(packet.pts)
        if len(self._pending) > MAX_PENDING_CORRUPT:  # never came out: undecodable
            self._pending.discard(min(self._pending))
            self._stats.decode_error()

    def undecodable(self, packet, *, before_first_frame: bool) -> None:
        """The decoder refused ``packet`` (counted as a decode error by the caller)."""
        if packet.pts is not None:
            self._pending.discard(packet.pts)  # counted there, not again when the stream ends
        # The frames after it are predicted from a reference that never came.
        self._predicted = self._predicted or not before_first_frame

    def damaged(self, frame) -> bool:
        """Whether this decoded frame is damaged (and so not analysed)."""
        corrupt = frame.is_corrupt
        if self._pending and frame.pts in self._pending:
            self._pending.discard(frame.pts)
            corrupt = True
        self._last_frame_flagged = corrupt
        if corrupt:
            self._predicted = True
        elif self._predicted and frame.key_frame:
            self._predicted = False
        return self._predicted

    def finish(self) -> None:
        """The stream ended: flagged packets that produced no frame at all are decode errors."""
        if self._pending:
            self._stats.decode_error(len(self._pending))

    def truncation(self, declared_frames: int) -> Failure | None:
        """Why a file that ended is truncated, or None (``declared_frames``: its index's count, 0 if unknown)."""
        if declared_frames and self.demuxed < declared_frames:
            return Failure(f"file truncated: its index lists {declared_frames} frames, its data ends in frame "
                           f"{self.demuxed}", data_error=True)
        if self._last_packet_corrupt or self._last_frame_flagged:
            return Failure(f"file truncated or damaged at its end: its last frame is cut short "
                           f"({self.demuxed} frames)", data_error=True)
        return None


class DamageWatch:
    """Degrades (or recovers) a camera on its recent share of corrupt frames."""

    def __init__(self, camera_id: str, stats: SourceStats, status: StatusTracker, max_ratio: float) -> None:
        self.camera_id = camera_id
        self._stats = stats
        self._status = status
        self.max_ratio = max_ratio
        self.reason: str | None = None  # why the video is damaged, or None
        self._checked = 0.0  # monotonic time of the last check

    def check(self, now_mono: float, force: bool = False) -> None:
        """Judge the recent share (at most once a second unless ``force``)."""
        if not force and now_mono - self._checked < 1.0:
            return
        self._checked = now_mono
        corrupt, decoded = self._stats.corrupt_counts(now_mono)
        limit = self.max_ratio
        ratio = corrupt / decoded if decoded else 0.0
        if self.reason is None:
            if decoded < MIN_FRAMES_FOR_RATIO or ratio <= limit:
                return
            self.reason = (
                f"damaged video: {corrupt} of {decoded} frames corrupt in the last "
                f"{self._stats.corrupt_window_s:g} s ({ratio:.1%}, limit {limit:.1%}); corrupt frames are not analysed")
            if self._status.state is CameraState.ONLINE:
                self._status.set(CameraState.ONLINE, self.reason)
            else:
                log.warning("camera %s: %s", self.camera_id, self.reason)
        elif ratio <= limit / 2:  # hysteresis: a ratio hovering at the limit does not flap
            log.info("camera %s: video clean again (%d of %d frames corrupt in the last %g s)",
                     self.camera_id, corrupt, decoded, self._stats.corrupt_window_s)
            self.reason = None
            if self._status.state is CameraState.ONLINE:
                self._status.set(CameraState.ONLINE)
