"""Process-wide logging: one format, credentials scrubbed from every record."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO") -> None:
    from api.contract.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    # On the handler, not a logger: filters on loggers do not see records propagated from children.
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "ultralytics", "libav"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
