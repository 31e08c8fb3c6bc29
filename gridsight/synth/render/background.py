"""The empty street: :class:`Layout` (where facades, far pavement, road, kerbs and near pavement lie
in the frame and the perspective pixels-per-metre of each ground row), :class:`Look` (exposure,
tint, gamma, noise, blur, vignette, shadow direction) with :func:`apply_look`, and
:func:`render_street`, which paints facades with windows and shopfronts, paving, asphalt, lane
markings, kerbs, flat ground clutter and building shadows into a float32 BGR image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gridsight.synth.render.common import _jitter, _pick, _scale_colour
from gridsight.synth.render.sprite import _ellipse_pts

# --------------------------------------------------------------------------- layout, look, background


@dataclass(frozen=True)
class Layout:
    """Where the ground is in the frame (all pixels) and how big things are.

    Street (``scene="street"``), rows from the top: facades (0..facade_bottom), far
    pavement (..far_kerb), road (..near_kerb), near pavement (..height). Indoor scenes
    (``"corridor"``, ``"elevator"``, see :mod:`.indoor`): the floor runs from
    ``facade_bottom`` (the foot of the far wall) to the bottom row, between the side walls
    (``floor_x`` at the bottom row, converging on ``vx`` at ``horizon``); ``far_kerb`` and
    ``near_kerb`` equal ``facade_bottom`` there. Size scales linearly with the ground
    row's distance below ``horizon`` (which may lie above the frame)."""

    width: int
    height: int
    facade_bottom: float
    far_kerb: float
    near_kerb: float
    horizon: float
    person_px_bottom: float  # pixel height of a 1.7 m person standing on the bottom row
    scene: str = "street"
    vx: float = 0.0  # indoor: vanishing point column
    floor_x: tuple[float, float] = (0.0, 0.0)  # indoor: floor's left/right edge on the bottom row

    def ppm(self, y: float) -> float:
        """Pixels per metre for something standing on ground row y. Rows above the ground
        (the facade, the far wall) count as the ground's far edge: things hang there."""
        y = max(float(y), self.facade_bottom)
        return self.person_px_bottom / 1.7 * (y - self.horizon) / (self.height - self.horizon)

    @property
    def regions(self) -> tuple[str, ...]:
        return ("far_walk", "road", "near_walk", "facade") if self.scene == "street" else ("floor",)

    def region(self, name: str) -> tuple[float, float]:
        """Row range of a region: far_walk, road, near_walk, facade (street; things hang
        there: cable from a window, laundry, banners) or floor (indoor)."""
        if self.scene != "street":
            return {"floor": (self.facade_bottom + 2, self.height + 2)}[name]
        fb = self.facade_bottom
        facade = (max(2.0, 0.08 * fb), max(0.1 * fb + 2, fb - 3.0 * self.ppm(fb)))
        return {
            "far_walk": (fb + 2, self.far_kerb - 1),
            "road": (self.far_kerb + 4, self.near_kerb - 2),
            "near_walk": (self.near_kerb + 0.02 * self.height, self.height + 2),
            "facade": facade,
        }[name]

    def x_range(self, y: float) -> tuple[float, float]:
        """Columns where the ground is on row y (the whole width outdoors; between the walls indoors)."""
        if self.scene == "street":
            return 0.0, float(self.width)
        s = (y - self.horizon) / (self.height - self.horizon)
        return self.vx + s * (self.floor_x[0] - self.vx), self.vx + s * (self.floor_x[1] - self.vx)


def sample_layout(rng: np.random.Generator, size=(640, 360)) -> Layout:
    W, H = size
    fb = rng.uniform(0.22, 0.42) * H
    fk = fb + rng.uniform(0.035, 0.09) * H
    nk = fk + rng.uniform(0.14, 0.3) * H
    nk = min(nk, 0.78 * H)
    return Layout(W, H, fb, fk, nk, rng.uniform(-0.6, -0.08) * H, rng.uniform(0.4, 0.62) * H)


@dataclass(frozen=True)
class Look:
    gain: float = 1.0
    bias: float = 0.0
    gamma: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    noise: float = 2.0
    blur: float = 0.0
    vignette: float = 0.0
    shadow_dx: float = 0.3  # contact shadows lean this way (light direction)
    shadow: float = 0.35


def sample_look(rng: np.random.Generator) -> Look:
    dim = rng.random() < 0.15
    return Look(
        gain=float(rng.uniform(0.45, 0.7) if dim else rng.uniform(0.8, 1.2)),
        bias=float(rng.uniform(-15, 20)),
        gamma=float(rng.uniform(0.75, 1.35)),
        tint=tuple(float(v) for v in rng.uniform(0.9, 1.1, 3)),
        noise=float(rng.uniform(1.0, 7.0) * (1.6 if dim else 1.0)),
        blur=float(rng.choice([0.0, rng.uniform(0.3, 1.3)], p=[0.45, 0.55])),
        vignette=float(rng.uniform(0, 0.35)),
        shadow_dx=float(rng.uniform(-0.8, 0.8)),
        shadow=float(rng.uniform(0.15, 0.5)),
    )


def apply_look(img: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    out = img * np.asarray(look.tint, np.float32) * look.gain + look.bias
    out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** look.gamma
    if look.vignette > 0:
        h, w = out.shape[:2]
        yy, xx = np.ogrid[-1:1:h * 1j, -1:1:w * 1j]
        out *= (1 - look.vignette * (xx**2 + yy**2) / 2).astype(np.float32)[..., None]
    if look.blur > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), look.blur)
    if look.noise > 0:
        out += rng.normal(0, look.noise, out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _lf_noise(rng: np.random.Generator, h: int, w: int, cell: int, amp: float) -> np.ndarray:
    small = rng.normal(0, amp, (h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _upper_windows(img: np.ndarray, rng: np.random.Generator, x: int, bw: int, top: int, shop_top: int,
                   ppm: float, wall) -> None:
    """Rows of windows (some with an air conditioner below) from the shopfronts up to the roof."""
    win_w, win_h = rng.uniform(0.8, 1.6) * ppm, rng.uniform(1.0, 1.6) * ppm
    gx, gy = win_w * rng.uniform(1.5, 2.4), rng.uniform(2.6, 3.2) * ppm
    glass = _jitter(rng, _pick(rng, [(90, 70, 50), (120, 100, 80), (60, 55, 50), (150, 140, 120)]), 8)
    ac = rng.random() < 0.5
    y = shop_top - gy * 0.85
    while y + win_h > max(0, top) + 2:
        wx = x + gx * 0.4
        while wx + win_w < x + bw - 2:
            p0 = (int(wx), int(y))
            p1 = (int(wx + win_w), int(y + win_h))
            cv2.rectangle(img, p0, p1, _jitter(rng, glass, 10), -1)
            cv2.rectangle(img, p0, p1, _scale_colour(wall, 0.8), 1)
            if ac and rng.random() < 0.35:
                cv2.rectangle(img, (int(wx + win_w * 0.1), int(y + win_h + 2)), (int(wx + win_w * 0.7), int(y + win_h + 2 + 0.4 * ppm)), (225, 225, 225), -1)
            wx += gx
        y -= gy


def _shopfronts(img: np.ndarray, rng: np.random.Generator, x: int, bw: int, shop_top: int, fb: int,
                ppm: float, wall) -> None:
    """Ground-floor shops side by side: a signboard with scribbled glyphs, then glass, a shutter or a door."""
    sign_h = max(3, int(rng.uniform(0.6, 1.1) * ppm))
    sx = x
    while sx < x + bw:
        sw = int(rng.uniform(3, 8) * ppm)
        sign = _jitter(rng, _pick(rng, [(30, 30, 190), (150, 80, 20), (40, 120, 30), (30, 180, 230), (230, 230, 230), (40, 40, 40), (20, 100, 220)]), 10)
        cv2.rectangle(img, (sx, shop_top), (sx + sw - 2, shop_top + sign_h), sign, -1)
        ink = (240, 240, 240) if sum(sign) < 450 else (30, 30, 160)
        gxp = sx + int(0.3 * ppm)
        glyph = max(2, int(sign_h * 0.55))
        while gxp + glyph < sx + sw - int(0.3 * ppm):
            gy0 = shop_top + (sign_h - glyph) // 2
            for _ in range(3):
                a = (gxp + int(rng.integers(0, glyph)), gy0 + int(rng.integers(0, glyph)))
                b = (gxp + int(rng.integers(0, glyph)), gy0 + int(rng.integers(0, glyph)))
                cv2.line(img, a, b, ink, 1)
            gxp += int(glyph * 1.4)
        kind = rng.random()
        y0 = shop_top + sign_h + 1
        if kind < 0.5:
            cv2.rectangle(img, (sx + 1, y0), (sx + sw - 3, fb), _jitter(rng, (80, 70, 60), 15), -1)
            for k in range(1, 4):
                cv2.line(img, (sx + k * sw // 4, y0), (sx + k * sw // 4, fb), (170, 170, 170), 1)
        elif kind < 0.8:
            cv2.rectangle(img, (sx + 1, y0), (sx + sw - 3, fb), _jitter(rng, (165, 165, 160), 10), -1)
            for yy in range(y0, fb, 3):
                cv2.line(img, (sx + 1, yy), (sx + sw - 3, yy), (130, 130, 128), 1)
        else:
            cv2.rectangle(img, (sx + 1, y0), (sx + sw - 3, fb), wall, -1)
            cv2.rectangle(img, (sx + sw // 3, y0 + 2), (sx + 2 * sw // 3, fb), (50, 45, 40), -1)
        sx += sw


def _draw_facades(img: np.ndarray, rng: np.random.Generator, L: Layout) -> None:
    W, fb = L.width, int(round(L.facade_bottom))
    sky = _jitter(rng, _pick(rng, [(230, 200, 170), (210, 205, 200), (200, 200, 200), (235, 215, 190)]), 8)
    img[:fb] = np.asarray(sky, np.float32)
    x = -int(rng.integers(0, 80))
    ppm = L.ppm(L.facade_bottom)
    while x < W:
        bw = int(rng.uniform(0.2, 0.6) * W)
        top = int(rng.uniform(-0.4, 0.3) * fb)
        wall = _jitter(rng, _pick(rng, [(190, 200, 210), (160, 170, 180), (120, 130, 150), (90, 110, 160), (210, 215, 215), (150, 150, 150), (170, 190, 200), (70, 90, 130)]), 10)
        x0, x1 = max(0, x), min(W, x + bw)
        if x1 > x0:
            img[max(0, top):fb, x0:x1] = wall
            img[max(0, top):fb, x0:x1] += _lf_noise(rng, fb - max(0, top), x1 - x0, 8, 4)[..., None]
            gf = int(np.clip(rng.uniform(3.2, 4.5) * ppm, 0.15 * fb, 0.6 * fb))  # ground-floor height
            shop_top = fb - gf
            _upper_windows(img, rng, x, bw, top, shop_top, ppm, wall)
            _shopfronts(img, rng, x, bw, shop_top, fb, ppm, wall)
        x += bw


def _paving(img, rng, L: Layout, y0: float, y1: float, colour) -> None:
    H, W = img.shape[:2]
    a, b = int(max(0, y0)), int(min(H, y1))
    if b <= a:
        return
    img[a:b] = np.asarray(colour, np.float32)
    img[a:b] += _lf_noise(rng, b - a, W, 12, 6)[..., None]
    joint = _scale_colour(colour, 0.82)
    tile = rng.uniform(0.3, 0.6)
    y = float(a)
    while y < b:
        cv2.line(img, (0, int(y)), (W, int(y)), joint, 1)
        y += max(2.0, tile * L.ppm(y) * rng.uniform(0.3, 0.45))
    vx = W / 2 + rng.uniform(-0.3, 0.3) * W
    step = tile * L.ppm(b)
    for xb in np.arange(-W, 2 * W, max(3.0, step)):
        t0 = (a - L.horizon) / (b - L.horizon)
        p0 = (int(vx + (xb - vx) * t0), a)
        cv2.line(img, p0, (int(xb), b), joint, 1)
    if rng.random() < 0.5 and b - a > 20:  # tactile paving strip (盲道)
        yy = rng.uniform(a + 0.2 * (b - a), b - 0.15 * (b - a))
        hh = 0.3 * L.ppm(yy) * 0.5
        cv2.rectangle(img, (0, int(yy)), (W, int(yy + hh)), _jitter(rng, (40, 190, 220), 10), -1)
        for xx in range(0, W, max(3, int(hh))):
            cv2.line(img, (xx, int(yy)), (xx, int(yy + hh)), (30, 150, 180), 1)


def _flat_clutter(img, rng, L: Layout, keep_clear=()) -> None:
    """Manholes, stains, leaf/pebble clusters, cracks. Stains and leaf clusters
    centred inside a ``keep_clear`` rectangle (x0, y0, x1, y1 pixels) are not
    painted; the random stream is consumed exactly as if they were."""
    W, H = L.width, L.height

    def clear(x, y) -> bool:
        return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in keep_clear)

    for _ in range(int(rng.integers(0, 3))):  # manholes
        region = _pick(rng, ["road", "near_walk", "far_walk"])
        y = rng.uniform(*L.region(region))
        r = 0.35 * L.ppm(y)
        x = rng.uniform(0, W)
        cv2.ellipse(img, (int(x), int(y)), (int(r), max(1, int(r * 0.35))), 0, 0, 360, (70, 72, 75), -1)
        cv2.ellipse(img, (int(x), int(y)), (int(r * 0.8), max(1, int(r * 0.28))), 0, 0, 360, (95, 97, 100), 1)
    for _ in range(int(rng.integers(0, 5))):  # stains
        y = rng.uniform(L.facade_bottom, H)
        r = rng.uniform(0.15, 0.6) * L.ppm(y)
        x = rng.uniform(0, W)
        pts = _ellipse_pts(x, y, r, r * 0.35, 0, 12) + rng.normal(0, r * 0.15, (12, 2))
        mask = np.zeros((H, W), np.float32)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
        strength = rng.uniform(0.15, 0.4)
        if not clear(x, y):
            img *= (1 - strength * mask)[..., None]
    for _ in range(int(rng.integers(0, 4))):  # leaves and pebbles
        y = rng.uniform(L.near_kerb, H)
        x = rng.uniform(0, W)
        skip = clear(x, y)
        for _ in range(int(rng.integers(3, 12))):
            c = _pick(rng, [(40, 100, 160), (40, 130, 170), (50, 110, 80), (110, 115, 120), (60, 80, 110)])
            p = (int(x + rng.normal(0, 12)), int(y + rng.normal(0, 4)))
            axes, ang = (int(rng.integers(1, 4)), int(rng.integers(1, 3))), float(rng.uniform(0, 180))
            if not skip:
                cv2.ellipse(img, p, axes, ang, 0, 360, c, -1)
    for _ in range(int(rng.integers(0, 4))):  # cracks
        y = rng.uniform(L.far_kerb, H)
        x = rng.uniform(0, W)
        pts = np.cumsum(rng.normal(0, 5, (6, 2)), 0) + [x, y]
        cv2.polylines(img, [pts.astype(np.int32)], False, (55, 55, 58), 1)


def render_street(rng: np.random.Generator, layout: Layout, keep_clear=()) -> np.ndarray:
    """The flat background: facades, pavements, road, kerbs and ground clutter (float32 BGR).
    ``keep_clear``: pixel rectangles where no stains or leaf clusters are painted."""
    L = layout
    W, H = L.width, L.height
    img = np.zeros((H, W, 3), np.float32)
    _draw_facades(img, rng, L)
    walk = _jitter(rng, _pick(rng, [(150, 155, 160), (120, 130, 150), (170, 170, 165), (110, 120, 140), (140, 140, 140)]), 10)
    _paving(img, rng, L, L.facade_bottom, L.far_kerb, _scale_colour(walk, rng.uniform(0.9, 1.05)))
    asphalt = _jitter(rng, _pick(rng, [(70, 70, 72), (90, 90, 92), (55, 55, 58), (105, 105, 105)]), 6)
    a, b = int(L.far_kerb), int(L.near_kerb)
    img[a:b] = np.asarray(asphalt, np.float32)
    img[a:b] += (_lf_noise(rng, b - a, W, 16, 5) + rng.normal(0, 3, (b - a, W)).astype(np.float32))[..., None]
    kerb = _jitter(rng, (175, 178, 180), 8)
    cv2.rectangle(img, (0, a - 1), (W, a + max(1, int(0.15 * L.ppm(a)))), kerb, -1)
    # lane markings converge towards a vanishing point
    vx = W / 2 + rng.uniform(-0.5, 0.5) * W
    mid = (a + b) / 2
    if rng.random() < 0.5:
        cv2.line(img, (0, int(mid)), (W, int(mid)), (60, 180, 215), max(1, int(0.12 * L.ppm(mid))))
        cv2.line(img, (0, int(mid + 0.2 * L.ppm(mid))), (W, int(mid + 0.2 * L.ppm(mid))), (60, 180, 215), max(1, int(0.12 * L.ppm(mid))))
    else:
        dash = 3.0 * L.ppm(mid)
        for xs in np.arange(rng.uniform(-dash, 0), W, 2 * dash):
            cv2.line(img, (int(xs), int(mid)), (int(xs + dash), int(mid)), (225, 225, 225), max(1, int(0.12 * L.ppm(mid))))
    if rng.random() < 0.3:  # zebra crossing
        cx = rng.uniform(0.1, 0.9) * W
        sw = 0.5 * L.ppm(b)
        for k in range(-4, 5):
            xb = cx + k * 2 * sw
            t0 = (a - L.horizon) / (b - L.horizon)
            top = vx + (xb - vx) * t0
            topw = sw * t0
            cv2.fillPoly(img, [np.array([[top, a + 2], [top + topw, a + 2], [xb + sw, b - 2], [xb, b - 2]], np.int32)], (215, 215, 215))
    # near kerb: a lit top edge and a face
    kh = max(2, int(0.15 * L.ppm(b)))
    cv2.rectangle(img, (0, b), (W, b + kh), _scale_colour(kerb, 0.85), -1)
    cv2.line(img, (0, b), (W, b), _scale_colour(kerb, 1.1), max(1, kh // 3))
    _paving(img, rng, L, b + kh, H, walk)
    # drain grates along the kerb
    for _ in range(int(rng.integers(0, 3))):
        gx = rng.uniform(0, W)
        gw = 0.6 * L.ppm(b)
        cv2.rectangle(img, (int(gx), b + kh), (int(gx + gw), b + kh + max(2, int(0.2 * L.ppm(b)))), (45, 45, 48), -1)
    _flat_clutter(img, rng, L, keep_clear)
    # a big cast shadow from the buildings across part of the ground
    if rng.random() < 0.4:
        mask = np.zeros((H, W), np.float32)
        x0 = rng.uniform(-0.2, 0.8) * W
        pts = np.array([[x0, L.facade_bottom], [x0 + rng.uniform(0.2, 0.7) * W, L.facade_bottom], [x0 + rng.uniform(0.3, 1.0) * W, H], [x0 + rng.uniform(-0.3, 0.2) * W, H]], np.int32)
        cv2.fillPoly(mask, [pts], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), 4)
        mask[: int(L.facade_bottom)] = 0
        img *= (1 - rng.uniform(0.2, 0.45) * mask)[..., None]
    return img
