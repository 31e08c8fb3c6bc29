"""Strip URL credentials from status events before they are stored.

Workers redact already; the API does it again because a single RTSP password
in a dashboard is one too many. The text rules live in :mod:`streams.redact`
(stdlib only) so both sides mask the same way."""

from __future__ import annotations

from typing import Any

from streams.redact import redact_text

__all__ = ["redact_obj", "redact_text"]


def redact_obj(value: Any) -> Any:
    """Redact every string (dict keys included) in a JSON-like structure."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_obj(k) if isinstance(k, str) else k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value
