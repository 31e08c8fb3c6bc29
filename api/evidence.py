"""Evidence files: decode and check what a worker sent, write it atomically,
and find it again for download."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from api.schemas import EvidenceIn

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


def decode_evidence(items: list[EvidenceIn], max_bytes: int) -> list[DecodedEvidence]:
    """Decode every item or raise :class:`EvidenceError` naming the bad one."""
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
    """Files under one root; callers only ever hold paths relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

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
