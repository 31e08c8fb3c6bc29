"""Key-frame mode (streams.sources.keyframes): FFmpeg's AVDISCARD_NONKEY as PyAV sets it
(``skip_frame = "NONKEY"``) decodes exactly the key frames, at their own pts; the source
measures the GOP from the stream and, with ``decode="auto"``, decodes key frames only while
the analysis interval is at least the GOP, with the sampler, the frame clock (captured_at =
epoch + pts) and the analysis-rate check still right. Clips are rendered at a known GOP."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from streams.analysis_health import AnalysisWatch
from streams.sources.keyframes import DiscardSwitch, GopMeter, choose_discard
from streams.sources.sampler import FrameSampler
from streams.sources.source import CameraSource, SourceOptions

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

FPS = 25
DURATION_S = 20


def render(path, gop_frames: int, duration_s: int = DURATION_S, scenecut: bool = False):
    """H.264 at 25 fps with x264's default B-frames and a key frame exactly every ``gop_frames``
    (``scenecut``: x264 may add key frames at scene changes as well)."""
    cut = [] if scenecut else ["-keyint_min", str(gop_frames), "-sc_threshold", "0"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc2=size=160x120:rate={FPS}:duration={duration_s}", "-c:v", "libx264",
                    "-preset", "veryfast", "-g", str(gop_frames), *cut, "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


def key_times(path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(float(p.pts * p.time_base) for p in container.demux(stream) if p.is_keyframe and p.size)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    base = tmp_path_factory.mktemp("gop")
    return {gop_s: render(base / f"gop{gop_s}.mp4", int(gop_s * FPS)) for gop_s in (1, 2)}


def run(path, fps, **options):
    src = CameraSource("cam", str(path), analysis_fps=fps, options=SourceOptions(**options)).start()
    frames = []
    while (frame := src.read(timeout=10)) is not None:
        frames.append(frame)
    src.stop()
    return src, frames


@pytest.mark.parametrize("threads", ["SLICE", "AUTO"])
def test_nonkey_decodes_exactly_the_key_frames_at_their_own_pts(clips, threads):
    path = clips[2]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = threads  # the source frame-threads files: the set must not change
        stream.codec_context.skip_frame = "NONKEY"
        packets, out = [], []
        for packet in container.demux(stream):
            if packet.size:
                packets.append(packet)
            out.extend(packet.decode())
    assert len(packets) == DURATION_S * FPS
    keys = sorted(p.pts for p in packets if p.is_keyframe)
    assert len(keys) == DURATION_S // 2
    assert [f.pts for f in out] == keys  # the key frames, in order, and nothing else
    assert all(f.key_frame and f.pict_type == PictureType.I for f in out)
    assert [float(f.time) for f in out] == [2.0 * i for i in range(DURATION_S // 2)]


SWEEP = [(gop, fps) for gop in (1, 2) for fps in (0.2, 0.25, 0.5, 1.0)]


@pytest.mark.parametrize("gop_s, fps", SWEEP)
def test_auto_decodes_key_frames_only_when_the_interval_covers_the_gop(clips, gop_s, fps):
    path = clips[gop_s]
    keys = key_times(path)
    src, frames = run(path, fps, decode="auto", skip_nonref=False, decode_threads=1)
    stats = src.stats()
    offsets = [round(f.captured_at - frames[0].captured_at, 6) for f in frames]
    assert stats["gop_s"] == gop_s
    gop_frames = gop_s * FPS
    if 1 / fps >= gop_s:
        assert stats["decode"] == "keyframes"
        # Every frame of the two GOPs that measure it, then the key frames only.
        assert stats["frames_decoded"] == 2 * gop_frames + len(keys) - 2
        assert stats["frames_skipped"] == DURATION_S * FPS - stats["frames_decoded"]
        sampler = FrameSampler(fps)
        assert offsets == [t for t in keys if sampler.should_sample(t)]  # sampled on the key frames' own pts
    else:
        assert stats["decode"] == "all"
        assert stats["frames_decoded"] == DURATION_S * FPS
        assert offsets == [pytest.approx(i / fps, abs=1e-6) for i in range(len(offsets))]
    # The analysis rate is the configured one either way.
    assert len(frames) == pytest.approx(DURATION_S * fps, abs=1)


@pytest.mark.parametrize("gop_s", [1, 2])
def test_forced_keyframes_decode_only_key_frames_from_the_first_packet(clips, gop_s):
    keys = key_times(clips[gop_s])
    src, frames = run(clips[gop_s], 5, decode="keyframes")
    stats = src.stats()
    assert stats["decode"] == "keyframes" and stats["frames_decoded"] == len(keys)
    # At 5 fps asked, one frame per GOP is what there is: each key frame, on its pts.
    assert [round(f.captured_at - frames[0].captured_at, 6) for f in frames] == keys
    assert [f.frame_id for f in frames] == list(range(len(keys)))


def test_decode_all_never_skips_to_key_frames(clips):
    src, frames = run(clips[1], 0.2, decode="all", skip_nonref=False)
    assert src.stats()["decode"] == "all" and src.stats()["frames_decoded"] == DURATION_S * FPS
    assert len(frames) == pytest.approx(DURATION_S * 0.2, abs=1)


def test_a_faster_rate_leaves_key_frame_mode_at_a_key_frame_without_damage(clips, caplog):
    caplog.set_level("INFO", logger="streams.sources.source")
    src = CameraSource("cam", str(clips[1]), analysis_fps=0.5,
                       options=SourceOptions(decode="auto", buffer_size=1, skip_nonref=False)).start()
    first = [src.read(timeout=10) for _ in range(4)]  # 0, 2, 4, 6 s: key-frame mode from 2 s on
    src.set_analysis_fps(5)  # e.g. the operator's config change; the reader is a few frames ahead
    rest = []
    while (frame := src.read(timeout=10)) is not None:
        rest.append(frame)
    src.stop()
    stats = src.stats()
    assert stats["decode"] == "all" and stats["corrupt_frames"] == 0
    times = [f.captured_at - first[0].captured_at for f in first + rest]
    steps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert steps[-20:] == [0.2] * 20  # full decoding again, evenly sampled
    # Both changes are logged, with the GOP and the interval that decided them.
    assert "camera cam: decoding key frames only (decode auto, GOP 1 s, analysis interval 2 s)" in caplog.text
    assert "camera cam: decoding every frame again (decode auto, GOP 1 s, analysis interval 0.2 s)" in caplog.text
    assert set(steps[:3]) == {2.0}
    # Every frame is the picture a full decode gives at its pts: none decoded without its references.
    reference = full_decode(clips[1])
    for frame, t in zip(first + rest, times):
        assert np.array_equal(frame.image, reference[round(t, 2)]), f"frame at {t:.2f} s differs"


def full_decode(path) -> dict[float, np.ndarray]:
    with av.open(str(path)) as container:
        return {round(float(f.time), 2): f.to_ndarray(format="bgr24") for f in container.decode(video=0)}


@pytest.mark.parametrize("min_fps, too_slow", [(1.0, True), (0.4, False)])
def test_too_slow_sees_the_key_frame_rate_against_the_rules_minimum(tmp_path, min_fps, too_slow):
    """Forced key-frame mode at 5 fps asked and a 2 s GOP analyses 0.5 fps: too slow for a
    rule that needs 1 fps (0.8 of it), fine for one that needs 0.4."""
    path = render(tmp_path / "long.mp4", 2 * FPS, duration_s=64)
    _, frames = run(path, 5, decode="keyframes")
    watch = AnalysisWatch(min_fps, "test")
    for frame in frames:
        watch.observe(frame.captured_at, detected=0, confirmed=0)
    assert watch.measured_fps() == pytest.approx(0.5, abs=1e-6)
    assert ("too_slow" in watch.problems()) is too_slow


def _packet(t: float, key: bool):
    return SimpleNamespace(is_keyframe=key, pts=int(t * 1000), time_base=Fraction(1, 1000))


def test_the_gop_is_the_largest_recent_key_spacing_and_restarts_when_pts_go_back():
    meter = GopMeter()
    for t, key in [(0, True), (1, False), (2, True)]:
        meter.packet(_packet(t, key))
    assert meter.gop_s is None  # one spacing could be a scene cut
    for t in (2.5, 4.5, 6.5):  # an extra key frame at a scene cut at 2.5 s
        meter.packet(_packet(t, True))
    assert meter.gop_s == 2.0
    meter.packet(_packet(0, True))  # file loop
    assert meter.gop_s is None


def test_scene_cut_key_frames_do_not_shorten_the_gop(tmp_path):
    path = tmp_path / "cuts.mp4"
    # A hard cut every 1.3 s (a different test pattern), x264 free to add key frames there.
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=160x120:rate={FPS}:duration=12", "-f", "lavfi", "-i",
                    f"mandelbrot=size=160x120:rate={FPS}", "-filter_complex",
                    "[0][1]overlay=enable='lt(mod(t,1.3),0.65)':shortest=1", "-c:v", "libx264",
                    "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", str(path)], check=True)
    keys = key_times(path)
    src, _ = run(path, 0.5, decode="auto")
    assert src.stats()["gop_s"] == pytest.approx(max(b - a for a, b in zip(keys, keys[1:])), abs=1e-6)


def test_choose_discard_and_the_switch_wait_for_a_key_packet():
    assert choose_discard("auto", 2.0, 2.0, 25, True) == "NONKEY"
    assert choose_discard("auto", 1.0, 2.0, 25, True) == "NONREF"
    assert choose_discard("auto", 0.1, 2.0, 25, True) == "DEFAULT"
    assert choose_discard("auto", 5.0, None, 25, False) == "DEFAULT"  # GOP not measured yet
    assert choose_discard("keyframes", 0.0, None, 25, True) == "NONKEY"
    assert choose_discard("all", 10.0, 2.0, 25, True) == "NONREF"
    with pytest.raises(ValueError, match="decode must be one of"):
        choose_discard("iframes", 1.0, 1.0, 25, True)
    ctx = SimpleNamespace(skip_frame="DEFAULT")
    switch = DiscardSwitch(ctx)
    switch.want("NONREF", key_packet=False)
    assert ctx.skip_frame == "NONREF"  # the first setting goes in at once
    switch.want("NONKEY", key_packet=False)
    assert ctx.skip_frame == "NONREF"  # mid-GOP: wait
    switch.want("NONKEY", key_packet=True)
    assert ctx.skip_frame == "NONKEY" and switch.mode == "keyframes"
    switch.want("DEFAULT", key_packet=False)
    assert ctx.skip_frame == "NONKEY"  # leaving it mid-GOP would decode frames without their references
    switch.want("DEFAULT", key_packet=True)
    assert ctx.skip_frame == "DEFAULT" and switch.mode == "all"


def test_an_unknown_decode_mode_is_refused_at_construction():
    with pytest.raises(ValueError, match="decode must be one of"):
        CameraSource("cam", "x.mp4", options=SourceOptions(decode="iframes"))


@pytest.mark.parametrize("gop_s", [1.9992, 2.0, 2.0008])
@pytest.mark.parametrize("jitter_s", [0.0, 0.005])
def test_sampling_key_frames_at_an_interval_equal_to_a_drifting_gop_keeps_the_rate(gop_s, jitter_s):
    """A camera's clock is not exact: key frames a little early or late, and jittered, against
    due times 2 s apart. The sampler loses under 2 % of them in 20 minutes (a key frame that
    comes a millisecond early is skipped once in a while: the next one is taken), never half."""
    import random

    rng = random.Random(7)
    keys = [k * gop_s + rng.uniform(-jitter_s, jitter_s) for k in range(600)]
    sampler = FrameSampler(0.5)
    sampled = sum(sampler.should_sample(t) for t in keys)
    expected = min(len(keys), keys[-1] / 2.0 + 1)
    assert 0.98 * expected <= sampled <= expected + 1
