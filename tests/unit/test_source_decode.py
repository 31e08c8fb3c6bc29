"""CameraSource decodes no more than sampling needs: non-reference frames are skipped when the
analysis interval allows (and only then), sampled frames stay evenly spaced, and a request
for hardware decoding on a host without it falls back to software with a log line."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import streams.sources.opener as opener_mod
from streams.sources.source import CameraSource, SourceOptions

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.fixture(scope="module")
def bframe_clip(tmp_path_factory):
    """4 s, 25 fps H.264 with x264's default B-frames (3, pyramid) and a 50-frame GOP."""
    path = tmp_path_factory.mktemp("clips") / "bframes.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=25:duration=4", "-c:v", "libx264", "-preset", "veryfast",
         "-g", "50", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )
    return path


def run_source(path, **kwargs):
    fps = kwargs.pop("analysis_fps", 5)
    src = CameraSource("cam", str(path), analysis_fps=fps, options=SourceOptions(**kwargs)).start()
    frames = []
    while True:
        frame = src.read(timeout=10)
        if frame is None:
            break
        frames.append(frame)
    src.stop()
    return src, frames


def test_nonref_frames_are_skipped_when_the_analysis_interval_allows(bframe_clip):
    src, frames = run_source(bframe_clip, analysis_fps=5, decode_threads=1)
    stats = src.stats()
    assert stats["frames_skipped"] >= 25  # x264 defaults: about half the frames are non-reference Bs
    assert stats["frames_decoded"] + stats["frames_skipped"] == 100
    # Still ~5 fps of evenly spaced frames: each at most ~a frame off its due time.
    assert 19 <= len(frames) <= 21
    steps = np.diff([f.captured_at for f in frames])
    assert steps.min() >= 0.2 - 2 / 25 - 1e-6 and steps.max() <= 0.2 + 2 / 25 + 1e-6
    assert abs((frames[-1].captured_at - frames[0].captured_at) / (len(frames) - 1) - 0.2) < 0.02


@pytest.mark.parametrize("settings", [
    dict(analysis_fps=5, skip_nonref=False),  # turned off
    dict(analysis_fps=12.5),  # every second frame: the interval is too short to skip safely
    dict(analysis_fps=None),  # every frame
])
def test_every_frame_is_decoded_when_sampling_needs_them(bframe_clip, settings):
    src, frames = run_source(bframe_clip, **settings)
    stats = src.stats()
    assert stats["frames_skipped"] == 0
    assert stats["frames_decoded"] == 100
    expected = {5: 20, 12.5: 50, None: 100}[settings["analysis_fps"]]
    assert abs(len(frames) - expected) <= 1


def test_shedding_to_a_lower_rate_turns_skipping_on(bframe_clip):
    src = CameraSource("cam", str(bframe_clip), analysis_fps=25, options=SourceOptions()).start()
    first = src.read(timeout=10)
    assert first is not None
    src.set_analysis_fps(2)
    while src.read(timeout=10) is not None:
        pass
    src.stop()
    assert src.stats()["frames_skipped"] > 0


def test_hardware_decoding_falls_back_to_software_with_a_log_line(bframe_clip, caplog):
    with caplog.at_level("INFO", logger="streams.sources.source"):
        src, frames = run_source(bframe_clip, analysis_fps=5, hwaccel="cuda")
    assert src.hwaccel_in_use is None
    assert 19 <= len(frames) <= 21
    assert "hardware decoding (cuda) not used" in caplog.text


def test_a_hardware_decoder_that_fails_to_open_falls_back_to_software(bframe_clip, caplog, monkeypatch):
    monkeypatch.setattr(opener_mod, "_hwaccel_missing", lambda device_type: None)  # pretend NVDEC is there
    real_open = opener_mod.av.open

    def failing_open(url, **kwargs):
        if "hwaccel" in kwargs:
            raise opener_mod.av.error.ExternalError(1, "cuda device creation failed")
        return real_open(url, **kwargs)

    monkeypatch.setattr(opener_mod.av, "open", failing_open)
    with caplog.at_level("WARNING", logger="streams.sources.source"):
        src, frames = run_source(bframe_clip, analysis_fps=5, hwaccel="cuda")
    assert src.hwaccel_in_use is None
    assert 19 <= len(frames) <= 21
    assert "failed to open" in caplog.text and "decoding in software" in caplog.text
