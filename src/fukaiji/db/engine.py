"""Engines and sessions for SQLite (development default) and PostgreSQL (production).

SQLite runs with WAL (readers never block the writer), foreign keys on, and every transaction
opened with ``BEGIN IMMEDIATE``: a transaction that reads and then writes (which is what almost
every service does, and what appending to the audit chain must do) would otherwise fail with
SQLITE_BUSY_SNAPSHOT when another process committed in between, and a busy timeout cannot
repair that. Taking the write lock up front makes concurrent writers simply wait their turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_SECONDS = 60


def create_db_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **options)
    return create_engine(url, pool_pre_ping=True, **options)


def _sqlite_engine(url: str, **options: Any) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **options)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
