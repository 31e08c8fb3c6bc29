"""Process-wide logging: one format, credentials scrubbed from every record, times on
the site's clock (issue 17: docs/time.md) with the offset of the moment, e.g.
``2026-12-02 08:52:01.123+08:00 INFO    gridsight: ...``."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys

from inference import site_time

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class SiteTimeFormatter(logging.Formatter):
    """``asctime`` in the site's time zone (per record, so a DST change shows), milliseconds and offset."""

    def __init__(self, fmt: str = LOG_FORMAT, zone: dt.tzinfo | None = None) -> None:
        super().__init__(fmt)
        self.zone = zone or site_time.site_zone()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        at = dt.datetime.fromtimestamp(record.created, self.zone)
        return at.isoformat(sep=" ", timespec="milliseconds")


def zone_from_env(env=os.environ) -> dt.tzinfo:
    """GRIDSIGHT_SITE_TIMEZONE, or the default while it is unset or unknown (the command that
    reads it reports an unknown name itself, in one line)."""
    name = (env.get("GRIDSIGHT_SITE_TIMEZONE") or "").strip()
    if name and site_time.zone_problem(name) is None:
        return site_time.site_zone(name)
    return site_time.site_zone()


def use_site_timezone(zone: dt.tzinfo) -> None:
    """Once the command has read its config: the log's clock is the site's (worker.site_timezone
    or the API's GRIDSIGHT_SITE_TIMEZONE)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, SiteTimeFormatter):
            handler.formatter.zone = zone


def configure_logging(level: str = "INFO") -> None:
    from api.contract.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(SiteTimeFormatter(LOG_FORMAT, zone_from_env()))
    # On the handler, not a logger: filters on loggers do not see records propagated from children.
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "ultralytics", "libav"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
