"""The audit log: append-only in the database itself, and every kind of tampering is named."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from fukaiji import audit
from fukaiji.audit.chain import BreakKind
from fukaiji.audit.models import AuditEntry
from fukaiji.db import create_db_engine, transaction, upgrade


def _append(engine: Engine, count: int) -> None:
    with transaction(engine) as session:
        for index in range(count):
            audit.record(
                session,
                actor="staff:1",
                action="test.append",
                institution="131016",
                subject=f"person:{index}",
                details={"index": index, "memo": "住所変更"},
            )


@pytest.fixture
def base(engine: Engine) -> int:
    """How many entries the fresh database already holds (loading the institutions is audited)."""
    return _verify(engine).entries


def _verify(engine: Engine) -> audit.VerificationResult:
    with transaction(engine) as session:
        return audit.verify(session)


def _drop_guards(engine: Engine) -> None:
    """What an administrator with full rights could do before tampering."""
    statements = {
        "sqlite": [
            "DROP TRIGGER audit_entries_no_update",
            "DROP TRIGGER audit_entries_no_delete",
        ],
        "postgresql": ["DROP TRIGGER audit_entries_no_update_or_delete ON audit_entries"],
    }[engine.dialect.name]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _tamper(engine: Engine, *statements: str) -> None:
    _drop_guards(engine)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_an_intact_chain_verifies(engine: Engine, base: int) -> None:
    _append(engine, 10)
    result = _verify(engine)
    assert result.intact
    assert result.entries == base + 10


def test_an_empty_log_is_intact(tmp_path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    upgrade(engine)
    result = _verify(engine)
    engine.dispose()
    assert result.intact
    assert result.entries == 0


def test_entries_link_to_their_predecessor(engine: Engine, base: int) -> None:
    _append(engine, 3)
    with transaction(engine) as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [entry.seq for entry in entries] == list(range(1, base + 4))
    assert entries[0].prev_hash == "0" * 64
    for earlier, later in itertools.pairwise(entries):
        assert later.prev_hash == earlier.hash
    assert entries[base].details == '{"index":0,"memo":"住所変更"}'


def test_an_entry_rolls_back_with_its_transaction(engine: Engine, base: int) -> None:
    with pytest.raises(RuntimeError), transaction(engine) as session:
        audit.record(session, actor="staff:1", action="test.rolled_back")
        raise RuntimeError("the operation failed")
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == base


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entries SET actor = 'someone else' WHERE seq = 1", "DELETE FROM audit_entries"],
)
def test_the_database_refuses_update_and_delete(engine: Engine, base: int, statement: str) -> None:
    _append(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert _verify(engine).entries == base + 2


def test_postgresql_refuses_truncate(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    _append(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_entries"))


def test_altered_details_are_named_at_their_entry(engine: Engine, base: int) -> None:
    _append(engine, 10)
    seq = base + 7
    _tamper(engine, f"UPDATE audit_entries SET details = '{{}}' WHERE seq = {seq}")
    result = _verify(engine)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (seq, BreakKind.ALTERED)
    assert result.entries == seq - 1
    assert f"第 {seq} 件" in result.first_break.describe()


def test_an_altered_link_is_named_at_its_entry(engine: Engine, base: int) -> None:
    _append(engine, 5)
    seq = base + 3
    _tamper(engine, f"UPDATE audit_entries SET prev_hash = '{'f' * 64}' WHERE seq = {seq}")
    result = _verify(engine)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (seq, BreakKind.ALTERED)


def test_a_removed_entry_is_named_at_its_position(engine: Engine, base: int) -> None:
    _append(engine, 10)
    seq = base + 4
    _tamper(engine, f"DELETE FROM audit_entries WHERE seq = {seq}")
    result = _verify(engine)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (seq, BreakKind.REMOVED)


def test_a_removal_hidden_by_renumbering_is_still_found(engine: Engine, base: int) -> None:
    _append(engine, 6)
    seq = base + 3
    _tamper(
        engine,
        f"DELETE FROM audit_entries WHERE seq = {seq}",
        f"UPDATE audit_entries SET seq = seq + 1000 WHERE seq > {seq}",
        "UPDATE audit_entries SET seq = seq - 1001 WHERE seq > 1000",
    )
    result = _verify(engine)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (seq, BreakKind.REMOVED)


def test_swapped_entries_are_named_as_reordered(engine: Engine, base: int) -> None:
    _append(engine, 10)
    first, second = base + 5, base + 6
    _tamper(
        engine,
        f"UPDATE audit_entries SET seq = -1 WHERE seq = {first}",
        f"UPDATE audit_entries SET seq = {first} WHERE seq = {second}",
        f"UPDATE audit_entries SET seq = {second} WHERE seq = -1",
    )
    result = _verify(engine)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.kind) == (first, BreakKind.REORDERED)
    assert result.first_break.found_at == second


def test_an_institution_reads_only_its_own_entries_newest_first_page_by_page(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        for index in range(5):
            for code in ("131016", "271004"):
                audit.record(session, actor="test", institution=code, action=f"page.{index}")
    with transaction(engine) as session:
        first = audit.entries(session, institution="131016", limit=3)
        rest = audit.entries(session, institution="131016", before=first[-1].seq, limit=3)
    assert [entry.action for entry in first] == ["page.4", "page.3", "page.2"]
    assert [entry.action for entry in rest] == ["page.1", "page.0"]
    assert {entry.institution for entry in first + rest} == {"131016"}
