"""マイナポータル: accounts (利用者フォルダ), settings, inbox, proxy invitations and grants,
login challenges and sessions, 操作履歴.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fukaiji.db.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_GRANT_KINDS = "'appointed', 'legal'"
_GRANT_ENDS = "'cancelled_by_principal', 'account_deleted', 'ended_at_window'"
_SESSION_ENDS = (
    "'logout', 'replaced', 'idle_timeout', 'card_unusable', 'account_deleted', 'grant_ended'"
)
_PURPOSES = "'login', 'deletion'"
_CATEGORIES = "'general', 'procedure', 'benefit', 'tax', 'health'"
_ACTIONS = (
    "'login', 'proxy_entered', 'viewed_records', 'viewed_self_info', 'viewed_inbox',"
    " 'invitation_created', 'invitation_cancelled', 'grant_created', 'grant_ended',"
    " 'settings_changed'"
)


def upgrade() -> None:
    _accounts()
    _account_settings()
    _inbox_messages()
    _proxy_invitations()
    _proxy_grants()
    _sessions()
    _challenges()
    _access_log()


def _account_fk(table: str, column: str = "account_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["portal_accounts.id"], name=op.f(f"fk_{table}_{column}_portal_accounts")
    )


def _accounts() -> None:
    op.create_table(
        "portal_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_portal_accounts_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_accounts")),
    )
    op.create_index(op.f("ix_portal_accounts_person_id"), "portal_accounts", ["person_id"])
    op.create_index(
        "uq_portal_accounts_live_per_person",
        "portal_accounts",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def _account_settings() -> None:
    op.create_table(
        "portal_account_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("notification_email", sa.String(length=254), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _account_fk("portal_account_settings"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_portal_account_settings")),
    )


def _inbox_messages() -> None:
    op.create_table(
        "portal_inbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            f"category IN ({_CATEGORIES})", name=op.f("ck_portal_inbox_messages_category")
        ),
        _account_fk("portal_inbox_messages"),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_portal_inbox_messages_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_inbox_messages")),
    )
    op.create_index(
        op.f("ix_portal_inbox_messages_account_id"), "portal_inbox_messages", ["account_id"]
    )


def _proxy_invitations() -> None:
    op.create_table(
        "portal_proxy_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        _account_fk("portal_proxy_invitations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_proxy_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_portal_proxy_invitations_code_hash")),
    )
    op.create_index(
        op.f("ix_portal_proxy_invitations_account_id"), "portal_proxy_invitations", ["account_id"]
    )


def _proxy_grants() -> None:
    op.create_table(
        "portal_proxy_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("proxy_person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("representation", sa.String(length=32), nullable=True),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(f"kind IN ({_GRANT_KINDS})", name=op.f("ck_portal_proxy_grants_kind")),
        sa.CheckConstraint(
            "(kind = 'legal' AND representation IS NOT NULL)"
            " OR (kind <> 'legal' AND representation IS NULL)",
            name=op.f("ck_portal_proxy_grants_representation"),
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL AND end_reason IS NULL AND ended_by IS NULL)"
            " OR (ended_at IS NOT NULL AND end_reason IS NOT NULL AND ended_by IS NOT NULL)",
            name=op.f("ck_portal_proxy_grants_ended"),
        ),
        sa.CheckConstraint(
            f"end_reason IS NULL OR end_reason IN ({_GRANT_ENDS})",
            name=op.f("ck_portal_proxy_grants_end_reason"),
        ),
        _account_fk("portal_proxy_grants"),
        sa.ForeignKeyConstraint(
            ["proxy_person_id"],
            ["persons.id"],
            name=op.f("fk_portal_proxy_grants_proxy_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_proxy_grants")),
    )
    op.create_index(
        op.f("ix_portal_proxy_grants_account_id"), "portal_proxy_grants", ["account_id"]
    )
    op.create_index(
        op.f("ix_portal_proxy_grants_proxy_person_id"), "portal_proxy_grants", ["proxy_person_id"]
    )
    op.create_index(
        "uq_portal_proxy_grants_live_per_pair",
        "portal_proxy_grants",
        ["account_id", "proxy_person_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def _sessions() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=40), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("acting_account_id", sa.Integer(), nullable=False),
        sa.Column("acting_grant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "(acting_grant_id IS NULL AND acting_account_id = account_id)"
            " OR (acting_grant_id IS NOT NULL AND acting_account_id <> account_id)",
            name=op.f("ck_portal_sessions_acting"),
        ),
        sa.CheckConstraint(
            f"end_reason IS NULL OR end_reason IN ({_SESSION_ENDS})",
            name=op.f("ck_portal_sessions_end_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_portal_sessions_person_id_persons")
        ),
        _account_fk("portal_sessions"),
        sa.ForeignKeyConstraint(
            ["card_id"], ["jpki_cards.id"], name=op.f("fk_portal_sessions_card_id_jpki_cards")
        ),
        _account_fk("portal_sessions", "acting_account_id"),
        sa.ForeignKeyConstraint(
            ["acting_grant_id"],
            ["portal_proxy_grants.id"],
            name=op.f("fk_portal_sessions_acting_grant_id_portal_proxy_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    for column in ("person_id", "account_id", "card_id", "acting_account_id", "acting_grant_id"):
        op.create_index(op.f(f"ix_portal_sessions_{column}"), "portal_sessions", [column])


def _challenges() -> None:
    op.create_table(
        "portal_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(f"purpose IN ({_PURPOSES})", name=op.f("ck_portal_challenges_purpose")),
        sa.CheckConstraint(
            "(purpose = 'deletion' AND session_id IS NOT NULL)"
            " OR (purpose <> 'deletion' AND session_id IS NULL)",
            name=op.f("ck_portal_challenges_session_binding"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["portal_sessions.id"],
            name=op.f("fk_portal_challenges_session_id_portal_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_challenges")),
        sa.UniqueConstraint("nonce_hash", name=op.f("uq_portal_challenges_nonce_hash")),
    )
    op.create_index(op.f("ix_portal_challenges_expires_at"), "portal_challenges", ["expires_at"])
    op.create_index(op.f("ix_portal_challenges_session_id"), "portal_challenges", ["session_id"])


def _access_log() -> None:
    op.create_table(
        "portal_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_person_id", sa.Uuid(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("about_grant_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"action IN ({_ACTIONS})", name=op.f("ck_portal_access_log_action")),
        sa.CheckConstraint(
            "grant_id IS NULL OR actor_person_id IS NOT NULL",
            name=op.f("ck_portal_access_log_proxy_actor"),
        ),
        _account_fk("portal_access_log"),
        sa.ForeignKeyConstraint(
            ["actor_person_id"],
            ["persons.id"],
            name=op.f("fk_portal_access_log_actor_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["portal_proxy_grants.id"],
            name=op.f("fk_portal_access_log_grant_id_portal_proxy_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["about_grant_id"],
            ["portal_proxy_grants.id"],
            name=op.f("fk_portal_access_log_about_grant_id_portal_proxy_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_access_log")),
    )
    op.create_index(op.f("ix_portal_access_log_account_id"), "portal_access_log", ["account_id"])


def downgrade() -> None:
    op.drop_table("portal_access_log")
    op.drop_table("portal_challenges")
    op.drop_table("portal_sessions")
    op.drop_table("portal_proxy_grants")
    op.drop_table("portal_proxy_invitations")
    op.drop_table("portal_inbox_messages")
    op.drop_table("portal_account_settings")
    op.drop_table("portal_accounts")
