"""住民基本台帳の事務 (resident register operations): registration, finding and reading a resident,
個人番号の変更. Moves (転出届, 転入, 転居) are in ``fukaiji.registry.moves``."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

from fukaiji import audit, events
from fukaiji.db.base import utc_now
from fukaiji.events import PersonEvent, PersonEventKind
from fukaiji.identifiers import (
    InvalidIdentifier,
    LocalGovernment,
    MyNumber,
    MyNumberGenerator,
    lookup_local_government,
)
from fukaiji.registry import rules
from fukaiji.registry.errors import (
    InvalidResident,
    ResidentElsewhere,
    RetiredMyNumber,
    UnknownMyNumber,
    UnknownPerson,
)
from fukaiji.registry.models import MoveKind, MyNumberRecord, Person, Residence

MY_NUMBER_KEY_PURPOSE = "my-number-generator"
# Serialises issuing on PostgreSQL so that two registrations never take the same serial.
_SERIAL_LOCK_KEY = 0x66756B61696A6933


def person_subject(person_id: uuid.UUID) -> str:
    return f"person:{person_id}"


def checked_municipality(code: str) -> LocalGovernment:
    try:
        government = lookup_local_government(code)
    except InvalidIdentifier as error:
        raise InvalidResident("住所", str(error)) from error
    if government.is_prefecture:
        raise InvalidResident(
            "住所",
            f"{code} は都道府県です。市区町村のコードを指定してください "
            "(residents live in a municipality, not a prefecture)",
        )
    return government


def register_resident(
    session: Session,
    *,
    municipality_code: str,
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    birth_date: date,
    address_line: str,
    moved_in_on: date,
    my_number_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> Person:
    """Register a resident at a municipality: a 住民票コード and a 個人番号 are issued."""
    now = now or utc_now()
    municipality = checked_municipality(municipality_code)
    person = Person(
        id=uuid.uuid4(),
        resident_record_code=_new_resident_record_code(session),
        family_name=rules.clean_name("氏", family_name),
        given_name=rules.clean_name("名", given_name),
        family_name_kana=rules.clean_kana("氏（カナ）", family_name_kana),
        given_name_kana=rules.clean_kana("名（カナ）", given_name_kana),
        birth_date=rules.check_birth_date(birth_date, now.date()),
        created_at=now,
    )
    person.residences.append(
        Residence(
            municipality_code=str(municipality.code),
            address_line=rules.clean_address_line(address_line),
            kind=MoveKind.REGISTRATION,
            moved_in_on=moved_in_on,
        )
    )
    session.add(person)
    session.flush()
    _issue_my_number(session, person, my_number_key, now)
    audit.record(
        session,
        actor=actor,
        action="registry.registered",
        institution=str(municipality.code),
        subject=person_subject(person.id),
    )
    return person


def _new_resident_record_code(session: Session) -> str:
    while True:
        code = f"{secrets.randbelow(10**11):011d}"
        taken = session.scalar(select(Person.id).where(Person.resident_record_code == code))
        if taken is None:
            return code


def _issue_my_number(session: Session, person: Person, key: bytes, now: datetime) -> MyNumberRecord:
    """A number from the next unused serial: the keyed permutation never repeats a number."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SERIAL_LOCK_KEY})
    highest = session.scalar(select(func.max(MyNumberRecord.serial)))
    serial = 0 if highest is None else highest + 1
    record = MyNumberRecord(
        serial=serial,
        number=str(MyNumberGenerator(key).number_for(serial)),
        person=person,
        issued_at=now,
    )
    session.add(record)
    session.flush()
    return record


def change_my_number(
    session: Session,
    *,
    person_id: uuid.UUID,
    reason: str,
    my_number_key: bytes,
    actor: str,
    institution: str | None = None,
    now: datetime | None = None,
) -> MyNumber:
    """個人番号の変更 (番号法 §7②): the old number is retired for ever and a new one issued."""
    now = now or utc_now()
    reason = reason.strip()
    if not reason:
        raise InvalidResident("変更理由", "空です (a reason for the change is required)")
    person = get_person(session, person_id)
    current = _current_record(session, person.id)
    current.retired_at = now
    current.retirement_reason = reason[:200]
    session.flush()
    record = _issue_my_number(session, person, my_number_key, now)
    audit.record(
        session,
        actor=actor,
        action="registry.my_number_changed",
        institution=institution,
        subject=person_subject(person.id),
        details={"reason": reason[:200]},
    )
    return MyNumber(record.number)


def _current_record(session: Session, person_id: uuid.UUID) -> MyNumberRecord:
    return session.scalars(
        select(MyNumberRecord).where(
            MyNumberRecord.person_id == person_id, MyNumberRecord.retired_at.is_(None)
        )
    ).one()


def current_my_number(session: Session, person_id: uuid.UUID) -> MyNumber:
    return MyNumber(_current_record(session, person_id).number)


def find_by_my_number(session: Session, number: str | MyNumber) -> Person:
    """The person a current 個人番号 belongs to. A retired number finds no one, answered exactly as
    a number never issued: any institution may ask this, and "retired" would tell it that she
    changed her number, a measure for a person at risk. Only the municipality she lives in is
    told that a number was retired (``lookup_resident``)."""
    parsed = number if isinstance(number, MyNumber) else MyNumber.parse(number)
    record = session.scalars(
        select(MyNumberRecord).where(MyNumberRecord.number == str(parsed))
    ).one_or_none()
    if record is None or record.retired_at is not None:
        raise UnknownMyNumber()
    return get_person(session, record.person_id)


def resident_of(session: Session, municipality_code: str, person_id: uuid.UUID) -> Person:
    """The person, if they live in this municipality now; otherwise not found, as if there were
    no such person: a municipality's staff see only its own register."""
    person = get_person(session, person_id)
    if not lives_in(person, municipality_code):
        raise UnknownPerson()
    return person


def lives_in(person: Person, municipality_code: str) -> bool:
    current = current_residence_or_none(person)
    return current is not None and current.municipality_code == municipality_code


def current_residence_or_none(person: Person) -> Residence | None:
    """The open address; None for someone with none (moved abroad)."""
    return next((r for r in reversed(person.residences) if r.moved_out_on is None), None)


def reach_resident(
    session: Session,
    *,
    municipality_code: str,
    person_id: uuid.UUID,
    actor: str,
    action: str,
    now: datetime | None = None,
) -> Person:
    """``resident_of`` for staff acting on a person (``action`` names the read or the change).
    Where the person exists but lives elsewhere, the attempt is audited as refused and told to
    the desks that protect her (a LOOKUP event), and answered as if there were no such person
    (``ResidentElsewhere`` is an ``UnknownPerson`` whose trace the caller commits)."""
    now = now or utc_now()
    person = get_person(session, person_id)
    if lives_in(person, municipality_code):
        return person
    _announce_lookup(session, person, municipality_code, actor, now, refused=True)
    audit.record(
        session,
        actor=actor,
        institution=municipality_code,
        action=f"{action}_refused",
        subject=person_subject(person.id),
        at=now,
    )
    raise ResidentElsewhere()


def _announce_lookup(
    session: Session,
    person: Person,
    municipality_code: str,
    actor: str,
    now: datetime,
    *,
    refused: bool,
) -> None:
    events.announce(
        session,
        PersonEvent(
            kind=PersonEventKind.LOOKUP,
            person_id=person.id,
            institution_code=municipality_code,
            actor=actor,
            at=now,
            details={"refused": refused},
        ),
    )


def read_resident(
    session: Session,
    *,
    municipality_code: str,
    person_id: uuid.UUID,
    actor: str,
    now: datetime | None = None,
) -> Person:
    """``resident_of`` for showing the person to staff: the read is audited, and told to the
    desks that protect the person, whether it succeeds or is refused."""
    now = now or utc_now()
    person = reach_resident(
        session,
        municipality_code=municipality_code,
        person_id=person_id,
        actor=actor,
        action="registry.read",
        now=now,
    )
    _announce_lookup(session, person, municipality_code, actor, now, refused=False)
    audit.record(
        session,
        actor=actor,
        institution=municipality_code,
        action="registry.read",
        subject=person_subject(person.id),
        at=now,
    )
    return person


def lookup_resident(
    session: Session, *, municipality_code: str, number: MyNumber, actor: str
) -> Person:
    """A resident of this municipality found by 個人番号 (audited as ``read_resident``). A number
    that finds no one, or a person living elsewhere, is answered alike; that a number was retired
    by a change (a measure for a person at risk) is told only to the municipality she lives in."""
    record = session.scalars(
        select(MyNumberRecord).where(MyNumberRecord.number == str(number))
    ).one_or_none()
    if record is None:
        raise UnknownPerson()
    person = read_resident(
        session, municipality_code=municipality_code, person_id=record.person_id, actor=actor
    )
    if record.retired_at is not None:
        raise RetiredMyNumber()
    return person


def get_person(session: Session, person_id: uuid.UUID) -> Person:
    person = session.scalar(
        select(Person).where(Person.id == person_id).options(selectinload(Person.residences))
    )
    if person is None:
        raise UnknownPerson()
    return person


def residents_of(session: Session, municipality_code: str) -> list[Person]:
    """Current residents of a municipality (for its own staff)."""
    return list(
        session.scalars(
            select(Person)
            .join(Residence)
            .where(
                Residence.municipality_code == municipality_code,
                Residence.moved_out_on.is_(None),
            )
            .order_by(Person.family_name_kana, Person.given_name_kana)
        )
    )
