"""The hand-written migrations create exactly the tables the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from fukaiji.db import Base
from fukaiji.db.migrations.registry import import_all_models


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    import_all_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
