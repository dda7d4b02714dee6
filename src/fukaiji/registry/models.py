"""Tables of 住民基本台帳 (the resident register).

A person has an immutable internal id (a random UUID) to which everything else attaches; the
住民票コード and the 個人番号 are attributes that can be looked up, and the 個人番号 can change.
A move to another municipality is a 転出届 (``MoveOut``) at the municipality of residence (or by
the person on the portal) that the named destination completes with the 転入.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fukaiji.db.base import Base, UTCDateTime, utc_now


class Person(Base):
    """住民 (resident): a person in the register."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resident_record_code: Mapped[str] = mapped_column(String(11), unique=True)
    family_name: Mapped[str] = mapped_column(String(50))
    given_name: Mapped[str] = mapped_column(String(50))
    family_name_kana: Mapped[str] = mapped_column(String(100))
    given_name_kana: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    residences: Mapped[list[Residence]] = relationship(
        back_populates="person", order_by="Residence.id"
    )
    my_numbers: Mapped[list[MyNumberRecord]] = relationship(
        back_populates="person", order_by="MyNumberRecord.serial"
    )

    @property
    def name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def current_residence(self) -> Residence:
        return next(r for r in reversed(self.residences) if r.moved_out_on is None)

    def __repr__(self) -> str:
        # Names and numbers stay out of logs and tracebacks.
        return f"Person(id={self.id!s})"


class MoveKind(StrEnum):
    REGISTRATION = "registration"  # 新規登録 (出生・国外からの転入 等)
    MOVE_IN = "move_in"  # 転入 (from another municipality)
    RELOCATION = "relocation"  # 転居 (within the same municipality)

    @property
    def label(self) -> str:
        return {"registration": "新規登録", "move_in": "転入", "relocation": "転居"}[self.value]


class Residence(Base):
    """住所の履歴 (address history): one row per address, closed when the person moves away."""

    __tablename__ = "residences"
    __table_args__ = (
        # At most one open address per person.
        Index(
            "uq_residences_open_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("moved_out_on IS NULL"),
            postgresql_where=text("moved_out_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    address_line: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MoveKind] = mapped_column(String(20))
    moved_in_on: Mapped[date] = mapped_column(Date)
    moved_out_on: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="residences")


class MyNumberRecord(Base):
    """個人番号 issued to a person. A retired number stays here for ever, so it is never reissued
    and a lookup by it can say that it was retired rather than that it never existed."""

    __tablename__ = "my_numbers"
    __table_args__ = (
        Index(
            "uq_my_numbers_current_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The generator's input: a serial is used once, so the keyed permutation never repeats.
    serial: Mapped[int] = mapped_column(BigInteger, unique=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retirement_reason: Mapped[str | None] = mapped_column(String(200))

    person: Mapped[Person] = relationship(back_populates="my_numbers")


class MoveOutChannel(StrEnum):
    WINDOW = "window"  # at the window of the municipality of residence
    PORTAL = "portal"  # by the person herself on マイナポータル (引越し手続), with her card

    @property
    def label(self) -> str:
        return {"window": "窓口", "portal": "マイナポータル"}[self.value]


class MoveOut(Base):
    """転出届 (a planned move to another municipality). Open until the destination completes it
    with the 転入 or it is cancelled; at most one open per person."""

    __tablename__ = "move_outs"
    __table_args__ = (
        Index(
            "uq_move_outs_open_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("completed_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("completed_at IS NULL AND cancelled_at IS NULL"),
        ),
        CheckConstraint("channel IN ('window', 'portal')", name="channel"),
        CheckConstraint("completed_at IS NULL OR cancelled_at IS NULL", name="one_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    from_municipality_code: Mapped[str] = mapped_column(String(6))
    destination_code: Mapped[str] = mapped_column(String(6))
    planned_on: Mapped[date] = mapped_column(Date)  # 転出予定日
    channel: Mapped[MoveOutChannel] = mapped_column(String(8))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.cancelled_at is None

    def __repr__(self) -> str:
        return f"MoveOut(id={self.id!r})"
