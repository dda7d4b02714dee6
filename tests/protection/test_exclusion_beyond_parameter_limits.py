"""More excluded numbers than PostgreSQL takes parameters in one statement (65,535).

The consent lookup once bound one parameter per excluded number and crashed ("number of
parameters must be between 0 and 65535") for an institution with that many. Now no question
binds a parameter per number: the list, the consents, a batch, a file's numbers checked against
the institution's and a file screened all work at any size.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from fukaiji.db.sets import strings
from fukaiji.intermediate.addressee_files import AddresseeRow
from fukaiji.intermediate.addressees import unknown_here
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.notices import service
from fukaiji.notices.models import DestinationFile, DestinationRow
from fukaiji.protection import exclusion
from fukaiji.protection.models import Consent, LedgerEntry, LedgerImport
from fukaiji.protection.service import Viewer

BEYOND_THE_LIMIT = 70_000
NOTICE = uuid.UUID(int=11)


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_seventy_thousand_excluded_numbers_and_their_consents_are_answered(
    session: Session,
) -> None:
    osaka = get_institution(session, "271004")
    numbers = [f"{index:015d}" for index in range(1, BEYOND_THE_LIMIT + 1)]
    _on_the_ledger(session, osaka.id, numbers)
    consented = numbers[::7]  # 10,000 consents to this notice
    session.execute(
        insert(Consent),
        [
            {
                "institution_id": osaka.id,
                "addressee_number": number,
                "notice_id": NOTICE,
                "given_on": date(2026, 12, 1),
                "channel": "writing",
                "recorded_by": "test",
            }
            for number in consented
        ],
    )
    session.commit()

    expected = set(numbers) - set(consented)
    assert len(exclusion.exclusion_list(session, institution=osaka)) == BEYOND_THE_LIMIT
    assert exclusion.excluded_addressees(session, institution=osaka, notice_id=NOTICE) == expected
    batch = strings(session, [*numbers, "999999999999999"])  # one more, on no list
    assert (
        exclusion.excluded_among(session, institution=osaka, numbers=batch, notice_id=NOTICE)
        == expected
    )
    assert exclusion.is_excluded(session, institution=osaka, addressee_number=numbers[1])
    assert not exclusion.is_excluded(
        session, institution=osaka, addressee_number=numbers[0], notice_id=NOTICE
    )


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_file_of_seventy_thousand_numbers_is_checked_and_screened_in_one_statement(
    session: Session,
) -> None:
    osaka = get_institution(session, "271004")
    numbers = [f"{index:015d}" for index in range(1, BEYOND_THE_LIMIT + 1)]
    rows = [AddresseeRow(row, number, (number,)) for row, number in enumerate(numbers, start=2)]
    # None of them was assigned by Osaka: every row is named, none is lost to a crash.
    assert len(unknown_here(session, institution=osaka, rows=rows)) == BEYOND_THE_LIMIT
    # All of them on the ledger, and a notice's destination file of them all: the screen
    # removes every row.
    _on_the_ledger(session, osaka.id, numbers)
    welfare = get_department(session, institution_code="271004", name="福祉課")
    sender = Viewer(osaka.id, "271004", welfare.id, "test:welfare")
    notice = service.create_notice(
        session, sender=sender, title="お知らせ", body="本文", category="benefit"
    )
    file = DestinationFile(
        notice_id=notice.id,
        filename="宛先.csv",
        sha256="0" * 64,
        encoding="utf-8",
        row_count=len(numbers),
        fault_count=0,
        uploaded_by="test",
    )
    session.add(file)
    session.flush()
    session.execute(
        insert(DestinationRow),
        [
            {"file_id": file.id, "row_number": row, "addressee_number": number}
            for row, number in enumerate(numbers, start=2)
        ],
    )
    report = service.screen(session, notice=notice, sender=sender)
    assert report.removed == BEYOND_THE_LIMIT


def _on_the_ledger(session: Session, institution_id: int, numbers: list[str]) -> None:
    ledger = LedgerImport(
        institution_id=institution_id,
        filename="台帳.csv",
        sha256="0" * 64,
        encoding="utf-8",
        row_count=len(numbers),
        imported_by="test",
    )
    session.add(ledger)
    session.flush()
    session.execute(
        insert(LedgerEntry),
        [
            {
                "import_id": ledger.id,
                "institution_id": institution_id,
                "addressee_number": number,
                "row_number": row,
            }
            for row, number in enumerate(numbers, start=2)
        ],
    )
