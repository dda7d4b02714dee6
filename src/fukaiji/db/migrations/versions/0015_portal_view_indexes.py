"""Indexes for the portal's paged views: each of やりとり履歴, 自己情報 and お知らせ is read newest
first, a page at a time, by (time, id) within one person's records, one addressee number's 副本
or one folder's messages. Each index replaces the single-column one it starts with.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_linkage_records_person_time",
        "linkage_records",
        ["person_ref", "requested_at", "id"],
    )
    op.drop_index(op.f("ix_linkage_records_person_ref"), table_name="linkage_records")
    op.create_index(
        "ix_self_info_items_addressee_time",
        "self_info_items",
        ["institution_id", "addressee_number", "registered_at", "id"],
    )
    op.create_index(
        "ix_portal_inbox_messages_account_time",
        "portal_inbox_messages",
        ["account_id", "delivered_at", "id"],
    )
    op.drop_index(op.f("ix_portal_inbox_messages_account_id"), table_name="portal_inbox_messages")


def downgrade() -> None:
    op.create_index(
        op.f("ix_portal_inbox_messages_account_id"), "portal_inbox_messages", ["account_id"]
    )
    op.drop_index("ix_portal_inbox_messages_account_time", table_name="portal_inbox_messages")
    op.drop_index("ix_self_info_items_addressee_time", table_name="self_info_items")
    op.create_index(op.f("ix_linkage_records_person_ref"), "linkage_records", ["person_ref"])
    op.drop_index("ix_linkage_records_person_time", table_name="linkage_records")
