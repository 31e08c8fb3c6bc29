"""One camera (RTSP/HTTP stream or local file) decoded by PyAV in its own thread.

The reader thread opens the URL, decodes the frames (``frame_id`` counts every
decoded one), converts only the sampled ones to numpy, and hands them to the
consumer through a :class:`FrameBuffer` with a named :class:`DropPolicy`.

Decoding is the cost that remains per camera, so it does no more than sampling
needs: when the analysis interval spans at least ``NONREF_SKIP_MIN_FRAMES``
frames, the decoder skips non-reference frames (x264's non-reference
B-frames, which nothing else is predicted from), and the sampler takes the next
decoded frame instead, at most a frame or two later. ``decode_threads`` sets the
decoder's thread count (1 per camera is best when many cameras share few
cores). ``hwaccel="cuda"`` (or ``"auto"``) decodes on NVDEC when a CUDA device
is really there, and otherwise falls back to software with a log line.

Failures become :class:`CameraStatusEvent`s -- never a synthetic frame -- and
live sources reconnect with jittered exponential backoff until ``stop()``. A
file that cannot be opened, decoded or read to its end (truncated) ends in
``error`` with the reason, and stays there when the pipeline stops it.

Damaged video is not analysed: a frame the decoder flags corrupt (FFmpeg's
error concealment: ``VideoFrame.is_corrupt``, i.e. ``decode_error_flags`` or
``AV_FRAME_FLAG_CORRUPT``), a frame decoded from a packet the demuxer flags
corrupt (``Packet.is_corrupt``), and the frames predicted from either until
the next key frame are counted (``corrupt_frames``) and skipped. Above
``max_corrupt_ratio`` of the frames decoded in the last ``corrupt_window_s``
the camera is degraded: :attr:`CameraSource.degraded_reason` says why, and an
online camera's status carries it as its reason.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av

from inference.clock import Clock, SystemClock
from streams.backoff import JITTER_FRACTION, MULTIPLIER, Backoff
from streams.sources.buffer import DropPolicy, FrameBuffer
from streams.sources.failures import STREAM_ENDED, Failure, describe_failure
from inference.frames import VideoFrame
from api.contract.wire import CameraState, CameraStatusEvent
from api.contract.redact import redact_text, redact_url
from streams.sources.sampler import FrameSampler
from streams.sources.stats import SourceStats
from streams.sources.status import HEARTBEAT_S, StatusTracker

log = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
# A connection must have been delivering frames this long before a drop starts the
# backoff from scratch; otherwise a camera that accepts and drops at once is hammered.
STABLE_AFTER_S = 5.0
# Consecutive undecodable packets, with no frame decoded since open, before the
# stream counts as corrupt; a few bad packets before the first keyframe are normal.
MAX_DECODE_ERRORS = 50
# Skip non-reference frames only when the analysis interval is at least this many
# frames long: the sampled frame then lands at most ~1 frame late.
NONREF_SKIP_MIN_FRAMES = 3.0
# The corrupt share is judged once the window holds at least this many decoded frames.
MIN_FRAMES_FOR_RATIO = 20
# Demuxer-flagged packets whose frame has not come out of the decoder yet (bounded).
MAX_PENDING_CORRUPT = 64


@dataclass(frozen=True)
class SourceOptions:
    # The worker config's camera source section (streams.config) reads its defaults from here.
    open_timeout_s: float = 10.0  # av.open + stream probing
    read_timeout_s: float = 10.0  # longest silence between packets before reconnecting
    backoff_initial_s: float = 1.0  # first reconnect delay
    backoff_max_s: float = 30.0
    backoff_multiplier: float = MULTIPLIER
    jitter_fraction: float = JITTER_FRACTION
    offline_after_failures: int = 3  # consecutive failures before OFFLINE (retries continue)
    drop_policy: DropPolicy | None = None  # None: LATEST for live streams, BLOCK for files
    realtime: bool | None = None  # pace at the pts rate; None: no (live sources pace themselves)
    loop: bool = False  # files only: start over at the end
    buffer_size: int | None = None  # None: 1 for LATEST, 4 for BLOCK
    skip_nonref: bool = True  # skip non-reference frames when sampling never needs them
    decode_threads: int | None = None  # decoder threads; None: ffmpeg's choice (files: frame threads)
    hwaccel: str | None = "auto"  # "auto"/"cuda": NVDEC when a CUDA GPU is present, else software (logged); None: software
    max_corrupt_ratio: float = 0.05  # degraded above this share of corrupt frames ...
    corrupt_window_s: float = 60.0  # ... among those decoded in this many seconds
    heartbeat_s: float = HEARTBEAT_S  # re-send the status with the newest frame's time at most this often


class CameraSource:
    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        analysis_fps: float | None = None,
        options: SourceOptions = SourceOptions(),
        on_status: Callable[[CameraStatusEvent], None] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.__url = str(url)  # private: only display_url may leave this object
        self.display_url = redact_url(url)
        self.is_live = self.__url.lower().startswith(LIVE_SCHEMES)
        self.options = options
        self._clock = clock or SystemClock()
        self._status = StatusTracker(camera_id, self.display_url, on_status, self._clock,
                                     lambda text: redact_text(text, [self.__url]),
                                     details=self._status_details, heartbeat_s=options.heartbeat_s)
        self._backoff = Backoff(options.backoff_initial_s, options.backoff_max_s,
                                options.backoff_multiplier, options.jitter_fraction, rng)
        policy = options.drop_policy or (DropPolicy.LATEST if self.is_live else DropPolicy.BLOCK)
        size = options.buffer_size or (1 if policy is DropPolicy.LATEST else 4)
        self._buffer: FrameBuffer[VideoFrame] = FrameBuffer(policy, size)
        self._sampler = FrameSampler(analysis_fps)
        self._realtime = bool(options.realtime)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0  # consecutive failed attempts
        self._online_since: float | None = None  # monotonic; current connection's first frame
        self._next_frame_id = 0
        self._stats = SourceStats(options.corrupt_window_s)
        self._degraded_reason: str | None = None  # damaged stream (corrupt share above the limit)
        self._damage_checked = 0.0  # monotonic time of the last check
        self._packets = 0  # video packets fed to the decoder (one frame each)
        self.hwaccel_in_use: str | None = None  # "cuda" once a hardware decoder opened
        # Optional metrics hook: seconds spent decoding one packet (set by the worker).
        self.observe_decode: Callable[[float], None] | None = None

    def __repr__(self) -> str:
        return f"<CameraSource {self.camera_id!r} {self.display_url!r} state={self.state}>"

    # -- consumer API ----------------------------------------------------------------
    @property
    def policy(self) -> DropPolicy:
        return self._buffer.policy

    @property
    def state(self) -> str | None:
        state = self._status.state
        return state.value if state else None

    @property
    def ended(self) -> bool:
        """True once the source will deliver nothing more (end of file, error, stop)."""
        return self._buffer.exhausted

    def start(self) -> CameraSource:
        if self._thread is not None:
            raise RuntimeError(f"source {self.camera_id!r} already started")
        self._thread = threading.Thread(target=self._run, name=f"source-{self.camera_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        """The next sampled frame, or None on timeout / end of stream (see ``ended``)."""
        return self._buffer.get(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop and join the reader; True if it exited within ``timeout``.

        A reader blocked inside ffmpeg returns within the open/read timeout (PyAV's
        interrupt callback), so that bounds the default wait."""
        self._stop.set()
        self._status.stopping()
        self._buffer.close(discard=True)
        if timeout is None:
            timeout = max(self.options.open_timeout_s, self.options.read_timeout_s) + 1.0
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)  # (an on_status callback may call stop() itself)
        alive = (self._thread is not None and self._thread.is_alive()
                 and self._thread is not threading.current_thread())
        if alive:
            log.warning("camera %s: reader still blocked in ffmpeg after %.1f s; it will exit "
                        "when its timeout fires", self.camera_id, timeout)
        self._status.set(CameraState.STOPPED, "stopped by request", attempt=self._failures)
        return not alive

    @property
    def frames_skipped(self) -> int:
        """Frames the decoder skipped (non-reference, never needed by sampling): packets in
        minus frames out (a frame-threaded decoder holds a few back until the stream ends)."""
        out = self._stats.snapshot()
        return max(0, self._packets - out.get("frames_decoded", 0) - out.get("decode_errors", 0))

    def set_analysis_fps(self, fps: float) -> None:
        """Sample at a new rate from the next frame on (used to shed load)."""
        self._sampler.set_fps(fps)

    @property
    def reason(self) -> str | None:
        """Why the camera is in its current state (error/offline), already redacted."""
        return self._status.reason

    @property
    def degraded_reason(self) -> str | None:
        """Why the camera's video is damaged (corrupt frames above ``max_corrupt_ratio``), or None."""
        return self._degraded_reason

    def _status_details(self) -> dict:
        out = self._stats.snapshot()
        return {k: out[k] for k in ("frames_decoded", "decode_errors", "corrupt_frames")}

    def stats(self) -> dict:
        out = self._stats.snapshot()
        corrupt, decoded = self._stats.corrupt_counts(time.monotonic())
        out.update(frames_delivered=self._buffer.delivered, frames_dropped=self._buffer.dropped,
                   frames_skipped=self.frames_skipped,
                   corrupt_ratio=round(corrupt / decoded, 4) if decoded else 0.0,
                   degraded=self._degraded_reason,
                   hwaccel=self.hwaccel_in_use,
                   queue_depth=len(self._buffer), queue_capacity=self._buffer.capacity,
                   state=self.state, policy=self._buffer.policy.value)
        return out

    # -- reader thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._status.set(CameraState.CONNECTING)
            self._attempts()
        except Exception as exc:  # a bug here must surface as a status, not a dead thread
            reason = redact_text(f"internal error: {exc!r}", [self.__url])
            log.error("camera %s: %s", self.camera_id, reason)
            self._status.set(CameraState.ERROR, reason, final=True)
        finally:
            self._buffer.close()

    def _attempts(self) -> None:
        epoch = self._clock.now()  # files: captured_at = epoch + pts
        while not self._stop.is_set():
            outcome, epoch = self._open_and_pump(epoch)
            if self._stop.is_set():
                return
            if not self.is_live:
                if outcome is None and self.options.loop:
                    continue
                self._check_damage(time.monotonic(), force=True)
                if outcome is None:
                    damaged = f"; {self._degraded_reason}" if self._degraded_reason else ""
                    self._status.set(CameraState.STOPPED, f"end of file{damaged}")
                else:
                    # Final: the pipeline's stop() afterwards must not turn it into "stopped by request".
                    self._status.set(CameraState.ERROR, outcome.reason, final=True)
                return
            self._failed(outcome or STREAM_ENDED)

    def _failed(self, failure: Failure) -> None:
        """Count a live-source failure, report it, and wait out the backoff."""
        self._failures += 1
        if self._online_since is not None and time.monotonic() - self._online_since >= STABLE_AFTER_S:
            self._backoff.reset()
        self._online_since = None
        delay = self._backoff.next_delay()
        self._stats.reconnect()
        # Every attempt is reported (the status carries the current attempt and next retry);
        # the tracker logs repeats at a bounded rate.
        report = dict(attempt=self._failures, retry_in_s=delay, force=True)
        if failure.data_error:
            self._status.set(CameraState.ERROR, failure.reason, **report)
        elif self._failures >= self.options.offline_after_failures:
            self._status.set(CameraState.OFFLINE, failure.reason, **report)
        else:
            self._status.set(CameraState.RECONNECTING, failure.reason, **report)
        self._stop.wait(delay)

    def _open_options(self) -> dict[str, str]:
        if not self.is_live:
            return {}
        # Socket-level timeout (microseconds) as a backstop to PyAV's interrupt callback.
        sock_us = str(int(max(self.options.open_timeout_s, self.options.read_timeout_s) * 1e6))
        if self.__url.lower().startswith(("rtsp://", "rtsps://")):
            # TCP: UDP through NAT/4G loses packets and smears frames; 1 s of probing
            # instead of 5 s gets the first frame out sooner.
            return {"rtsp_transport": "tcp", "timeout": sock_us, "analyzeduration": "1000000"}
        return {"timeout": sock_us}

    def _open_and_pump(self, epoch: float) -> tuple[Failure | None, float]:
        """One connection: (None, epoch) at a clean end of file/stop, else (Failure, epoch)."""
        opts = self.options
        started = time.monotonic()
        hwaccel = self._hwaccel()
        try:
            try:
                container = av.open(self.__url, options=self._open_options(),
                                    timeout=(opts.open_timeout_s, opts.read_timeout_s), **hwaccel)
            except Exception as exc:
                if not hwaccel:
                    raise
                log.warning("camera %s: hardware decoding (%s) failed to open (%s); decoding in software",
                            self.camera_id, opts.hwaccel, redact_text(repr(exc), [self.__url]))
                self._hwaccel_refused = True
                self.hwaccel_in_use = None
                container = av.open(self.__url, options=self._open_options(),
                                    timeout=(opts.open_timeout_s, opts.read_timeout_s))
        except Exception as exc:
            return describe_failure(exc, phase="open", elapsed_s=time.monotonic() - started,
                                    timeout_s=opts.open_timeout_s, url=self.__url), epoch
        try:
            return self._pump(container, epoch)
        finally:
            try:
                container.close()
            except Exception:
                pass

    def _pump(self, container, epoch: float) -> tuple[Failure | None, float]:
        if not container.streams.video:
            return Failure("no video stream in source", data_error=True), epoch
        stream = container.streams.video[0]
        if self.options.decode_threads is not None:
            stream.codec_context.thread_count = self.options.decode_threads
        if not self.is_live:
            # Frame threading adds a frame of latency per thread: fine for files only.
            stream.thread_type = "AUTO"
        self._sampler.reset()
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        skipping = None
        first_frame, bad_packets, ts, captured_at = True, 0, 0.0, epoch
        # Damage: pts of demuxer-flagged packets not decoded yet; and whether the frames coming
        # out are predicted from a corrupt one (until the next key frame).
        corrupt_pts: set[int] = set()
        damaged = False
        demuxed, last_packet_corrupt, last_frame_flagged = 0, False, False
        pace_anchor = None
        t0 = last_packet = time.monotonic()
        try:
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return None, epoch
                if skipping is not (want := self._skip_nonref(rate)):  # the sampling rate may change (shedding)
                    skipping = want
                    stream.codec_context.skip_frame = "NONREF" if want else "DEFAULT"
                decode_started = time.perf_counter()
                if packet.size:
                    self._packets += 1
                    demuxed += 1
                    last_packet_corrupt = packet.is_corrupt  # e.g. cut short by the end of a truncated file
                    if last_packet_corrupt:
                        if packet.pts is None:
                            damaged = True
                        else:
                            corrupt_pts.add(packet.pts)
                            if len(corrupt_pts) > MAX_PENDING_CORRUPT:  # never came out: undecodable
                                corrupt_pts.discard(min(corrupt_pts))
                                self._stats.decode_error()
                try:
                    frames = packet.decode()
                    if self.observe_decode is not None:
                        self.observe_decode(time.perf_counter() - decode_started)
                except (av.error.InvalidDataError, av.error.PatchWelcomeError) as exc:
                    bad_packets += 1
                    self._stats.decode_error()
                    if packet.pts is not None:
                        corrupt_pts.discard(packet.pts)  # counted here, not again below
                    # The frames after it are predicted from a reference that never came.
                    damaged = damaged or not first_frame
                    if first_frame and bad_packets >= MAX_DECODE_ERRORS:
                        return describe_failure(exc, phase="decode", elapsed_s=0, timeout_s=0,
                                                url=self.__url), epoch
                    continue
                for frame in frames:
                    if first_frame:
                        first_frame = False
                        self._went_online()
                    corrupt = frame.is_corrupt
                    if corrupt_pts and frame.pts in corrupt_pts:
                        corrupt_pts.discard(frame.pts)
                        corrupt = True
                    last_frame_flagged = corrupt
                    if corrupt:
                        damaged = True
                    elif damaged and frame.key_frame:
                        damaged = False
                    if damaged:
                        self._corrupt_frame()
                        continue
                    # No pts (some http/mjpeg streams): fall back to arrival time.
                    ts = frame.time if frame.time is not None else time.monotonic() - t0
                    if self._realtime:
                        if pace_anchor is None:
                            pace_anchor = time.monotonic() - ts
                        if self._stop.wait(max(0.0, pace_anchor + ts - time.monotonic())):
                            return None, epoch
                    captured_at = self._clock.now() if self.is_live else epoch + ts
                    if not self._deliver(frame, ts, captured_at):
                        return None, epoch
                last_packet = time.monotonic()
        except Exception as exc:
            return describe_failure(exc, phase="read", elapsed_s=time.monotonic() - last_packet,
                                    timeout_s=self.options.read_timeout_s, url=self.__url), epoch
        if corrupt_pts:  # flagged packets that produced no frame at all
            self._stats.decode_error(len(corrupt_pts))
        if first_frame and not self.is_live:
            return Failure("no decodable video frames in file", data_error=True), epoch
        if not self.is_live:
            declared = int(stream.frames or 0)  # from the container's index (mp4); 0: unknown
            if declared and demuxed < declared:
                return Failure(f"file truncated: its index lists {declared} frames, its data ends in frame {demuxed}",
                               data_error=True), epoch
            if last_packet_corrupt or last_frame_flagged:
                return Failure(f"file truncated or damaged at its end: its last frame is cut short "
                               f"({demuxed} frames)", data_error=True), epoch
        # Next loop of a file continues the clock one frame after this one's last frame.
        return (None if not self.is_live else STREAM_ENDED), captured_at + 1.0 / rate

    def _skip_nonref(self, rate: float) -> bool:
        """Whether sampling leaves room to skip non-reference frames at this frame rate."""
        period = self._sampler.period
        return bool(self.options.skip_nonref and period and period * rate >= NONREF_SKIP_MIN_FRAMES)

    _hwaccel_refused = False  # set once a hardware open failed: software from then on

    def _hwaccel(self) -> dict:
        """``{"hwaccel": HWAccel}`` for av.open when hardware decoding is asked for and
        present; otherwise {} (with the reason logged once)."""
        wanted = self.options.hwaccel
        if not wanted or self._hwaccel_refused:
            return {}
        device_type = "cuda" if wanted == "auto" else wanted
        why = _hwaccel_missing(device_type)
        if why:
            if not self._hwaccel_logged:
                self._hwaccel_logged = True
                log.info("camera %s: hardware decoding (%s) not used: %s; decoding in software",
                         self.camera_id, device_type, why)
            return {}
        from av.codec.hwaccel import HWAccel

        self.hwaccel_in_use = device_type
        return {"hwaccel": HWAccel(device_type=device_type, allow_software_fallback=True)}

    _hwaccel_logged = False

    def _went_online(self) -> None:
        self._failures = 0
        self._online_since = time.monotonic()
        self._status.set(CameraState.ONLINE, self._degraded_reason)

    def _corrupt_frame(self) -> None:
        """Count a damaged frame, which is not analysed (its number is used up all the same)."""
        self._next_frame_id += 1
        now = time.monotonic()
        self._stats.decoded(now, corrupt=True)
        self._status.frame(self._clock.now())
        self._check_damage(now)

    def _check_damage(self, now_mono: float, force: bool = False) -> None:
        """Degrade (or recover) the camera on its recent share of corrupt frames (at most once a second)."""
        if not force and now_mono - self._damage_checked < 1.0:
            return
        self._damage_checked = now_mono
        corrupt, decoded = self._stats.corrupt_counts(now_mono)
        limit = self.options.max_corrupt_ratio
        ratio = corrupt / decoded if decoded else 0.0
        if self._degraded_reason is None:
            if decoded < MIN_FRAMES_FOR_RATIO or ratio <= limit:
                return
            self._degraded_reason = (
                f"damaged video: {corrupt} of {decoded} frames corrupt in the last "
                f"{self._stats.corrupt_window_s:g} s ({ratio:.1%}, limit {limit:.1%}); corrupt frames are not analysed")
            if self._status.state is CameraState.ONLINE:
                self._status.set(CameraState.ONLINE, self._degraded_reason)
            else:
                log.warning("camera %s: %s", self.camera_id, self._degraded_reason)
        elif ratio <= limit / 2:  # hysteresis: a ratio hovering at the limit does not flap
            log.info("camera %s: video clean again (%d of %d frames corrupt in the last %g s)",
                     self.camera_id, corrupt, decoded, self._stats.corrupt_window_s)
            self._degraded_reason = None
            if self._status.state is CameraState.ONLINE:
                self._status.set(CameraState.ONLINE)

    def _deliver(self, frame, ts: float, captured_at: float) -> bool:
        """Count a decoded frame; sample, convert and hand it off. False if stopping."""
        frame_id = self._next_frame_id
        self._next_frame_id += 1
        now = time.monotonic()
        self._stats.decoded(now)
        self._status.frame(self._clock.now())
        self._check_damage(now)
        if not self._sampler.should_sample(ts):
            return True
        # Only sampled frames pay for the YUV->BGR conversion.
        item = VideoFrame(frame.to_ndarray(format="bgr24"), frame_id, captured_at,
                          self.camera_id)
        self._stats.sampled(captured_at)
        return self._buffer.put(item)  # False only once closed, i.e. stopping


def damaged_video(pipelines) -> str | None:
    """One line for ``/health``'s ``degraded``: each camera whose video is damaged, and how badly."""
    lines = [f"{p.camera_id}: {why}" for p in pipelines
             if (why := getattr(p.source, "degraded_reason", None))]
    return " | ".join(lines) if lines else None


@functools.lru_cache(maxsize=None)
def _hwaccel_missing(device_type: str) -> str | None:
    """Why ``device_type`` hardware decoding cannot run here, or None if it can (asked once per process)."""
    try:
        from av.codec.hwaccel import hwdevices_available
    except ImportError:
        return f"PyAV {av.__version__} has no hardware decoding support"
    if device_type not in hwdevices_available():
        return f"this FFmpeg build has no {device_type} device support"
    if device_type == "cuda":
        torch = sys.modules.get("torch")  # only if already loaded: a bare source must not pay for importing it
        if torch is not None:
            if not torch.cuda.is_available():
                return "no CUDA GPU is visible"
        elif not os.path.exists("/dev/nvidia0"):
            return "no NVIDIA GPU device (/dev/nvidia0)"
    return None
