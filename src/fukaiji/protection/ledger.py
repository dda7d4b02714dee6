"""紙台帳 (paper ledger): an institution that keeps its list of persons under 不開示 on paper
imports it as a CSV of 団体内統合宛名番号 (別添2(3)イ), so the exclusion list includes them.

An import is all or nothing: if any row is bad — not an addressee number, a duplicate, or a
number the institution never assigned — nothing is imported and every bad row is reported with
its row number. Each import is audited with the file's SHA-256. An entry stays until the
ledger's keeper strikes it out (``withdraw_ledger_entry``, audited).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.intermediate.addressee_files import (
    Encoding,
    RowFault,
    clean_filename,
    read_addressee_csv,
    summarise_faults,
)
from fukaiji.intermediate.addressees import unknown_here
from fukaiji.intermediate.service import addressee_subject, parse_addressee_number
from fukaiji.network.models import Institution
from fukaiji.protection.errors import InvalidProtection, UnknownLedgerEntry
from fukaiji.protection.models import LedgerEntry, LedgerImport

LEDGER_FIELD = "紙台帳"


class LedgerRejected(InvalidProtection):
    """The file had bad rows; nothing was imported. ``faults`` lists every one."""

    def __init__(self, faults: tuple[RowFault, ...]) -> None:
        super().__init__(
            LEDGER_FIELD,
            f"{len(faults)} 行に誤りがあるため、取り込みませんでした"
            f" (nothing imported; {len(faults)} bad rows): {summarise_faults(faults)}",
        )
        self.faults = faults


@dataclass(frozen=True, slots=True)
class LedgerReport:
    import_id: int
    rows: int
    added: int
    already_listed: int
    encoding: Encoding


def import_ledger(
    session: Session,
    *,
    institution: Institution,
    data: bytes,
    filename: str,
    actor: str,
    encoding: Encoding | str | None = None,
    now: datetime | None = None,
) -> LedgerReport:
    now = now or utc_now()
    parsed = read_addressee_csv(data, encoding=encoding)
    faults = [*parsed.faults, *unknown_here(session, institution=institution, rows=parsed.rows)]
    if faults:
        raise LedgerRejected(tuple(sorted(faults, key=lambda fault: fault.row_number)))
    listed = _live_entries(session, institution.id)
    record = LedgerImport(
        institution_id=institution.id,
        filename=clean_filename(filename),
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=parsed.encoding.value,
        row_count=len(parsed.rows),
        imported_at=now,
        imported_by=actor,
    )
    session.add(record)
    session.flush()
    new_rows = [row for row in parsed.rows if row.addressee_number not in listed]
    session.add_all(
        LedgerEntry(
            import_id=record.id,
            institution_id=institution.id,
            addressee_number=row.addressee_number,
            row_number=row.row_number,
        )
        for row in new_rows
    )
    session.flush()
    report = LedgerReport(
        record.id,
        len(parsed.rows),
        len(new_rows),
        len(parsed.rows) - len(new_rows),
        parsed.encoding,
    )
    audit.record(
        session,
        actor=actor,
        action="protection.ledger_imported",
        institution=institution.code,
        details={
            "import": record.id,
            "sha256": record.sha256,
            "rows": report.rows,
            "added": report.added,
        },
    )
    return report


def withdraw_ledger_entry(
    session: Session,
    *,
    institution: Institution,
    addressee_number: str,
    actor: str,
    now: datetime | None = None,
) -> LedgerEntry:
    number = str(parse_addressee_number(addressee_number))
    entry = session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.institution_id == institution.id,
            LedgerEntry.addressee_number == number,
            LedgerEntry.withdrawn_at.is_(None),
        )
    ).one_or_none()
    if entry is None:
        raise UnknownLedgerEntry(
            "addressee_number", f"{number}: 紙台帳にありません (not on the paper ledger)"
        )
    entry.withdrawn_at = now or utc_now()
    entry.withdrawn_by = actor
    audit.record(
        session,
        actor=actor,
        action="protection.ledger_entry_withdrawn",
        institution=institution.code,
        subject=addressee_subject(institution.code, number),
        details={"import": entry.import_id},
    )
    return entry


def ledger_entries(session: Session, *, institution: Institution) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.institution_id == institution.id, LedgerEntry.withdrawn_at.is_(None))
            .order_by(LedgerEntry.addressee_number)
        )
    )


def _live_entries(session: Session, institution_id: int) -> set[str]:
    return set(
        session.scalars(
            select(LedgerEntry.addressee_number).where(
                LedgerEntry.institution_id == institution_id, LedgerEntry.withdrawn_at.is_(None)
            )
        )
    )
