"""Fixtures for the card authority tests: a fixed clock, a CA key, PINs, residents and cards.

Residents are made directly with the ORM (the register's service is not needed to hold a card).
Shared values are fixtures rather than importable constants because the suite runs with
``--import-mode=importlib``, where test modules cannot import a conftest.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from fukaiji.jpki import IssuedCard, issue_card
from fukaiji.registry.models import MoveKind, Person, Residence

NOW = datetime(2026, 11, 27, 1, 0, 0, tzinfo=UTC)  # 10:00 in Tokyo
CA_KEY = bytes(range(32))
# Chosen not to occur by chance in the dates, hex and base64 the database holds (see the scans).
AUTH_PIN = "7395"
SIGN_PIN = "HIBARI48TSUBAME"
ACTOR = "staff:3"

MakePerson = Callable[..., Person]
Issue = Callable[..., IssuedCard]


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def ca_key() -> bytes:
    return CA_KEY


@pytest.fixture
def auth_pin() -> str:
    return AUTH_PIN


@pytest.fixture
def sign_pin() -> str:
    return SIGN_PIN


@pytest.fixture
def actor() -> str:
    return ACTOR


@pytest.fixture
def make_person(session: Session) -> MakePerson:
    def make(
        *,
        birth_date: date = date(1990, 3, 15),
        family_name: str = "山田",
        given_name: str = "花子",
        municipality_code: str = "131016",
        address_line: str = "東京都千代田区霞が関一丁目1番1号",
    ) -> Person:
        person = Person(
            resident_record_code=f"{secrets.randbelow(10**11):011d}",
            family_name=family_name,
            given_name=given_name,
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=birth_date,
        )
        person.residences.append(
            Residence(
                municipality_code=municipality_code,
                address_line=address_line,
                kind=MoveKind.REGISTRATION,
                moved_in_on=date(2020, 4, 1),
            )
        )
        session.add(person)
        session.commit()
        return person

    return make


@pytest.fixture
def issue(session: Session, make_person: MakePerson) -> Issue:
    def issue_(person: Person | None = None, *, now: datetime = NOW) -> IssuedCard:
        person = person or make_person()
        issued = issue_card(
            session,
            person_id=person.id,
            auth_pin=AUTH_PIN,
            sign_pin=SIGN_PIN,
            ca_key=CA_KEY,
            actor=ACTOR,
            now=now,
        )
        session.commit()
        return issued

    return issue_
