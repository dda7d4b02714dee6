"""Fixtures for the staff tests: an institution with departments, a fixed clock, a TOTP key.

Shared values are fixtures rather than importable constants because the suite runs with
``--import-mode=importlib``, where test modules cannot import a conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.network.models import Department, Institution, InstitutionKind
from fukaiji.staff import StaffAccount, StaffRole, create_staff

NOW = datetime(2026, 11, 27, 1, 0, 0, tzinfo=UTC)
TOTP_KEY = bytes(range(32))
PASSWORD = "kasumigaseki-aozora-2026"
ACTOR = "cli:root"

MakeStaff = Callable[..., tuple[StaffAccount, str]]


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def totp_key() -> bytes:
    return TOTP_KEY


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def actor() -> str:
    return ACTOR


def _institution(
    session: Session, code: str, name: str, prefecture: str, departments: tuple[str, ...]
) -> Institution:
    """The institution with ``code``, and the departments named, made if not already there (the
    template database may or may not hold the official list of local governments)."""
    institution = session.scalars(select(Institution).where(Institution.code == code)).first()
    if institution is None:
        institution = Institution(
            code=code,
            name=name,
            kind=InstitutionKind.MUNICIPALITY,
            prefecture_code=prefecture,
            municipality_code=code,
        )
        session.add(institution)
        session.flush()
    have = {department.name for department in institution.departments}
    for department in departments:
        if department not in have:
            session.add(Department(institution_id=institution.id, name=department))
    session.commit()
    session.refresh(institution)
    return institution


@pytest.fixture
def chiyoda(session: Session) -> Institution:
    return _institution(session, "131016", "千代田区", "130001", ("市民課", "DV相談窓口"))


@pytest.fixture
def osaka(session: Session) -> Institution:
    return _institution(session, "271004", "大阪市", "270008", ("区政課",))


def _department(institution: Institution, name: str) -> Department:
    return next(department for department in institution.departments if department.name == name)


@pytest.fixture
def make_staff(session: Session, chiyoda: Institution) -> MakeStaff:
    def make(
        username: str = "tanaka",
        *,
        password: str = PASSWORD,
        roles: tuple[StaffRole, ...] = (StaffRole.CONSULTATION_DESK,),
        institution: Institution | None = None,
    ) -> tuple[StaffAccount, str]:
        institution = institution or chiyoda
        department = _department(institution, "市民課" if institution is chiyoda else "区政課")
        staff, secret = create_staff(
            session,
            institution_id=institution.id,
            department_id=department.id,
            username=username,
            display_name="田中 花子",
            password=password,
            roles=roles,
            totp_key=TOTP_KEY,
            actor=ACTOR,
        )
        session.commit()
        return staff, secret

    return make
