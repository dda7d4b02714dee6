"""Tables of the notice-sending departments: notices, their destination files (宛先ファイル) with
every row and every bad row, sending jobs, and one delivery row per addressee and notice.

Exactly once: a delivery row is written in the same transaction as the inbox message it stands
for, and (notice_id, addressee_number) is unique, so a job resumed after a crash can neither skip
an addressee nor deliver twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fukaiji.db.base import Base, UTCDateTime, utc_now

# Imported for their tables: the foreign keys below name institutions and departments.
from fukaiji.network import models as _network_models  # noqa: F401

CATEGORIES = "category IN ('general', 'procedure', 'benefit', 'tax', 'health')"


class Notice(Base):
    """お知らせ written by a department for the persons of a destination file."""

    __tablename__ = "notices"
    __table_args__ = (CheckConstraint(CATEGORIES, name="category"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))


class DestinationFile(Base):
    """The destination file attached to a notice (one per notice; a new upload replaces it
    until sending starts)."""

    __tablename__ = "destination_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notices.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(16))
    row_count: Mapped[int]
    fault_count: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    screened_by: Mapped[str | None] = mapped_column(String(200))


class DestinationRow(Base):
    """One addressee of a destination file; ``removed`` once screening took them out."""

    __tablename__ = "destination_rows"
    __table_args__ = (UniqueConstraint("file_id", "addressee_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("destination_files.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    addressee_number: Mapped[str] = mapped_column(String(15))
    removed: Mapped[bool] = mapped_column(default=False)


class DestinationFault(Base):
    """A bad row of a destination file, kept so the sender sees every one of them."""

    __tablename__ = "destination_faults"
    __table_args__ = (Index("ix_destination_faults_file_row", "file_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("destination_files.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    value: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(200))


class SendJob(Base):
    """Sending a notice, resumable: ``cursor`` is the last destination row done. A worker holds
    the job while ``lease_until`` is in the future; a worker that died lets it lapse."""

    __tablename__ = "send_jobs"
    __table_args__ = (CheckConstraint("state IN ('queued', 'running', 'done')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notices.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    cursor: Mapped[int] = mapped_column(default=0)
    total: Mapped[int]
    sent: Mapped[int] = mapped_column(default=0)
    blocked: Mapped[int] = mapped_column(default=0)
    no_account: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """What happened to one addressee of one notice: sent, blocked at the gate, or no account."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "addressee_number"),
        CheckConstraint("outcome IN ('sent', 'blocked', 'no_account')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notices.id"))
    addressee_number: Mapped[str] = mapped_column(String(15))
    row_number: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
