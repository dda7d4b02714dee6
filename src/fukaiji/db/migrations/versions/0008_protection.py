"""相談窓口 and 不開示措置: protections and their regions, non-disclosure requests, consents,
the paper ledger, and messages to the desk.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_REQUESTERS = "requested_by IN ('person', 'supporter')"
_SUPPORTER_NAMED = (
    "requested_by = 'person' OR (supporter_body IS NOT NULL AND supporter_reason IS NOT NULL)"
)


def _fk(table: str, column: str, target: str, **options: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        **options,
    )


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def _requester_columns(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("supporter_body", sa.String(length=200), nullable=True),
        sa.Column("supporter_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(_REQUESTERS, name=op.f(f"ck_{table}_requested_by")),
        sa.CheckConstraint(_SUPPORTER_NAMED, name=op.f(f"ck_{table}_supporter_named")),
    ]


def upgrade() -> None:
    _protections()
    _nondisclosure_requests()
    _consents()
    _ledger()
    _desk_messages()


def _protections() -> None:
    op.create_table(
        "protections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("own_procedures", sa.Boolean(), nullable=False),
        sa.Column("card_left_behind", sa.Boolean(), nullable=False),
        sa.Column("perpetrator_is_proxy", sa.Boolean(), nullable=False),
        sa.Column("perpetrator_is_legal_representative", sa.Boolean(), nullable=False),
        sa.Column("perpetrator_id", sa.Uuid(), nullable=True),
        sa.Column("fled_on", sa.Date(), nullable=True),
        *_requester_columns("protections"),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("usage_stop_complete_seen", sa.Boolean(), nullable=False),
        _fk("protections", "institution_id", "institutions"),
        _fk("protections", "department_id", "departments"),
        _fk("protections", "person_id", "persons"),
        _fk("protections", "perpetrator_id", "persons"),
        _pk("protections"),
    )
    op.create_index(
        "uq_protections_institution_person",
        "protections",
        ["institution_id", "person_id"],
        unique=True,
    )
    op.create_index(op.f("ix_protections_department_id"), "protections", ["department_id"])
    op.create_index(op.f("ix_protections_person_id"), "protections", ["person_id"])
    op.create_table(
        "protected_region_codes",
        sa.Column("protection_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        _fk("protected_region_codes", "protection_id", "protections", ondelete="CASCADE"),
        _pk("protected_region_codes", "protection_id", "code"),
    )


def _nondisclosure_requests() -> None:
    op.create_table(
        "nondisclosure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        *_requester_columns("nondisclosure_requests"),
        sa.Column("records_flagged", sa.Integer(), nullable=False),
        sa.Column("items_flagged", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        _fk("nondisclosure_requests", "institution_id", "institutions"),
        _pk("nondisclosure_requests"),
    )


def _consents() -> None:
    op.create_table(
        "notice_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "(notice_id IS NULL) <> (category IS NULL)", name=op.f("ck_notice_consents_one_scope")
        ),
        sa.CheckConstraint(
            "channel IN ('window', 'phone', 'writing')", name=op.f("ck_notice_consents_channel")
        ),
        _fk("notice_consents", "institution_id", "institutions"),
        _pk("notice_consents"),
    )
    op.create_index(
        "ix_notice_consents_institution_addressee",
        "notice_consents",
        ["institution_id", "addressee_number"],
    )


def _ledger() -> None:
    op.create_table(
        "ledger_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        _fk("ledger_imports", "institution_id", "institutions"),
        _pk("ledger_imports"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=True),
        _fk("ledger_entries", "import_id", "ledger_imports"),
        _fk("ledger_entries", "institution_id", "institutions"),
        _pk("ledger_entries"),
    )
    op.create_index(op.f("ix_ledger_entries_import_id"), "ledger_entries", ["import_id"])
    op.create_index(
        "uq_ledger_entries_live",
        "ledger_entries",
        ["institution_id", "addressee_number"],
        unique=True,
        sqlite_where=sa.text("withdrawn_at IS NULL"),
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )


def _desk_messages() -> None:
    op.create_table(
        "desk_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("protection_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("read_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "kind IN ('exclusion_lifted', 'exclusion_restored')", name=op.f("ck_desk_messages_kind")
        ),
        _fk("desk_messages", "department_id", "departments"),
        _fk("desk_messages", "protection_id", "protections"),
        _pk("desk_messages"),
    )
    op.create_index(op.f("ix_desk_messages_department_id"), "desk_messages", ["department_id"])


def downgrade() -> None:
    for table in (
        "desk_messages",
        "ledger_entries",
        "ledger_imports",
        "notice_consents",
        "nondisclosure_requests",
        "protected_region_codes",
        "protections",
    ):
        op.drop_table(table)
