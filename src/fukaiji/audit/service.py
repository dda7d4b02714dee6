"""Appending to the audit chains, reading an institution's entries, and signing checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.orm import Session

from fukaiji.audit.chain import (
    EntryContent,
    canonical_json,
    chain_of,
    checkpoint_message,
    entry_hash,
    genesis_hash,
    timestamp_text,
)
from fukaiji.audit.models import AuditCheckpoint, AuditEntry
from fukaiji.audit.signer import CheckpointSigner
from fukaiji.audit.verification import verify
from fukaiji.db.base import UTCDateTime, utc_now

# Built once: appending is on the path of every operation, and building a statement (or flushing
# one ORM object through the unit of work) costs more than running it. The head row is the lock:
# on PostgreSQL ``FOR UPDATE`` makes appenders of one chain wait their turn while other chains'
# appenders go on; SQLite transactions already hold the write lock (BEGIN IMMEDIATE, see
# fukaiji.db.engine), so there the plain read suffices.
_HEAD = text("SELECT position, hash FROM audit_chain_heads WHERE chain = :chain")
_HEAD_FOR_UPDATE = text(
    "SELECT position, hash FROM audit_chain_heads WHERE chain = :chain FOR UPDATE"
)
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
    """Append one entry to its institution's chain inside the caller's transaction; it commits
    or rolls back with it.

    The entry is written at once (not left pending in the session); the object returned is a
    copy for the caller to read, not attached to the session.
    """
    # Changes still pending in the session are written before the entry, as they always were.
    session.flush()
    connection = session.connection()
    chain = chain_of(institution)
    position, prev_hash = _lock_head(connection, chain)
    at = at or utc_now()
    content = EntryContent(
        chain=chain,
        at=timestamp_text(at),
        actor=actor,
        institution=institution,
        action=action,
        subject=subject,
        details=canonical_json(dict(details or {})),
        prev_hash=prev_hash,
    )
    columns: dict[str, Any] = {
        **{name: getattr(content, name) for name in EntryContent.__slots__},
        "at": at,
        "position": position + 1,
        "hash": entry_hash(content),
    }
    seq = connection.execute(_APPEND[connection.dialect.name], columns).scalar_one()
    return AuditEntry(seq=seq, **columns)


def _lock_head(connection: Connection, chain: str) -> tuple[int, str]:
    """The chain's head (position and hash), locked for this transaction; a new chain starts
    at its genesis."""
    statement = _HEAD_FOR_UPDATE if connection.dialect.name == "postgresql" else _HEAD
    head = connection.execute(statement, {"chain": chain}).first()
    if head is None:
        connection.execute(_NEW_CHAIN, {"chain": chain, "hash": genesis_hash(chain)})
        head = connection.execute(statement, {"chain": chain}).one()
    return head.position, head.hash


def entries(
    session: Session, *, institution: str, before: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """An institution's entries, newest first: those numbered below ``before`` when given (the
    next page starts below the last entry shown)."""
    statement = select(AuditEntry).where(AuditEntry.institution == institution)
    if before is not None:
        statement = statement.where(AuditEntry.seq < before)
    return list(session.scalars(statement.order_by(AuditEntry.seq.desc()).limit(limit)))


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    signed: tuple[AuditCheckpoint, ...]
    refused: tuple[str, ...]  # describe() of each break that kept a chain from being signed


def checkpoint(
    session: Session, signer: CheckpointSigner, *, min_entries: int = 1, at: datetime | None = None
) -> CheckpointReport:
    """Sign the head of every chain that grew by at least ``min_entries`` since its last
    checkpoint. Only what verifies is signed: each chain is verified first (from its newest
    valid checkpoint), and a chain with a break is left unsigned and reported, so that a
    checkpoint never vouches for tampered entries."""
    at = at or utc_now()
    result = verify(session, signer=signer)
    signed, refused = [], []
    for chain in result.chains:
        if chain.first_break is not None:
            refused.append(chain.first_break.describe())
            continue
        if chain.head_position - chain.resumed_from < max(1, min_entries):
            continue
        message = checkpoint_message(chain.chain, chain.head_position, chain.head_hash, at)
        signed.append(
            AuditCheckpoint(
                chain=chain.chain,
                position=chain.head_position,
                hash=chain.head_hash,
                signed_at=at,
                key_id=signer.key_id,
                signature=signer.sign(message).hex(),
            )
        )
    session.add_all(signed)
    session.flush()
    return CheckpointReport(tuple(signed), tuple(refused))
