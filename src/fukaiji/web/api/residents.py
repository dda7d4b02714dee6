"""住民基本台帳 through the API: a municipality's staff register and move its own residents.

A person is reachable only through the municipality where they live now, so staff of the
former municipality cannot follow someone who has moved away. A move to another municipality is
a 転出届 recorded here (or by the person on the portal) that only the named destination completes
with the 転入; the destination then sees the immediately previous address (前住所) and no older
one (``registry.rules.residences_visible_to``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from fukaiji.identifiers import InvalidIdentifier, MyNumber, lookup_local_government
from fukaiji.jpki.service import on_address_change
from fukaiji.registry import moves, service
from fukaiji.registry.models import MoveOut, Person
from fukaiji.registry.rules import residences_visible_to
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


class MoveOutView(BaseModel):
    """転出届 as the municipality of residence sees it."""

    destination_code: str
    destination_name: str
    planned_on: date = Field(description="転出予定日")
    channel: str = Field(description="window (窓口) または portal (マイナポータル)")
    recorded_at: datetime

    @classmethod
    def of(cls, move_out: MoveOut) -> MoveOutView:
        return cls(
            destination_code=move_out.destination_code,
            destination_name=lookup_local_government(move_out.destination_code).name,
            planned_on=move_out.planned_on,
            channel=move_out.channel,
            recorded_at=move_out.recorded_at,
        )


class ResidentView(BaseModel):
    id: uuid.UUID
    resident_record_code: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    residences: list[ResidenceView] = Field(
        description="この市区町村での住所と、その直前の住所（前住所）だけ"
    )
    move_out: MoveOutView | None = Field(default=None, description="受け付けている転出届")

    @classmethod
    def of(cls, session: Session, person: Person, municipality_code: str) -> ResidentView:
        """What the staff of ``municipality_code`` see of the person: never an address older
        than the 前住所."""
        move_out = moves.open_move_out(session, person.id)
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
                for r in residences_visible_to(person, municipality_code)
            ],
            move_out=None if move_out is None else MoveOutView.of(move_out),
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
    """転入: completes the 転出届 that names this municipality as destination."""

    my_number: str = Field(min_length=12, max_length=20, description="転入者の個人番号")
    address_line: str = Field(min_length=1, max_length=200)
    moved_on: date = Field(description="住み始めた日")


class MoveOutRequest(BaseModel):
    """転出届 at the window of the municipality of residence."""

    destination_code: str = Field(
        min_length=1, max_length=20, description="転出先の市区町村コード (6 桁)"
    )
    planned_on: date = Field(description="転出予定日")


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
    return WithMyNumber(
        resident=ResidentView.of(session, person, institution.code), my_number=str(number)
    )


@router.post("/lookup", response_model=ResidentView, summary="個人番号による住民の検索")
def lookup_by_my_number(
    body: MyNumberLookup,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    person = service.lookup_resident(
        session,
        municipality_code=institution.code,
        number=_parse_my_number(body.my_number),
        actor=principal.actor,
    )
    return ResidentView.of(session, person, institution.code)


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
    return ResidentView.of(session, person, institution.code)


@router.post(
    "/{person_id}/move-out",
    response_model=MoveOutView,
    status_code=status.HTTP_201_CREATED,
    summary="転出届",
)
def record_move_out(
    person_id: uuid.UUID,
    body: MoveOutRequest,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> MoveOutView:
    move_out = moves.record_move_out(
        session,
        person_id=person_id,
        destination_code=body.destination_code,
        planned_on=body.planned_on,
        actor=principal.actor,
        municipality_code=institution.code,
    )
    return MoveOutView.of(move_out)


@router.post(
    "/{person_id}/move-out/cancel",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="転出届の取消し",
)
def cancel_move_out(
    person_id: uuid.UUID,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> Response:
    moves.cancel_move_out(
        session, person_id=person_id, actor=principal.actor, municipality_code=institution.code
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/move-in", response_model=ResidentView, summary="転入 (転出届の完了)")
def move_in(
    body: MoveIn,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    """Only the municipality named as destination of the person's 転出届 completes it; every
    refusal is the same 422 whether she has no 転出届 or one to elsewhere, and is audited."""
    person = moves.complete_move_in(
        session,
        municipality_code=institution.code,
        my_number=_parse_my_number(body.my_number),
        address_line=body.address_line,
        moved_on=body.moved_on,
        actor=principal.actor,
    )
    # The 署名用電子証明書 carries the address, so it cannot outlive the move.
    on_address_change(session, person_id=person.id, actor=principal.actor)
    return ResidentView.of(session, service.get_person(session, person.id), institution.code)


@router.post("/{person_id}/relocate", response_model=ResidentView, summary="転居")
def relocate(
    person_id: uuid.UUID,
    body: Relocation,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = RegisterDesk,
) -> ResidentView:
    moves.relocate(
        session,
        municipality_code=institution.code,
        person_id=person_id,
        address_line=body.address_line,
        moved_on=body.moved_on,
        actor=principal.actor,
    )
    on_address_change(session, person_id=person_id, actor=principal.actor)
    return ResidentView.of(session, service.get_person(session, person_id), institution.code)


@router.post("/{person_id}/my-number-change", response_model=WithMyNumber, summary="個人番号の変更")
def change_my_number(
    person_id: uuid.UUID,
    body: MyNumberChange,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = RegisterDesk,
) -> WithMyNumber:
    person = service.reach_resident(
        session,
        municipality_code=institution.code,
        person_id=person_id,
        actor=principal.actor,
        action="registry.my_number_change",
    )
    number = service.change_my_number(
        session,
        person_id=person.id,
        reason=body.reason,
        my_number_key=my_number_key(request),
        actor=principal.actor,
        institution=institution.code,
    )
    return WithMyNumber(
        resident=ResidentView.of(session, person, institution.code), my_number=str(number)
    )
