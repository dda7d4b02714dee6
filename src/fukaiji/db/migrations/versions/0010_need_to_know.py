"""Need-to-know between institutions: desks are told what happens to their person elsewhere
(moves, queries, lookups, registrations), and a query routed to the municipality of residence
remembers that it was routed, so the requester is never shown where it went.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('exclusion_lifted', 'exclusion_restored')"
NEW_KINDS = (
    "kind IN ('exclusion_lifted', 'exclusion_restored', 'moved_out', 'moved_in', 'query',"
    " 'region_changed', 'alert')"
)


def upgrade() -> None:
    with op.batch_alter_table("desk_messages") as batch:
        batch.drop_constraint(op.f("ck_desk_messages_kind"), type_="check")
        batch.create_check_constraint("kind", NEW_KINDS)
    with op.batch_alter_table("linkage_records") as batch:
        batch.add_column(
            sa.Column("routed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "outside_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protection_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("institution_code", sa.String(length=16), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["protection_id"],
            ["protections.id"],
            name=op.f("fk_outside_activities_protection_id_protections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outside_activities")),
    )
    op.create_index(
        "ix_outside_activities_protection_kind_at",
        "outside_activities",
        ["protection_id", "kind", "at"],
    )


def downgrade() -> None:
    op.drop_index("ix_outside_activities_protection_kind_at", table_name="outside_activities")
    op.drop_table("outside_activities")
    with op.batch_alter_table("linkage_records") as batch:
        batch.drop_column("routed")
    with op.batch_alter_table("desk_messages") as batch:
        batch.drop_constraint(op.f("ck_desk_messages_kind"), type_="check")
        batch.create_check_constraint("kind", OLD_KINDS)
