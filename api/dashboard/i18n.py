"""Every string the dashboard shows, one dictionary per language (strings_zh.py, strings_en.py).

Templates read them as ``t['key']``; the browser gets the same dictionary as
JSON and reads it with ``T('key', {var: value})`` (``{var}`` placeholders).
Category names are not here: they come from the orders themselves (e.g.
"暴露垃圾 exposed garbage"), as the worker's config names them.

A unit test checks that both languages have exactly the same keys, the same
placeholders, and every key a template or script uses."""

from __future__ import annotations

from api.dashboard.strings_en import EN
from api.dashboard.strings_zh import ZH

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

STRINGS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the cookie, then the browser's Accept-Language, else Chinese."""
    for value in (query, cookie):
        if value:
            code = value.strip().lower()[:2]
            if code in STRINGS:
                return code
    if accept_language:
        for part in accept_language.split(","):
            code = part.split(";", 1)[0].strip().lower()[:2]
            if code in STRINGS:
                return code
    return DEFAULT_LANGUAGE
