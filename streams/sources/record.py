"""A camera's record stream (``record_url``): opened only around events, for full-resolution evidence.

The analysed stream may be a camera's low-resolution substream; a rule's START then asks this
capture for the post window (:meth:`RecordCapture.request`). A background thread opens the
stream with the same opener (PyAV options, timeouts, hardware decoding) as the camera's source,
waits for the first key frame (a stream joined mid-GOP decodes grey until then), keeps frames
at the clip rate as JPEG until the wanted capture time, and closes the stream. Bounded: at most
``max_frames`` frames and ``max_wall_s`` seconds per capture, one capture per camera at a time
(an overlapping event extends the running one). Nothing here blocks the caller: the evidence
recorder asks :meth:`settled` and falls back to the analysed frames when the capture failed.

Frame times are ``clock.now()`` as each frame is decoded: the same wall clock a live camera
source stamps its frames with, so record and analysed frames compare directly.

The capture thread runs ``RecordLimits.nice`` steps below the cameras' threads
(streams.thread_priority): a full-resolution decode of several seconds per event is background
work, and when many cameras' events come together it must not starve the analysis that finds
the next one. On an idle CPU the lower priority costs nothing; on a saturated one the record
frames come later (their times then trail the moments they show by the backlog, bounded by
``max_wall_s``) while the cameras keep their rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from api.contract.redact import redact_text, redact_url
from inference.clock import Clock, SystemClock
from inference.evidence import decode_jpeg, encode_jpeg
from streams.sources.failures import describe_failure
from streams.sources.opener import ContainerOpener
from streams.sources.source import LIVE_SCHEMES, SourceOptions
from streams.thread_priority import MAX_NICE, lower_current_thread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordLimits:
    fps: float = 5.0  # frames kept per second of stream: the clip's rate
    max_frames: int = 30  # per capture (post_s 3 at 5 fps is 15)
    max_wall_s: float = 15.0  # a capture gives up this long after it started, opening included
    jpeg_quality: int = 90
    nice: int = 10  # steps below the cameras' threads the capture runs at (0: the same priority)

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.max_frames < 1 or self.max_wall_s <= 0:
            raise ValueError("record fps, max_frames and max_wall_s must be positive")
        if not 0 <= self.nice <= MAX_NICE:
            raise ValueError(f"record nice must be 0-{MAX_NICE}")


@dataclass(frozen=True)
class RecordFrame:
    captured_at: float  # clock seconds, the analysed stream's clock
    jpeg: bytes
    width: int
    height: int

    def image(self) -> np.ndarray:
        return decode_jpeg(self.jpeg)


class RecordCapture:
    """Captures a camera's record stream on request; one background capture at a time.

    Interface: ``request(until)`` starts (or extends) a capture up to capture time ``until``;
    ``settled(until)`` says whether the frames for a window ending there are all in (or never
    will be); ``frames(since, until)`` returns them; ``failure`` is why the last capture failed."""

    def __init__(self, url: str, options: SourceOptions = SourceOptions(), clock: Clock | None = None, *,
                 camera_id: str = "camera", limits: RecordLimits = RecordLimits(), opener=None) -> None:
        self.camera_id = camera_id
        self.__url = str(url)  # private: only display_url leaves this object
        self.display_url = redact_url(self.__url)
        self.limits = limits
        self._open_timeout_s = options.open_timeout_s
        self._clock = clock or SystemClock()
        self._opener = opener or ContainerOpener(camera_id, self.__url, options,
                                                 is_live=self.__url.lower().startswith(LIVE_SCHEMES))
        self._lock = threading.Lock()
        self._frames: deque[RecordFrame] = deque(maxlen=2 * limits.max_frames)
        self._until = float("-inf")  # capture time the running capture goes on to
        self._served = float("-inf")  # capture time the last capture ended at, having covered its window
        self._running = False  # a capture thread that will still look at _until (set and cleared under the lock)
        self._thread: threading.Thread | None = None
        self._started_wall = 0.0  # monotonic start of the running (or last) capture
        self._stop = threading.Event()
        self.state = "idle"  # idle, capturing, ok, failed
        self.failure: str | None = None  # why the last capture failed (redacted), None when it did not
        self.captures = 0
        self.failures = 0

    def __repr__(self) -> str:
        return f"<RecordCapture {self.camera_id!r} {self.display_url!r} state={self.state}>"

    @property
    def capturing(self) -> bool:
        return self._running

    def request(self, until: float) -> None:
        """Capture frames up to capture time ``until``: extends a running capture, else starts one."""
        with self._lock:
            self._until = max(self._until, until) if self._running else until
            if self._running:
                return  # the thread sees the new end before it finishes (_run checks under the lock)
            self._running = True
            self._started_wall = time.monotonic()
            self.state, self.captures = "capturing", self.captures + 1
            self._thread = threading.Thread(target=self._run, name=f"record-{self.camera_id}", daemon=True)
            self._thread.start()

    def settled(self, until: float) -> bool:
        """True when no more frames will come for a window ending at ``until``: the capture ended
        (done, failed), ran past its wall-time limit, or already holds a frame at or after ``until``."""
        if not self.capturing or time.monotonic() - self._started_wall >= self.limits.max_wall_s:
            return True
        with self._lock:
            return bool(self._frames) and self._frames[-1].captured_at >= until

    def frames(self, since: float, until: float) -> list[RecordFrame]:
        """Captured frames with ``since <= captured_at <= until``, oldest first."""
        with self._lock:
            return [f for f in self._frames if since <= f.captured_at <= until]

    def stats(self) -> dict:
        """The record stream's state for the camera's stats and /health."""
        return {"record_stream": self.state, "record_reason": self.failure, "record_captures": self.captures,
                "record_failures": self.failures}

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- capture thread ----------------------------------------------------------------
    def _run(self) -> None:
        lower_current_thread(self.limits.nice)  # this thread only; it ends with the capture
        while True:
            try:
                failure = self._capture()
            except Exception as exc:  # a bug here must cost the full-resolution evidence, not the thread's report
                failure = redact_text(f"internal error: {exc!r}", [self.__url])
            with self._lock:
                if failure is None and self._until >= self._served and not self._stop.is_set():
                    # An event extended the window while this capture was closing: capture on.
                    self._started_wall, self.captures = time.monotonic(), self.captures + 1
                    continue
                self.failure = failure
                self.state = "failed" if failure else "ok"
                self.failures += bool(failure)
                self._running = False
                break
        if failure and not self._stop.is_set():
            log.warning("camera %s: record stream capture failed: %s", self.camera_id, failure)

    def _capture(self) -> str | None:
        """One capture: None when it took the frames asked for, else why not."""
        started = time.monotonic()
        try:
            container = self._opener.open()
        except Exception as exc:
            return describe_failure(exc, phase="open", elapsed_s=time.monotonic() - started,
                                    timeout_s=self._open_timeout_s, url=self.__url).reason
        try:
            if not container.streams.video:
                return "no video stream in the record stream"
            return self._take(container)
        except Exception as exc:
            return describe_failure(exc, phase="read", elapsed_s=0.0, timeout_s=self.limits.max_wall_s,
                                    url=self.__url).reason
        finally:
            try:
                container.close()
            except Exception:
                pass

    def _take(self, container) -> str | None:
        stream = container.streams.video[0]
        limits, taken, next_at, keyed = self.limits, 0, float("-inf"), False
        for packet in container.demux(stream):
            if self._stop.is_set():
                return "stopped"
            if time.monotonic() - self._started_wall >= limits.max_wall_s:
                return f"timed out: {taken} frame(s) in {limits.max_wall_s:g} s"
            for frame in packet.decode():
                keyed = keyed or bool(frame.key_frame)
                now = self._clock.now()
                if not keyed or now < next_at:
                    continue
                if now > self._until:
                    self._served = now
                    return None  # the window asked for is covered
                next_at = now + 1.0 / limits.fps
                image = frame.to_ndarray(format="bgr24")
                jpeg = encode_jpeg(image, limits.jpeg_quality)
                with self._lock:
                    self._frames.append(RecordFrame(now, jpeg, image.shape[1], image.shape[0]))
                taken += 1
                if taken >= limits.max_frames:
                    if now < self._until:
                        return f"frame limit: {taken} frames before the window's end"
                    self._served = now
                    return None
        return "record stream ended before the window's end"
