"""Appending to the audit chains, reading an institution's entries, and signing checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.audit import pending
from fukaiji.audit.chain import canonical_json, chain_of, checkpoint_message
from fukaiji.audit.models import AuditCheckpoint, AuditEntry
from fukaiji.audit.signer import CheckpointSigner
from fukaiji.audit.verification import verify
from fukaiji.db.base import utc_now


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
    """Add one entry to its institution's chain in the caller's transaction; it commits or
    rolls back with it.

    The entry is written when the transaction commits (see ``fukaiji.audit.pending``), so the
    object returned, a copy for the caller that is not attached to the session, gets its
    ``seq``, ``position`` and hashes then.
    """
    entry = AuditEntry(
        chain=chain_of(institution),
        at=at or utc_now(),
        actor=actor,
        institution=institution,
        action=action,
        subject=subject,
        details=canonical_json(dict(details or {})),
    )
    pending.add(session, entry)
    return entry


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
