"""Entries written before the chains were split stay verifiable as they were written."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from tests.conftest import BACKENDS, _database_url, _run_admin, postgres_admin_url

from fukaiji import audit
from fukaiji.audit.chain import LEGACY_CHAIN, BreakKind, canonical_json
from fukaiji.db import create_db_engine, transaction, upgrade

LEGACY_ENTRIES = 5


@pytest.fixture(params=BACKENDS)
def at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated only up to the revision before the chains were split."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
        name = None
    else:
        if postgres_admin_url() is None:
            pytest.skip("PostgreSQL not configured")
        name = f"fukaiji_legacy_{secrets.token_hex(6)}"
        _run_admin(f'CREATE DATABASE "{name}"')
        url = _database_url(name)
    engine = create_db_engine(url)
    upgrade(engine, "0013")
    yield engine
    engine.dispose()
    if name is not None:
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _write_old_style(engine: Engine) -> None:
    """Entries exactly as the single-chain appender wrote them."""
    prev = "0" * 64
    start = datetime(2026, 11, 26, 10, tzinfo=UTC)
    with engine.begin() as connection:
        for seq in range(1, LEGACY_ENTRIES + 1):
            at = start + timedelta(minutes=seq)
            fields = [at.isoformat(timespec="microseconds"), "staff:1", "131016", "old.action",
                      None, canonical_json({"seq": seq}), prev]  # fmt: skip
            digest = hashlib.sha256(canonical_json(fields).encode()).hexdigest()
            connection.execute(
                text(
                    "INSERT INTO audit_entries (seq, at, actor, institution, action, subject,"
                    " details, prev_hash, hash) VALUES (:seq, :at, 'staff:1', '131016',"
                    " 'old.action', NULL, :details, :prev, :hash)"
                ),
                {
                    "seq": seq,
                    # As SQLAlchemy stores a time on SQLite.
                    "at": at
                    if engine.dialect.name == "postgresql"
                    else at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "details": canonical_json({"seq": seq}),
                    "prev": prev,
                    "hash": digest,
                },
            )
            prev = digest


def test_the_old_chain_is_kept_and_verified_as_before(at_0013: Engine) -> None:
    _write_old_style(at_0013)
    upgrade(at_0013)
    with transaction(at_0013) as session:
        entry = audit.record(session, actor="staff:1", action="new.action", institution="131016")
        result = audit.verify(session)
    assert result.intact
    assert entry.seq == LEGACY_ENTRIES + 1 and (entry.chain, entry.position) == ("131016", 1)
    legacy = next(chain for chain in result.chains if chain.chain == LEGACY_CHAIN)
    assert (legacy.head_position, legacy.checked) == (LEGACY_ENTRIES, LEGACY_ENTRIES)

    with at_0013.begin() as connection:
        if at_0013.dialect.name == "postgresql":
            connection.execute(
                text("DROP TRIGGER audit_entries_no_update_or_delete ON audit_entries")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
        connection.execute(text(f"DELETE FROM audit_entries WHERE seq = {LEGACY_ENTRIES}"))
    with transaction(at_0013) as session:
        found = audit.verify(session).first_break
    # Cut off the end of the closed chain: its head row still knows how far it went.
    assert found is not None
    assert (found.chain, found.position, found.kind) == (
        LEGACY_CHAIN,
        LEGACY_ENTRIES,
        BreakKind.REMOVED,
    )
    assert "機関別に分ける前の連鎖" in found.describe()
