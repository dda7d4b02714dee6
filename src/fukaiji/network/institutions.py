"""Institutions and departments: loading the official list, adding national bodies and insurers
and their offices (出先機関: 年金事務所, ハローワーク, 地方厚生局, 協会けんぽの支部).

Every prefecture and municipality of the shipped 全国地方公共団体コード list is an institution
whose code is its 地方公共団体コード. Loading is idempotent: it adds what is missing, corrects a
renamed one, and otherwise changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fukaiji import audit
from fukaiji.identifiers import (
    InvalidIdentifier,
    LocalGovernment,
    all_local_governments,
    lookup_local_government,
)
from fukaiji.network.errors import (
    DuplicateDepartment,
    DuplicateInstitution,
    InvalidInstitution,
    UnknownDepartment,
    UnknownInstitution,
)
from fukaiji.network.models import BODY_KINDS, Department, Institution, InstitutionKind

# Departments every local government starts with; more can be added.
MUNICIPAL_DEPARTMENTS = (
    "市民課",
    "子育て支援課",
    "税務課",
    "福祉課",
    "国民健康保険課",
    "DV相談窓口",
    "情報政策課",
)
PREFECTURAL_DEPARTMENTS = ("総務課", "福祉課", "女性相談支援センター", "情報政策課")

# National bodies and insurers use codes of their own (e.g. an 8-digit 保険者番号).
_OTHER_CODE = re.compile(r"[0-9A-Z]{4,16}")
_MAX_DEPARTMENT_NAME = 100


@dataclass(frozen=True, slots=True)
class LoadReport:
    added: int
    renamed: int
    unchanged: int


def load_local_governments(session: Session, *, actor: str) -> LoadReport:
    """Make every listed prefecture and municipality an institution, with its departments."""
    existing = {
        institution.code: institution
        for institution in session.scalars(
            select(Institution).where(
                Institution.kind.in_([InstitutionKind.PREFECTURE, InstitutionKind.MUNICIPALITY])
            )
        )
    }
    added = renamed = 0
    for government in all_local_governments():
        institution = existing.get(str(government.code))
        if institution is None:
            session.add(_institution_for(government))
            added += 1
        elif institution.name != government.name:
            institution.name = government.name
            renamed += 1
    report = LoadReport(added, renamed, len(all_local_governments()) - added - renamed)
    if added or renamed:
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="institutions.load",
            details={"added": added, "renamed": renamed},
        )
    return report


def _institution_for(government: LocalGovernment) -> Institution:
    kind = InstitutionKind.PREFECTURE if government.is_prefecture else InstitutionKind.MUNICIPALITY
    names = PREFECTURAL_DEPARTMENTS if government.is_prefecture else MUNICIPAL_DEPARTMENTS
    return Institution(
        code=str(government.code),
        name=government.name,
        kind=kind,
        prefecture_code=str(government.prefecture_code),
        municipality_code=None if government.is_prefecture else str(government.code),
        departments=[Department(name=name) for name in names],
    )


def add_institution(
    session: Session,
    *,
    code: str,
    name: str,
    kind: InstitutionKind,
    location_code: str | None,
    departments: Sequence[str],
    actor: str,
    body_code: str | None = None,
) -> Institution:
    """Add a national body, an incorporated agency or a health insurer, or an office of one.

    ``location_code`` is the 地方公共団体コード of where it sits (a prefecture or municipality),
    or None for a body with no regional location. ``body_code`` makes it an office (出先機関) of
    that body: see ``check_office``.
    """
    if kind in (InstitutionKind.PREFECTURE, InstitutionKind.MUNICIPALITY):
        raise InvalidInstitution(
            "種別",
            "都道府県・市区町村は公式一覧から登録されます "
            "(local governments come from the official list: run `fukaiji institutions load`)",
        )
    if not _OTHER_CODE.fullmatch(code):
        raise InvalidInstitution(
            "機関コード",
            f"{code}: 英大文字・数字 4〜16 文字で指定してください (4-16 capitals and digits)",
        )
    if not name.strip():
        raise InvalidInstitution("名称", "空です (name is empty)")
    if session.scalar(select(Institution.id).where(Institution.code == code)) is not None:
        raise DuplicateInstitution(code)
    body = None if body_code is None else check_office(session, body_code, kind, location_code)
    prefecture_code, municipality_code = _location(location_code)
    institution = Institution(
        code=code,
        name=name.strip(),
        kind=kind,
        prefecture_code=prefecture_code,
        municipality_code=municipality_code,
        body_id=None if body is None else body.id,
        departments=[Department(name=department) for department in dict.fromkeys(departments)],
    )
    session.add(institution)
    session.flush()
    details = {"kind": kind.value, "location": location_code}
    if body is not None:
        details["body"] = body.code
    audit.record(session, actor=actor, action="institutions.add", institution=code, details=details)
    return institution


def check_office(
    session: Session, body_code: str, kind: InstitutionKind, location_code: str | None
) -> Institution:
    """The body an office may be added under, or InvalidInstitution naming the fault.

    The body must exist, be of a kind that has offices (``BODY_KINDS``) and not be an office
    itself (one level: the legal basis table names bodies); the office has the body's kind, so
    that it matches the body's rows, and a location: an office without one would hide where it
    is, which is what records and 副本 must show to the protection layer."""
    try:
        body = get_institution(session, body_code)
    except UnknownInstitution as error:
        raise InvalidInstitution(
            "上位機関",
            f"{body_code.strip()} の機関は登録されていません。機関コードを確認してください。",
        ) from error
    if body.kind not in BODY_KINDS:
        raise InvalidInstitution(
            "上位機関",
            f"{body.name} ({body.code}) は{InstitutionKind(body.kind).label}です。"
            "出先機関を置けるのは国の行政機関・独立行政法人等・医療保険者です。",
        )
    if body.body_id is not None:
        raise InvalidInstitution(
            "上位機関",
            f"{body.name} ({body.code}) は出先機関です。出先機関の下に出先機関は置けません。"
            f"上位機関には {body.body_code} を指定してください。",
        )
    if kind != body.kind:
        raise InvalidInstitution(
            "種別",
            f"出先機関の種別は上位機関と同じ{InstitutionKind(body.kind).label}にしてください。",
        )
    if location_code is None:
        raise InvalidInstitution(
            "所在地",
            "出先機関には所在地が必要です。所在地の地方公共団体コードを指定してください。",
        )
    return body


def _location(location_code: str | None) -> tuple[str | None, str | None]:
    if location_code is None:
        return None, None
    try:
        government = lookup_local_government(location_code)
    except InvalidIdentifier as error:
        raise InvalidInstitution("所在地", str(error)) from error
    municipality = None if government.is_prefecture else str(government.code)
    return str(government.prefecture_code), municipality


def add_department(session: Session, *, institution_code: str, name: str, actor: str) -> Department:
    institution = get_institution(session, institution_code)
    name = name.strip()
    if not name:
        raise InvalidInstitution("部署", "空です (department name is empty)")
    if any(department.name == name for department in institution.departments):
        raise DuplicateDepartment(institution_code, name)
    department = Department(institution=institution, name=name)
    session.add(department)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="institutions.add_department",
        institution=institution_code,
        details={"department": name},
    )
    return department


def get_institution(session: Session, code: str) -> Institution:
    code = code.strip()
    # A code outside the pattern names nothing; not asking keeps e.g. a NUL byte (which
    # PostgreSQL cannot bind) away from the database.
    if not _OTHER_CODE.fullmatch(code):
        raise UnknownInstitution(code)
    institution = session.scalar(
        select(Institution)
        .where(Institution.code == code)
        .options(selectinload(Institution.departments))
    )
    if institution is None:
        raise UnknownInstitution(code)
    return institution


def get_department(session: Session, *, institution_code: str, name: str) -> Department:
    name = name.strip()
    if "\x00" in name or len(name) > _MAX_DEPARTMENT_NAME:
        raise UnknownDepartment(institution_code, name.replace("\x00", "\\x00"))
    department = session.scalar(
        select(Department)
        .join(Department.institution)
        .where(Institution.code == institution_code, Department.name == name)
    )
    if department is None:
        get_institution(session, institution_code)
        raise UnknownDepartment(institution_code, name)
    return department


def list_institutions(
    session: Session,
    *,
    kind: InstitutionKind | None = None,
    prefecture_code: str | None = None,
    name_contains: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Institution], int]:
    """A page of institutions in code order, and how many match in all."""
    query = select(Institution)
    if kind is not None:
        query = query.where(Institution.kind == kind)
    if prefecture_code is not None:
        query = query.where(Institution.prefecture_code == prefecture_code)
    if name_contains:
        query = query.where(Institution.name.contains(name_contains, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Institution.code).limit(limit).offset(offset)).all()
    return list(page), total
