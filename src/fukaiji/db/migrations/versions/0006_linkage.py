"""情報連携 (linkage): 符号取得, 情報提供等記録, and the intermediate servers' 宛名番号, 符号,
副本 and 不開示フラグ.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _code_issuances()
    _linkage_records()
    _addressees()
    _intermediate_codes()
    _self_info_items()
    _nondisclosure_flags()


def _institution_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["institution_id"],
        ["institutions.id"],
        name=op.f(f"fk_{table}_institution_id_institutions"),
    )


def _code_issuances() -> None:
    op.create_table(
        "code_issuances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=52), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        _institution_fk("code_issuances"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_issuances")),
        sa.UniqueConstraint("code", name=op.f("uq_code_issuances_code")),
        sa.UniqueConstraint(
            "institution_id",
            "person_ref",
            name=op.f("uq_code_issuances_institution_id_person_ref"),
        ),
    )
    op.create_index(op.f("ix_code_issuances_person_ref"), "code_issuances", ["person_ref"])


def _linkage_records() -> None:
    op.create_table(
        "linkage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("requester_institution_id", sa.Integer(), nullable=False),
        sa.Column("provider_institution_id", sa.Integer(), nullable=False),
        sa.Column("affair_code", sa.String(length=16), nullable=False),
        sa.Column("item_code", sa.String(length=16), nullable=False),
        sa.Column("legal_basis_entry", sa.Integer(), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requester_undisclosed", sa.Boolean(), nullable=False),
        sa.Column("provider_undisclosed", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "status IN ('provided', 'no_data', 'unknown_person')",
            name=op.f("ck_linkage_records_status"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_institution_id"],
            ["institutions.id"],
            name=op.f("fk_linkage_records_requester_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_institution_id"],
            ["institutions.id"],
            name=op.f("fk_linkage_records_provider_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_records")),
    )
    op.create_index(op.f("ix_linkage_records_person_ref"), "linkage_records", ["person_ref"])


def _addressees() -> None:
    op.create_table(
        "addressees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        _institution_fk("addressees"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_addressees_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addressees")),
        sa.UniqueConstraint(
            "institution_id",
            "addressee_number",
            name=op.f("uq_addressees_institution_id_addressee_number"),
        ),
        sa.UniqueConstraint(
            "institution_id", "person_id", name=op.f("uq_addressees_institution_id_person_id")
        ),
    )
    op.create_index(op.f("ix_addressees_person_id"), "addressees", ["person_id"])


def _intermediate_codes() -> None:
    op.create_table(
        "intermediate_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("code", sa.String(length=52), nullable=False),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        _institution_fk("intermediate_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intermediate_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_intermediate_codes_code")),
        sa.UniqueConstraint(
            "institution_id",
            "addressee_number",
            name=op.f("uq_intermediate_codes_institution_id_addressee_number"),
        ),
    )


def _self_info_items() -> None:
    op.create_table(
        "self_info_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("item_code", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("publish_from", sa.Date(), nullable=False),
        sa.Column("publish_until", sa.Date(), nullable=True),
        sa.Column("undisclosed", sa.Boolean(), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_self_info_items_version_positive")),
        sa.CheckConstraint(
            "publish_until IS NULL OR publish_until >= publish_from",
            name=op.f("ck_self_info_items_publication_window"),
        ),
        _institution_fk("self_info_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_info_items")),
        sa.UniqueConstraint(
            "institution_id",
            "addressee_number",
            "item_code",
            "version",
            name=op.f("uq_self_info_items_version_per_item"),
        ),
    )


def _nondisclosure_flags() -> None:
    op.create_table(
        "nondisclosure_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("addressee_number", sa.String(length=15), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "requested_by IN ('person', 'supporter')",
            name=op.f("ck_nondisclosure_flags_requested_by"),
        ),
        _institution_fk("nondisclosure_flags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nondisclosure_flags")),
        sa.UniqueConstraint(
            "institution_id",
            "addressee_number",
            name=op.f("uq_nondisclosure_flags_institution_id_addressee_number"),
        ),
    )


def downgrade() -> None:
    op.drop_table("nondisclosure_flags")
    op.drop_table("self_info_items")
    op.drop_table("intermediate_codes")
    op.drop_table("addressees")
    op.drop_table("linkage_records")
    op.drop_table("code_issuances")
