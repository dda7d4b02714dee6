"""Appending to and verifying the audit chain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from fukaiji.audit.chain import (
    GENESIS_HASH,
    BreakKind,
    ChainBreak,
    EntryContent,
    canonical_json,
    entry_hash,
)
from fukaiji.audit.models import AuditEntry
from fukaiji.db.base import utc_now

# Serialises appenders on PostgreSQL; SQLite transactions already hold the write lock
# (BEGIN IMMEDIATE, see fukaiji.db.engine).
_CHAIN_LOCK_KEY = 0x66756B61696A6932
_VERIFY_BATCH = 5_000
# Built once: appending is on the path of every operation, and building a statement (or flushing
# one ORM object through the unit of work) costs more than running it.
_TAIL = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_LOCK_CHAIN = text("SELECT pg_advisory_xact_lock(:key)")
_INSERT = insert(AuditEntry.__table__)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    institution: str | None = None,
    subject: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction; it commits or rolls back with it.

    The entry is written at once (not left pending in the session); the object returned is a
    copy for the caller to read, not attached to the session.
    """
    # Changes still pending in the session are written before the entry, as they always were.
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_CHAIN, {"key": _CHAIN_LOCK_KEY})
    tail = connection.execute(_TAIL).first()
    seq, prev_hash = (tail.seq + 1, tail.hash) if tail else (1, GENESIS_HASH)
    content = EntryContent(
        at=at or utc_now(),
        actor=actor,
        institution=institution,
        action=action,
        subject=subject,
        details=canonical_json(dict(details or {})),
        prev_hash=prev_hash,
    )
    columns = {"seq": seq, "hash": entry_hash(content), **_content_columns(content)}
    connection.execute(_INSERT, columns)
    return AuditEntry(**columns)


def entries(
    session: Session, *, institution: str, before: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """An institution's entries, newest first: those numbered below ``before`` when given (the
    next page starts below the last entry shown)."""
    statement = select(AuditEntry).where(AuditEntry.institution == institution)
    if before is not None:
        statement = statement.where(AuditEntry.seq < before)
    return list(session.scalars(statement.order_by(AuditEntry.seq.desc()).limit(limit)))


def _content_columns(content: EntryContent) -> dict[str, Any]:
    return {name: getattr(content, name) for name in EntryContent.__slots__}


@dataclass(frozen=True, slots=True)
class VerificationResult:
    entries: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify(session: Session) -> VerificationResult:
    """Walk the chain in sequence order and report the first entry that is not as it was written."""
    expected_seq, expected_prev, count = 1, GENESIS_HASH, 0
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=_VERIFY_BATCH)
    ).scalars()
    for entry in rows:
        content = EntryContent(**{name: getattr(entry, name) for name in EntryContent.__slots__})
        linked = entry.seq == expected_seq and entry.prev_hash == expected_prev
        if entry_hash(content) != entry.hash:
            return VerificationResult(
                count, expected_prev, ChainBreak(entry.seq, BreakKind.ALTERED)
            )
        if not linked:
            return VerificationResult(
                count, expected_prev, _classify_gap(session, expected_seq, expected_prev)
            )
        expected_seq, expected_prev, count = entry.seq + 1, entry.hash, count + 1
    return VerificationResult(count, expected_prev, None)


def _classify_gap(session: Session, expected_seq: int, expected_prev: str) -> ChainBreak:
    """The entry that should follow ``expected_prev`` either stands elsewhere or is gone."""
    successor_seq = session.execute(
        select(AuditEntry.seq).where(AuditEntry.prev_hash == expected_prev)
    ).scalar_one_or_none()
    if successor_seq is None:
        return ChainBreak(expected_seq, BreakKind.REMOVED)
    return ChainBreak(expected_seq, BreakKind.REORDERED, found_at=successor_seq)
