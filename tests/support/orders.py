"""Work orders for the API tests: payload builders, small but real media, the test
Settings and a POST shortcut. (The app fixtures built on them, ``settings`` and
``client``, are in tests/conftest.py; the API as a process is tests/support/api.py.)"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import struct
import zlib
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.settings import Settings


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (180, 60, 40)).save(out, "JPEG", quality=80)
    return out.getvalue()


# Small but real media: the API decodes every image and probes every clip (issue 14 §5).
JPEG = _jpeg()


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()


def _mp4() -> bytes:
    import numpy as np

    from inference.evidence import encode_mp4  # what the worker sends: H.264 in MP4

    return encode_mp4([np.full((16, 16, 3), 90, np.uint8)] * 2, [0.0, 0.2])


MP4 = _mp4()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


BASE_ORDER: dict[str, Any] = {
    "camera_id": "cam-01",
    "zone_id": "zone-a",
    "rule_id": "exposed-garbage",
    "event_id": "evt-0001",
    "category_code": "06010",
    "category_name": "暴露垃圾 exposed garbage",
    "priority": "normal",
    "labels": ["garbage_pile"],
    "confidence": 0.87,
    "detected_at": "2026-11-23T10:00:00+08:00",
    "event_started_at": "2026-11-23T09:30:00+08:00",
    "model_name": "yolo11n-gridsight",
    "model_version": "2026.11.1",
    "boxes": [{"label": "garbage_pile", "confidence": 0.87, "xyxy": [10.0, 20.0, 110.0, 220.0], "track_id": 7}],
    "grid_cell": "cell-0274",
    "address": "Xietang street 1",
    "evidence": [],
}


def order_body(*, evidence: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE_ORDER)
    body.update(overrides)
    if evidence is not None:
        body["evidence"] = evidence
    return body


def jpeg_evidence(data: bytes = JPEG, kind: str = "snapshot") -> dict[str, Any]:
    return {"kind": kind, "content_type": "image/jpeg", "data_b64": b64(data)}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'db' / 'gridsight.db'}",
        "evidence_dir": tmp_path / "evidence",
        "model_dir": tmp_path / "models",  # the model registry's files (issue 18), never the checkout's var/
        "api_token": None,
        # Open like the demo; role tests build their own settings with tokens.
        "dev_mode": True,
        # Most tests file several orders for one zone and category: merging is tested on its own.
        "merge_window": dt.timedelta(0),
        "job_interval_s": 0,  # jobs are driven by hand with a simulated clock
    }
    values.update(overrides)
    return Settings(**values)


def post_order(client: TestClient, body: dict[str, Any], key: str | None, **headers: str) -> Any:
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/work-orders", json=body, headers=headers)


def evidence_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
