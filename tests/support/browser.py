"""Debian's chromium through Playwright, as every browser test uses it: where the browser is,
how it is launched, and one page session that collects script errors and CSP violations and,
when asked, aborts and records every request that leaves loopback (the pages must work on an
isolated intranet). The `browser` fixture (tests/integration/conftest.py) launches it once
per module."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.procs import REPO_ROOT

CHROMIUM = os.environ.get("GRIDSIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

requires_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                       reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")


def shots_dir(name: str) -> Path:
    """test-output/<name>/ (git-ignored), made if missing: where a module's screenshots go."""
    path = REPO_ROOT / "test-output" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def launched_chromium() -> Iterator:
    """A headless chromium (playwright's Browser) for as long as the block runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def leaves_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK


class OutsideGuard:
    """Routes every request of a browser context: loopback goes through, anything else is
    aborted and recorded (and every request or websocket seen to leave loopback is recorded too,
    including ones the page's CSP stopped before the network)."""

    def __init__(self) -> None:
        self.aborted: list[str] = []
        self.seen: list[str] = []

    def route(self, route) -> None:
        if leaves_loopback(route.request.url):
            self.aborted.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def saw(self, url: str) -> None:
        if leaves_loopback(url):
            self.seen.append(url)

    def attach(self, context) -> None:
        context.route("**/*", self.route)
        context.on("request", lambda request: self.saw(request.url))
        context.on("page", lambda page: page.on("websocket", lambda ws: self.saw(ws.url)))


class PageSession:
    """One browser context and page: a token in localStorage (or none), script errors and CSP
    violations collected, and with ``guard`` every request leaving loopback aborted and recorded."""

    def __init__(self, browser, base: str, *, token: str | None = None, locale: str = "zh-CN",
                 viewport: tuple[int, int] = (1440, 900), timeout_ms: int = 15_000, shots: Path | None = None,
                 guard: OutsideGuard | None = None, **context_options) -> None:
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale=locale,
                                           **context_options)
        self.context.set_default_timeout(timeout_ms)
        if token:
            self.context.add_init_script(f"localStorage.setItem('gridsight.token', {json.dumps(token)});")
        self.guard = guard
        if guard is not None:
            guard.attach(self.context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: page error: {exc}"))
        self.page.on("console", self._console)
        self.base = base
        self.shots = shots

    def _console(self, msg) -> None:
        if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text):
            self.errors.append(f"{self.page.url}: CSP: {msg.text}")

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        assert self.shots is not None, "this session was opened without a screenshot directory"
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def clean(self) -> None:
        """Nothing left loopback and no script error or CSP violation so far."""
        if self.guard is not None:
            assert self.guard.aborted == [] and self.guard.seen == [], (self.guard.aborted, self.guard.seen)
        assert self.errors == [], self.errors

    def close(self) -> None:
        self.context.close()
