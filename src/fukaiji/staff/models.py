"""Tables of 職員 (staff): accounts, their roles, login sessions, and API keys.

No secret is stored in a form that lets a reader of the database use it: passwords are Argon2id
hashes, TOTP secrets are AES-GCM ciphertexts, session tokens and API key secrets are SHA-256
hashes (both are 256-bit random values, so a fast hash is enough: there is nothing to guess).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fukaiji.db.base import Base, UTCDateTime, utc_now
from fukaiji.network.models import Department, Institution
from fukaiji.staff.roles import StaffRole


class StaffAccount(Base):
    """職員アカウント (staff account). Never deleted, only disabled: the audit log names it."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    # Must be a department of institution_id; the service enforces it (departments has no
    # (institution_id, id) key a composite foreign key could point at).
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    institution: Mapped[Institution] = relationship()
    department: Mapped[Department] = relationship()
    role_grants: Mapped[list[StaffRoleGrant]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )
    sessions: Mapped[list[StaffSession]] = relationship(back_populates="staff")

    @property
    def roles(self) -> frozenset[StaffRole]:
        return frozenset(StaffRole(grant.role) for grant in self.role_grants)

    @property
    def is_active(self) -> bool:
        return self.locked_at is None and self.disabled_at is None

    def __repr__(self) -> str:
        # The default repr would list every column, hashes and ciphertext included, into logs.
        return f"StaffAccount(id={self.id!r}, username={self.username!r})"


class StaffRoleGrant(Base):
    __tablename__ = "staff_role_grants"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), primary_key=True)
    role: Mapped[StaffRole] = mapped_column(String(32), primary_key=True)

    staff: Mapped[StaffAccount] = relationship(back_populates="role_grants")


class StaffSession(Base):
    """ログインセッション (login session). Only the SHA-256 of the token is kept."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    # Not secret from the staff member: the web layer echoes it into every form it renders.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[StaffAccount] = relationship(back_populates="sessions")

    def __repr__(self) -> str:
        return f"StaffSession(id={self.id!r}, staff_id={self.staff_id!r})"


class ApiKey(Base):
    """API キー of an institution, for systems rather than people. Shown once, stored hashed."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(8), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    institution: Mapped[Institution] = relationship()
    role_grants: Mapped[list[ApiKeyRoleGrant]] = relationship(
        back_populates="api_key", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[StaffRole]:
        return frozenset(StaffRole(grant.role) for grant in self.role_grants)

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, name={self.name!r})"


class ApiKeyRoleGrant(Base):
    __tablename__ = "api_key_role_grants"

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    role: Mapped[StaffRole] = mapped_column(String(32), primary_key=True)

    api_key: Mapped[ApiKey] = relationship(back_populates="role_grants")
