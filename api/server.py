"""Run the API under uvicorn (``gridsight serve`` calls :func:`run_server`)."""

from __future__ import annotations

import uvicorn

from api.main import create_app
from api.redaction import install_access_log_redaction
from api.settings import Settings


def run_server(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    log_level: str = "info",
    graceful_timeout_s: float = 10.0,
) -> None:
    """Serve until SIGINT/SIGTERM. Uvicorn then stops accepting, lets in-flight
    requests finish (up to ``graceful_timeout_s``) and runs the app shutdown."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=graceful_timeout_s,
    )
    # After uvicorn.Config, which (re)configures the loggers: the access log masks ?token= and the like.
    install_access_log_redaction()
    uvicorn.Server(config).run()
