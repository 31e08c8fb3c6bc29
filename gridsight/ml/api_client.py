"""One way for the offline tools to reach the API: an httpx client rooted at its URL.

``gridsight replay --order`` and ``gridsight verdicts`` read work orders and their
evidence over HTTP, like any other client, instead of opening the API's database
and evidence directory. The bearer token goes into the request header only; it
is never logged or printed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
TOKEN_ENV = "GRIDSIGHT_API_TOKEN"


def default_api_url() -> str:
    return os.environ.get("GRIDSIGHT_API_URL", DEFAULT_API_URL)


def token_from_env(token: str | None) -> str | None:
    """``token`` if given, else the token in ``GRIDSIGHT_API_TOKEN`` (or None)."""
    return token or os.environ.get(TOKEN_ENV) or None


@contextlib.contextmanager
def api_client(api_url: str | None, token: str | None, *, client: httpx.Client | None = None,
               timeout_s: float = 30.0) -> Iterator[httpx.Client]:
    """``client`` as given (tests pass one rooted at the app), else a new client for ``api_url``."""
    if client is not None:
        yield client
        return
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=(api_url or "").rstrip("/"), headers=headers, timeout=timeout_s) as own:
        yield own


def refusal_detail(response: httpx.Response, limit: int = 300) -> str:
    """Why the API refused a request, as one line: its ``detail`` (FastAPI's field errors as
    ``loc: msg``, the first three), else the body's text, else the status's reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI's field errors
        detail = "; ".join(f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg', '')}"
                           for e in detail[:3] if isinstance(e, dict))
    text = " ".join(str(detail or response.text or "").split())
    return text[:limit] or response.reason_phrase
