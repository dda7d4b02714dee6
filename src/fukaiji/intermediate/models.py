"""Tables of each institution's 中間サーバー (intermediate server), and of its 宛名システム.

``addressees`` is the institution's own 団体内統合宛名システム (addressee register), not part of
the intermediate server: it is the one place where a person's register id meets the addressee
number. The intermediate server's tables know only addressee numbers and 機関別符号.

No table here holds a 個人番号. A desk that is handed a 個人番号 finds the person through the
resident register (``fukaiji.registry``) and continues with the register id.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fukaiji.db.base import Base, UTCDateTime, utc_now

# Imported for its table: addressees.person_id refers to persons.id.
from fukaiji.registry import models as _registry_models  # noqa: F401


class Addressee(Base):
    """団体内統合宛名番号の付番 (an addressee number given to a person by an institution).

    This is the institution's own 宛名システム, not the intermediate server. Every person the
    institution deals with gets one number, residents and 住登外者 alike.
    """

    __tablename__ = "addressees"
    __table_args__ = (
        UniqueConstraint("institution_id", "addressee_number"),
        UniqueConstraint("institution_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"Addressee(id={self.id!r})"


class IntermediateCode(Base):
    """中間サーバーの符号管理: the institution's 機関別符号 for one of its addressee numbers,
    obtained from the network the first time (符号取得)."""

    __tablename__ = "intermediate_codes"
    __table_args__ = (UniqueConstraint("institution_id", "addressee_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    code: Mapped[str] = mapped_column(String(52), unique=True)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class SelfInfoItem(Base):
    """副本 (self-information item): data the institution provides and shows on the portal.

    Each registration is a new version; the highest version whose publication window contains
    the day is the current one, and older versions are kept as history. ``undisclosed`` is the
    自己情報表示不開示 flag; it only ever goes from false to true.
    """

    __tablename__ = "self_info_items"
    __table_args__ = (
        # Named by hand: the conventional name would exceed PostgreSQL's 63 characters.
        UniqueConstraint(
            "institution_id",
            "addressee_number",
            "item_code",
            "version",
            name="uq_self_info_items_version_per_item",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "publish_until IS NULL OR publish_until >= publish_from", name="publication_window"
        ),
        # The portal's 自己情報, newest first a page at a time, per addressee number.
        Index(
            "ix_self_info_items_addressee_time",
            "institution_id",
            "addressee_number",
            "registered_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    item_code: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
    publish_from: Mapped[date] = mapped_column(Date)
    publish_until: Mapped[date | None] = mapped_column(Date)
    undisclosed: Mapped[bool] = mapped_column(Boolean)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    registered_by: Mapped[str] = mapped_column(String(200))


class NondisclosureRequester(StrEnum):
    """Who asked for 不開示: the person at their first procedure, or a supporter when the person
    cannot ask (the seed's 支援を行う者)."""

    PERSON = "person"
    SUPPORTER = "supporter"

    @property
    def label(self) -> str:
        return {"person": "本人", "supporter": "支援者"}[self.value]


class NondisclosureFlag(Base):
    """不開示フラグ: the institution has put a person under non-disclosure. Never removed: from
    then on every record the institution takes part in and every 副本 item it registers for the
    person is 不開示."""

    __tablename__ = "nondisclosure_flags"
    __table_args__ = (
        UniqueConstraint("institution_id", "addressee_number"),
        CheckConstraint("requested_by IN ('person', 'supporter')", name="requested_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    requested_by: Mapped[NondisclosureRequester] = mapped_column(String(16))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    set_by: Mapped[str] = mapped_column(String(200))
