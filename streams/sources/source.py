"""One camera (RTSP/HTTP stream or local file) decoded by PyAV in its own thread.

The reader thread opens the URL, decodes the frames (``frame_id`` counts every
decoded one), converts only the sampled ones to numpy, and hands them to the
consumer through a :class:`FrameBuffer` with a named :class:`DropPolicy`.

Decoding is the cost that remains per camera, so it does no more than sampling
needs: when the analysis interval is at least the stream's GOP (``decode``
"auto", the default, or always with "keyframes") only key frames are decoded
(:mod:`streams.sources.keyframes`); otherwise, when the interval spans at least
``keyframes.NONREF_SKIP_MIN_FRAMES`` frames, the decoder skips non-reference frames
(x264's non-reference B-frames, which nothing else is predicted from). Either
way the sampler takes the next decoded frame. ``decode_threads`` sets the
decoder's thread count (1 per camera is best when many cameras share few
cores). ``hwaccel="cuda"`` (or ``"auto"``) decodes on NVDEC when a CUDA device
is really there, and otherwise falls back to software with a log line
(:mod:`streams.sources.opener`).

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
online camera's status carries it as its reason (:mod:`streams.sources.damage`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av

from inference.clock import Clock, SystemClock
from streams.backoff import JITTER_FRACTION, MULTIPLIER, Backoff
from streams.sources.buffer import DropPolicy, FrameBuffer
from streams.sources.connection import Connection
from streams.sources.damage import DamageWatch
from streams.sources.keyframes import DECODE_MODES, decode_stats
from streams.sources.failures import STREAM_ENDED, Failure, describe_failure
from inference.frames import VideoFrame
from api.contract.wire import CameraState, CameraStatusEvent
from api.contract.redact import redact_text, redact_url
from streams.sources.opener import ContainerOpener
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
# What one packet did (besides a Failure): frames came out, the decoder refused it, or stopping.
_DECODED, _UNDECODABLE, _STOPPING = "decoded", "undecodable", "stopping"


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
    decode: str = "auto"  # "auto": key frames only when the analysis interval >= the GOP; "all"; "keyframes"
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
        if options.decode not in DECODE_MODES:
            raise ValueError(f"decode must be one of {DECODE_MODES}, not {options.decode!r}")
        self._sampler = FrameSampler(analysis_fps)
        self._conn: Connection | None = None  # the open connection (its decode mode and GOP go in stats)
        self._realtime = bool(options.realtime)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0  # consecutive failed attempts
        self._online_since: float | None = None  # monotonic; current connection's first frame
        self._next_frame_id = 0
        self._stats = SourceStats(options.corrupt_window_s)
        self._damage = DamageWatch(camera_id, self._stats, self._status, options.max_corrupt_ratio)
        self._packets = 0  # video packets fed to the decoder (one frame each)
        self._opener = ContainerOpener(camera_id, self.__url, options, is_live=self.is_live)
        # Optional metrics hook: seconds spent decoding one packet (set by the worker).
        self.observe_decode: Callable[[float], None] | None = None

    def __repr__(self) -> str:
        return f"<CameraSource {self.camera_id!r} {self.display_url!r} state={self.state}>"

    # -- consumer API ----------------------------------------------------------------
    @property
    def hwaccel_in_use(self) -> str | None:
        """"cuda" once a hardware decoder opened, else None (software)."""
        return self._opener.hwaccel_in_use

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
        """Frames the decoder skipped (non-reference or non-key, never needed by sampling): packets in
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
        return self._damage.reason

    def _status_details(self) -> dict:
        out = self._stats.snapshot()
        return {k: out[k] for k in ("frames_decoded", "decode_errors", "corrupt_frames")}

    def stats(self) -> dict:
        out = self._stats.snapshot()
        corrupt, decoded = self._stats.corrupt_counts(time.monotonic())
        out.update(frames_delivered=self._buffer.delivered, frames_dropped=self._buffer.dropped,
                   frames_skipped=self.frames_skipped,
                   corrupt_ratio=round(corrupt / decoded, 4) if decoded else 0.0,
                   degraded=self._damage.reason,
                   hwaccel=self.hwaccel_in_use, **decode_stats(self._conn),
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
                self._damage.check(time.monotonic(), force=True)
                if outcome is None:
                    damaged = f"; {self._damage.reason}" if self._damage.reason else ""
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

    def _open_and_pump(self, epoch: float) -> tuple[Failure | None, float]:
        """One connection: (None, epoch) at a clean end of file/stop, else (Failure, epoch)."""
        started = time.monotonic()
        try:
            container = self._opener.open()
        except Exception as exc:
            return describe_failure(exc, phase="open", elapsed_s=time.monotonic() - started,
                                    timeout_s=self.options.open_timeout_s, url=self.__url), epoch
        try:
            return self._pump(container, epoch)
        finally:
            try:
                container.close()
            except Exception:
                pass

    def _pump(self, container, epoch: float) -> tuple[Failure | None, float]:
        """Demux and decode one open container until it ends, fails or the source stops."""
        if not container.streams.video:
            return Failure("no video stream in source", data_error=True), epoch
        stream = container.streams.video[0]
        if self.options.decode_threads is not None:
            stream.codec_context.thread_count = self.options.decode_threads
        if not self.is_live:
            # Frame threading adds a frame of latency per thread: fine for files only.
            stream.thread_type = "AUTO"
        self._sampler.reset()
        conn = self._conn = Connection(stream, epoch, self._stats, is_live=self.is_live, camera_id=self.camera_id)
        opts = self.options
        try:
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return None, epoch
                conn.before_decode(packet, opts.decode, self._sampler.period, opts.skip_nonref)
                outcome = self._packet(packet, conn)
                if outcome is _STOPPING:
                    return None, epoch
                if isinstance(outcome, Failure):
                    return outcome, epoch
                if outcome is _DECODED:
                    conn.last_packet = time.monotonic()
        except Exception as exc:
            return describe_failure(exc, phase="read", elapsed_s=time.monotonic() - conn.last_packet,
                                    timeout_s=self.options.read_timeout_s, url=self.__url), epoch
        return conn.ended()

    def _packet(self, packet, conn: Connection) -> str | Failure:
        """Decode one packet and hand on its frames: _DECODED, _UNDECODABLE, _STOPPING or a Failure."""
        decode_started = time.perf_counter()
        if packet.size:
            self._packets += 1
            conn.damage.packet(packet)
        try:
            frames = packet.decode()
            if self.observe_decode is not None:
                self.observe_decode(time.perf_counter() - decode_started)
        except (av.error.InvalidDataError, av.error.PatchWelcomeError) as exc:
            conn.bad_packets += 1
            self._stats.decode_error()
            conn.damage.undecodable(packet, before_first_frame=conn.first_frame)
            if conn.first_frame and conn.bad_packets >= MAX_DECODE_ERRORS:
                return describe_failure(exc, phase="decode", elapsed_s=0, timeout_s=0, url=self.__url)
            return _UNDECODABLE
        for frame in frames:
            if not self._frame(frame, conn):
                return _STOPPING
        return _DECODED

    def _frame(self, frame, conn: Connection) -> bool:
        """One decoded frame: a damaged one is counted and skipped, the others paced and
        delivered. False if stopping."""
        if conn.first_frame:
            conn.first_frame = False
            self._went_online()
        if conn.damage.damaged(frame):
            self._corrupt_frame()
            return True
        ts = conn.frame_time(frame)
        if self._realtime and not conn.pace(ts, self._stop):
            return False
        conn.captured_at = self._clock.now() if self.is_live else conn.epoch + ts
        return self._deliver(frame, ts, conn.captured_at)

    def _went_online(self) -> None:
        self._failures = 0
        self._online_since = time.monotonic()
        self._status.set(CameraState.ONLINE, self._damage.reason)

    def _corrupt_frame(self) -> None:
        """Count a damaged frame, which is not analysed (its number is used up all the same)."""
        self._next_frame_id += 1
        now = time.monotonic()
        self._stats.decoded(now, corrupt=True)
        self._status.frame(self._clock.now())
        self._damage.check(now)

    def _deliver(self, frame, ts: float, captured_at: float) -> bool:
        """Count a decoded frame; sample, convert and hand it off. False if stopping."""
        frame_id = self._next_frame_id
        self._next_frame_id += 1
        now = time.monotonic()
        self._stats.decoded(now)
        self._status.frame(self._clock.now())
        self._damage.check(now)
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
