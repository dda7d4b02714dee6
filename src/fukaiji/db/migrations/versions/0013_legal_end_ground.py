"""終了の根拠: the card window records why a 法定代理 ended (a family court's decision, the person
coming of age, …) and, where the document has one, its reference (審判の事件番号).

Ends recorded before this revision keep no ground: nothing says what it was.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The values of fukaiji.portal.states.LegalEndGround as of this revision.
_GROUNDS = (
    "'parental_authority_lost', 'custody_reassigned', 'guardian_dismissed',"
    " 'resignation_permitted', 'guardianship_revoked', 'came_of_age', 'representative_died'"
)


def upgrade() -> None:
    with op.batch_alter_table("portal_proxy_grants") as batch:
        batch.add_column(sa.Column("end_ground", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("end_reference", sa.String(length=64), nullable=True))
        batch.create_check_constraint(
            "end_ground",
            "end_ground IS NULL"
            f" OR (end_reason = 'ended_at_window' AND end_ground IN ({_GROUNDS}))",
        )
        batch.create_check_constraint(
            "end_reference", "end_reference IS NULL OR end_ground IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_proxy_grants") as batch:
        batch.drop_constraint(op.f("ck_portal_proxy_grants_end_reference"), type_="check")
        batch.drop_constraint(op.f("ck_portal_proxy_grants_end_ground"), type_="check")
        batch.drop_column("end_reference")
        batch.drop_column("end_ground")
