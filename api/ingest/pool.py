"""Several consumers in one API process (``GRIDSIGHT_INGEST_THREADS``), seen from
outside as one ingest: started and stopped together, one status, one /health entry."""

from __future__ import annotations

from api.ingest.consumer import IngestStatus, StreamIngestor, default_consumer
from api.settings import Settings


class IngestPool:
    """``ingest_threads`` consumers in one process, seen from outside as one ingest."""

    def __init__(self, members: list[StreamIngestor]) -> None:
        self.members = members

    def start(self) -> "IngestPool":
        for m in self.members:
            m.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        for m in self.members:
            m._stop.set()
        for m in self.members:
            m.stop(timeout_s)

    @property
    def status(self) -> IngestStatus:
        first = self.members[0].status
        merged = IngestStatus(**vars(first))
        merged.running = all(m.status.running for m in self.members)
        merged.redis_ok = None if all(m.status.redis_ok is None for m in self.members) else \
            all(m.status.redis_ok is not False for m in self.members)
        if any(m.status.database_ok is False for m in self.members):
            merged.database_ok = False
        merged.handled = sum(m.status.handled for m in self.members)
        return merged

    def health(self) -> dict:
        reports = [m.health() for m in self.members]
        merged = dict(reports[0])
        problems = sorted({r["detail"] for r in reports if r["detail"]})
        merged.update(status="degraded" if problems else "ok", detail="; ".join(problems) or None,
                      handled=sum(r["handled"] for r in reports), consumers=[r["consumer"] for r in reports])
        merged.pop("consumer", None)
        return merged


def start_ingest(app) -> IngestPool | None:  # noqa: ANN001 (the FastAPI app)
    """Called from the app's lifespan: start the ingest when ``settings.redis_url`` is set."""
    cfg: Settings = app.state.settings
    if not cfg.redis_url:
        return None
    base = cfg.ingest_consumer or default_consumer()
    members = [
        StreamIngestor(cfg, app.state.write_sessions, app.state.filing,
                       consumer=base if cfg.ingest_threads == 1 else f"{base}-{i}",
                       metrics=getattr(app.state, "metrics", None))
        for i in range(cfg.ingest_threads)
    ]
    pool = IngestPool(members)
    app.state.ingest = pool
    return pool.start()
