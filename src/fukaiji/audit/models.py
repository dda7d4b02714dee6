"""The audit tables. The database itself refuses UPDATE and DELETE on the entries (see the
migrations); the heads and checkpoints are not evidence themselves (verification trusts only
entries and valid signatures), so they are ordinary tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fukaiji.db.base import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        # One entry per place in a chain: two appends on the same head cannot both commit.
        Index("uq_audit_entries_chain_position", "chain", "position", unique=True),
        # An institution's entries, newest first (``audit.entries``).
        Index("ix_audit_entries_institution_seq", "institution", "seq"),
    )

    # Global order across chains, for reading; the chains' order is ``position``.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chain: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    institution: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[str] = mapped_column(Text)
    # Unique across chains (each chain has its own genesis hash): no chain can fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """The newest entry of each chain, updated with every append: the appender reads and locks
    this one row instead of searching the entries for the tail. Verification also compares it
    with the entries, which catches entries cut off the end of a chain."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement that ``chain`` ran to ``position`` ending in ``hash`` at ``signed_at``:
    verification may start after it instead of at the genesis."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_chain_position", "chain", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
