"""Harvested frames on disk (issue 18): the decode check, the perceptual hash that finds
near-duplicates, and the files themselves under ``settings.harvest_dir``.

What a frame is *for* (provenance, status, de-duplication against the others, the daily
budget, eviction) lives with its row in :mod:`api.crud.harvest`; this module only knows
bytes: a frame must decode as an image (OpenCV, the worker's own decoder) within the
pixel limit before it is stored, and files are written atomically (temp file, fsync,
rename) so a reader or a crash never sees half a frame."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from api.evidence import EvidenceStore

# Two frames whose 64-bit difference hashes differ in at most this many bits show the same
# scene: a re-encode at another JPEG quality moves a handful of bits. A fixed camera's later
# frames do too, whatever moved in them (measured: 0-4 bits over a whole night clip in which a
# bottle is dropped, 4-8 over the day demo street), so only frames captured within a few seconds
# of each other count: the same moment sent twice (a resend, a re-encode, two workers during a
# lease hand-over). Choosing which moments are worth labelling is the worker's sampler's job.
NEAR_DUPLICATE_BITS = 4
NEAR_DUPLICATE_WINDOW = dt.timedelta(seconds=5)


class FrameRefused(ValueError):
    """A frame whose bytes are not an image we can store (answered as a one-line 422)."""


@dataclass(frozen=True)
class CheckedFrame:
    """A frame's bytes after the decode check: what the database row needs of them."""

    jpeg: bytes
    width: int
    height: int
    sha256: str
    dhash: str  # 16 hex digits


def _header_size(data: bytes) -> tuple[int, int]:
    """The image's size from its header alone (Pillow reads no pixels for this), so an
    image claiming too many pixels is refused before any pixel memory is allocated."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError...
        raise FrameRefused(f"the bytes are not an image ({type(exc).__name__})") from None


def difference_hash(gray) -> str:
    """dHash of a grey image: shrink to 9x8, one bit per neighbour pair 'left brighter than right'."""
    import cv2
    import numpy as np

    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, :-1] > small[:, 1:]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming(a: str, b: str) -> int:
    """Bits in which two hex dHashes differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def check_frame(data: bytes, max_pixels: int, declared: tuple[int, int] | None = None) -> CheckedFrame:
    """Decode ``data`` (JPEG or PNG) with OpenCV, or raise :class:`FrameRefused`. The header's size
    must be within ``max_pixels`` and, when ``declared`` (width, height) is given, match it. A PNG
    (an order's key frame may be one) is re-encoded as JPEG: the harvest store holds JPEGs only."""
    import cv2
    import numpy as np

    width, height = _header_size(data)
    if width * height > max_pixels:
        raise FrameRefused(f"{width}x{height} pixels is more than the {max_pixels}-pixel limit")
    if declared is not None and (width, height) != declared:
        raise FrameRefused(f"width and height say {declared[0]}x{declared[1]} but the JPEG is {width}x{height}")
    is_jpeg = data[:3] == b"\xff\xd8\xff"
    # A JPEG is decoded at 1/4 scale in grey (libjpeg still reads every entropy-coded block, so damage
    # shows; 36 ms instead of 76 ms a 1080p frame, measured here); the 9x8 hash needs no more. Anything
    # else (an order's PNG key frame) is decoded in full and re-encoded.
    flags = cv2.IMREAD_REDUCED_GRAYSCALE_4 if is_jpeg else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise FrameRefused("the bytes do not decode as an image")
    if not is_jpeg:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise FrameRefused("the image could not be re-encoded as JPEG")
        data = encoded.tobytes()
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return CheckedFrame(jpeg=data, width=width, height=height, sha256=hashlib.sha256(data).hexdigest(),
                        dhash=difference_hash(gray))


class HarvestStore:
    """Frame files under one root (``settings.harvest_dir``); rows hold paths relative to it."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._files = EvidenceStore(self.root)  # the same atomic write, removal and safe resolve

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def path_for(frame: CheckedFrame, captured_at: dt.datetime) -> str:
        # By capture day; no camera id in the path, so no id needs escaping.
        return f"{captured_at:%Y/%m/%d}/{uuid.uuid4().hex[:12]}-{frame.sha256[:12]}.jpg"

    def write(self, relative: str, data: bytes) -> None:
        self._files.write(relative, data)

    def remove(self, relatives: list[str]) -> None:
        self._files.remove(relatives)

    def resolve(self, relative: str) -> Path | None:
        return self._files.resolve(relative)
