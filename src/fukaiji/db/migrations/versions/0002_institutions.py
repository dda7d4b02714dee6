"""機関と部署 (institutions and departments).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("prefecture_code", sa.String(length=6), nullable=True),
        sa.Column("municipality_code", sa.String(length=6), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
        sa.UniqueConstraint("code", name=op.f("uq_institutions_code")),
    )
    op.create_index(op.f("ix_institutions_prefecture_code"), "institutions", ["prefecture_code"])
    op.create_index(
        op.f("ix_institutions_municipality_code"), "institutions", ["municipality_code"]
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_departments_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint(
            "institution_id", "name", name=op.f("uq_departments_institution_id_name")
        ),
    )
    op.create_index(op.f("ix_departments_institution_id"), "departments", ["institution_id"])


def downgrade() -> None:
    op.drop_table("departments")
    op.drop_table("institutions")
