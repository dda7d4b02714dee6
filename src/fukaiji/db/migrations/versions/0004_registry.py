"""住民基本台帳 (resident register): persons, address history, 個人番号.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_record_code", sa.String(length=11), nullable=False),
        sa.Column("family_name", sa.String(length=50), nullable=False),
        sa.Column("given_name", sa.String(length=50), nullable=False),
        sa.Column("family_name_kana", sa.String(length=100), nullable=False),
        sa.Column("given_name_kana", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("resident_record_code", name=op.f("uq_persons_resident_record_code")),
    )
    op.create_table(
        "residences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("address_line", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("moved_in_on", sa.Date(), nullable=False),
        sa.Column("moved_out_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_residences_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residences")),
    )
    op.create_index(op.f("ix_residences_person_id"), "residences", ["person_id"])
    op.create_index(op.f("ix_residences_municipality_code"), "residences", ["municipality_code"])
    op.create_index(
        "uq_residences_open_per_person",
        "residences",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("moved_out_on IS NULL"),
        postgresql_where=sa.text("moved_out_on IS NULL"),
    )
    op.create_table(
        "my_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.Column("retirement_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_my_numbers_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_my_numbers")),
        sa.UniqueConstraint("serial", name=op.f("uq_my_numbers_serial")),
        sa.UniqueConstraint("number", name=op.f("uq_my_numbers_number")),
    )
    op.create_index(op.f("ix_my_numbers_person_id"), "my_numbers", ["person_id"])
    op.create_index(
        "uq_my_numbers_current_per_person",
        "my_numbers",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("retired_at IS NULL"),
        postgresql_where=sa.text("retired_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("my_numbers")
    op.drop_table("residences")
    op.drop_table("persons")
