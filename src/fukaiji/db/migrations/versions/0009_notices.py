"""お知らせ: notices, destination files with their rows and bad rows, send jobs, deliveries.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CATEGORIES = "category IN ('general', 'procedure', 'benefit', 'tax', 'health')"


def _fk(table: str, column: str, target: str, **options: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), **options
    )


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def upgrade() -> None:
    _notices()
    _destination_files()
    _send_jobs()
    _deliveries()


def _notices() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(_CATEGORIES, name=op.f("ck_notices_category")),
        _fk("notices", "institution_id", "institutions"),
        _fk("notices", "department_id", "departments"),
        _pk("notices"),
    )
    op.create_index(op.f("ix_notices_institution_id"), "notices", ["institution_id"])


def _destination_files() -> None:
    op.create_table(
        "destination_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("fault_count", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("screened_at", UTCDateTime(), nullable=True),
        sa.Column("screened_by", sa.String(length=200), nullable=True),
        _fk("destination_files", "notice_id", "notices"),
        _pk("destination_files"),
        sa.UniqueConstraint("notice_id", name=op.f("uq_destination_files_notice_id")),
    )
    op.create_table(
        "destination_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        _fk("destination_rows", "file_id", "destination_files", ondelete="CASCADE"),
        _pk("destination_rows"),
        sa.UniqueConstraint(
            "file_id", "addressee_number", name=op.f("uq_destination_rows_file_id_addressee_number")
        ),
    )
    op.create_table(
        "destination_faults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        _fk("destination_faults", "file_id", "destination_files", ondelete="CASCADE"),
        _pk("destination_faults"),
    )
    op.create_index(
        "ix_destination_faults_file_row", "destination_faults", ["file_id", "row_number"]
    )


def _send_jobs() -> None:
    op.create_table(
        "send_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("no_account", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done')", name=op.f("ck_send_jobs_state")
        ),
        _fk("send_jobs", "notice_id", "notices"),
        _pk("send_jobs"),
        sa.UniqueConstraint("notice_id", name=op.f("uq_send_jobs_notice_id")),
    )


def _deliveries() -> None:
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('sent', 'blocked', 'no_account')",
            name=op.f("ck_notice_deliveries_outcome"),
        ),
        _fk("notice_deliveries", "notice_id", "notices"),
        _pk("notice_deliveries"),
        sa.UniqueConstraint(
            "notice_id",
            "addressee_number",
            name=op.f("uq_notice_deliveries_notice_id_addressee_number"),
        ),
    )


def downgrade() -> None:
    for table in (
        "notice_deliveries",
        "send_jobs",
        "destination_faults",
        "destination_rows",
        "destination_files",
        "notices",
    ):
        op.drop_table(table)
