"""A real Label Studio server for the tests, on loopback, from its own virtualenv.

``make labelstudio`` installs the pinned ``label-studio`` into var/labelstudio-venv (its
Django pins clash with the project's, so it never shares .venv) and migrates an empty
database once into var/labelstudio-template; each server copies that database into its
own data directory, so a start does not replay Label Studio's hundreds of migrations.

    with LabelStudioServer(tmp_path) as ls:
        client = label_studio_sdk.LabelStudio(base_url=ls.url, api_key=ls.token)

The admin user and its API token are created non-interactively at start
(LABEL_STUDIO_USERNAME / _PASSWORD / _USER_TOKEN, read by ``label-studio start``); the
organisation is created with legacy API tokens enabled (LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN),
which is what ``--user-token`` sets. Nothing is fetched from the internet: the PyPI
version check, analytics and Sentry are switched off.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

import httpx

from gridsight.processes import REPO_ROOT, ChildProcess
from tests.support.procs import free_port

LS_VENV = REPO_ROOT / "var" / "labelstudio-venv"
LS_BIN = LS_VENV / "bin" / "label-studio"
TEMPLATE_DB = REPO_ROOT / "var" / "labelstudio-template" / "label_studio.sqlite3"
ADMIN = "admin@gridsight.test"
OFFLINE_ENV = {
    "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
    "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "DJANGO_DB": "sqlite", "LOG_LEVEL": "WARNING",
}


def installed() -> bool:
    return LS_BIN.is_file()


class LabelStudioServer:
    def __init__(self, workdir: Path, ready_timeout_s: float = 600.0) -> None:
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "label-studio-data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(20)
        self.password = secrets.token_urlsafe(16)
        self.ready_timeout_s = ready_timeout_s
        self.proc: ChildProcess | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
               and not k.startswith(("LABEL_STUDIO_", "GRIDSIGHT_", "DJANGO_"))}
        env.update(OFFLINE_ENV)
        env.update({"LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir), "LABEL_STUDIO_USERNAME": ADMIN,
                    "LABEL_STUDIO_PASSWORD": self.password, "LABEL_STUDIO_USER_TOKEN": self.token,
                    "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "HOME": str(self.workdir)})
        return env

    def start(self) -> "LabelStudioServer":
        if not installed():
            raise RuntimeError(f"Label Studio is not installed at {LS_VENV}: run `make labelstudio`")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if TEMPLATE_DB.is_file() and not (self.data_dir / TEMPLATE_DB.name).exists():
            shutil.copyfile(TEMPLATE_DB, self.data_dir / TEMPLATE_DB.name)
        argv = [str(LS_BIN), "start", "--no-browser", "--port", str(self.port), "--internal-host", "127.0.0.1",
                "--data-dir", str(self.data_dir), "--enable-legacy-api-token"]
        self.proc = ChildProcess("label-studio", argv, self.workdir / "logs" / "label-studio.log", env=self.env(),
                                 cwd=self.workdir).start()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until the API answers an authenticated request (the admin and token exist by then)."""
        deadline = time.monotonic() + self.ready_timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.proc.alive:
                raise RuntimeError(f"label-studio exited before it answered:\n{self.proc.log_text()[-3000:]}")
            try:
                response = httpx.get(f"{self.url}/api/projects", headers={"Authorization": f"Token {self.token}"},
                                     timeout=5)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"Label Studio at {self.url} not ready within {self.ready_timeout_s:.0f}s ({last})")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout_s=20)

    def __enter__(self) -> "LabelStudioServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
