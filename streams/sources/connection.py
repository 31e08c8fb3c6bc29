"""One open container as the camera source reads it: the stream's frame rate and
clock, realtime pacing, what the decoder discards (non-reference frames, or all but
key frames: streams.sources.keyframes) with the GOP measured from its packets, the
connection's damage bookkeeping, and the verdict when its packets run out."""

from __future__ import annotations

import logging
import threading
import time

from streams.sources.damage import PacketDamage
from streams.sources.failures import STREAM_ENDED, Failure
from streams.sources.keyframes import DECODE_KEYFRAMES, DiscardSwitch, GopMeter, choose_discard
from streams.sources.stats import SourceStats


# Logged under the source's name: operators filter camera logs by one logger.
log = logging.getLogger("streams.sources.source")


class Connection:
    def __init__(self, stream, epoch: float, stats: SourceStats, *, is_live: bool, camera_id: str = "") -> None:
        self.stream = stream
        self.camera_id = camera_id
        self.rate = float(stream.average_rate or stream.guessed_rate or 25)
        self.epoch = epoch  # files: captured_at = epoch + pts
        self.is_live = is_live
        self.damage = PacketDamage(stats)
        self.captured_at = epoch  # of the newest delivered frame
        self.first_frame = True  # no frame decoded yet
        self.bad_packets = 0  # undecodable packets
        self.gop = GopMeter()
        self.discard = DiscardSwitch(stream.codec_context)
        self._pace_anchor: float | None = None  # realtime: monotonic time of pts 0
        self.t0 = self.last_packet = time.monotonic()  # last_packet: when the last one was decoded

    def before_decode(self, packet, mode: str, interval_s: float, skip_nonref: bool) -> None:
        """Measure the GOP and set what the decoder discards before ``packet`` goes in
        (the sampling rate may change on the fly: shedding)."""
        key = self.gop.packet(packet)
        was = self.discard.current
        self.discard.want(choose_discard(mode, interval_s, self.gop.gop_s, self.rate, skip_nonref), key)
        now = self.discard.current
        if was != now and DECODE_KEYFRAMES in (was, now):
            gop = f"{self.gop.gop_s:g} s" if self.gop.gop_s else "not measured"
            what = "key frames only" if now == DECODE_KEYFRAMES else "every frame again"
            log.info("camera %s: decoding %s (decode %s, GOP %s, analysis interval %s)", self.camera_id, what, mode,
                     gop, f"{interval_s:g} s" if interval_s else "every frame")

    def frame_time(self, frame) -> float:
        """Seconds into the stream; without a pts (some http/mjpeg streams) the arrival time."""
        return frame.time if frame.time is not None else time.monotonic() - self.t0

    def pace(self, ts: float, stop: threading.Event) -> bool:
        """Wait until the frame at ``ts`` is due in real time; False if stopped meanwhile."""
        if self._pace_anchor is None:
            self._pace_anchor = time.monotonic() - ts
        return not stop.wait(max(0.0, self._pace_anchor + ts - time.monotonic()))

    def ended(self) -> tuple[Failure | None, float]:
        """The packets ran out: (None at a clean end of file, else the Failure; the next epoch)."""
        self.damage.finish()
        if not self.is_live:
            if self.first_frame:
                return Failure("no decodable video frames in file", data_error=True), self.epoch
            truncated = self.damage.truncation(int(self.stream.frames or 0))  # the index's count (mp4); 0: unknown
            if truncated is not None:
                return truncated, self.epoch
        # Next loop of a file continues the clock one frame after this one's last frame.
        return (None if not self.is_live else STREAM_ENDED), self.captured_at + 1.0 / self.rate
