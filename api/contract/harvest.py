"""What a worker sends when it harvests frames worth labelling (issue 18).

Defined once, imported by both sides: the worker's harvester (``streams.harvest``)
builds a :class:`HarvestBatch`, the API (``POST /api/v1/harvest/frames``) reads it
back with :meth:`HarvestBatch.from_wire`. A frame is the raw decoded frame as JPEG,
never annotated: the model's own boxes travel beside it (normalised 0..1, canonical
labels) so a labelling tool can offer them as pre-annotations. Every frame says why
it was picked (:class:`HarvestReason`) and which model saw it. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.contract.wire import ContractError, check_version

HARVEST_VERSION = 1
MAX_FRAMES_PER_BATCH = 32
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_BOXES_PER_FRAME = 300


class HarvestReason(str, enum.Enum):
    """Why a frame was picked for labelling."""

    UNCERTAIN = "uncertain"  # a detection's confidence lies near its label's floor: the model is unsure
    FLICKER = "flicker"  # a track vanished and came back (or its label changed) within a few frames
    TIME_OF_DAY = "time_of_day"  # diversity: the first frames of an hour-of-day bucket not yet sampled today
    SCENE_CHANGE = "scene_change"  # diversity: the view differs from the last harvested frame (light, weather, PTZ)
    FALSE_POSITIVE = "false_positive"  # the frame of a work order an operator marked false positive (API side)


REASONS = tuple(r.value for r in HarvestReason)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ContractError(message)


def _text(name: str, value: object, limit: int) -> str:
    _require(isinstance(value, str) and 0 < len(value) <= limit, f"{name} must be text of 1-{limit} characters")
    return value  # type: ignore[return-value]


def _number(name: str, value: object, low: float, high: float) -> float:
    _require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
             and low <= value <= high, f"{name} must be a number from {low:g} to {high:g}")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class HarvestBox:
    """One of the model's boxes on the frame: canonical label, confidence, corners normalised 0..1."""

    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float
    track_id: int | None = None

    def __post_init__(self) -> None:
        _text("box label", self.label, 64)
        _number("box confidence", self.confidence, 0.0, 1.0)
        for name in ("x1", "y1", "x2", "y2"):
            _number(f"box {name}", getattr(self, name), 0.0, 1.0)
        _require(self.x1 < self.x2 and self.y1 < self.y2, "box corners must satisfy x1 < x2 and y1 < y2")
        _require(self.track_id is None or (isinstance(self.track_id, int) and not isinstance(self.track_id, bool)),
                 "box track_id must be a whole number or null")

    def to_wire(self) -> dict:
        return {"label": self.label, "confidence": self.confidence, "x1": self.x1, "y1": self.y1,
                "x2": self.x2, "y2": self.y2, "track_id": self.track_id}

    @classmethod
    def from_wire(cls, body: object) -> "HarvestBox":
        _require(isinstance(body, Mapping), "a box must be an object")
        try:
            return cls(label=body["label"], confidence=body["confidence"], x1=body["x1"], y1=body["y1"],
                       x2=body["x2"], y2=body["y2"], track_id=body.get("track_id"))
        except KeyError as exc:
            raise ContractError(f"a box lacks {exc.args[0]!r}") from None


@dataclass(frozen=True)
class HarvestFrame:
    """One frame worth labelling, with its provenance."""

    camera_id: str
    captured_at: float  # unix seconds
    model_name: str
    model_version: str
    reasons: tuple[str, ...]
    jpeg: bytes  # the raw frame, unannotated
    width: int
    height: int
    boxes: tuple[HarvestBox, ...] = ()
    detail: dict = field(default_factory=dict)  # why, in numbers: {"uncertain_labels": [...], "scene_change": 0.4}

    def __post_init__(self) -> None:
        _text("camera_id", self.camera_id, 64)
        _number("captured_at", self.captured_at, 0.0, 1e11)
        _text("model_name", self.model_name, 128)
        _text("model_version", self.model_version, 64)
        _require(0 < len(self.reasons) <= len(REASONS) and all(r in REASONS for r in self.reasons),
                 "reasons must be 1 or more of " + ", ".join(REASONS))
        _require(isinstance(self.jpeg, (bytes, bytearray)) and 0 < len(self.jpeg) <= MAX_FRAME_BYTES,
                 f"jpeg must be 1 byte to {MAX_FRAME_BYTES // (1024 * 1024)} MiB")
        _require(bytes(self.jpeg[:3]) == b"\xff\xd8\xff", "jpeg is not a JPEG image")
        for name in ("width", "height"):
            value = getattr(self, name)
            _require(isinstance(value, int) and not isinstance(value, bool) and 16 <= value <= 8192,
                     f"{name} must be a whole number of pixels from 16 to 8192")
        _require(len(self.boxes) <= MAX_BOXES_PER_FRAME, f"at most {MAX_BOXES_PER_FRAME} boxes per frame")
        _require(isinstance(self.detail, dict), "detail must be an object")

    def to_wire(self) -> dict:
        return {"camera_id": self.camera_id, "captured_at": self.captured_at, "model_name": self.model_name,
                "model_version": self.model_version, "reasons": list(self.reasons),
                "jpeg_b64": base64.b64encode(self.jpeg).decode("ascii"), "width": self.width,
                "height": self.height, "boxes": [b.to_wire() for b in self.boxes], "detail": dict(self.detail)}

    @classmethod
    def from_wire(cls, body: object) -> "HarvestFrame":
        _require(isinstance(body, Mapping), "a frame must be an object")
        try:
            encoded = body["jpeg_b64"]
            _require(isinstance(encoded, str) and len(encoded) <= MAX_FRAME_BYTES * 4 // 3 + 8,
                     "jpeg_b64 must be base64 text of at most 4 MiB decoded")
            try:
                jpeg = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ContractError("jpeg_b64 is not valid base64") from None
            boxes = body.get("boxes", [])
            _require(isinstance(boxes, list), "boxes must be a list")
            reasons = body["reasons"]
            _require(isinstance(reasons, list), "reasons must be a list")
            return cls(camera_id=body["camera_id"], captured_at=body["captured_at"], model_name=body["model_name"],
                       model_version=body["model_version"], reasons=tuple(reasons), jpeg=jpeg,
                       width=body["width"], height=body["height"],
                       boxes=tuple(HarvestBox.from_wire(b) for b in boxes), detail=body.get("detail") or {})
        except KeyError as exc:
            raise ContractError(f"a frame lacks {exc.args[0]!r}") from None


@dataclass(frozen=True)
class HarvestBatch:
    """``POST /api/v1/harvest/frames``: up to :data:`MAX_FRAMES_PER_BATCH` frames from one worker."""

    worker: str
    frames: tuple[HarvestFrame, ...]
    version: int = HARVEST_VERSION

    def __post_init__(self) -> None:
        check_version("harvest batch", self.version, HARVEST_VERSION)
        _text("worker", self.worker, 128)
        _require(0 < len(self.frames) <= MAX_FRAMES_PER_BATCH, f"a batch holds 1-{MAX_FRAMES_PER_BATCH} frames")

    def to_wire(self) -> dict:
        return {"version": self.version, "worker": self.worker, "frames": [f.to_wire() for f in self.frames]}

    @classmethod
    def from_wire(cls, body: Any) -> "HarvestBatch":
        _require(isinstance(body, Mapping), "a harvest batch must be an object")
        frames = body.get("frames")
        _require(isinstance(frames, list), "frames must be a list")
        _require(len(frames) <= MAX_FRAMES_PER_BATCH, f"a batch holds 1-{MAX_FRAMES_PER_BATCH} frames")
        try:
            return cls(worker=body["worker"], frames=tuple(HarvestFrame.from_wire(f) for f in frames),
                       version=check_version("harvest batch", body.get("version", 1), HARVEST_VERSION))
        except KeyError as exc:
            raise ContractError(f"a harvest batch lacks {exc.args[0]!r}") from None
