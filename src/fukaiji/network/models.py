"""Tables of 情報提供ネットワークシステム: institutions (情報照会者・情報提供者となる機関) and their
departments (部署), the log of 機関別符号 issued (符号取得), and 情報提供等記録.

The seed's measures work per department (the notice-sending department screens its destination
files) and are shared inside an institution (機関内での情報共有), so departments are first-class.

No table of the network holds a 個人番号, a person's register id or an addressee number: a person
appears only as ``person_ref``, a keyed hash of the register id that nobody can reverse (see
``fukaiji.network.codes``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from fukaiji.db.base import Base, UTCDateTime, utc_now


class InstitutionKind(StrEnum):
    PREFECTURE = "prefecture"
    MUNICIPALITY = "municipality"
    NATIONAL_BODY = "national_body"
    HEALTH_INSURER = "health_insurer"
    INCORPORATED_AGENCY = "incorporated_agency"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    InstitutionKind.PREFECTURE: "都道府県",
    InstitutionKind.MUNICIPALITY: "市区町村",
    InstitutionKind.NATIONAL_BODY: "国の行政機関",
    InstitutionKind.HEALTH_INSURER: "医療保険者",
    InstitutionKind.INCORPORATED_AGENCY: "独立行政法人等",
}


# Kinds of body that may have offices (出先機関) of their own: 日本年金機構 and its 年金事務所,
# 厚生労働省 and its 地方厚生局 or ハローワーク, 全国健康保険協会 and its 支部. A local government
# has none: it is located already, and its branches are departments.
BODY_KINDS = frozenset(
    {
        InstitutionKind.NATIONAL_BODY,
        InstitutionKind.INCORPORATED_AGENCY,
        InstitutionKind.HEALTH_INSURER,
    }
)


class Institution(Base):
    """機関 (institution): a local government, a national body or a health insurer.

    ``prefecture_code`` and ``municipality_code`` say where it is; they are what decides whether a
    record of this institution would reveal a protected region. A national body may have neither.

    An office (出先機関, e.g. a 年金事務所) names its body in ``body_id``: it has the body's kind,
    a location of its own, and acts under the body's rows of the legal basis table, while records
    and 副本 name the office itself, so that its location counts.
    """

    __tablename__ = "institutions"
    # An office without a location would hide where it is, which is the point of having it.
    __table_args__ = (
        CheckConstraint(
            "body_id IS NULL OR prefecture_code IS NOT NULL", name="office_has_location"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(String(32))
    prefecture_code: Mapped[str | None] = mapped_column(String(6), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    departments: Mapped[list[Department]] = relationship(
        back_populates="institution", order_by="Department.id"
    )

    if TYPE_CHECKING:
        # The body's code for an office, else None; mapped below, once the table exists.
        body_code: Mapped[str | None]


_BODY = Institution.__table__.alias("body")
# The body's code, read with the institution in the same statement (no lazy load per row): the
# legal basis table names bodies by code (``fukaiji.network.legal_basis.acting_code``).
Institution.body_code = column_property(
    select(_BODY.c.code)
    .where(_BODY.c.id == Institution.__table__.c.body_id)
    .correlate_except(_BODY)
    .scalar_subquery()
)


class Department(Base):
    """部署 (department) of an institution, e.g. 市民課, 子育て支援課, 税務課, DV相談窓口."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    institution: Mapped[Institution] = relationship(back_populates="departments")


class CodeIssuance(Base):
    """符号取得の記録 (a 機関別符号 issued): the network's only link between a person's codes.

    ``person_ref`` is the same for every institution's code of a person; it is how the network
    turns the requester's 符号 into the provider's when relaying a query.
    """

    __tablename__ = "code_issuances"
    __table_args__ = (UniqueConstraint("institution_id", "person_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    code: Mapped[str] = mapped_column(String(52), unique=True)
    person_ref: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class LinkageStatus(StrEnum):
    PROVIDED = "provided"
    NO_DATA = "no_data"
    UNKNOWN_PERSON = "unknown_person"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    LinkageStatus.PROVIDED: "提供済み",
    LinkageStatus.NO_DATA: "該当する情報なし",
    LinkageStatus.UNKNOWN_PERSON: "提供者に該当者なし",
}


class LinkageRecord(Base):
    """情報提供等記録 (linkage record): one per query that reached the provider.

    The two flags are 不開示 (non-disclosure) for the requester's and the provider's side: a record
    with either set is never shown on the portal. They only ever go from false to true.
    """

    __tablename__ = "linkage_records"
    __table_args__ = (
        CheckConstraint("status IN ('provided', 'no_data', 'unknown_person')", name="status"),
        # The portal's やりとり履歴, newest first a page at a time (and, by its prefix, every
        # lookup of a person's records).
        Index("ix_linkage_records_person_time", "person_ref", "requested_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requester_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    affair_code: Mapped[str] = mapped_column(String(16))
    item_code: Mapped[str] = mapped_column(String(16))
    legal_basis_entry: Mapped[int]
    person_ref: Mapped[str] = mapped_column(String(64))
    status: Mapped[LinkageStatus] = mapped_column(String(16))
    requester_undisclosed: Mapped[bool] = mapped_column(Boolean)
    provider_undisclosed: Mapped[bool] = mapped_column(Boolean)
    # The network chose the provider (the municipality of residence): the requester is never
    # told which one it was.
    routed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
