"""Wire schemas of the harvest (frames worth labelling) and of dataset versions (issue 18).

The harvest batch itself is :class:`api.contract.harvest.HarvestBatch` (the worker builds it);
:class:`HarvestBatchIn` states the same shape for the OpenAPI document and refuses unknown
fields, and the route then reads the body with ``HarvestBatch.from_wire`` so both sides apply
the contract's own checks."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.contract.harvest import HARVEST_VERSION, MAX_BOXES_PER_FRAME, MAX_FRAME_BYTES, MAX_FRAMES_PER_BATCH, HarvestReason
from api.schemas import JsonInput, UtcDatetime

MAX_DETAIL_BYTES = 16 * 1024
MAX_STATUS_IDS = 1000
MAX_PAGE = 1000
MAX_ID = 2**53
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=2**53)]
Label = Annotated[str, Field(min_length=1, max_length=64)]


class FrameStatus(str, enum.Enum):
    NEW = "new"  # stored, not yet sent to a labelling tool
    EXPORTED = "exported"  # sent to a labelling tool (a Label Studio task)
    LABELLED = "labelled"  # its annotations came back into a dataset version


class MarkableStatus(str, enum.Enum):
    EXPORTED = "exported"
    LABELLED = "labelled"


class DatasetSource(str, enum.Enum):
    LABEL_STUDIO = "label-studio"
    COCO = "coco"
    YOLO = "yolo"
    CVAT = "cvat"


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise ValueError("detail must be plain JSON (no NaN or Infinity)") from None
    if size > MAX_DETAIL_BYTES:
        raise ValueError(f"detail must be at most {MAX_DETAIL_BYTES} bytes of JSON")
    return value


class HarvestBoxIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    label: Label = Field(description="Canonical label the model gave")
    confidence: Unit = Field(description="The model's confidence, 0..1")
    x1: Unit = Field(description="Left edge, normalised 0..1 (x1 < x2)")
    y1: Unit = Field(description="Top edge, normalised 0..1 (y1 < y2)")
    x2: Unit = Field(description="Right edge, normalised 0..1")
    y2: Unit = Field(description="Bottom edge, normalised 0..1")
    track_id: int | None = Field(default=None, ge=-(2**53), le=2**53, description="Tracker id, if tracked")


class HarvestFrameIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    camera_id: str = Field(min_length=1, max_length=64, description="Camera id as configured in the worker")
    captured_at: float = Field(ge=0, le=1e11, allow_inf_nan=False, description="When the frame was taken, Unix seconds")
    model_name: str = Field(min_length=1, max_length=128, description="Model that saw the frame")
    model_version: str = Field(min_length=1, max_length=64, description="Its version")
    reasons: list[HarvestReason] = Field(min_length=1, max_length=len(HarvestReason),
                                         description="Why the frame was picked")
    jpeg_b64: str = Field(min_length=4, max_length=MAX_FRAME_BYTES * 4 // 3 + 8,
                          description="Base64 (no line breaks) of the raw, unannotated frame as JPEG, at most 4 MiB")
    width: int = Field(ge=16, le=8192, description="Frame width in pixels (must match the JPEG)")
    height: int = Field(ge=16, le=8192, description="Frame height in pixels (must match the JPEG)")
    boxes: list[HarvestBoxIn] = Field(default_factory=list, max_length=MAX_BOXES_PER_FRAME,
                                      description="The model's own boxes: pre-annotations for a labelling tool")
    detail: dict[str, Any] = Field(default_factory=dict, description="Why, in numbers (at most 16 KiB of JSON)")

    _detail = field_validator("detail")(_small_json)


class HarvestBatchIn(JsonInput):
    """``POST /harvest/frames``: the wire shape of :class:`api.contract.harvest.HarvestBatch`."""

    model_config = ConfigDict(extra="forbid")
    # The bounds are stated, not enforced here: the contract's check_version answers a newer one in one line.
    version: int = Field(default=1, json_schema_extra={"minimum": 1, "maximum": HARVEST_VERSION},
                         description=f"Harvest batch shape (1 when absent; this API reads up to {HARVEST_VERSION})")
    worker: str = Field(min_length=1, max_length=128, description="The sending worker's name")
    # The count is the contract's check (one line: "a batch holds 1-32 frames"); the schema only states it.
    frames: list[HarvestFrameIn] = Field(json_schema_extra={"minItems": 1, "maxItems": MAX_FRAMES_PER_BATCH},
                                         description=f"1-{MAX_FRAMES_PER_BATCH} frames")


class HarvestBatchResult(BaseModel):
    batch_id: int = Field(description="Id of the stored batch")
    accepted: int = Field(description="Frames stored")
    duplicates: int = Field(
        description="Frames already held: the same bytes, or the same moment (dHash, captured within 5 s)")
    over_budget: int = Field(description="Frames over the camera's daily cap (GRIDSIGHT_HARVEST_CAMERA_DAILY_MAX)")


class HarvestBoxPublic(BaseModel):
    label: str = Field(description="Canonical label")
    confidence: float = Field(description="The model's confidence")
    x1: float = Field(description="Left, 0..1")
    y1: float = Field(description="Top, 0..1")
    x2: float = Field(description="Right, 0..1")
    y2: float = Field(description="Bottom, 0..1")
    track_id: int | None = Field(description="Tracker id, or null")


class HarvestFramePublic(BaseModel):
    id: int = Field(description="Frame id")
    batch_id: int = Field(description="Batch it came in")
    camera_id: str = Field(description="Camera")
    captured_at: UtcDatetime = Field(description="When it was taken")
    model_name: str = Field(description="Model that saw it")
    model_version: str = Field(description="Its version")
    reasons: list[str] = Field(description="Why it was picked")
    width: int = Field(description="Pixels")
    height: int = Field(description="Pixels")
    boxes: list[HarvestBoxPublic] = Field(description="The model's boxes, normalised")
    detail: dict[str, Any] = Field(description="Why, in numbers")
    status: FrameStatus = Field(description="new, exported or labelled")
    sha256: str = Field(description="Hex SHA-256 of the JPEG")
    image_url: str = Field(description="Where the raw JPEG is, relative to the API root")
    note: str | None = Field(description="Set with the last status change")


class HarvestFramePage(BaseModel):
    items: list[HarvestFramePublic] = Field(description="Frames in id order")
    next_after_id: int | None = Field(description="Pass as after_id for the next page; null on the last page")


class HarvestStatusIn(JsonInput):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=MAX_STATUS_IDS,
                                                              description="Frame ids")
    status: MarkableStatus = Field(description="exported (sent to a labelling tool) or labelled")
    note: str | None = Field(default=None, max_length=2000, description="Why, e.g. the Label Studio project")


class HarvestStatusResult(BaseModel):
    updated: int = Field(description="Frames whose status was set (ids not stored, or evicted, are skipped)")


class CameraHarvestCount(BaseModel):
    today: int = Field(description="Frames accepted today (site day): what the daily cap counts, evicted ones included")
    total: int = Field(description="Frames stored now")


class HarvestSummary(BaseModel):
    frames: int = Field(description="Frames stored now")
    bytes: int = Field(description="Their size on disk")
    max_bytes: int = Field(description="GRIDSIGHT_HARVEST_MAX_BYTES")
    by_status: dict[str, int] = Field(description="Stored frames per status")
    by_reason: dict[str, int] = Field(description="Stored frames per reason (a frame can have several)")
    by_camera: dict[str, CameraHarvestCount] = Field(description="Per camera")
    evicted: int = Field(description="Frames evicted to stay within max_bytes, ever")
    duplicates: int = Field(description="Frames refused as duplicates, ever")


class DatasetSplits(JsonInput):
    model_config = ConfigDict(extra="forbid")
    train: Count = Field(description="Images in the training split")
    val: Count = Field(description="Images in the validation split")
    test: Count = Field(description="Images in the held-out test split")


class DatasetVersionCreate(JsonInput):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_.\-]+$", description="Dataset name")
    version: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.\-+]+$", description="Version")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) over the dataset's images and labels")
    source: DatasetSource = Field(description="Where the annotations came from")
    images: Count = Field(description="Images")
    instances: Count = Field(description="Labelled boxes")
    classes: dict[Label, Count] = Field(max_length=1000, description="Instances per canonical label")
    cameras: dict[Annotated[str, Field(min_length=1, max_length=64)], Count] = Field(
        max_length=10_000, description="Images per camera")
    splits: DatasetSplits = Field(description="Images per split (one camera-hour stays in one split)")
    harvest_frame_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=100_000, description="Harvest frames it was made from (not checked: "
        "they may have been evicted since)")
    path: str | None = Field(default=None, min_length=1, max_length=1024,
                             description="Where the dataset lies (a YOLO data.yaml or its folder)")


class DatasetVersionPublic(BaseModel):
    id: int = Field(description="Dataset version id")
    name: str = Field(description="Dataset name")
    version: str = Field(description="Version")
    fingerprint: str = Field(description="SHA-256 over images and labels")
    source: DatasetSource = Field(description="Where the annotations came from")
    images: int = Field(description="Images")
    instances: int = Field(description="Labelled boxes")
    classes: dict[str, int] = Field(description="Instances per label")
    cameras: dict[str, int] = Field(description="Images per camera")
    splits: dict[str, int] = Field(description="Images per split")
    harvest_frame_ids: list[int] = Field(description="Harvest frames it was made from")
    path: str | None = Field(description="Where it lies")
    created_at: UtcDatetime = Field(description="When it was recorded")
    created_by: str = Field(description="Who recorded it")


class DatasetVersionList(BaseModel):
    items: list[DatasetVersionPublic] = Field(description="Newest first")
