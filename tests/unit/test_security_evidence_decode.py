"""Issue 14 §5: evidence is decoded, not only sniffed. A JPEG magic number in front
of HTML, a PNG header claiming 100000 x 100000 pixels, a truncated image, an MP4
'ftyp' box in front of junk: each is refused with 422 and one line naming the
item, on every path a file comes in by (a work order's evidence, a transition's
feedback evidence, an event END's frame, a camera snapshot, the Redis ingest)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.evidence import EvidenceError, check_clip, check_image, decode_evidence
from api.main import create_app
from api.db.models import Evidence, WorkOrder
from api.schemas import EvidenceIn
from tests.support.ops import OP_A, WORKER, file_order, secured_settings, walk
from tests.support.orders import JPEG, MP4, PNG, b64, evidence_files, order_body, post_order

HTML_JPEG = b"\xff\xd8\xff<html><script>alert(document.cookie)</script></html>"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int, pixels: bytes = b"\x00" * 64) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(pixels)) + _chunk(b"IEND", b"")


def real_jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


BAD_FILES = {
    "html-behind-jpeg-magic": ("image/jpeg", HTML_JPEG, "do not decode as image/jpeg"),
    "truncated-jpeg": ("image/jpeg", real_jpeg(64, 48)[:300], "do not decode as image/jpeg"),
    "png-bomb-header": ("image/png", png_claiming(100_000, 100_000), "pixel"),
    "png-4097-square": ("image/png", png_claiming(4097, 4097), "4097x4097 pixels is more than the 16777216-pixel limit"),
    "png-garbage-pixels": ("image/png", PNG[:33] + _chunk(b"IDAT", b"not zlib at all") + _chunk(b"IEND", b""),
                           "do not decode as image/png"),
    "mp4-ftyp-then-junk": ("video/mp4", struct.pack(">I", 24) + b"ftypisom" + b"\x00" * 64, "video/mp4"),
    "mp4-ftyp-then-html": ("video/mp4", MP4[:32] + b"<html><script>x</script></html>" * 8, "video/mp4"),
}


def item(content_type: str, data: bytes, kind: str = "snapshot") -> dict:
    return {"kind": kind, "content_type": content_type, "data_b64": b64(data)}


@pytest.fixture
def ops(tmp_path: Path) -> TestClient:
    with TestClient(create_app(secured_settings(tmp_path))) as client:
        yield client


def _count(client: TestClient, model) -> int:
    with client.app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_work_order_evidence_that_does_not_decode_is_422(ops: TestClient, name: str) -> None:
    content_type, data, fragment = BAD_FILES[name]
    body = order_body(evidence=[item("image/jpeg", JPEG), item(content_type, data, "before")])
    response = post_order(ops, body, f"key-decode-{name}"[:60], **WORKER)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "evidence[1]" in detail and fragment in detail, detail
    assert "0x" not in detail  # no object reprs from the decoder
    assert _count(ops, WorkOrder) == 0 and _count(ops, Evidence) == 0
    assert evidence_files(ops.app.state.settings.evidence_dir) == []


def test_real_media_of_every_type_is_accepted(ops: TestClient) -> None:
    body = order_body(evidence=[item("image/jpeg", real_jpeg(640, 360)), item("image/png", PNG, "before"),
                                item("video/mp4", MP4, "clip")])
    response = post_order(ops, body, "key-decode-real-0001", **WORKER)
    assert response.status_code == 201, response.text
    assert _count(ops, Evidence) == 3


def test_the_pixel_limit_is_a_setting(tmp_path: Path) -> None:
    with TestClient(create_app(secured_settings(tmp_path, max_image_pixels=64 * 64))) as small:
        fits = post_order(small, order_body(evidence=[item("image/jpeg", real_jpeg(64, 64))]), "key-px-00001", **WORKER)
        assert fits.status_code == 201, fits.text
        big = post_order(small, order_body(event_id="e2", evidence=[item("image/jpeg", real_jpeg(65, 64))]),
                         "key-px-00002", **WORKER)
        assert big.status_code == 422 and "65x64 pixels is more than the 4096-pixel limit" in big.json()["detail"]
        clip = post_order(small, order_body(event_id="e3", evidence=[item("video/mp4", _clip(96, 64), "clip")]),
                          "key-px-00003", **WORKER)
        assert clip.status_code == 422 and "96x64 pixels" in clip.json()["detail"]


def _clip(width: int, height: int) -> bytes:
    from inference.evidence import encode_mp4

    return encode_mp4([np.full((height, width, 3), 50, np.uint8)] * 3, [0.0, 0.2, 0.4])


def test_feedback_evidence_of_a_transition_is_decoded(ops: TestClient) -> None:
    order = file_order(ops)
    walk(ops, order["id"], "filed", "dispatched", "accepted", "in_progress")
    url = f"/api/v1/work-orders/{order['id']}/transitions"
    bad = ops.post(url, json={"to": "feedback", "evidence": [item("image/jpeg", HTML_JPEG, "after")]}, headers=OP_A)
    assert bad.status_code == 422 and "evidence[0]" in bad.json()["detail"], bad.text
    assert ops.get(f"/api/v1/work-orders/{order['id']}", headers=OP_A).json()["status"] == "in_progress"
    good = ops.post(url, json={"to": "feedback", "evidence": [item("image/jpeg", JPEG, "after")]}, headers=OP_A)
    assert good.status_code == 200, good.text


def test_event_end_evidence_is_decoded(ops: TestClient) -> None:
    body = {"event_id": "evt-0001", "camera_id": "cam-01", "zone_id": "zone-a", "rule_id": "exposed-garbage",
            "ended_at": "2026-11-23T12:00:00+08:00", "evidence": [item("image/png", png_claiming(100_000, 100_000), "after")]}
    response = ops.post("/api/v1/events/end", json=body, headers={"Idempotency-Key": "end-decode-0001", **WORKER})
    assert response.status_code == 422 and "evidence[0]" in response.json()["detail"], response.text


@pytest.mark.parametrize("data", [HTML_JPEG, real_jpeg(64, 48)[:300], b"\xff\xd8\xff" + b"\x00" * 1000])
def test_a_snapshot_that_does_not_decode_is_422(ops: TestClient, data: bytes) -> None:
    response = ops.put("/api/v1/cameras/cam-01/snapshot", content=data,
                       headers={"Content-Type": "image/jpeg", **WORKER})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("snapshot: the bytes do not decode as image/jpeg")
    assert ops.get("/api/v1/cameras/cam-01/snapshot", headers=OP_A).status_code == 404
    assert ops.put("/api/v1/cameras/cam-01/snapshot", content=real_jpeg(320, 240),
                   headers={"Content-Type": "image/jpeg", **WORKER}).status_code == 200


def test_decode_evidence_checks_media_for_every_caller() -> None:
    # The Redis ingest calls decode_evidence too (and dead-letters what it refuses).
    with pytest.raises(EvidenceError, match=r"evidence\[0\]: the bytes do not decode as image/jpeg"):
        decode_evidence([EvidenceIn(**item("image/jpeg", HTML_JPEG))], 1 << 20)
    with pytest.raises(EvidenceError, match="100000x100000 pixels is more than the 16777216-pixel limit|pixel limit"):
        check_image(png_claiming(100_000, 100_000), "image/png", 4096 * 4096)
    with pytest.raises(EvidenceError, match="no video track|no frame|do not decode"):
        check_clip(MP4[: len(MP4) // 2], 4096 * 4096)
    check_image(JPEG, "image/jpeg", 4096 * 4096)
    check_clip(MP4, 4096 * 4096)


def test_the_redis_ingest_dead_letters_evidence_that_does_not_decode(tmp_path: Path) -> None:
    import time

    from streams.delivery.bus import encode_message
    from tests.support.loadgen import synthetic_order
    from tests.support.redis_server import REDIS_SERVER, RedisServer

    if REDIS_SERVER is None:
        pytest.skip("needs redis-server on PATH")
    with RedisServer(workdir=tmp_path / "redis") as server:
        r = server.client()
        stream = "gs:orders"
        good_key, good = synthetic_order("decode", 1, b64(JPEG))
        bad_key, bad = synthetic_order("decode", 2, b64(HTML_JPEG))
        r.xadd(stream, encode_message("work_order", bad_key, bad, "w"))
        r.xadd(stream, encode_message("work_order", good_key, good, "w"))
        settings = secured_settings(tmp_path).model_copy(
            update={"redis_url": server.url, "redis_stream": stream, "ingest_block_ms": 100})
        app = create_app(settings)
        with TestClient(app) as client:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (r.xlen(f"{stream}:dead") and _count(client, WorkOrder)):
                time.sleep(0.05)
            [(_, dead)] = r.xrange(f"{stream}:dead")
            assert dead["key"] == bad_key and "do not decode as image/jpeg" in dead["dead_reason"], dead
            assert _count(client, WorkOrder) == 1
