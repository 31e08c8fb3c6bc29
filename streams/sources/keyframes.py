"""What the decoder may discard: every frame is decoded, non-reference frames are
skipped, or only key frames are decoded (key-frame mode).

A camera analysed slower than its stream's GOP (one key frame every ``gop_s``
seconds of pts) never needs the frames between key frames: with ``decode="auto"``
(the default) or ``"keyframes"`` the decoder is told to discard them
(``AVCodecContext.skip_frame = AVDISCARD_NONKEY``; PyAV: ``skip_frame = "NONKEY"``),
so a 1080p camera decodes a key frame every GOP instead of 25 frames a second.
What comes out is exactly the key frames, at their own pts (pinned by
tests/unit/test_source_keyframes.py), so the sampler and the frame clock work as
before; the sampled frame is the first key frame at or after its due time, so
sampled frames land up to a GOP late but the rate stays the analysis rate.

The GOP is measured from the stream itself: the demuxer's key flag on each packet
(``Packet.is_keyframe``), whether or not the frame is decoded, so it is known in
key-frame mode too. A mode change that involves key-frame mode waits for a key
packet: resuming full decoding mid-GOP would decode frames whose references were
discarded.
"""

from __future__ import annotations

from collections import deque

DECODE_MODES = ("auto", "all", "keyframes")
#: Skip non-reference frames only when the analysis interval is at least this many
#: frames long: the sampled frame then lands at most ~1 frame late.
NONREF_SKIP_MIN_FRAMES = 3.0
#: Key-frame spacings the GOP is judged on (the largest counts: an extra key frame at a
#: scene cut shortens one spacing, never the GOP the encoder was set to).
GOP_SPACINGS = 8
#: Spacings measured before auto trusts the GOP (one could be a scene cut).
GOP_MIN_SPACINGS = 2
# Timestamps come from rational pts; an interval equal to the GOP counts as covering it.
_TOLERANCE_S = 1e-3

# AVCodecContext.skip_frame values (PyAV's names) and what each mode is called in stats.
DECODE_ALL, DECODE_NONREF, DECODE_KEYFRAMES = "DEFAULT", "NONREF", "NONKEY"
MODE_NAMES = {DECODE_ALL: "all", DECODE_NONREF: "nonref", DECODE_KEYFRAMES: "keyframes"}


class GopMeter:
    """The stream's key-frame spacing in seconds of pts, from the demuxed packets."""

    def __init__(self) -> None:
        self._last_key: float | None = None
        self._spacings: deque[float] = deque(maxlen=GOP_SPACINGS)

    def packet(self, packet) -> bool:
        """Note one demuxed packet; True if it is a key packet."""
        if not packet.is_keyframe:
            return False
        if packet.pts is not None and packet.time_base is not None:
            at = float(packet.pts * packet.time_base)
            if self._last_key is not None and at > self._last_key:
                self._spacings.append(at - self._last_key)
            elif self._last_key is not None:
                self._spacings.clear()  # pts went backwards: a file loop or a new stream
            self._last_key = at
        return True

    @property
    def gop_s(self) -> float | None:
        """Seconds between key frames (the largest recent spacing), None until measured."""
        if len(self._spacings) < GOP_MIN_SPACINGS:
            return None
        return max(self._spacings)


def choose_discard(mode: str, interval_s: float, gop_s: float | None, rate: float, skip_nonref: bool) -> str:
    """The decoder's ``skip_frame`` for this sampling interval (0: every frame) and GOP."""
    if mode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {', '.join(DECODE_MODES)}, not {mode!r}")
    if mode == "keyframes":
        return DECODE_KEYFRAMES
    if mode == "auto" and interval_s and gop_s and interval_s + _TOLERANCE_S >= gop_s:
        return DECODE_KEYFRAMES
    if skip_nonref and interval_s and interval_s * rate >= NONREF_SKIP_MIN_FRAMES:
        return DECODE_NONREF
    return DECODE_ALL


class DiscardSwitch:
    """Sets the codec context's ``skip_frame``, entering or leaving key-frame mode only at a key packet."""

    def __init__(self, codec_context) -> None:
        self._ctx = codec_context
        self.current: str | None = None

    def want(self, discard: str, key_packet: bool) -> None:
        if discard == self.current:
            return
        involves_keyframes = DECODE_KEYFRAMES in (discard, self.current)
        if self.current is not None and involves_keyframes and not key_packet:
            return  # mid-GOP: wait for the next key frame
        self.current = discard
        self._ctx.skip_frame = discard

    @property
    def mode(self) -> str | None:
        """"all", "nonref" or "keyframes"; None before the first packet."""
        return MODE_NAMES.get(self.current) if self.current else None


def decode_stats(conn) -> dict:
    """For a source's stats: what the decoder discards now ("all", "nonref", "keyframes";
    None before a connection) and the measured GOP in seconds (None until measured)."""
    if conn is None:
        return {"decode": None, "gop_s": None}
    gop = conn.gop.gop_s
    return {"decode": conn.discard.mode, "gop_s": round(gop, 3) if gop is not None else None}
