"""Strip URL credentials from status events before they are stored, and
secret-looking query parameters from the access log.

Workers redact already; the API does it again because a single RTSP password
in a dashboard is one too many. The text rules live in :mod:`api.contract.redact`
(stdlib only) so both sides mask the same way."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

from api.contract.redact import MASK, redact_text

__all__ = ["AccessLogRedaction", "redact_obj", "redact_query", "redact_text"]

# A query parameter whose name contains one of these is a secret whatever the route: a probe
# sending ?token=... must not leave the token in the access log.
_SECRET_PARAM = re.compile(
    r"(token|key|secret|pass|pwd|sig|auth|credential|session|cookie|bearer|jwt)", re.IGNORECASE
)


def redact_obj(value: Any) -> Any:
    """Redact every string (dict keys included) in a JSON-like structure."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_obj(k) if isinstance(k, str) else k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value


def redact_query(target: str) -> str:
    """``/path?token=abc&limit=5`` -> ``/path?token=***&limit=5``: the value of every parameter whose
    name looks secret (token, key, secret, password, signature, auth, ...) is masked, the rest kept
    byte for byte; URL credentials anywhere in it are masked too."""
    path, sep, query = str(target).partition("?")
    if not sep:
        return target
    fields = []
    for field in re.split(r"([&;])", query):
        name, eq, _value = field.partition("=")
        if eq and _SECRET_PARAM.search(unquote_plus(name)):
            field = f"{name}={MASK}"
        fields.append(field)
    return redact_text(path + sep + "".join(fields))


class AccessLogRedaction(logging.Filter):
    """For uvicorn's access logger: its record's args are (client, method, path with query,
    HTTP version, status); the path's secret-looking parameters are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def install_access_log_redaction(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, AccessLogRedaction) for f in logger.filters):
        logger.addFilter(AccessLogRedaction())
