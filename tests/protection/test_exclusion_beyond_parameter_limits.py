"""More excluded numbers than PostgreSQL takes parameters in one statement (65,535).

The consent lookup once bound one parameter per excluded number and crashed ("number of
parameters must be between 0 and 65535") for an institution with that many. Now no question
binds a parameter per number: the list, the consents and a batch all work at any size.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from fukaiji.db.sets import strings
from fukaiji.network.institutions import get_institution
from fukaiji.protection import exclusion
from fukaiji.protection.models import Consent, LedgerEntry, LedgerImport

BEYOND_THE_LIMIT = 70_000
NOTICE = uuid.UUID(int=11)


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_seventy_thousand_excluded_numbers_and_their_consents_are_answered(
    session: Session,
) -> None:
    osaka = get_institution(session, "271004")
    ledger = LedgerImport(
        institution_id=osaka.id,
        filename="台帳.csv",
        sha256="0" * 64,
        encoding="utf-8",
        row_count=BEYOND_THE_LIMIT,
        imported_by="test",
    )
    session.add(ledger)
    session.flush()
    numbers = [f"{index:015d}" for index in range(1, BEYOND_THE_LIMIT + 1)]
    session.execute(
        insert(LedgerEntry),
        [
            {
                "import_id": ledger.id,
                "institution_id": osaka.id,
                "addressee_number": number,
                "row_number": row,
            }
            for row, number in enumerate(numbers, start=2)
        ],
    )
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
