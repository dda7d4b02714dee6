"""The audit log: append-only in the database itself, one chain per institution, and every kind
of tampering is named at its chain and position."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from fukaiji import audit
from fukaiji.audit.chain import SYSTEM_CHAIN, BreakKind, genesis_hash
from fukaiji.audit.models import AuditEntry
from fukaiji.db import create_db_engine, transaction, upgrade

CHAIN = "131016"


def _append(engine: Engine, count: int, institution: str = CHAIN) -> None:
    with transaction(engine) as session:
        for index in range(count):
            audit.record(
                session,
                actor="staff:1",
                action="test.append",
                institution=institution,
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


def _where(position: int, chain: str = CHAIN) -> str:
    return f"chain = '{chain}' AND position = {position}"


def _first_break(engine: Engine) -> audit.ChainBreak:
    result = _verify(engine)
    assert result.first_break is not None
    assert len(result.breaks) == 1, "only the tampered chain may be broken"
    return result.first_break


def test_an_intact_chain_verifies(engine: Engine, base: int) -> None:
    _append(engine, 10)
    _append(engine, 5, institution="271004")
    result = _verify(engine)
    assert result.intact
    assert result.entries == base + 15


def test_an_empty_log_is_intact(tmp_path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    upgrade(engine)
    result = _verify(engine)
    engine.dispose()
    assert result.intact
    assert result.entries == 0


def test_each_institution_has_its_own_chain(engine: Engine) -> None:
    _append(engine, 3)
    _append(engine, 2, institution="271004")
    with transaction(engine) as session:
        audit.record(session, actor="system", action="test.national")
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    for chain in (CHAIN, "271004", SYSTEM_CHAIN):
        entries = [entry for entry in rows if entry.chain == chain]
        assert [entry.position for entry in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == genesis_hash(chain)
        for earlier, later in itertools.pairwise(entries):
            assert later.prev_hash == earlier.hash
    assert rows[-1].chain == SYSTEM_CHAIN
    ours = [entry for entry in rows if entry.chain == CHAIN]
    assert ours[0].details == '{"index":0,"memo":"住所変更"}'


def test_an_entry_rolls_back_with_its_transaction(engine: Engine, base: int) -> None:
    with pytest.raises(RuntimeError), transaction(engine) as session:
        audit.record(session, actor="staff:1", action="test.rolled_back", institution=CHAIN)
        raise RuntimeError("the operation failed")
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == base
    _append(engine, 1)
    assert _verify(engine).intact


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


def test_altered_details_are_named_at_their_chain_and_position(engine: Engine, base: int) -> None:
    _append(engine, 10)
    _append(engine, 3, institution="271004")
    _tamper(engine, f"UPDATE audit_entries SET details = '{{}}' WHERE {_where(7)}")
    found = _first_break(engine)
    assert (found.chain, found.position, found.kind) == (CHAIN, 7, BreakKind.ALTERED)
    assert _verify(engine).entries == base + 3 + 6
    assert "機関 131016 の連鎖" in found.describe()
    assert "第 7 件" in found.describe()
    assert found.describe().isascii() is False and "(" not in found.describe()


def test_an_altered_link_is_named_at_its_entry(engine: Engine) -> None:
    _append(engine, 5)
    _tamper(engine, f"UPDATE audit_entries SET prev_hash = '{'f' * 64}' WHERE {_where(3)}")
    found = _first_break(engine)
    assert (found.position, found.kind) == (3, BreakKind.ALTERED)


def test_an_entry_moved_into_another_chain_is_found(engine: Engine) -> None:
    _append(engine, 4)
    _append(engine, 4, institution="271004")
    _tamper(engine, f"UPDATE audit_entries SET chain = '271004', position = 5 WHERE {_where(4)}")
    result = _verify(engine)
    assert {(found.chain, found.kind) for found in result.breaks} == {
        ("271004", BreakKind.ALTERED),
        (CHAIN, BreakKind.REMOVED),  # the head says the chain went to 4
    }


def test_a_removed_entry_is_named_at_its_position(engine: Engine) -> None:
    _append(engine, 10)
    _tamper(engine, f"DELETE FROM audit_entries WHERE {_where(4)}")
    found = _first_break(engine)
    assert (found.position, found.kind) == (4, BreakKind.REMOVED)


def test_a_removal_hidden_by_renumbering_is_still_found(engine: Engine) -> None:
    _append(engine, 6)
    _tamper(
        engine,
        f"DELETE FROM audit_entries WHERE {_where(3)}",
        f"UPDATE audit_entries SET position = position + 1000 WHERE chain = '{CHAIN}'"
        " AND position > 3",
        f"UPDATE audit_entries SET position = position - 1001 WHERE chain = '{CHAIN}'"
        " AND position > 1000",
    )
    found = _first_break(engine)
    assert (found.position, found.kind) == (3, BreakKind.REMOVED)


def test_entries_cut_off_the_end_are_found(engine: Engine) -> None:
    _append(engine, 6)
    _tamper(engine, f"DELETE FROM audit_entries WHERE chain = '{CHAIN}' AND position > 4")
    found = _first_break(engine)
    assert (found.position, found.kind) == (5, BreakKind.REMOVED)


def test_swapped_entries_are_named_as_reordered(engine: Engine) -> None:
    _append(engine, 10)
    _tamper(
        engine,
        f"UPDATE audit_entries SET position = -1 WHERE {_where(5)}",
        f"UPDATE audit_entries SET position = 5 WHERE {_where(6)}",
        f"UPDATE audit_entries SET position = 6 WHERE {_where(-1)}",
    )
    found = _first_break(engine)
    assert (found.position, found.kind, found.found_at) == (5, BreakKind.REORDERED, 6)
    assert "第 6 件にあります" in found.describe()


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


def test_every_character_hashes_the_same_when_written_and_when_verified(engine: Engine) -> None:
    """Verification writes the canonical JSON out by hand; quotes, escapes and characters
    outside ASCII must come out exactly as ``canonical_json`` wrote them."""
    tricky = 'a"b\\c\nd\te\u2028f\x7f g😀 住所'
    with transaction(engine) as session:
        audit.record(
            session,
            actor=tricky,
            action="test.tricky",
            institution=CHAIN,
            subject=tricky,
            details={tricky: [tricky, None, 1.5]},
        )
        audit.record(session, actor=tricky, action="test.tricky")
    assert _verify(engine).intact
