"""Render scenario cases to clips: ``<name>.mp4`` plus the ``<name>.json`` ground-truth sidecar
of :func:`gridsight.synth.clip.write_clip` (per-frame boxes of every labelled object, so an
oracle detector can replay them), extended with a ``gridsight_scenario`` section: the camera
config that watches the clip and the incidents it must report.

The clip is re-encoded at a higher CRF than the demo clip's: the CI set is committed, and the
per-frame sensor noise would otherwise cost ~25 KB a second at 384x216.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from gridsight.synth.clip import clip_domain_scene, ground_truth_path, write_clip
from gridsight.synth.scenarios.spec import ScenarioCase

SIDECAR_KEY = "gridsight_scenario"
CI_CRF = 30


def _reencode(src: Path, dst: Path, fps: int, crf: int) -> None:
    ffmpeg = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-an", "-c:v", "libx264",
           "-preset", "veryslow", "-profile:v", "main", "-pix_fmt", "yuv420p", "-g", str(10 * fps), "-bf", "0",
           "-crf", str(crf), "-threads", "1", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
           "-movflags", "+faststart", str(dst)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")


def render_case(case: ScenarioCase, out_dir: Path, crf: int | None = CI_CRF) -> Path:
    """Write ``out_dir/<name>.mp4`` and its sidecar; ``crf=None`` keeps write_clip's encoding."""
    if getattr(case.scenario, "scene", "street") != case.scene:
        raise ValueError(f"{case.name}: the renderer cannot draw a {case.scene!r} scene")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{case.name}.mp4"
    if crf is None:
        write_clip(video, case.scenario, fps=case.fps, size=case.size, seed=case.seed, domain=case.domain)
    else:
        raw = out_dir / f"{case.name}.raw.mp4"
        write_clip(raw, case.scenario, fps=case.fps, size=case.size, seed=case.seed, domain=case.domain)
        _reencode(raw, video, case.fps, crf)
        ground_truth_path(raw).replace(ground_truth_path(video))
        raw.unlink()
    sidecar = ground_truth_path(video)
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    camera = case.camera_config(url=video.name)
    dscene = clip_domain_scene(case.scenario, case.size, case.seed, case.domain)
    if dscene is not None:  # the zones as the warped camera sees them (the sidecar's zones are warped alike)
        for zone in camera["zones"].values():
            zone["polygon"] = [[round(float(x), 4), round(float(y), 4)] for x, y in dscene.warp_points(zone["polygon"])]
    data[SIDECAR_KEY] = {
        "name": case.name,
        "description": case.description,
        "scene": case.scene,
        "camera": camera,
        "events": case.ground_truth(),
    }
    sidecar.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return video
