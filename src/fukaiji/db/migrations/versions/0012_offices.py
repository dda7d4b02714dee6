"""出先機関: an institution may be the office of a body (a 年金事務所 of 日本年金機構), with a
location of its own; the legal basis table names the body.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("body_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_institutions_body_id_institutions"), "institutions", ["body_id"], ["id"]
        )
        batch.create_index(op.f("ix_institutions_body_id"), ["body_id"])
        batch.create_check_constraint(
            "office_has_location", "body_id IS NULL OR prefecture_code IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_constraint(op.f("ck_institutions_office_has_location"), type_="check")
        batch.drop_index(op.f("ix_institutions_body_id"))
        batch.drop_constraint(op.f("fk_institutions_body_id_institutions"), type_="foreignkey")
        batch.drop_column("body_id")
