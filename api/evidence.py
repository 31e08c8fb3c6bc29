"""Evidence files: decode and check what a worker sent, write it atomically,
and find it again for download.

A file's magic number is only its first check: every image is decoded (its
header's dimensions checked against a pixel limit first, so a decompression
bomb is refused before any pixel memory is allocated) and every clip is probed
(its video track's dimensions, then its first frame decoded). What does not
decode is refused with one line naming the item."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from api.schemas import EvidenceIn

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Default of Settings.max_image_pixels: 4096 x 4096, over twice a 4K frame.
DEFAULT_MAX_PIXELS = 4096 * 4096
# A clip's first frame must come out of this many packets (a decoder's delay is a handful).
_CLIP_PROBE_PACKETS = 64


class EvidenceError(ValueError):
    """Bad evidence in a request; ``status_code`` says how to answer it."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class DecodedEvidence:
    kind: str
    content_type: str
    data: bytes
    sha256: str

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.content_type]


def _matches(content_type: str, data: bytes) -> bool:
    if content_type == "image/jpeg":
        return data[:3] == b"\xff\xd8\xff"
    if content_type == "image/png":
        return data[:8] == _PNG_MAGIC
    if content_type == "video/mp4":
        # ISO BMFF: a 4-byte box size, then the 'ftyp' box type.
        return data[4:8] == b"ftyp"
    return False


def _reason(exc: BaseException) -> str:
    # Decoders' messages, on one line and without object reprs ("<_io.BytesIO object at 0x...>").
    text = re.sub(r"\s*<[^>]*>", "", " ".join(str(exc).split())).strip(" .:")
    return (text or type(exc).__name__)[:160]


def _too_many_pixels(where: str, width: int, height: int, max_pixels: int) -> EvidenceError:
    return EvidenceError(f"{where}: {width}x{height} pixels is more than the {max_pixels}-pixel limit")


def check_image(data: bytes, content_type: str, max_pixels: int, where: str = "image") -> None:
    """Decode a JPEG or PNG fully, or raise :class:`EvidenceError` (422). The header's
    dimensions are checked before any pixel is decoded; a JPEG is decoded at 1/8 scale
    (every entropy-coded block is still read, so damage shows) to keep memory small."""
    from PIL import Image  # Pillow (an ultralytics dependency); the API imports it only when evidence arrives

    fmt = {"image/jpeg": "JPEG", "image/png": "PNG"}[content_type]
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
            if width < 1 or height < 1:
                raise EvidenceError(f"{where}: the {content_type} has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise _too_many_pixels(where, width, height, max_pixels)
            if fmt == "JPEG":
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except EvidenceError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours: the header alone said it
        raise EvidenceError(f"{where}: more pixels than the {max_pixels}-pixel limit") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        raise EvidenceError(f"{where}: the bytes do not decode as {content_type} ({_reason(exc)})") from None


def check_clip(data: bytes, max_pixels: int, where: str = "clip") -> None:
    """Probe an MP4 with PyAV: a video track whose frame size is within the pixel limit,
    and a first frame that decodes from the first packets; else :class:`EvidenceError`."""
    import av  # the worker's decoder already; imported only when a clip arrives

    try:
        with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
            if not container.streams.video:
                raise EvidenceError(f"{where}: the video/mp4 has no video track")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width < 1 or height < 1:
                raise EvidenceError(f"{where}: the video/mp4's video track has no frame size")
            if width * height > max_pixels:
                raise _too_many_pixels(where, width, height, max_pixels)
            for count, packet in enumerate(container.demux(stream), start=1):
                if packet.decode():
                    return
                if count >= _CLIP_PROBE_PACKETS:
                    break
    except EvidenceError:
        raise
    except Exception as exc:  # av.FFmpegError and its kin
        raise EvidenceError(f"{where}: the bytes do not decode as video/mp4 ({_reason(exc)})") from None
    raise EvidenceError(f"{where}: no frame of the video/mp4 decodes")


def decode_evidence(
    items: list[EvidenceIn], max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[DecodedEvidence]:
    """Decode every item or raise :class:`EvidenceError` naming the bad one: base64,
    size, magic number, then the media itself (images decoded, clips probed)."""
    decoded = []
    for index, item in enumerate(items):
        where = f"evidence[{index}]"
        # Base64 grows data by 4/3 (plus line breaks); refuse clearly oversize input
        # before allocating the decoded copy. The exact check follows the decode.
        if len(item.data_b64) > (max_bytes + 2) // 3 * 4 * 1.05 + 1024:
            raise EvidenceError(f"{where}: file larger than the {max_bytes} byte limit", 413)
        try:
            # Line breaks (MIME-style base64) are tolerated, any other stray character is not.
            data = base64.b64decode("".join(item.data_b64.split()), validate=True)
        except (binascii.Error, ValueError):
            raise EvidenceError(f"{where}.data_b64 is not valid base64") from None
        if not data:
            raise EvidenceError(f"{where}.data_b64 decodes to an empty file")
        if len(data) > max_bytes:
            raise EvidenceError(f"{where}: {len(data)} bytes exceeds the {max_bytes} byte limit", 413)
        if not _matches(item.content_type, data):
            raise EvidenceError(f"{where}: bytes do not look like {item.content_type} (magic number mismatch)")
        if item.content_type == "video/mp4":
            check_clip(data, max_pixels, where)
        else:
            check_image(data, item.content_type, max_pixels, where)
        decoded.append(
            DecodedEvidence(
                kind=item.kind.value,
                content_type=item.content_type,
                data=data,
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return decoded


class EvidenceStore:
    """Files under one root; callers only ever hold paths relative to it.

    Two ways in: :meth:`write` (to a temp file next to the target, fsync,
    rename), or :meth:`stage` (the same, into ``.staging/``) before a database
    transaction and :meth:`place` (a rename) inside it, so the fsync does not
    lengthen the transaction (on SQLite: the time the write lock is held)."""

    STAGING = ".staging"
    # Staged files older than this at start-up were left by a crash (a request lasts seconds).
    STALE_STAGED_S = 3600.0

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / self.STAGING
        if staging.is_dir():
            cutoff = time.time() - self.STALE_STAGED_S
            for leftover in staging.glob("*.part"):
                try:
                    if leftover.stat().st_mtime < cutoff:
                        leftover.unlink()
                except OSError:
                    continue

    def stage(self, data: bytes) -> Path:
        """Write ``data`` durably (fsync) to a new file under ``.staging/``; hand it
        to :meth:`place` or :meth:`discard`."""
        staging = self.root / self.STAGING
        try:
            fd, tmp = tempfile.mkstemp(dir=staging, suffix=".part")
        except FileNotFoundError:
            staging.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=staging, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def place(self, staged: Path, relative: str) -> None:
        """Move a staged file to ``relative`` (a rename on the same file system)."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)

    def discard(self, staged: list[Path | None]) -> None:
        """Remove staged files that were not placed (None: placed)."""
        for path in staged:
            if path is None:
                continue
            try:
                path.unlink(missing_ok=True)
            except OSError:
                continue

    def write(self, relative: str, data: bytes) -> None:
        """Write via a temp file in the target directory and rename, so a reader
        (or a crash) never sees half a file."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, relatives: list[str]) -> None:
        """Best-effort cleanup of files whose database rows never committed."""
        for relative in relatives:
            target = self.root / relative
            try:
                target.unlink(missing_ok=True)
            except OSError:
                continue
            try:
                target.parent.rmdir()  # only succeeds once the order's directory is empty
            except OSError:
                pass

    def resolve(self, relative: str) -> Path | None:
        """The file's absolute path, or None if it is gone or escapes the root."""
        root = self.root.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return target
