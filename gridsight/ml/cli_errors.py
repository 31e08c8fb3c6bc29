"""How the engineers' commands (gridsight.ml.cli, gridsight.ml.label_cli) say they failed:
one ``error: ...`` line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import sys

ONE_LINE_MAX_CHARS = 300


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` on stderr and return ``code`` (2: bad input; 1: a refusal or no answer)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def one_line(exc: BaseException) -> str:
    """An exception's text on one line of at most ONE_LINE_MAX_CHARS characters; its type's name when it has none."""
    return " ".join(str(exc).split())[:ONE_LINE_MAX_CHARS] or type(exc).__name__
