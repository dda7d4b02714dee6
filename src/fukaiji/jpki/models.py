"""Tables of 公的個人認証 (the card authority): the CA, the cards, their chips' keys, certificates.

Nothing here lets a reader of the database act as a card or as the authority: the CA key is an
encrypted PKCS #8 PEM under a key derived from the configured secret; each card's private keys
are sealed under its card token, of which only the SHA-256 is kept; PINs are Argon2id hashes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fukaiji.db.base import Base, UTCDateTime, utc_now
from fukaiji.jpki.states import CardFunction, CardStatus, CertificateStatus, SuspensionChannel
from fukaiji.registry.models import Person

AUTHORITY_ROW_ID = 1


class CertificateAuthority(Base):
    """ローカル認証局 (the local CA). One row, id 1: two processes creating it at once collide on
    the primary key, and the loser reads the winner's."""

    __tablename__ = "jpki_authorities"
    __table_args__ = (CheckConstraint(f"id = {AUTHORITY_ROW_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key_pem_encrypted: Mapped[str] = mapped_column(Text)
    # The number of the last CRL issued; the CRL number extension must only ever increase.
    crl_number: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"CertificateAuthority(id={self.id!r}, crl_number={self.crl_number!r})"


class Card(Base):
    """個人番号カード (the card) as the authority knows it: its state and where its chip is."""

    __tablename__ = "jpki_cards"
    __table_args__ = (
        # One card per person that is not abolished.
        Index(
            "uq_jpki_cards_live_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("abolished_at IS NULL"),
            postgresql_where=text("abolished_at IS NULL"),
        ),
        CheckConstraint("status IN ('active', 'suspended', 'abolished')", name="status"),
        CheckConstraint(
            "(status = 'abolished' AND abolished_at IS NOT NULL)"
            " OR (status <> 'abolished' AND abolished_at IS NULL)",
            name="abolished_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[CardStatus] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HKDF salt for the key that seals the chip's private keys (see fukaiji.jpki.chip).
    key_salt: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_via: Mapped[SuspensionChannel | None] = mapped_column(String(16))
    abolished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abolition_reason: Mapped[str | None] = mapped_column(String(16))

    person: Mapped[Person] = relationship()
    keys: Mapped[list[CardKey]] = relationship(
        back_populates="card", cascade="all, delete-orphan", order_by="CardKey.function"
    )
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="card", order_by="Certificate.id"
    )

    def key(self, function: CardFunction) -> CardKey:
        return next(key for key in self.keys if key.function == function)

    def __repr__(self) -> str:
        return f"Card(id={self.id!r}, status={self.status!s})"


class CardKey(Base):
    """One application of the chip (利用者証明用 or 署名用): its sealed key and its PIN counter."""

    __tablename__ = "jpki_card_keys"
    __table_args__ = (CheckConstraint("function IN ('auth', 'sign')", name="function"),)

    card_id: Mapped[int] = mapped_column(ForeignKey("jpki_cards.id"), primary_key=True)
    function: Mapped[CardFunction] = mapped_column(String(8), primary_key=True)
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    pin_hash: Mapped[str] = mapped_column(String(255))
    # Wrong PINs in a row; the third locks the function until it is reset at the window.
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    card: Mapped[Card] = relationship(back_populates="keys")

    def __repr__(self) -> str:
        return f"CardKey(card_id={self.card_id!r}, function={self.function!s})"


class Certificate(Base):
    """電子証明書 issued to a card. Kept for ever: the CRL lists every revoked one."""

    __tablename__ = "jpki_certificates"
    __table_args__ = (
        CheckConstraint("function IN ('auth', 'sign')", name="function"),
        CheckConstraint("status IN ('valid', 'on_hold', 'revoked')", name="status"),
        CheckConstraint(
            "(status = 'valid' AND revoked_at IS NULL AND revocation_reason IS NULL)"
            " OR (status <> 'valid' AND revoked_at IS NOT NULL"
            " AND revocation_reason IS NOT NULL)",
            name="revocation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-case hexadecimal without leading zeros (fukaiji.jpki.certificates.serial_hex).
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("jpki_cards.id"), index=True)
    function: Mapped[CardFunction] = mapped_column(String(8))
    status: Mapped[CertificateStatus] = mapped_column(String(16), index=True)
    pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # When it went on hold or was revoked, and the CRL reason (x509.ReasonFlags value).
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(32))

    card: Mapped[Card] = relationship(back_populates="certificates")

    def __repr__(self) -> str:
        return (
            f"Certificate(serial={self.serial!r}, function={self.function!s},"
            f" status={self.status!s})"
        )
