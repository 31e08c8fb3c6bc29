"""Render a :class:`~gridsight.synth.scenario.Scenario` into an H.264 mp4 plus
a JSON ground-truth sidecar.

Frames come from the same renderer as the training images, over one fixed
background; they are piped as raw BGR into ``ffmpeg`` (libx264, yuv420p, main
profile, no B-frames, a keyframe every 2 s) so the clip is cheap to restream
over RTSP and to decode at low latency.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gridsight.synth.render import (
    OBJECTS,
    Annotation,
    Look,
    Placed,
    Scene,
    draw_bag,
    draw_litter,
    draw_person,
    render_background,
    render_frame,
    stable_style,
)
from gridsight.synth.render.domain import DomainScene, DomainShift, sample_domain_scene
from gridsight.synth.scenario import Scenario, Track

STRIDE_M = 1.4  # metres per gait cycle (two steps)


def ground_truth_path(clip_path: Path) -> Path:
    """Where :func:`write_clip` puts the JSON sidecar: ``demo.mp4`` -> ``demo.json``."""
    return Path(clip_path).with_suffix(".json")


@dataclass
class ClipFrame:
    index: int
    t: float
    image: np.ndarray  # HxWx3 uint8 BGR
    annotations: list[Annotation]  # visible labelled objects, track_id = scenario track id


def build_scene(scenario: Scenario, size=(640, 360), seed: int = 0) -> Scene:
    """The clip's fixed background: street, distractors kept clear of the action, a calm look."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, scenario.background_seed]))
    layout = scenario.make_layout(size)
    W, H = size
    clear = [(x0 * W, y0 * H, x1 * W, y1 * H) for x0, y0, x1, y1 in scenario.clear_ground]
    scene = render_background(rng, size, layout=layout, n_distractors=scenario.n_distractors, keep_clear=clear, scene=scenario.scene)
    L = scene.layout
    W, H = size
    # Nothing may stand in front of (or on top of) the scripted action: keep
    # distractors off the near pavement below the kerb band and away from the
    # scripted ground positions.
    keep_clear = [(k[1] * W, k[2] * H) for tr in scenario.tracks for k in tr.keyframes]
    statics: list[Placed] = []
    for p in scene.statics:
        if p.y > L.near_kerb + 0.06 * H:
            continue
        sw = p.sprite.size[0]
        if p.kind not in ("tree", "pole", "car") and any(abs(p.x - x) < sw / 2 + 0.06 * W and abs(p.y - y) < 0.1 * H for x, y in keep_clear):
            continue
        statics.append(p)
    look = scene.look
    look = Look(gain=1.0, bias=0.0, gamma=1.0, tint=tuple(0.97 + 0.06 * (v - 0.9) / 0.2 for v in look.tint),
                noise=2.0, blur=0.4, vignette=0.12, shadow_dx=look.shadow_dx, shadow=0.3)
    return Scene(L, scene.base, statics, look)


def _facing(track: Track, t: float, fallback: str = "front") -> str:
    if track.facing:
        return track.facing
    for dt in [0.0] + [k * 0.1 for k in range(1, 200)]:
        for tt in (t - dt, t + dt):
            vx = track.velocity(tt)[0]
            if abs(vx) > 1e-3:
                return "right" if vx > 0 else "left"
    return fallback


def _people(scenario: Scenario, styles: dict, L, t: float, size, walked_m: dict, last_px: dict) -> tuple[list[Placed], dict]:
    """The persons visible at ``t``, at their gait phase (from the distance walked so far); also
    each one's hand position and depth, for what they carry."""
    W, H = size
    objects: list[Placed] = []
    hands: dict[int, tuple[float, float, float]] = {}  # person id -> (hand x, hand y, depth)
    persons = [tr for tr in scenario.tracks if tr.cls == "person" and tr.visible(t)]
    for tr in persons:
        x, y = tr.position(t)
        px, py = x * W, y * H
        ppm = L.ppm(py)
        if tr.id in last_px:
            walked_m[tr.id] += math.hypot(px - last_px[tr.id][0], py - last_px[tr.id][1]) / ppm
        last_px[tr.id] = (px, py)
        speed = math.hypot(*tr.velocity(t))
        walking = speed > 1e-3
        carrying = any(o.carried_by == tr.id and o.visible(t) and t < (o.release or 0) and o.cls == "garbage_bag" for o in scenario.tracks)
        sprite = draw_person(styles[tr.id], ppm, phase=2 * math.pi * walked_m[tr.id] / STRIDE_M,
                             facing=_facing(tr, t), walking=walking, carrying=carrying)
        hx, hy = sprite.point("hand", px, py)
        hands[tr.id] = (hx, hy, py)
        objects.append(Placed("person", sprite, px, py, label=_label(tr), track_id=tr.id))
    return objects, hands


def _things(scenario: Scenario, styles: dict, L, t: float, size, hands: dict) -> list[Placed]:
    """Every other object visible at ``t``: on the ground, or held and being lowered from a hand."""
    W, H = size
    objects: list[Placed] = []
    for tr in scenario.tracks:
        if tr.cls == "person" or not tr.visible(t):
            continue
        gx, gy = tr.position(t)
        gx, gy = gx * W, gy * H
        ppm = L.ppm(gy)
        held = tr.carried_by is not None and tr.release is not None and t < tr.release
        if held and tr.carried_by not in hands:
            continue  # the holder is not in the scene yet
        if tr.cls == "garbage_bag":
            sprite = draw_bag(styles[tr.id], ppm, hanging=held, size_px=tr.size_px)
        elif tr.cls == "litter":
            sprite = draw_litter(styles[tr.id], ppm, size_px=(tr.size_px * 0.8 if held and tr.size_px else tr.size_px))
        else:
            sprite = OBJECTS[tr.cls].draw(styles[tr.id], ppm)
        x, y, depth = gx, gy, None
        if held:
            hx, hy, hdepth = hands[tr.carried_by]
            if tr.cls == "garbage_bag":
                kx, ky = sprite.points["knot"]
                hx, hy = hx + (sprite.anchor[0] - kx), hy + (sprite.anchor[1] - ky)
            else:  # a small item: held by its middle
                hy = hy + sprite.size[1] * 0.4
            a = (t - (tr.release - tr.lower_s)) / tr.lower_s
            a = 0.0 if a < 0 else (a * a if tr.cls == "litter" else 0.5 - 0.5 * math.cos(math.pi * a))
            x, y = hx + (gx - hx) * a, hy + (gy - hy) * a
            depth = hdepth + 0.5
        objects.append(Placed(tr.cls, sprite, x, y, depth=depth, label=_label(tr), track_id=tr.id, shadow=not held))
    return objects


def clip_domain_scene(scenario: Scenario, size, seed: int, domain: DomainShift | None) -> DomainScene | None:
    """The shifted family's fixed parts (warp, lamps) for the whole clip; None without a domain."""
    if domain is None:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([seed, scenario.background_seed, 2_000_000]))
    return sample_domain_scene(rng, (int(size[0]), int(size[1])), domain)


def scenario_frames(scenario: Scenario, fps: int = 15, size=(640, 360), seed: int = 0,
                    domain: DomainShift | None = None) -> Iterator[ClipFrame]:
    """Yield every frame of the scenario (deterministic for a seed), in the shifted ``domain`` if given."""
    scene = build_scene(scenario, size, seed)
    dscene = clip_domain_scene(scenario, size, seed, domain)
    styles = {}
    for tr in scenario.tracks:
        srng = np.random.default_rng(np.random.SeedSequence([seed, scenario.background_seed, tr.id]))
        styles[tr.id] = OBJECTS[tr.cls].sample(srng, **tr.style)
    walked_m = {tr.id: 0.0 for tr in scenario.tracks}
    last_px: dict[int, tuple[float, float]] = {}
    n = int(round(scenario.duration * fps))
    for i in range(n):
        t = i / fps
        objects, hands = _people(scenario, styles, scene.layout, t, size, walked_m, last_px)
        objects += _things(scenario, styles, scene.layout, t, size, hands)
        frng = np.random.default_rng(np.random.SeedSequence([seed, scenario.background_seed, 1_000_000 + i]))
        image, anns = render_frame(scene, objects, frng, dscene)
        yield ClipFrame(i, t, image, anns)


def _label(tr: Track) -> str | None:
    return OBJECTS[tr.cls].label if tr.label == "auto" else tr.label


def _ffmpeg_cmd(out_path: Path, fps: int, size: tuple[int, int], ffmpeg: str) -> list[str]:
    W, H = size
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", str(fps), "-i", "-",
        "-an", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
        "-g", str(2 * fps), "-keyint_min", str(2 * fps), "-sc_threshold", "0", "-bf", "0", "-crf", "20",
        "-x264-params", "repeat-headers=1", "-movflags", "+faststart", "-r", str(fps), str(out_path),
    ]


def _warped(dscene: DomainScene | None, points: list) -> list[list[float]]:
    if dscene is None or not points:
        return [list(p) for p in points]
    return [[round(float(x), 4), round(float(y), 4)] for x, y in dscene.warp_points(points)]


def ground_truth(scenario: Scenario, fps: int, size, seed: int, boxes: dict[int, dict[int, list[float]]],
                 dscene: DomainScene | None = None) -> dict:
    """The sidecar; with a shifted ``dscene`` its positions and zones are those of the warped frame."""
    W, H = size
    objects = []
    for tr in scenario.tracks:
        static = tr.static_intervals()
        for span, (x, y) in zip(static, _warped(dscene, [(sp["x"], sp["y"]) for sp in static])):
            span["x"], span["y"] = x, y
        obj = {
            "id": tr.id,
            "class": _label(tr) or tr.cls,
            "kind": tr.cls,
            "appear_s": tr.appear,
            "disappear_s": min(tr.disappear, scenario.duration),
            "static": static,  # [{from, until, x, y}] bottom-centre, normalised
            "position": [static[-1]["x"], static[-1]["y"]] if static else None,
            "carried_by": tr.carried_by,
            "released_s": tr.release,
            "style": stable_style({k: v for k, v in tr.style.items()}),
            "boxes": {str(k): v for k, v in sorted(boxes.get(tr.id, {}).items())},  # frame -> [x1,y1,x2,y2] normalised
        }
        objects.append(obj)
    doc = {
        "scenario": scenario.name,
        "fps": fps,
        "size": [W, H],
        "duration_s": scenario.duration,
        "frame_count": int(round(scenario.duration * fps)),
        "seed": seed,
        "anchor": "bottom-centre, normalised 0..1 (x right, y down)",
        "zones": {k: _warped(dscene, list(v)) for k, v in scenario.zones.items()},
        "objects": objects,
    }
    if dscene is not None:
        doc["domain"] = {"name": dscene.shift.name, "strength": dscene.shift.strength}
    return doc


def write_clip(out_path: Path, scenario: Scenario, fps: int = 15, size=(640, 360), seed: int = 0, ffmpeg: str | None = None,
               domain: DomainShift | None = None) -> Path:
    """Render the scenario to an H.264 mp4 at ``out_path`` and its ground truth
    to :func:`ground_truth_path` (``<clip stem>.json``), in the shifted ``domain`` if given. Returns ``out_path``."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    size = (int(size[0]), int(size[1]))
    if size[0] % 2 or size[1] % 2:
        raise ValueError(f"yuv420p needs an even frame size, got {size}")
    ffmpeg = ffmpeg or shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    tmp = out_path.with_name(out_path.stem + ".partial" + out_path.suffix)
    proc = subprocess.Popen(_ffmpeg_cmd(tmp, fps, size, ffmpeg), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    boxes: dict[int, dict[int, list[float]]] = {}
    W, H = size
    try:
        for frame in scenario_frames(scenario, fps, size, seed, domain):
            for a in frame.annotations:
                x1, y1, x2, y2 = a.box
                boxes.setdefault(a.track_id, {})[frame.index] = [round(x1 / W, 4), round(y1 / H, 4), round(x2 / W, 4), round(y2 / H, 4)]
            proc.stdin.write(np.ascontiguousarray(frame.image).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    finally:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        rc = proc.wait()
    if rc != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed (exit {rc}): {err.strip()[-2000:]}")
    tmp.replace(out_path)
    gt = ground_truth(scenario, fps, size, seed, boxes, clip_domain_scene(scenario, size, seed, domain))
    ground_truth_path(out_path).write_text(json.dumps(gt, indent=1), encoding="utf-8")
    return out_path


def write_demo_clip(out_path: Path, fps: int = 15, size=(640, 360), seed: int = 0) -> Path:
    """The ~30 s demo clip (:func:`gridsight.synth.scenario.demo_scenario`)."""
    from gridsight.synth.scenario import demo_scenario

    return write_clip(out_path, demo_scenario(), fps=fps, size=size, seed=seed)
