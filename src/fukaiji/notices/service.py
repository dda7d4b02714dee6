"""Notices, their destination files and screening (別添2(3)) for a notice-sending department.

A destination file lists 団体内統合宛名番号. Every bad row — not digits, not 15 digits, a
duplicate, a number the institution never assigned — is kept and shown with its row number;
strict mode refuses the whole file instead. Screening removes every addressee on the
institution's exclusion list who has not consented to this notice or its category; its report
gives counts, and the removed rows' numbers only to the sending department, never the reason
beyond "要確認 (留意すべき対象者)". Screening is a courtesy to the sender, not the safeguard: the
gate re-checks every addressee when sending (``fukaiji.notices.jobs``).
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Column, MetaData, String, Table, delete, select, update
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.db.sets import one_of
from fukaiji.intermediate.addressee_files import (
    AddresseeRow,
    Encoding,
    RowFault,
    clean_filename,
    read_addressee_csv,
)
from fukaiji.intermediate.addressees import UNKNOWN_HERE
from fukaiji.intermediate.models import Addressee
from fukaiji.network.models import Department, Institution
from fukaiji.notices.errors import DestinationRejected, InvalidNotice, NoticeLocked, UnknownNotice
from fukaiji.notices.models import (
    DestinationFault,
    DestinationFile,
    DestinationRow,
    Notice,
    SendJob,
)
from fukaiji.portal import rules
from fukaiji.portal.errors import InvalidInput
from fukaiji.portal.states import InboxCategory
from fukaiji.protection.exclusion import excluded_addressees
from fukaiji.protection.service import Viewer

REVIEW_REASON = "要確認 (留意すべき対象者)"
MAX_FAULT_VALUE = 100
INSERT_CHUNK = 10_000


def known_number_blocks(
    session: Session, *, institution_id: int, block: int = 65_536
) -> Iterator[np.ndarray]:
    """The addressee numbers the institution assigned, in order, ``block`` at a time as int64
    arrays, through a server-side cursor: a national body's 10**8 are never held at once."""
    numbers = session.scalars(
        select(Addressee.addressee_number)
        .where(Addressee.institution_id == institution_id)
        .order_by(Addressee.addressee_number)
        .execution_options(yield_per=block)
    )
    for part in numbers.partitions():
        yield np.fromiter(map(int, part), dtype=np.int64, count=len(part))


def notice_subject(notice_id: uuid.UUID) -> str:
    return f"notice:{notice_id}"


def create_notice(
    session: Session,
    *,
    sender: Viewer,
    title: str,
    body: str,
    category: str,
    now: datetime | None = None,
) -> Notice:
    """A notice of the sender's department; nothing is sent until a job is started."""
    department = _sending_department(session, sender)
    try:
        chosen = InboxCategory(category)
        notice = Notice(
            institution_id=sender.institution_id,
            department_id=department.id,
            title=rules.clean_title(title),
            body=rules.clean_body(body),
            category=chosen.value,
            created_at=now or utc_now(),
            created_by=sender.actor,
        )
    except ValueError:
        allowed = ", ".join(member.value for member in InboxCategory)
        raise InvalidNotice(
            "category", f"{category!r}: 次のいずれかです (one of): {allowed}"
        ) from None
    except InvalidInput as error:
        raise InvalidNotice(error.field, error.message) from error
    session.add(notice)
    session.flush()
    _audit(session, sender, notice, "notices.created", {"category": notice.category})
    return notice


def get_notice(session: Session, *, notice_id: uuid.UUID, viewer: Viewer) -> Notice:
    """The notice, if it belongs to the viewer's institution (else "not found", as for none)."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.institution_id != viewer.institution_id:
        raise UnknownNotice()
    return notice


def list_notices(session: Session, *, viewer: Viewer) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.institution_id == viewer.institution_id)
            .order_by(Notice.created_at.desc())
        )
    )


@dataclass(frozen=True, slots=True)
class UploadReport:
    rows: int
    faults: int
    encoding: Encoding


def attach_destination(
    session: Session,
    *,
    notice: Notice,
    sender: Viewer,
    data: bytes,
    filename: str,
    encoding: Encoding | str | None = None,
    strict: bool = False,
    now: datetime | None = None,
) -> UploadReport:
    """Attach (or replace, until sending starts) the notice's destination file."""
    _check_not_started(session, notice)
    institution = session.get_one(Institution, notice.institution_id)
    parsed = read_addressee_csv(data, encoding=encoding)
    faults = sorted(
        [*parsed.faults, *_unknown_here(session, institution_id=institution.id, rows=parsed.rows)],
        key=lambda fault: fault.row_number,
    )
    if strict and faults:
        raise DestinationRejected(tuple(faults))
    bad = {fault.row_number for fault in faults}
    rows = [row for row in parsed.rows if row.row_number not in bad]
    session.execute(delete(DestinationFile).where(DestinationFile.notice_id == notice.id))
    record = DestinationFile(
        notice_id=notice.id,
        filename=clean_filename(filename),
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=parsed.encoding.value,
        row_count=len(rows),
        fault_count=len(faults),
        uploaded_at=now or utc_now(),
        uploaded_by=sender.actor,
    )
    session.add(record)
    session.flush()
    _insert_in_chunks(
        session,
        DestinationRow,
        ((record.id, row.row_number, row.addressee_number, False) for row in rows),
    )
    _insert_in_chunks(
        session,
        DestinationFault,
        (
            (record.id, f.row_number, f.shown_value[:MAX_FAULT_VALUE], f.reason[:200])
            for f in faults
        ),
    )
    _audit(
        session, sender, notice, "notices.destination_attached",
        {"sha256": record.sha256, "rows": record.row_count, "faults": len(faults)},
    )  # fmt: skip
    return UploadReport(record.row_count, len(faults), parsed.encoding)


def _unknown_here(
    session: Session, *, institution_id: int, rows: Sequence[AddresseeRow]
) -> list[RowFault]:
    """A fault for every row whose number the institution never assigned, from one join with
    a temporary table of the file's numbers (no parameter per number, no query per chunk)."""
    if not rows:
        return []
    numbers = Table(
        "fukaiji_attach_numbers",
        MetaData(),
        Column("addressee_number", String(15), primary_key=True),
        prefixes=["TEMPORARY"],
    )
    connection = session.connection()
    numbers.drop(connection, checkfirst=True)
    numbers.create(connection)
    try:
        _insert_in_chunks(session, numbers, ((row.addressee_number,) for row in rows))
        known = Addressee.__table__
        unknown = set(
            connection.scalars(
                select(numbers.c.addressee_number)
                .outerjoin(
                    known,
                    (known.c.institution_id == institution_id)
                    & (known.c.addressee_number == numbers.c.addressee_number),
                )
                .where(known.c.id.is_(None))
            )
        )
    finally:
        numbers.drop(connection)
    return [
        RowFault(row.row_number, row.addressee_number, UNKNOWN_HERE)
        for row in rows
        if row.addressee_number in unknown
    ]


def _insert_in_chunks(session: Session, table: type | Table, rows: Iterable[tuple]) -> None:
    """Rows (tuples in the order of ``table``'s columns but its key) into ``table``: by COPY on
    PostgreSQL, else one driver-level executemany per ``INSERT_CHUNK`` rows. No ORM object and
    no per-row parameter processing; only a chunk of tuples alive at a time."""
    target = table if isinstance(table, Table) else table.__table__  # type: ignore[attr-defined]
    columns = [column.name for column in target.columns if not column.primary_key]
    if not columns:  # a one-column table keyed by its only column
        columns = [column.name for column in target.columns]
    connection = session.connection()
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(  # type: ignore[union-attr]
                f"COPY {target.name} ({names}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {target.name} ({names}) VALUES ({marks})"  # noqa: S608 - our names
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, INSERT_CHUNK)):
        connection.exec_driver_sql(statement, chunk)


@dataclass(frozen=True, slots=True)
class ScreeningReport:
    rows: int
    kept: int
    removed: int
    bad_rows: int
    screened_at: datetime | None
    removed_rows: tuple[int, ...] | None  # None for a viewer outside the sending department
    reason: str = REVIEW_REASON


def screen(
    session: Session, *, notice: Notice, sender: Viewer, now: datetime | None = None
) -> ScreeningReport:
    """Remove every excluded addressee without consent from the destination file (audited)."""
    _check_not_started(session, notice)
    file = require_destination(session, notice)
    institution = session.get_one(Institution, notice.institution_id)
    excluded = excluded_addressees(
        session, institution=institution, notice_id=notice.id, category=notice.category
    )
    session.execute(
        update(DestinationRow).where(DestinationRow.file_id == file.id).values(removed=False)
    )
    if excluded:
        session.execute(
            update(DestinationRow)
            .where(
                DestinationRow.file_id == file.id,
                one_of(session, DestinationRow.addressee_number, excluded),
            )
            .values(removed=True)
        )
    file.screened_at = now or utc_now()
    file.screened_by = sender.actor
    session.flush()
    report = screening_report(session, notice=notice, viewer=sender)
    _audit(
        session, sender, notice, "notices.screened",
        {"rows": report.rows, "removed": report.removed},
    )  # fmt: skip
    return report


def screening_report(session: Session, *, notice: Notice, viewer: Viewer) -> ScreeningReport:
    file = require_destination(session, notice)
    removed = list(
        session.scalars(
            select(DestinationRow.row_number)
            .where(DestinationRow.file_id == file.id, DestinationRow.removed.is_(True))
            .order_by(DestinationRow.row_number)
        )
    )
    may_see = viewer.department_id == notice.department_id
    return ScreeningReport(
        rows=file.row_count,
        kept=file.row_count - len(removed),
        removed=len(removed),
        bad_rows=file.fault_count,
        screened_at=file.screened_at,
        removed_rows=tuple(removed) if may_see else None,
    )


def destination_faults(session: Session, *, notice: Notice) -> list[DestinationFault]:
    file = require_destination(session, notice)
    return list(
        session.scalars(
            select(DestinationFault)
            .where(DestinationFault.file_id == file.id)
            .order_by(DestinationFault.row_number)
        )
    )


def destination_of(session: Session, notice: Notice) -> DestinationFile | None:
    return session.scalars(
        select(DestinationFile).where(DestinationFile.notice_id == notice.id)
    ).one_or_none()


def require_destination(session: Session, notice: Notice) -> DestinationFile:
    file = destination_of(session, notice)
    if file is None:
        raise InvalidNotice(
            "destination", "宛先ファイルが添付されていません (no destination file attached)"
        )
    return file


def _check_not_started(session: Session, notice: Notice) -> None:
    if session.scalar(select(SendJob.id).where(SendJob.notice_id == notice.id)) is not None:
        raise NoticeLocked("notice", "送信を開始したお知らせは変更できません (sending has started)")


def _sending_department(session: Session, sender: Viewer) -> Department:
    department = (
        None if sender.department_id is None else session.get(Department, sender.department_id)
    )
    if department is None or department.institution_id != sender.institution_id:
        raise InvalidNotice(
            "department", "送信する部署が必要です (a notice is sent by a department)"
        )
    return department


def _audit(
    session: Session, viewer: Viewer, notice: Notice, action: str, details: dict[str, object]
) -> None:
    audit.record(
        session,
        actor=viewer.actor,
        action=action,
        institution=viewer.institution_code,
        subject=notice_subject(notice.id),
        details=details,
    )
