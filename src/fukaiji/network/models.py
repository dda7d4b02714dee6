"""Institutions (情報照会者・情報提供者となる機関) and their departments (部署).

The seed's measures work per department (the notice-sending department screens its destination
files) and are shared inside an institution (機関内での情報共有), so departments are first-class.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class Institution(Base):
    """機関 (institution): a local government, a national body or a health insurer.

    ``prefecture_code`` and ``municipality_code`` say where it is; they are what decides whether a
    record of this institution would reveal a protected region. A national body may have neither.
    """

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(String(32))
    prefecture_code: Mapped[str | None] = mapped_column(String(6), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    departments: Mapped[list[Department]] = relationship(
        back_populates="institution", order_by="Department.id"
    )


class Department(Base):
    """部署 (department) of an institution, e.g. 市民課, 子育て支援課, 税務課, DV相談窓口."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    institution: Mapped[Institution] = relationship(back_populates="departments")
