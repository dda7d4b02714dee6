"""Entries wait in the session and are written when the transaction commits, with the heads of
all the chains it touched locked in chain order.

Why: each append locks its chain's head row until commit. Locking heads in the order of the
appends let a transaction that appended to A then B and one that appended to B then A wait on
each other forever (PostgreSQL then aborts one of them). Taking every head a transaction needs
at once, sorted by chain, makes such a cycle impossible: a transaction only ever waits for a
chain that sorts after every chain it already holds. It also holds the heads only for the last
moment of the transaction instead of from the first append.

A transaction that reads entries before committing (``select(AuditEntry)`` through the ORM,
``audit.verify``, ``audit.entries``) gets what it recorded written first, so that it sees it.
That takes heads early; should the transaction then append to a chain that sorts before one it
already holds, that head is taken only if it is free at once (``NOWAIT``), never waited for: the
transaction fails with ``AuditChainBusy`` rather than risk a deadlock. No service reads entries
in the transaction that writes them, so this is for tests and tools.

SQLite runs one writer at a time (BEGIN IMMEDIATE), so it cannot deadlock; there the heads are
simply read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.util import find_tables

from fukaiji.audit.chain import EntryContent, entry_hash, genesis_hash, timestamp_text
from fukaiji.audit.models import AuditEntry
from fukaiji.db.base import UTCDateTime

_KEY = "fukaiji.audit.pending"

_HEAD = "SELECT position, hash FROM audit_chain_heads WHERE chain = :chain"
_READ_HEAD = {
    "sqlite": text(_HEAD),
    "wait": text(_HEAD + " FOR UPDATE"),
    "nowait": text(_HEAD + " FOR UPDATE NOWAIT"),
}
_NEW_CHAIN = text(
    "INSERT INTO audit_chain_heads (chain, position, hash) VALUES (:chain, 0, :hash)"
    " ON CONFLICT (chain) DO NOTHING"
)
# PostgreSQL numbers entries from a sequence, which takes no lock; SQLite has one writer at a
# time, so there the next number is simply one past the highest. The head row follows each
# insert by a trigger (see migration 0016).
_APPEND = {
    "postgresql": text(
        "INSERT INTO audit_entries"
        " (seq, chain, position, at, actor, institution, action, subject, details, prev_hash, hash)"
        " VALUES (nextval('audit_entry_numbers'),"
        " :chain, :position, :at, :actor, :institution, :action, :subject, :details,"
        " :prev_hash, :hash) RETURNING seq"
    ).bindparams(bindparam("at", type_=UTCDateTime())),
    "sqlite": text(
        "INSERT INTO audit_entries"
        " (seq, chain, position, at, actor, institution, action, subject, details, prev_hash, hash)"
        " VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM audit_entries),"
        " :chain, :position, :at, :actor, :institution, :action, :subject, :details,"
        " :prev_hash, :hash) RETURNING seq"
    ).bindparams(bindparam("at", type_=UTCDateTime())),
}


class AuditChainBusy(RuntimeError):
    """A chain's head was needed out of chain order (after entries were read early in the
    transaction) and another transaction held it; waiting could have deadlocked."""


@dataclass
class _Mark:
    recorded: int
    written: int
    held: frozenset[str]


@dataclass
class _Pending:
    """What the session's root transaction recorded: ``entries[:written]`` are in the database,
    the rest still wait; ``held`` are the chains whose heads it has locked."""

    entries: list[AuditEntry] = field(default_factory=list)
    written: int = 0
    held: set[str] = field(default_factory=set)
    savepoints: dict[SessionTransaction, _Mark] = field(default_factory=dict)


def add(session: Session, entry: AuditEntry) -> None:
    """Keep ``entry`` to be written when the session's transaction commits."""
    # Begin the transaction now, so that its end (commit, rollback, close) is seen and the
    # entry can never outlive it into the session's next transaction.
    session.connection()
    _state(session).entries.append(entry)


def write(session: Session) -> None:
    """Write the entries still waiting, after every head they need is locked."""
    state: _Pending | None = session.info.get(_KEY)
    if state is None or state.written == len(state.entries):
        return
    waiting = state.entries[state.written :]
    connection = session.connection()
    heads = _lock_heads(connection, sorted({entry.chain for entry in waiting}), state.held)
    append = _APPEND[connection.dialect.name]
    for entry in waiting:
        position, prev_hash = heads[entry.chain]
        columns = _columns(entry, position + 1, prev_hash)
        entry.seq = connection.execute(append, columns).scalar_one()
        for name in ("position", "prev_hash", "hash"):
            setattr(entry, name, columns[name])
        heads[entry.chain] = (entry.position, entry.hash)
        state.written += 1


def _columns(entry: AuditEntry, position: int, prev_hash: str) -> dict[str, Any]:
    content = EntryContent(
        chain=entry.chain,
        at=timestamp_text(entry.at),
        actor=entry.actor,
        institution=entry.institution,
        action=entry.action,
        subject=entry.subject,
        details=entry.details,
        prev_hash=prev_hash,
    )
    return {
        **{name: getattr(content, name) for name in EntryContent.__slots__},
        "at": entry.at,
        "position": position,
        "hash": entry_hash(content),
    }


def _lock_heads(
    connection: Connection, chains: list[str], held: set[str]
) -> dict[str, tuple[int, str]]:
    """Each chain's head (position and hash), locked for this transaction, taking ``chains`` in
    sorted order; a new chain starts at its genesis."""
    heads = {}
    for chain in chains:
        mode = _lock_mode(connection, chain, held)
        head = _read_head(connection, chain, mode)
        if head is None:
            connection.execute(_NEW_CHAIN, {"chain": chain, "hash": genesis_hash(chain)})
            head = _read_head(connection, chain, mode)
        if head is None:  # pragma: no cover - the row was inserted just above
            raise LookupError(f"audit chain head {chain!r} missing after it was created")
        heads[chain] = head
        held.add(chain)
    return heads


def _lock_mode(connection: Connection, chain: str, held: set[str]) -> str:
    if connection.dialect.name != "postgresql":
        return "sqlite"
    # Waiting is safe only for a chain after every one held (or one held already).
    if chain in held or not held or chain > max(held):
        return "wait"
    return "nowait"


def _read_head(connection: Connection, chain: str, mode: str) -> tuple[int, str] | None:
    try:
        head = connection.execute(_READ_HEAD[mode], {"chain": chain}).first()
    except OperationalError as error:
        if mode == "nowait" and getattr(error.orig, "sqlstate", None) == "55P03":
            raise AuditChainBusy(
                f"audit chain {chain!r} is held by another transaction and was needed out of"
                " chain order (entries were read before commit); not waiting, to avoid deadlock"
            ) from error
        raise
    return None if head is None else (head.position, head.hash)


def _state(session: Session) -> _Pending:
    state = session.info.get(_KEY)
    if state is None:
        state = session.info[_KEY] = _Pending()
    return state


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    if session.in_nested_transaction() or _KEY not in session.info:
        return
    # The session's own changes first: the heads are then held only for the commit itself.
    session.flush()
    write(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(execute: ORMExecuteState) -> None:
    if _KEY in execute.session.info and execute.is_select and _reads_audit_entries(execute):
        write(execute.session)


def _reads_audit_entries(execute: ORMExecuteState) -> bool:
    # Mappers alone miss a count or a column read through the table: look for the table itself
    # anywhere in the statement (found on PostgreSQL: a count of entries read before commit).
    if any(mapper.class_ is AuditEntry for mapper in execute.all_mappers):
        return True
    return AuditEntry.__table__ in find_tables(
        execute.statement, check_columns=True, include_selects=True
    )


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested and _KEY in session.info:
        state = session.info[_KEY]
        state.savepoints[transaction] = _Mark(
            len(state.entries), state.written, frozenset(state.held)
        )


@event.listens_for(Session, "after_soft_rollback")
def _undo_savepoint(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint rolled back drops what was recorded in it, and undoes what was written in it:
    entries recorded before it wait again, and the heads locked in it are released by the
    database."""
    state: _Pending | None = session.info.get(_KEY)
    if state is None or not transaction.nested:
        return
    mark = state.savepoints.get(transaction, _Mark(0, 0, frozenset()))
    del state.entries[mark.recorded :]
    state.written = min(state.written, mark.written)
    state.held = set(mark.held)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint's mark stays until the root ends: this event comes before the rollback event
    # that needs it.
    if transaction.parent is None:
        session.info.pop(_KEY, None)
