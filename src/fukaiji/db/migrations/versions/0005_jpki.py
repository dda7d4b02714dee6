"""公的個人認証 (card authority): the CA, cards, the chips' keys and PIN counters, certificates.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _authorities()
    _cards()
    _card_keys()
    _certificates()


def _authorities() -> None:
    op.create_table(
        "jpki_authorities",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("private_key_pem_encrypted", sa.Text(), nullable=False),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_jpki_authorities_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jpki_authorities")),
    )


def _cards() -> None:
    op.create_table(
        "jpki_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_salt", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("suspended_at", UTCDateTime(), nullable=True),
        sa.Column("suspended_via", sa.String(length=16), nullable=True),
        sa.Column("abolished_at", UTCDateTime(), nullable=True),
        sa.Column("abolition_reason", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'abolished')", name=op.f("ck_jpki_cards_status")
        ),
        sa.CheckConstraint(
            "(status = 'abolished' AND abolished_at IS NOT NULL)"
            " OR (status <> 'abolished' AND abolished_at IS NULL)",
            name=op.f("ck_jpki_cards_abolished_at"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_jpki_cards_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jpki_cards")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_jpki_cards_token_hash")),
    )
    op.create_index(op.f("ix_jpki_cards_person_id"), "jpki_cards", ["person_id"])
    op.create_index(
        "uq_jpki_cards_live_per_person",
        "jpki_cards",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("abolished_at IS NULL"),
        postgresql_where=sa.text("abolished_at IS NULL"),
    )


def _card_keys() -> None:
    op.create_table(
        "jpki_card_keys",
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=8), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("function IN ('auth', 'sign')", name=op.f("ck_jpki_card_keys_function")),
        sa.ForeignKeyConstraint(
            ["card_id"], ["jpki_cards.id"], name=op.f("fk_jpki_card_keys_card_id_jpki_cards")
        ),
        sa.PrimaryKeyConstraint("card_id", "function", name=op.f("pk_jpki_card_keys")),
    )


def _certificates() -> None:
    op.create_table(
        "jpki_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "function IN ('auth', 'sign')", name=op.f("ck_jpki_certificates_function")
        ),
        sa.CheckConstraint(
            "status IN ('valid', 'on_hold', 'revoked')", name=op.f("ck_jpki_certificates_status")
        ),
        sa.CheckConstraint(
            "(status = 'valid' AND revoked_at IS NULL AND revocation_reason IS NULL)"
            " OR (status <> 'valid' AND revoked_at IS NOT NULL"
            " AND revocation_reason IS NOT NULL)",
            name=op.f("ck_jpki_certificates_revocation"),
        ),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["jpki_cards.id"],
            name=op.f("fk_jpki_certificates_card_id_jpki_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jpki_certificates")),
        sa.UniqueConstraint("serial", name=op.f("uq_jpki_certificates_serial")),
    )
    op.create_index(op.f("ix_jpki_certificates_card_id"), "jpki_certificates", ["card_id"])
    op.create_index(op.f("ix_jpki_certificates_status"), "jpki_certificates", ["status"])


def downgrade() -> None:
    op.drop_table("jpki_certificates")
    op.drop_table("jpki_card_keys")
    op.drop_table("jpki_cards")
    op.drop_table("jpki_authorities")
