"""Alembic environment. Runs from :func:`api.db.migrate.upgrade` with a live
connection in ``config.attributes["connection"]`` (the app's own engine), or
from ``python -m api.db.migrate`` which builds one from the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from api.db.models import Base
import api.db.models_harvest  # noqa: F401,E402  (the harvest and dataset tables join Base.metadata)
import api.db.models_registry  # noqa: F401,E402  (the model registry's tables join Base.metadata)

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
