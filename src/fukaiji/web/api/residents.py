"""住民基本台帳 through the API: a municipality's staff register and move its own residents.

A person is reachable only through the municipality where they live now, so staff of the
former municipality cannot follow someone who has moved away.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.jpki.service import on_address_change
from fukaiji.network.models import Institution
from fukaiji.registry import service
from fukaiji.registry.models import Person
from fukaiji.staff.roles import StaffRole
from fukaiji.web.deps import Database, OwnInstitution, Principal, my_number_key, require_roles
from fukaiji.web.problems import FieldError, Problem

router = APIRouter(tags=["residents"], prefix="/institutions/{code}/residents")
RegisterDesk = Depends(require_roles(StaffRole.BUSINESS_DESK, StaffRole.CARD_WINDOW))


class ResidenceView(BaseModel):
    municipality_code: str
    address_line: str
    kind: str
    moved_in_on: date
    moved_out_on: date | None


class ResidentView(BaseModel):
    id: uuid.UUID
    resident_record_code: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    residences: list[ResidenceView]

    @classmethod
    def of(cls, person: Person) -> ResidentView:
        return cls(
            id=person.id,
            resident_record_code=person.resident_record_code,
            family_name=person.family_name,
            given_name=person.given_name,
            family_name_kana=person.family_name_kana,
            given_name_kana=person.given_name_kana,
            birth_date=person.birth_date,
            residences=[
                ResidenceView(
                    municipality_code=r.municipality_code,
                    address_line=r.address_line,
                    kind=r.kind,
                    moved_in_on=r.moved_in_on,
                    moved_out_on=r.moved_out_on,
                )
                for r in person.residences
            ],
        )


class WithMyNumber(BaseModel):
    """Shown to the desk when the number is issued or changed, to be told to the resident."""

    resident: ResidentView
    my_number: str


class ResidentRegistration(BaseModel):
    family_name: str = Field(min_length=1, max_length=50)
    given_name: str = Field(min_length=1, max_length=50)
    family_name_kana: str = Field(min_length=1, max_length=100)
    given_name_kana: str = Field(min_length=1, max_length=100)
    birth_date: date
    address_line: str = Field(min_length=1, max_length=200)
    moved_in_on: date


class MoveIn(BaseModel):
    my_number: str = Field(min_length=12, max_length=20, description="転入者の個人番号")
    address_line: str = Field(min_length=1, max_length=200)
    moved_on: date


class Relocation(BaseModel):
    address_line: str = Field(min_length=1, max_length=200)
    moved_on: date


class MyNumberLookup(BaseModel):
    my_number: str = Field(min_length=12, max_length=20)


class MyNumberChange(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="変更の理由 (番号法第7条第2項)")


def _parse_my_number(text: str) -> MyNumber:
    try:
        return MyNumber.parse(text)
    except InvalidIdentifier as error:
        message = f"{error.fault_ja} ({error.fault_en})"
        raise Problem(
            422,
            f"個人番号: {message}",
            slug="invalid-input",
            errors=[FieldError(field="body.my_number", message=message)],
        ) from error


@router.post(
    "", response_model=WithMyNumber, status_code=status.HTTP_201_CREATED, summary="住民の登録"
)
def register_resident(
    body: ResidentRegistration,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = RegisterDesk,
) -> WithMyNumber:
    person = service.register_resident(
        session,
        municipality_code=institution.code,
        **body.model_dump(),
        my_number_key=my_number_key(request),
        actor=principal.actor,
    )
    number = service.current_my_number(session, person.id)
    return WithMyNumber(resident=ResidentView.of(person), my_number=str(number))


@router.post("/lookup", response_model=ResidentView, summary="個人番号による住民の検索")
def lookup_by_my_number(
    body: MyNumberLookup,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    person = service.find_by_my_number(session, _parse_my_number(body.my_number))
    person = service.read_resident(
        session, municipality_code=institution.code, person_id=person.id, actor=principal.actor
    )
    return ResidentView.of(person)


@router.get("/{person_id}", response_model=ResidentView, summary="住民の表示")
def show_resident(
    person_id: uuid.UUID,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    person = service.read_resident(
        session, municipality_code=institution.code, person_id=person_id, actor=principal.actor
    )
    return ResidentView.of(person)


@router.post("/move-in", response_model=ResidentView, summary="転入")
def move_in(
    body: MoveIn,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    person = service.find_by_my_number(session, _parse_my_number(body.my_number))
    return _move(session, institution, principal, person.id, body.address_line, body.moved_on)


@router.post("/{person_id}/relocate", response_model=ResidentView, summary="転居")
def relocate(
    person_id: uuid.UUID,
    body: Relocation,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    service.resident_of(session, institution.code, person_id)
    return _move(session, institution, principal, person_id, body.address_line, body.moved_on)


def _move(
    session: Session,
    institution: Institution,
    principal: Principal,
    person_id: uuid.UUID,
    address_line: str,
    moved_on: date,
) -> ResidentView:
    service.move(
        session,
        person_id=person_id,
        municipality_code=institution.code,
        address_line=address_line,
        moved_on=moved_on,
        actor=principal.actor,
    )
    # The 署名用電子証明書 carries the address, so it cannot outlive the move.
    on_address_change(session, person_id=person_id, actor=principal.actor)
    return ResidentView.of(service.get_person(session, person_id))


@router.post("/{person_id}/my-number-change", response_model=WithMyNumber, summary="個人番号の変更")
def change_my_number(
    person_id: uuid.UUID,
    body: MyNumberChange,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = RegisterDesk,
) -> WithMyNumber:
    person = service.resident_of(session, institution.code, person_id)
    number = service.change_my_number(
        session,
        person_id=person.id,
        reason=body.reason,
        my_number_key=my_number_key(request),
        actor=principal.actor,
        institution=institution.code,
    )
    return WithMyNumber(resident=ResidentView.of(person), my_number=str(number))
