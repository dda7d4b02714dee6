"""Storage: engine, sessions, the declarative base and the migrations glue."""

from fukaiji.db.base import Base, UTCDateTime
from fukaiji.db.engine import create_db_engine, session_factory, transaction
from fukaiji.db.migrate import upgrade

__all__ = ["Base", "UTCDateTime", "create_db_engine", "session_factory", "transaction", "upgrade"]
