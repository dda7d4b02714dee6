"""Tables of マイナポータル: accounts (利用者フォルダ), their settings, inbox and 操作履歴, proxy
invitations and grants, login challenges and sessions.

An account belongs to a person (register id), never to a card: a reissued card opens the same
folder. A deleted account keeps only its row (who, when created, when deleted) as a tombstone the
sessions and grants that named it still point at; its inbox, settings, invitations and 操作履歴
are gone, and a new account is a new row that starts empty.

No secret is stored in a form that lets a reader of the database use it: challenge nonces,
invitation codes and session tokens are SHA-256 hashes of 256-bit (codes: 100-bit) random values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fukaiji.db.base import Base, UTCDateTime, utc_now

# Imported for its table: portal_sessions.card_id refers to jpki_cards.id.
from fukaiji.jpki import models as _jpki_models  # noqa: F401
from fukaiji.network.models import Institution
from fukaiji.portal.states import (
    AccessAction,
    ChallengePurpose,
    GrantEnd,
    GrantKind,
    InboxCategory,
    LegalEndGround,
    Representation,
    SessionEnd,
)
from fukaiji.registry.models import Person


def _in(column: str, values: Iterable[str]) -> str:
    """The CHECK condition that ``column`` holds one of ``values`` (an enum's values)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class PortalAccount(Base):
    """利用者フォルダ (portal account) of a person; at most one live per person."""

    __tablename__ = "portal_accounts"
    __table_args__ = (
        Index(
            "uq_portal_accounts_live_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    # The person at their first login, or the card window recording a 法定代理人.
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None

    def __repr__(self) -> str:
        return f"PortalAccount(id={self.id!r})"


class AccountSettings(Base):
    """設定 (settings) of a folder: deleted with it."""

    __tablename__ = "portal_account_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), primary_key=True)
    notification_email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"AccountSettings(account_id={self.account_id!r})"


class InboxMessage(Base):
    """お知らせ delivered to a folder. Deleted with the folder, never carried into a new one."""

    __tablename__ = "portal_inbox_messages"
    __table_args__ = (
        CheckConstraint(_in("category", InboxCategory), name="category"),
        # The folder's お知らせ, newest first a page at a time (and, by its prefix, deleting them
        # with the folder).
        Index("ix_portal_inbox_messages_account_time", "account_id", "delivered_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    category: Mapped[InboxCategory] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The sender's own reference (e.g. its notice and job), for its delivery report.
    source: Mapped[str | None] = mapped_column(String(100))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    institution: Mapped[Institution] = relationship()

    def __repr__(self) -> str:
        return f"InboxMessage(id={self.id!r}, account_id={self.account_id!r})"


class ProxyInvitation(Base):
    """代理人招待コード: made by the person in their folder, accepted once by the proxy logged
    in with their own card. Only the hash of the code is kept."""

    __tablename__ = "portal_proxy_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"ProxyInvitation(id={self.id!r}, account_id={self.account_id!r})"


class ProxyGrant(Base):
    """代理人設定: ``proxy_person_id`` may enter the folder ``account_id`` and see what its person
    sees. A grant is never revived: once ended (by the person, by the folder's deletion, or at
    the window for a 法定代理人) it stays as history, and a new grant is a new row."""

    __tablename__ = "portal_proxy_grants"
    __table_args__ = (
        Index(
            "uq_portal_proxy_grants_live_per_pair",
            "account_id",
            "proxy_person_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        CheckConstraint(_in("kind", GrantKind), name="kind"),
        CheckConstraint(
            "(kind = 'legal' AND representation IS NOT NULL)"
            " OR (kind <> 'legal' AND representation IS NULL)",
            name="representation",
        ),
        CheckConstraint(
            "(ended_at IS NULL AND end_reason IS NULL AND ended_by IS NULL)"
            " OR (ended_at IS NOT NULL AND end_reason IS NOT NULL AND ended_by IS NOT NULL)",
            name="ended",
        ),
        CheckConstraint(f"end_reason IS NULL OR {_in('end_reason', GrantEnd)}", name="end_reason"),
        # 終了の根拠: only on a 法定代理 ended at the window. Ends recorded before the ground was
        # kept (migration 0013) have none.
        CheckConstraint(
            "end_ground IS NULL"
            f" OR (end_reason = 'ended_at_window' AND {_in('end_ground', LegalEndGround)})",
            name="end_ground",
        ),
        CheckConstraint("end_reference IS NULL OR end_ground IS NOT NULL", name="end_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    proxy_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[GrantKind] = mapped_column(String(16))
    representation: Mapped[Representation | None] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    granted_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[GrantEnd | None] = mapped_column(String(32))
    ended_by: Mapped[str | None] = mapped_column(String(200))
    # 法定代理の終了 at the window: its ground, and the document's reference (審判の事件番号).
    end_ground: Mapped[LegalEndGround | None] = mapped_column(String(32))
    end_reference: Mapped[str | None] = mapped_column(String(64))

    account: Mapped[PortalAccount] = relationship()
    proxy: Mapped[Person] = relationship()

    @property
    def is_live(self) -> bool:
        return self.ended_at is None

    def __repr__(self) -> str:
        return f"ProxyGrant(id={self.id!r}, account_id={self.account_id!r})"


class PortalSession(Base):
    """ログインセッション of a person who logged in with a card. Only the token's hash is kept.

    ``account_id`` is the person's own folder; ``acting_account_id`` the folder being viewed:
    the same one, or, as a proxy, the folder of the person ``acting_grant_id`` names."""

    __tablename__ = "portal_sessions"
    __table_args__ = (
        CheckConstraint(
            "(acting_grant_id IS NULL AND acting_account_id = account_id)"
            " OR (acting_grant_id IS NOT NULL AND acting_account_id <> account_id)",
            name="acting",
        ),
        CheckConstraint(
            f"end_reason IS NULL OR {_in('end_reason', SessionEnd)}", name="end_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Not secret from the resident: the web layer hands it over for the X-CSRF-Token header.
    csrf_token: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    # The 利用者証明用 certificate the session was opened with (hex, as the authority stores it),
    # re-checked on every request, and its card.
    certificate_serial: Mapped[str] = mapped_column(String(40))
    card_id: Mapped[int] = mapped_column(ForeignKey("jpki_cards.id"), index=True)
    acting_account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    acting_grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_proxy_grants.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[SessionEnd | None] = mapped_column(String(32))

    person: Mapped[Person] = relationship()

    @property
    def as_proxy(self) -> bool:
        return self.acting_grant_id is not None

    def __repr__(self) -> str:
        return f"PortalSession(id={self.id!r}, account_id={self.account_id!r})"


class LoginChallenge(Base):
    """A challenge the portal issued for a card to sign: one use, five minutes. A challenge for
    deleting a folder is bound to the session that asked for it."""

    __tablename__ = "portal_challenges"
    __table_args__ = (
        CheckConstraint(_in("purpose", ChallengePurpose), name="purpose"),
        CheckConstraint(
            "(purpose = 'deletion' AND session_id IS NOT NULL)"
            " OR (purpose <> 'deletion' AND session_id IS NULL)",
            name="session_binding",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[ChallengePurpose] = mapped_column(String(16))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("portal_sessions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"LoginChallenge(id={self.id!r}, purpose={self.purpose!r})"


class AccessLogEntry(Base):
    """操作履歴: one thing done in a folder, and who did it: the person, a proxy (the proxy's
    register id and the grant they acted under), or the card window (no person: a 法定代理人
    recorded or ended by staff). ``about_grant_id`` is the grant the entry concerns, if any.
    Deleted with the folder."""

    __tablename__ = "portal_access_log"
    __table_args__ = (
        CheckConstraint(_in("action", AccessAction), name="action"),
        CheckConstraint("grant_id IS NULL OR actor_person_id IS NOT NULL", name="proxy_actor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_accounts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    action: Mapped[AccessAction] = mapped_column(String(32))
    actor_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("portal_proxy_grants.id"))
    about_grant_id: Mapped[int | None] = mapped_column(ForeignKey("portal_proxy_grants.id"))

    actor: Mapped[Person | None] = relationship()

    @property
    def by_proxy(self) -> bool:
        return self.grant_id is not None

    @property
    def at_window(self) -> bool:
        return self.actor_person_id is None

    def __repr__(self) -> str:
        return f"AccessLogEntry(id={self.id!r}, account_id={self.account_id!r})"
