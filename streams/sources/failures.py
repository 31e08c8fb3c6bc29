"""Turn PyAV/ffmpeg exceptions into short, operator-readable, redacted reasons.

ffmpeg's messages are not enough on their own: a silent RTSP server that trips
the open timeout surfaces as "Invalid data found when processing input", and
every PyAV error's str() carries the full URL, password included.
"""

from __future__ import annotations

from dataclasses import dataclass

import av

from api.contract.redact import redact_text


@dataclass(frozen=True)
class Failure:
    reason: str  # already redacted
    # True when the source answered but its data cannot be demuxed/decoded: the state
    # is ERROR (fix the camera's encoder settings) rather than RECONNECTING/OFFLINE.
    data_error: bool = False


STREAM_ENDED = Failure("stream ended (server closed the connection)")

# Below this fraction of the timeout an error is the server's answer, not our timer.
_TIMEOUT_SLACK = 0.9


def _strerror(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


def describe_failure(
    exc: BaseException, *, phase: str, elapsed_s: float, timeout_s: float, url: str
) -> Failure:
    """``phase``: "open" (av.open + probing), "read" (waiting for a packet) or "decode"."""
    return Failure(redact_text(_reason(exc, phase, elapsed_s, timeout_s), [url]),
                   data_error=_is_data_error(exc, elapsed_s, timeout_s))


def _timed_out(exc: BaseException, elapsed_s: float, timeout_s: float) -> bool:
    if isinstance(exc, (av.error.ExitError, TimeoutError)):
        return True  # ExitError: PyAV's interrupt callback fired
    # Other errors count as timeouts when they came when our timer was due: ffmpeg's
    # demuxers often map an interrupted read to a generic "invalid data"/EIO.
    return timeout_s > 0 and elapsed_s >= timeout_s * _TIMEOUT_SLACK


def _is_data_error(exc: BaseException, elapsed_s: float, timeout_s: float) -> bool:
    if _timed_out(exc, elapsed_s, timeout_s):
        return False
    return isinstance(exc, (av.error.InvalidDataError, av.error.DecoderNotFoundError,
                            av.error.DemuxerNotFoundError, av.error.PatchWelcomeError))


def _reason(exc: BaseException, phase: str, elapsed_s: float, timeout_s: float) -> str:
    if _timed_out(exc, elapsed_s, timeout_s):
        if phase == "open":
            return f"timed out after {timeout_s:.1f} s opening stream"
        return f"no data for {timeout_s:.1f} s (read timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, av.error.HTTPError) or isinstance(exc, av.error.HTTPClientError):
        # "Server returned 404 Not Found" -> "404 Not Found"
        return _strerror(exc).removeprefix("Server returned ").strip()
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, EOFError):
        return "stream ended before any video arrived" if phase == "open" else STREAM_ENDED.reason
    if isinstance(exc, av.error.InvalidDataError):
        return f"invalid data: cannot {phase} stream ({_strerror(exc)})"
    if isinstance(exc, av.error.ProtocolNotFoundError):
        return "unsupported protocol"
    if isinstance(exc, OSError):
        return _strerror(exc)
    return f"{type(exc).__name__}: {_strerror(exc)}"
