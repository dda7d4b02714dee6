"""転出→転入: 転出届 (planned moves) that only the named destination completes with the 転入,
and the portal's 操作履歴 entries for a 転出届 the person files or cancels herself.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_OLD_ACTIONS = (
    "'login', 'proxy_entered', 'viewed_records', 'viewed_self_info', 'viewed_inbox',"
    " 'invitation_created', 'invitation_cancelled', 'grant_created', 'grant_ended',"
    " 'settings_changed'"
)
_NEW_ACTIONS = f"{_OLD_ACTIONS}, 'move_out_filed', 'move_out_cancelled'"
_OPEN = "completed_at IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "move_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("from_municipality_code", sa.String(length=6), nullable=False),
        sa.Column("destination_code", sa.String(length=6), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("channel IN ('window', 'portal')", name=op.f("ck_move_outs_channel")),
        sa.CheckConstraint(
            "completed_at IS NULL OR cancelled_at IS NULL", name=op.f("ck_move_outs_one_end")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_move_outs_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_outs")),
    )
    op.create_index(op.f("ix_move_outs_person_id"), "move_outs", ["person_id"])
    op.create_index(
        "uq_move_outs_open_per_person",
        "move_outs",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    _access_log_actions(_NEW_ACTIONS)


def _access_log_actions(actions: str) -> None:
    with op.batch_alter_table("portal_access_log") as batch:
        batch.drop_constraint(op.f("ck_portal_access_log_action"), type_="check")
        batch.create_check_constraint("action", f"action IN ({actions})")


def downgrade() -> None:
    op.execute(
        "DELETE FROM portal_access_log WHERE action IN ('move_out_filed', 'move_out_cancelled')"
    )
    _access_log_actions(_OLD_ACTIONS)
    op.drop_index("uq_move_outs_open_per_person", table_name="move_outs")
    op.drop_index(op.f("ix_move_outs_person_id"), table_name="move_outs")
    op.drop_table("move_outs")
