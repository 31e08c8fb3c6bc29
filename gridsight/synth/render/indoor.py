"""Indoor backgrounds: a residential ``corridor`` (painted walls, doors, tiled floor, a lamp,
one-point perspective down its length) and an ``elevator`` car (brushed-metal walls, a door
seam, a handrail, a button panel, a stone or chequered floor). Both are a box seen in one-point
perspective: :func:`sample_indoor_layout` returns a :class:`~.background.Layout` whose
``floor`` region and ``x_range`` say where things may stand, and :func:`render_indoor` paints
the empty room into a float32 BGR image.

Geometry: a point on the near cross-section (the frame's bottom row plane) at pixel ``p`` lies
at ``v + s * (p - v)`` at depth scale ``s`` (1 = near, 0 = vanishing point ``v``).
"""

from __future__ import annotations

import cv2
import numpy as np

from gridsight.synth.render.background import Layout, _lf_noise
from gridsight.synth.render.common import _jitter, _pick, _scale_colour

INDOOR_SCENES = ("corridor", "elevator")


def sample_indoor_layout(rng: np.random.Generator, size=(640, 360), scene: str = "corridor") -> Layout:
    W, H = size
    if scene == "corridor":
        vy = rng.uniform(0.25, 0.42) * H
        vx = rng.uniform(0.38, 0.62) * W
        width_m = rng.uniform(1.6, 2.6)
        s_far = rng.uniform(0.12, 0.25)
        ppm_bottom = rng.uniform(0.45, 0.75) * H / 1.7
    elif scene == "elevator":
        vy = rng.uniform(0.1, 0.25) * H
        vx = rng.uniform(0.4, 0.6) * W
        width_m = rng.uniform(1.4, 2.0)
        s_far = rng.uniform(0.45, 0.6)
        ppm_bottom = rng.uniform(0.6, 0.85) * H / 1.7
    else:
        raise ValueError(f"unknown indoor scene {scene!r}")
    off = rng.uniform(-0.15, 0.15) * width_m * ppm_bottom  # the camera sits off the middle
    xl, xr = vx - width_m * ppm_bottom / 2 + off, vx + width_m * ppm_bottom / 2 + off
    floor_top = vy + s_far * (H - vy)
    return Layout(W, H, floor_top, floor_top, floor_top, vy, 1.7 * ppm_bottom, scene=scene, vx=vx, floor_x=(xl, xr))


def _box(L: Layout):
    """Near-plane corners (floor left/right at the bottom row, ceiling row) and the far scale."""
    H = L.height
    s_far = (L.facade_bottom - L.horizon) / (H - L.horizon)
    ppm_b = L.person_px_bottom / 1.7
    ceil_y = H - 2.7 * ppm_b  # a 2.7 m high room
    xl, xr = L.floor_x
    return xl, xr, ceil_y, s_far


def _at(L: Layout, x: float, y: float, s: float) -> tuple[float, float]:
    return L.vx + s * (x - L.vx), L.horizon + s * (y - L.horizon)


def _quad(img, pts, colour) -> None:
    cv2.fillPoly(img, [np.round(np.asarray(pts) * 4).astype(np.int32)], colour, cv2.LINE_AA, 2)


def _palette(rng: np.random.Generator, metal: bool):
    """(side wall, floor, far wall, ceiling) colours: brushed steel for a lift car, paint for a corridor."""
    if metal:
        wall = _jitter(rng, _pick(rng, [(170, 170, 168), (150, 155, 160), (120, 150, 180), (185, 185, 180), (110, 110, 112)]), 8)
        floor = _jitter(rng, _pick(rng, [(60, 60, 62), (90, 95, 100), (130, 130, 128), (70, 80, 95)]), 8)
        back = _scale_colour(wall, rng.uniform(0.85, 1.05))
        ceil = _jitter(rng, (200, 200, 200), 10)
    else:
        wall = _jitter(rng, _pick(rng, [(210, 215, 220), (190, 200, 205), (175, 200, 215), (200, 210, 200), (160, 170, 180)]), 8)
        floor = _jitter(rng, _pick(rng, [(150, 155, 160), (120, 130, 150), (170, 170, 165), (95, 110, 130), (190, 190, 185)]), 8)
        back = _scale_colour(wall, rng.uniform(0.75, 0.95))
        ceil = _scale_colour(wall, 1.08)
    return wall, floor, back, ceil


def _elevator_fittings(img, rng, L: Layout, corners, near, far, wall, floor, back, xl, xr, sf, ppm_b) -> None:
    """Brushed-metal streaks, the door seam and panel joints, handrails, a button panel, maybe floor tiles."""
    H, W = L.height, L.width
    # brushed metal: vertical streaks on everything above the floor
    streak = cv2.resize(rng.normal(0, 7, (1, W // 2 + 1)).astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    above = np.zeros((H, W), np.float32)
    cv2.fillPoly(above, [np.round(np.array([near["fl"], far["fl"], far["fr"], near["fr"]])).astype(np.int32)], 1.0)
    img += (streak * (1 - above))[..., None]
    # door seam (on the far wall) and panel joints
    mx = (far["fl"][0] + far["fr"][0]) / 2 + rng.uniform(-0.1, 0.1) * (far["fr"][0] - far["fl"][0])
    cv2.line(img, (int(mx), int(far["cl"][1])), (int(mx), int(far["fl"][1])), (40, 40, 40), 2)
    for k in (0.25, 0.75):
        xk = far["fl"][0] + k * (far["fr"][0] - far["fl"][0])
        cv2.line(img, (int(xk), int(far["cl"][1])), (int(xk), int(far["fl"][1])), _scale_colour(back, 0.8), 1)
    # handrails on the side walls (0.9 m up), a button panel
    for side in ("l", "r"):
        p0 = _at(L, corners["f" + side][0], H - 0.9 * ppm_b, 0.95)
        p1 = _at(L, corners["f" + side][0], H - 0.9 * ppm_b, sf)
        cv2.line(img, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), _scale_colour(wall, 1.3), max(2, int(0.04 * ppm_b)))
    side = "r" if rng.random() < 0.5 else "l"
    s0 = sf + rng.uniform(0.05, 0.2)
    pts = [_at(L, corners["f" + side][0], H - y * ppm_b, s) for y, s in ((1.6, s0), (1.6, s0 + 0.06), (0.9, s0 + 0.06), (0.9, s0))]
    _quad(img, pts, (60, 60, 60))
    # floor pattern
    if rng.random() < 0.5:
        _floor_tiles(img, rng, L, floor, xl, xr, sf, 0.3)


def _corridor_fittings(img, rng, L: Layout, corners, floor, cy, xl, xr, sf, ppm_b) -> None:
    """Maybe a painted lower band, doors along both walls, floor tiles, a ceiling lamp."""
    H = L.height
    band = rng.random() < 0.5
    band_col = _jitter(rng, _pick(rng, [(60, 120, 60), (150, 120, 90), (90, 90, 90), (110, 140, 170)]), 10)
    for side in ("l", "r"):
        x = corners["f" + side][0]
        if band:
            _quad(img, [_at(L, x, H - 1.0 * ppm_b, 4.0), _at(L, x, H - 1.0 * ppm_b, sf), _at(L, x, H, sf), _at(L, x, H, 4.0)], band_col)
        s = rng.uniform(0.8, 1.6)
        while s > sf + 0.05:
            dw = rng.uniform(0.9, 1.1) * ppm_b  # door width along the wall, as depth scale change
            s_end = max(sf, s * (1 - dw / (6.0 * ppm_b)))
            door = _jitter(rng, _pick(rng, [(40, 60, 110), (60, 90, 140), (80, 80, 85), (30, 40, 70), (150, 150, 150)]), 10)
            pts = [_at(L, x, H - 2.1 * ppm_b, s), _at(L, x, H - 2.1 * ppm_b, s_end), _at(L, x, H, s_end), _at(L, x, H, s)]
            _quad(img, pts, door)
            hx, hy = _at(L, x, H - 1.0 * ppm_b, s * 0.8 + s_end * 0.2)
            cv2.circle(img, (int(hx), int(hy)), max(1, int(0.03 * ppm_b * s)), (190, 190, 190), -1)
            s = s_end * rng.uniform(0.55, 0.8)
    _floor_tiles(img, rng, L, floor, xl, xr, sf, rng.uniform(0.4, 0.8))
    lx, ly = _at(L, L.vx, cy, rng.uniform(sf + 0.1, 0.7))
    cv2.ellipse(img, (int(lx), int(ly)), (int(0.2 * ppm_b), max(2, int(0.05 * ppm_b))), 0, 0, 360, (245, 250, 250), -1)


def render_indoor(rng: np.random.Generator, L: Layout, keep_clear=()) -> np.ndarray:
    """The empty corridor or elevator car (float32 BGR)."""
    W, H = L.width, L.height
    xl, xr, cy, sf = _box(L)
    metal = L.scene == "elevator"
    img = np.zeros((H, W, 3), np.float32)
    wall, floor, back, ceil = _palette(rng, metal)
    corners = {"fl": (xl, H), "fr": (xr, H), "cl": (xl, cy), "cr": (xr, cy)}
    far = {k: _at(L, x, y, sf) for k, (x, y) in corners.items()}
    near = {k: _at(L, x, y, 4.0) for k, (x, y) in corners.items()}  # the room goes on behind the camera
    img[:] = np.asarray(ceil, np.float32)
    _quad(img, [near["cl"], far["cl"], far["fl"], near["fl"]], _scale_colour(wall, 0.92))  # left wall
    _quad(img, [near["cr"], far["cr"], far["fr"], near["fr"]], _scale_colour(wall, 1.02))  # right wall
    _quad(img, [far["cl"], far["cr"], far["fr"], far["fl"]], back)  # far wall
    _quad(img, [near["fl"], far["fl"], far["fr"], near["fr"]], floor)
    img += _lf_noise(rng, H, W, 10, 4)[..., None]
    ppm_b = L.person_px_bottom / 1.7
    if metal:
        _elevator_fittings(img, rng, L, corners, near, far, wall, floor, back, xl, xr, sf, ppm_b)
    else:
        _corridor_fittings(img, rng, L, corners, floor, cy, xl, xr, sf, ppm_b)
    # a soft light fall-off towards the far end
    yy = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    img *= 0.85 + 0.15 * yy
    return img


def _floor_tiles(img, rng, L: Layout, floor, xl, xr, sf, tile_m) -> None:
    H = L.height
    ppm_b = L.person_px_bottom / 1.7
    joint = _scale_colour(floor, 0.75)
    n = int((xr - xl) / (tile_m * ppm_b))
    for k in range(n + 1):
        x = xl + k * tile_m * ppm_b
        p0, p1 = _at(L, x, H, 4.0), _at(L, x, H, sf)
        cv2.line(img, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), joint, 1)
    depth_m = 0.0
    while True:
        s = 1.0 / (1.0 + depth_m * ppm_b / (H - L.horizon) * 0.6)
        if s <= sf:
            break
        y = L.horizon + s * (H - L.horizon)
        x0, x1 = L.x_range(y)
        cv2.line(img, (int(x0), int(y)), (int(x1), int(y)), joint, 1)
        depth_m += tile_m
