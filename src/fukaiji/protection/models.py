"""Tables of the consultation desk (相談窓口) and the 不開示措置 it keeps.

A protection (設定対象者 / 留意すべき対象者) is registered by one department of one institution —
the registering desk — and only that desk sees its case facts and protected region. Nothing here
says whether the usage-stop procedures are complete: that is derived from cards, accounts and
grants when asked (``usage_stop_complete_seen`` only remembers the last answer, so that a change
can be announced to the desk once).

Consents name a notice by its public id without a foreign key: notices sit above protection in
the package order, and a consent may be recorded before the notice is written.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fukaiji.db.base import Base, UTCDateTime, utc_now

# Imported for their tables: the foreign keys below name institutions, departments and persons.
from fukaiji.network import models as _network_models  # noqa: F401
from fukaiji.registry import models as _registry_models  # noqa: F401

REQUESTERS = "requested_by IN ('person', 'supporter')"
SUPPORTER_NAMED = (
    "requested_by = 'person' OR (supporter_body IS NOT NULL AND supporter_reason IS NOT NULL)"
)


class Protection(Base):
    """A person the institution must watch, with the facts of the case as the desk heard them."""

    __tablename__ = "protections"
    __table_args__ = (
        Index("uq_protections_institution_person", "institution_id", "person_id", unique=True),
        # The exclusion question is asked by addressee number, for one or for a whole batch.
        Index(
            "uq_protections_institution_addressee",
            "institution_id",
            "addressee_number",
            unique=True,
        ),
        CheckConstraint(REQUESTERS, name="requested_by"),
        CheckConstraint(SUPPORTER_NAMED, name="supporter_named"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    addressee_number: Mapped[str] = mapped_column(String(15))
    own_procedures: Mapped[bool] = mapped_column(Boolean)
    card_left_behind: Mapped[bool] = mapped_column(Boolean)
    perpetrator_is_proxy: Mapped[bool] = mapped_column(Boolean)
    perpetrator_is_legal_representative: Mapped[bool] = mapped_column(Boolean)
    perpetrator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    fled_on: Mapped[date | None] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(String(16))
    supporter_body: Mapped[str | None] = mapped_column(String(200))
    supporter_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    registered_by: Mapped[str] = mapped_column(String(200))
    usage_stop_complete_seen: Mapped[bool] = mapped_column(Boolean, default=False)
    # Derived from fled_on and registered_at whenever the row is written (see below), so that
    # the exclusion question can be asked in SQL for a whole population at once.
    risk_since: Mapped[datetime] = mapped_column(UTCDateTime)

    region: Mapped[list[ProtectedRegionCode]] = relationship(
        cascade="all, delete-orphan", order_by="ProtectedRegionCode.code", lazy="selectin"
    )


_TOKYO = ZoneInfo("Asia/Tokyo")


def risk_since_of(fled_on: date | None, registered_at: datetime) -> datetime:
    """From when a card or an account may be in the perpetrator's hands: the end of the day of
    flight where the desk knows it (a card reissued after fleeing is safe), else registration."""
    if fled_on is None:
        return registered_at
    end_of_day = datetime.combine(fled_on + timedelta(days=1), time(), _TOKYO)
    return min(end_of_day, registered_at)


@event.listens_for(Protection, "before_insert")
@event.listens_for(Protection, "before_update")
def _derive_risk_since(_mapper: object, _connection: object, protection: Protection) -> None:
    # Kept here, on every write of the row, so that no writer can forget it.
    protection.registered_at = protection.registered_at or utc_now()
    protection.risk_since = risk_since_of(protection.fled_on, protection.registered_at)


class ProtectedRegionCode(Base):
    """One 地方公共団体コード of the shelter area: a prefecture or a municipality."""

    __tablename__ = "protected_region_codes"

    protection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("protections.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(6), primary_key=True)


class NondisclosureRequest(Base):
    """A 不開示措置 request taken at a procedure (2(1)): who asked, and for a supporter, who and
    why the person could not ask themselves (2(1)注). The flag itself lives at the intermediate
    server."""

    __tablename__ = "nondisclosure_requests"
    __table_args__ = (
        CheckConstraint(REQUESTERS, name="requested_by"),
        CheckConstraint(SUPPORTER_NAMED, name="supporter_named"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    requested_by: Mapped[str] = mapped_column(String(16))
    supporter_body: Mapped[str | None] = mapped_column(String(200))
    supporter_reason: Mapped[str | None] = mapped_column(Text)
    records_flagged: Mapped[int]
    items_flagged: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))


class Consent(Base):
    """The person agreed to receive one notice, or every notice of a category (別添2(3)①)."""

    __tablename__ = "notice_consents"
    __table_args__ = (
        Index("ix_notice_consents_institution_addressee", "institution_id", "addressee_number"),
        CheckConstraint("(notice_id IS NULL) <> (category IS NULL)", name="one_scope"),
        CheckConstraint("channel IN ('window', 'phone', 'writing')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    notice_id: Mapped[uuid.UUID | None]
    category: Mapped[str | None] = mapped_column(String(16))
    given_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))


class LedgerImport(Base):
    """One import of the institution's 紙台帳 (paper ledger) of persons under 不開示."""

    __tablename__ = "ledger_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(16))
    row_count: Mapped[int]
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    imported_by: Mapped[str] = mapped_column(String(200))


class LedgerEntry(Base):
    """An addressee the paper ledger lists; withdrawn when the ledger's keeper strikes it out."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index(
            "uq_ledger_entries_live",
            "institution_id",
            "addressee_number",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("ledger_imports.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    row_number: Mapped[int]
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))


class DeskMessage(Base):
    """A message to the staff of a registering desk: the exclusion of one of its persons lifted
    by itself or came back, she moved, another institution asked about her, or an alert
    (``fukaiji.protection.watch``)."""

    __tablename__ = "desk_messages"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('exclusion_lifted', 'exclusion_restored', 'moved_out', 'moved_in', 'query',"
            " 'region_changed', 'alert')",
            name="kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    protection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protections.id"))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(200))


class OutsideActivity(Base):
    """Something another institution did about a protected person (a lookup, a query, a move
    attempt): counted so that a burst raises an alert to the registering desk."""

    __tablename__ = "outside_activities"
    __table_args__ = (
        Index("ix_outside_activities_protection_kind_at", "protection_id", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("protections.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    institution_code: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
