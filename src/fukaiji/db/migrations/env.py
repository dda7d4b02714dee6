"""Alembic environment: runs on the connection handed over by ``fukaiji.db.migrate``."""

from __future__ import annotations

from alembic import context

from fukaiji.db.base import Base
from fukaiji.db.engine import create_db_engine
from fukaiji.db.migrations.registry import import_all_models

import_all_models()
target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as own_connection:
        run_migrations(own_connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `fukaiji db upgrade`")
run()
