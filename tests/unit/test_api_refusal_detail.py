"""gridsight.ml.api_client.refusal_detail: the one line the offline tools print for an API refusal."""

import httpx
import pytest

from gridsight.ml.api_client import refusal_detail


@pytest.mark.parametrize(("response", "expected"), [
    (httpx.Response(422, json={"detail": [{"loc": ["body", "scope"], "msg": "bad scope"},
                                          {"loc": ["body", "reason"], "msg": "too long"}]}),
     "body.scope: bad scope; body.reason: too long"),
    (httpx.Response(409, json={"detail": "dataset exists\n  with another fingerprint"}),
     "dataset exists with another fingerprint"),
    (httpx.Response(500, text="<html>\nInternal error</html>"), "<html> Internal error</html>"),
    (httpx.Response(502, text=""), "Bad Gateway"),
])
def test_the_refusal_is_one_line_from_detail_then_body_then_reason(response, expected):
    assert refusal_detail(response) == expected


def test_a_long_refusal_is_cut_to_the_limit():
    assert refusal_detail(httpx.Response(400, json={"detail": "x" * 1000}), 50) == "x" * 50
