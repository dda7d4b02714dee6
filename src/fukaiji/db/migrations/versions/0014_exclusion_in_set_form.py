"""The exclusion question in set form: each protection keeps ``risk_since`` (derived from the
day of flight and the registration by ``fukaiji.protection.models.risk_since_of``), so that
whether its usage-stop is complete can be asked in one SQL query for every protection of an
institution, or for a whole batch of addressees, instead of one protection at a time in Python.
Protections are also found by addressee number through an index.

Existing rows are filled from their own ``fled_on`` and ``registered_at``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_PROTECTIONS = sa.table(
    "protections",
    sa.column("id", sa.Uuid()),
    sa.column("fled_on", sa.Date()),
    sa.column("registered_at", UTCDateTime()),
    sa.column("risk_since", UTCDateTime()),
)


def risk_since_of(fled_on: date | None, registered_at: datetime) -> datetime:
    """The rule as of this revision (kept here: a migration must not change with the code)."""
    if fled_on is None:
        return registered_at
    end_of_day = datetime.combine(fled_on + timedelta(days=1), time(), ZoneInfo("Asia/Tokyo"))
    return min(end_of_day, registered_at)


def upgrade() -> None:
    with op.batch_alter_table("protections") as batch:
        batch.add_column(sa.Column("risk_since", UTCDateTime(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_PROTECTIONS.c.id, _PROTECTIONS.c.fled_on, _PROTECTIONS.c.registered_at)
    ).all()
    if rows:
        connection.execute(
            _PROTECTIONS.update()
            .where(_PROTECTIONS.c.id == sa.bindparam("protection_id"))
            .values(risk_since=sa.bindparam("since")),
            [
                {"protection_id": row.id, "since": risk_since_of(row.fled_on, row.registered_at)}
                for row in rows
            ],
        )
    with op.batch_alter_table("protections") as batch:
        batch.alter_column("risk_since", existing_type=UTCDateTime(), nullable=False)
        batch.create_index(
            "uq_protections_institution_addressee",
            ["institution_id", "addressee_number"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("protections") as batch:
        batch.drop_index("uq_protections_institution_addressee")
        batch.drop_column("risk_since")
