"""Keep camera credentials out of logs, exception text and status reasons.

Camera URLs routinely carry ``rtsp://admin:password@host`` and ffmpeg/PyAV
happily echo the full URL in error messages, so everything a source says goes
through here first. Every function is total: odd input is stringified, never
raised on, because a redaction bug must not turn into a crash in an error path.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"

# scheme://userinfo@ in free text. The userinfo is greedy up to the last "@" before
# the next whitespace or path separator: passwords with a raw "@" are common on
# cameras, and over-redacting a host is better than leaking half a password.
# A "/" is allowed in the userinfo too: cameras get passwords like "a/b" typed in raw.
# The scheme must not be glued to a preceding scheme character ("cam1_rtsp://" still counts).
_USERINFO_RE = re.compile(r"(?P<scheme>(?<![a-zA-Z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^\s?#@]*(?:@[^\s?#@]*)*)@")

# Credentials some vendors put in the query string (Dahua/Foscam style http URLs).
_SECRET_QUERY_RE = re.compile(
    r"(?P<key>[?&;](?:user|username|usr|login|loginuse|password|passwd|pass|pwd|loginpas"
    r"|token|access_token|auth|key|apikey|api_key|sig|signature)=)(?P<value>[^&;#\s'\"]*)",
    re.IGNORECASE,
)

# Bare usernames/passwords are redacted only if at least this long: masking every
# "a" in a log line would make it useless, and such secrets are not secrets anyway.
_MIN_LITERAL_LEN = 3


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:  # a hostile __str__ must not break logging
        return f"<unprintable {type(value).__name__}>"


def _mask_userinfo(userinfo: str) -> str:
    return f"{MASK}:{MASK}" if ":" in userinfo else MASK


def _split_userinfo(url: str) -> tuple[str, str] | None:
    """(username, password) of a URL's userinfo, raw (still percent-encoded); None if absent."""
    match = _USERINFO_RE.search(url)
    if match is None:
        return None
    user, _sep, password = match.group("userinfo").partition(":")
    return user, password


def redact_url(url: object) -> str:
    """The URL with its userinfo masked (``***:***@`` or ``***@``) and secret query values."""
    try:
        text = _as_text(url)
        text = _USERINFO_RE.sub(
            lambda m: f"{m.group('scheme')}{_mask_userinfo(m.group('userinfo'))}@", text
        )
        return _SECRET_QUERY_RE.sub(lambda m: f"{m.group('key')}{MASK}", text)
    except Exception:
        return "<unredactable url>"


@functools.lru_cache(maxsize=256)  # the same few camera URLs are passed on every log line
def _literal_secrets(urls: tuple[str, ...]) -> tuple[str, ...]:
    secrets: set[str] = set()
    for url in urls:
        parts = _split_userinfo(url)
        if parts is None:
            continue
        for raw in parts:
            if not raw:
                continue
            decoded = unquote(raw)
            # The raw form, the decoded form, and both common re-encodings of it:
            # libraries differ in which one ends up in their messages.
            for form in (raw, decoded, quote(decoded, safe=""), quote(decoded, safe="")
                         .replace("%20", "+")):
                if len(form) >= _MIN_LITERAL_LEN:
                    secrets.add(form)
    # Longest first, so "s3cret!" is masked whole before "s3cret" could split it.
    return tuple(sorted(secrets, key=len, reverse=True))


def redact_text(text: object, urls: Iterable[object] = ()) -> str:
    """Mask every ``scheme://user:pass@`` in ``text``, and every literal username/password
    (raw, decoded or percent-encoded) taken from ``urls``."""
    try:
        out = redact_url(text)
        for secret in _literal_secrets(tuple(_as_text(u) for u in urls or ())):
            out = out.replace(secret, MASK)
        return out
    except Exception:
        return "<unredactable text>"


class RedactingFilter(logging.Filter):
    """Redacts a record's message and args in place; attach it to *handlers*.

    (A filter on a logger only sees records logged on that exact logger, not
    ones propagated from children, so handler-level is where it catches all.)
    ``urls`` adds known camera URLs whose bare username/password to mask too.
    """

    def __init__(self, name: str = "", urls: Iterable[str] = ()) -> None:
        super().__init__(name)
        self._urls = list(urls)

    def add_url(self, url: str) -> None:
        self._urls.append(url)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            # Format first: a secret can be split between msg and args, or only exist once
            # "%s" is filled in. After this the record carries a plain, already-safe string.
            message = record.getMessage()
        except Exception:
            message = _as_text(record.msg)
        record.msg = redact_text(message, self._urls)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Render the traceback now, redacted, so the formatter reuses it verbatim.
            record.exc_text = redact_text(
                logging.Formatter().formatException(record.exc_info), self._urls
            )
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text, self._urls)
        return True
