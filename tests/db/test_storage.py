"""Storage: migrations apply, SQLite runs with WAL and foreign keys, time is stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text

from fukaiji import audit
from fukaiji.audit.models import AuditEntry
from fukaiji.db import UTCDateTime, create_db_engine, transaction, upgrade
from fukaiji.db.migrate import current_revision, head_revision


def test_migrations_reach_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_times_round_trip_as_utc(engine: Engine) -> None:
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 11, 26, 19, 30, 0, 123456, tzinfo=tokyo)
    with transaction(engine) as session:
        entry = audit.record(session, actor="test", action="test.time", at=moment)
    with transaction(engine) as session:
        stored = session.scalars(select(AuditEntry.at).where(AuditEntry.seq == entry.seq)).one()
    assert stored == moment
    assert stored.tzinfo == UTC


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), engine.dialect)
