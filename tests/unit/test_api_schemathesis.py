"""Property-based tests generated from the OpenAPI document (schemathesis):
every operation, with bounded random input, in-process. No answer may be a
500, and every documented response must match its schema.

The SSE stream is left out: it is an endless response by design (its own
test reads it with ``timeout_s``)."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from api.db import prepare_storage  # noqa: E402
from api.main import create_app  # noqa: E402
from tests.unit.test_api_support import make_settings  # noqa: E402


def _app():
    # Schemathesis drives the ASGI app without its lifespan, so storage is prepared here.
    root = Path(__import__("tempfile").mkdtemp(prefix="gridsight-schemathesis-"))
    app = create_app(make_settings(root))
    prepare_storage(app.state.engine)
    app.state.evidence_store.prepare()
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app()).exclude(path="/api/v1/events/stream")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_responses_match_the_schema(case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
