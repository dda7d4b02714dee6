"""Entries are written at commit with every touched chain's head locked in chain order, so that
transactions appending to the same chains in opposite orders cannot deadlock; entries recorded
in a transaction or savepoint that rolls back are never written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.audit.models import AuditEntry
from fukaiji.audit.pending import AuditChainBusy, write
from fukaiji.db import transaction

A, B = "131016", "271004"  # A sorts before B
_LOCK_HEAD = "SELECT 1 FROM audit_chain_heads WHERE chain = :chain FOR UPDATE"


def _count(engine: Engine, institution: str) -> int:
    with transaction(engine) as session:
        return (
            session.scalar(select(func.count()).where(AuditEntry.institution == institution)) or 0
        )


def _record(session: Session, institution: str, label: str) -> None:
    audit.record(session, actor="test", action=f"test.{label}", institution=institution)


def _waits_on_a_lock(engine: Engine, backend: int) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"),
                {"pid": backend},
            ).scalar()
        )


def _until(condition: Callable[[], bool], what: str) -> None:
    # Polls what PostgreSQL reports; the bound only keeps a broken build from hanging forever.
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(what)


def _backend(connection: Connection) -> int:
    backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    connection.commit()
    return backend


def test_opposite_orders_on_two_chains_both_commit(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time and cannot deadlock")
    with transaction(engine) as session:  # both chains exist before the race
        _record(session, A, "setup")
        _record(session, B, "setup")
    before = {chain: _count(engine, chain) for chain in (A, B)}
    turns = [threading.Event() for _ in range(4)]
    done = {"one": threading.Event(), "two": threading.Event()}
    commit = threading.Event()
    errors: list[BaseException] = []

    def run(connection: Connection, name: str, steps: list[tuple[int, str]]) -> None:
        # The four appends take turns: A by one, B by two, B by one, A by two, the order that
        # deadlocked when each append locked its head at once.
        try:
            with Session(bind=connection) as session, session.begin():
                for turn, institution in steps:
                    if turn:
                        turns[turn - 1].wait(timeout=30)
                    _record(session, institution, name)
                    turns[turn].set()
                done[name].set()
                commit.wait(timeout=30)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            done[name].set()

    with engine.connect() as one, engine.connect() as two, engine.connect() as blocker:
        backends = [_backend(one), _backend(two)]
        threads = [
            threading.Thread(target=run, args=(one, "one", [(0, A), (2, B)])),
            threading.Thread(target=run, args=(two, "two", [(1, B), (3, A)])),
        ]
        for thread in threads:
            thread.start()
        for event in done.values():
            event.wait(timeout=30)
        assert errors == []
        # A third transaction holds A's head, so that both commits queue for their locks at
        # the same time.
        blocker.execute(text(_LOCK_HEAD), {"chain": A})
        commit.set()
        for backend in backends:
            _until(lambda b=backend: _waits_on_a_lock(engine, b), "a commit never waited on A")
        # Both wait for A and neither holds B (taken only after A), so B is free.
        with engine.connect() as probe:
            probe.execute(text(_LOCK_HEAD + " NOWAIT"), {"chain": B})
            probe.rollback()
        blocker.rollback()
        for thread in threads:
            thread.join()
    assert errors == []
    assert {chain: _count(engine, chain) - before[chain] for chain in (A, B)} == {A: 2, B: 2}
    with transaction(engine) as session:
        assert audit.verify(session).intact


def test_a_chain_needed_out_of_order_is_not_waited_for(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time and cannot deadlock")
    with transaction(engine) as session:
        _record(session, A, "setup")
    with engine.connect() as blocker:
        blocker.execute(text(_LOCK_HEAD), {"chain": A})
        with pytest.raises(AuditChainBusy), transaction(engine) as session:
            _record(session, B, "early")
            write(session)  # B is held now, as when entries are read before commit
            _record(session, A, "late")
        blocker.rollback()


def test_rolled_back_entries_are_never_written(engine: Engine) -> None:
    before = _count(engine, A)
    with transaction(engine) as session:
        _record(session, A, "kept")
        with pytest.raises(RuntimeError), session.begin_nested():
            _record(session, A, "undone")
            raise RuntimeError("the savepoint's work failed")
        _record(session, A, "kept")
    session = Session(engine)
    _record(session, A, "rolled-back")
    session.rollback()
    session.close()
    with transaction(engine) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.institution == A).order_by(AuditEntry.seq)
        ).all()
        assert audit.verify(session).intact
    assert len(actions) == before + 2
    assert actions[-2:] == ["test.kept", "test.kept"]


def test_entries_read_before_commit_are_seen_and_written_once(engine: Engine) -> None:
    with transaction(engine) as session:
        entry = audit.record(session, actor="test", action="test.read", institution=A)
        seen = session.scalars(select(AuditEntry).where(AuditEntry.action == "test.read")).all()
        assert [found.seq for found in seen] == [entry.seq]
        _record(session, A, "after-read")
    with transaction(engine) as session:
        assert (
            session.scalar(
                select(func.count()).where(AuditEntry.action.in_(["test.read", "test.after-read"]))
            )
            == 2
        )
        assert audit.verify(session).intact
