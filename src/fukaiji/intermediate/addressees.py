"""団体内統合宛名システム (addressee register): the institution's own system, not the intermediate
server.

Each institution gives every person it deals with, residents and 住登外者 alike, one 15-digit
団体内統合宛名番号. This register is the only place where a person's register id meets that
number; it holds no 個人番号 either. A desk handed a 個人番号 looks the person up in the resident
register (``fukaiji.registry.service.find_by_my_number``) and enrols them here by register id.

Enrolling a person also has the institution's intermediate server obtain its 機関別符号 for the
new number from the network (符号取得), so that the person can be queried about and provided for.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fukaiji import audit, events
from fukaiji.db.base import utc_now
from fukaiji.db.sets import one_of, strings
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.identifiers import AddresseeNumber
from fukaiji.intermediate.addressee_files import AddresseeRow, RowFault
from fukaiji.intermediate.errors import UnknownAddressee
from fukaiji.intermediate.models import Addressee, IntermediateCode
from fukaiji.intermediate.service import acquire_code, addressee_subject, parse_addressee_number
from fukaiji.network.models import Institution
from fukaiji.registry.errors import UnknownPerson
from fukaiji.registry.models import Person
from fukaiji.registry.service import person_subject


@dataclass(frozen=True, slots=True)
class Enrolment:
    addressee_number: AddresseeNumber
    created: bool


def enrol(
    session: Session,
    *,
    institution: Institution,
    person_id: uuid.UUID,
    network_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> Enrolment:
    """The person's addressee number at the institution, given the first time; its 符号 is
    obtained at the same time. Enrolling again returns the same number."""
    now = now or utc_now()
    existing = addressee_number_of(session, institution=institution, person_id=person_id)
    created = existing is None
    if existing is None:
        if session.get(Person, person_id) is None:
            raise UnknownPerson()
        existing = _assign(session, institution, person_id, now)
    acquire_code(
        session,
        institution=institution,
        addressee_number=existing,
        person_id=person_id,
        network_key=network_key,
        actor=actor,
        now=now,
    )
    audit.record(
        session,
        actor=actor,
        action="addressees.assigned" if created else "addressees.found",
        institution=institution.code,
        subject=addressee_subject(institution.code, existing),
        details={"person": person_subject(person_id)},
    )
    events.announce(
        session,
        PersonEvent(
            kind=PersonEventKind.ENROLLED if created else PersonEventKind.LOOKUP,
            person_id=person_id,
            institution_code=institution.code,
            actor=actor,
            at=now,
        ),
    )
    return Enrolment(existing, created)


def _assign(
    session: Session, institution: Institution, person_id: uuid.UUID, now: datetime
) -> AddresseeNumber:
    while True:
        number = AddresseeNumber(f"{secrets.randbelow(10**15):015d}")
        try:
            with session.begin_nested():
                session.add(
                    Addressee(
                        institution_id=institution.id,
                        addressee_number=str(number),
                        person_id=person_id,
                        assigned_at=now,
                    )
                )
        except IntegrityError:
            # Either the random number was taken, or another desk enrolled the person just now.
            concurrent = addressee_number_of(session, institution=institution, person_id=person_id)
            if concurrent is not None:
                return concurrent
            continue
        return number


def addressee_number_of(
    session: Session, *, institution: Institution, person_id: uuid.UUID
) -> AddresseeNumber | None:
    number = session.scalar(
        select(Addressee.addressee_number).where(
            Addressee.institution_id == institution.id, Addressee.person_id == person_id
        )
    )
    return None if number is None else AddresseeNumber(number)


def person_of(
    session: Session, *, institution: Institution, addressee_number: str | AddresseeNumber
) -> uuid.UUID:
    """The register id behind an addressee number of the institution (its own register only)."""
    number = parse_addressee_number(addressee_number)
    person_id = session.scalar(
        select(Addressee.person_id).where(
            Addressee.institution_id == institution.id,
            Addressee.addressee_number == str(number),
        )
    )
    if person_id is None:
        raise UnknownAddressee(institution.code, str(number))
    return person_id


def persons_reachable(
    session: Session, *, institution: Institution, addressee_numbers: Sequence[str]
) -> dict[str, uuid.UUID]:
    """For each of the numbers that the institution assigned and holds a 機関別符号 for, the
    person behind it; the others are left out. One query for the whole batch."""
    rows = session.execute(
        select(Addressee.addressee_number, Addressee.person_id)
        .join(
            IntermediateCode,
            and_(
                IntermediateCode.institution_id == Addressee.institution_id,
                IntermediateCode.addressee_number == Addressee.addressee_number,
            ),
        )
        .where(
            Addressee.institution_id == institution.id,
            one_of(session, Addressee.addressee_number, addressee_numbers),
        )
    )
    return {number: person_id for number, person_id in rows}


UNKNOWN_HERE = (
    "この機関が付番した宛名番号ではありません (not an addressee number of this institution)"
)


def unknown_here(
    session: Session, *, institution: Institution, rows: Sequence[AddresseeRow]
) -> list[RowFault]:
    """A fault for every row whose number the institution never assigned: one query, the
    file's numbers bound as one set (a ledger may list more than a statement has parameters)."""
    if not rows:
        return []
    batch = strings(session, {row.addressee_number for row in rows}).subquery()
    number = next(iter(batch.c))
    assigned = exists().where(
        Addressee.institution_id == institution.id, Addressee.addressee_number == number
    )
    unknown = set(session.scalars(select(number).where(~assigned)))
    return [
        RowFault(row.row_number, row.addressee_number, UNKNOWN_HERE)
        for row in rows
        if row.addressee_number in unknown
    ]
