"""Property-based tests generated from the OpenAPI document (schemathesis): every
operation, with bounded random input, in-process, against a secured app (tokens on,
dev mode off) as an admin and, for the operations workers call, as a worker.

Every check schemathesis 4 has runs (``--checks all``: no 5xx, documented status
codes, content types, headers and bodies, invalid input refused, valid input
accepted, 401 without a token, ``Allow`` on 405, missing headers...), in every phase
(examples, coverage, fuzzing), and none may find anything (issue 14 §10).

"Valid" to the schema is not always valid to the API: some rules are about content
or state a JSON schema cannot say. For schema-valid ("positive") cases only,
``_meet_content_rules`` makes the generated request meet them before it is sent, as
the schemathesis docs advise for such rules; each one is a documented 4xx of its
operation:

* evidence must decode as the image or clip its ``content_type`` names (422);
* a zone's polygon must be a simple polygon with area, a grid cell's GeoJSON outline closed rings
  with area (422);
* registry references (``grid_cell``, ``team_code``) must name existing rows (422);
* a webhook URL must point at a public host (422, see the webhook docs);
* a camera status's or registration's body ``camera_id`` must be the path's, and a registration's
  zone ids are unique (422);
* ``unit`` and ``key`` of the time series come together, ``since`` is not after ``until`` (422);
* an idempotency key comes as the header or the body's ``idempotency_key``, the same in both if
  both are sent (422);
* ``extend_minutes`` goes only with the move that grants an extension, and some moves need a
  ``reason`` (422).
* a harvest frame's ``jpeg_b64`` must be a JPEG of its ``width`` and ``height``, and a box's corners
  ordered (x1 < x2, y1 < y2) (422).
* a model upload's ``manifest`` must be a manifest whose weights are the ``files`` sent, with their
  checksum (422).

Negative cases are left alone. The SSE stream is left out: it is an endless
response by design (its own tests read it with ``timeout_s``). Run time stays
bounded: ``max_examples`` per operation, derandomized."""

from __future__ import annotations

import base64
import hashlib
import tempfile
from pathlib import Path
from urllib.parse import unquote

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from api.db.migrate import prepare_storage  # noqa: E402
from api.main import create_app  # noqa: E402
from api.crud.handling import REASON_REQUIRED  # noqa: E402
from tests.support.ops import ADMIN, WORKER, secured_settings  # noqa: E402
from tests.support.orders import JPEG, MP4, PNG  # noqa: E402

MAX_EXAMPLES = 8
MEDIA = {"image/jpeg": JPEG, "image/png": PNG, "video/mp4": MP4}
# A model upload the registry accepts: schemathesis names each file part after its field, so the
# weights are sent as "files" and the manifest says so.
MODEL_WEIGHTS = b"schemathesis weights"
MODEL_MANIFEST = (f"name: schemathesis\nversion: '1'\nfile: files\nsha256: {hashlib.sha256(MODEL_WEIGHTS).hexdigest()}\n"
                  "input_size: 320\nclasses: [person]\ncanonical_labels: {person: person}\n").encode()
TRIANGLE = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]
CELL_RING = [[120.95, 31.38], [120.954, 31.38], [120.954, 31.384], [120.95, 31.38]]
REFERENCES = ("grid_cell", "team_code")
REGISTRY_PATHS = ("/api/v1/cameras", "/api/v1/grid-cells", "/api/v1/teams")


def _app():
    # Schemathesis drives the ASGI app without its lifespan, so storage is prepared here.
    root = Path(tempfile.mkdtemp(prefix="gridsight-schemathesis-"))
    app = create_app(secured_settings(root))
    prepare_storage(app.state.engine)
    app.state.evidence_store.prepare()
    return app


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _meet_registration_rules(body: dict) -> None:
    """A registration's zones: simple polygons with area, each zone id once."""
    seen: set = set()
    zones = body.get("zones")
    for i, zone in enumerate(zones if isinstance(zones, list) else []):
        if isinstance(zone, dict):
            if isinstance(zone.get("polygon"), list):
                zone["polygon"] = [list(p) for p in TRIANGLE]
            if zone.get("zone_id") in seen:
                zone["zone_id"] = f"z{i}"
            seen.add(zone.get("zone_id"))


def _meet_content_rules(case) -> None:
    path = case.operation.path
    body = case.body
    if isinstance(body, dict):
        for item in body.get("evidence") or []:
            if isinstance(item, dict) and item.get("content_type") in MEDIA:
                item["data_b64"] = base64.b64encode(MEDIA[item["content_type"]]).decode("ascii")
        if isinstance(body.get("polygon"), list):
            body["polygon"] = [list(p) for p in TRIANGLE]
        if isinstance(body.get("polygon"), dict):  # a grid cell's GeoJSON outline: closed, with area
            body["polygon"] = {"type": "Polygon", "coordinates": [[list(p) for p in CELL_RING]]}
        if path.startswith(REGISTRY_PATHS):
            for field in REFERENCES:
                if body.get(field) is not None:
                    body[field] = None
        if path == "/api/v1/webhooks" and "url" in body:
            body["url"] = "https://hotline.example/gridsight"
        if path == "/api/v1/cameras/{camera_id}/registration":
            _meet_registration_rules(body)
        if path in ("/api/v1/cameras/{camera_id}/status", "/api/v1/cameras/{camera_id}/registration") \
                and body.get("camera_id") is not None:
            body["camera_id"] = unquote(str(case.path_parameters.get("camera_id")))  # generated already quoted
        if path in ("/api/v1/work-orders", "/api/v1/events/end", "/api/v1/events/evidence"):
            header_key = (case.headers or {}).get("Idempotency-Key")
            if header_key is not None and body.get("idempotency_key") is not None:
                body["idempotency_key"] = header_key
            elif header_key is None and body.get("idempotency_key") is None:
                body["idempotency_key"] = "schemathesis-key"
        if path == "/api/v1/harvest/frames":
            for frame in body.get("frames") or []:
                if isinstance(frame, dict):
                    frame.update(jpeg_b64=base64.b64encode(JPEG).decode("ascii"), width=16, height=16, boxes=[])
        if path == "/api/v1/work-orders/{order_id}/transitions":
            body["extend_minutes"] = None  # whether it applies depends on the order's state
            if body.get("to") in {s.value for s in REASON_REQUIRED} and not body.get("reason"):
                body["reason"] = "schemathesis"
    if path == "/api/v1/models" and case.operation.method.upper() == "POST":
        case.body = {"manifest": MODEL_MANIFEST, "files": [MODEL_WEIGHTS]}
    query = case.query
    if isinstance(query, dict):
        if path == "/api/v1/stats/timeseries" and (query.get("unit") is None) != (query.get("key") is None):
            query.pop("key", None)
            query.pop("unit", None)
        since, until = query.get("since"), query.get("until")
        if isinstance(since, str) and isinstance(until, str) and since > until:
            query["since"], query["until"] = until, since


def _schema(include_worker_operations_only: bool = False):
    loaded = schemathesis.openapi.from_asgi("/openapi.json", _app()).exclude(path="/api/v1/events/stream")
    loaded = loaded.exclude(path_regex="^/(health|metrics)$")  # no token, no body: nothing to learn here

    if include_worker_operations_only:
        loaded = loaded.include(path_regex=r"^/api/v1/(work-orders|events/(end|evidence)"
                                           r"|cameras/\{camera_id\}/(status|registration|snapshot|zones)"
                                           r"|models/(assignments|load-reports))$",
                                method_regex="^(POST|PUT|GET)$")
    return loaded


admin_schema = _schema()
worker_schema = _schema(include_worker_operations_only=True)

HYPOTHESIS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=True)


@admin_schema.parametrize()
@HYPOTHESIS
def test_every_check_passes_as_an_admin(case) -> None:
    if _is_positive(case):
        _meet_content_rules(case)
    case.call_and_validate(headers=ADMIN)


@worker_schema.parametrize()
@HYPOTHESIS
def test_every_check_passes_as_a_worker(case) -> None:
    if _is_positive(case):
        _meet_content_rules(case)
    case.call_and_validate(headers=WORKER)
