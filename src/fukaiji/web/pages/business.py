"""事務担当 (business desk) screens: find a person by this institution's 団体内統合宛名番号, run a
情報照会, register 副本 and read the person's 情報提供等記録.

The same services and rules as the JSON API (``fukaiji.web.api.residents`` and ``linkage``): own
institution only, every read audited. If the institution knows the person as a 留意すべき対象者
(from the consultation desk's registration, the paper ledger or the 不開示フラグ), the screen says
so and nothing more: the case facts and the protected region stay with the registering desk.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.db.base import MAX_ID
from fukaiji.errors import DomainError
from fukaiji.identifiers.local_government import lookup_local_government
from fukaiji.intermediate.models import SelfInfoItem
from fukaiji.intermediate.service import parse_addressee_number
from fukaiji.network.institutions import get_institution
from fukaiji.network.legal_basis import LegalBasisRow, shipped_legal_basis
from fukaiji.network.linkage import InstitutionRef, QueryResult, RecordView
from fukaiji.network.models import Institution
from fukaiji.protection import exclusion
from fukaiji.registry import service as registry
from fukaiji.registry.errors import UnknownPerson
from fukaiji.registry.models import Person
from fukaiji.staff.roles import StaffRole
from fukaiji.web.deps import Database, Principal
from fukaiji.web.domain_errors import domain_problem
from fukaiji.web.pages._common import (
    FormInput,
    FormState,
    checked_form,
    form_date,
    redirect,
    render,
    staff_screen,
    tokyo_time,
    undo_unless_kept,
)

router = APIRouter(prefix="/staff/residents", include_in_schema=False)
BusinessScreen = Annotated[Principal, Depends(staff_screen(StaffRole.BUSINESS_DESK))]
AddresseeNumberPath = Annotated[str, Path(max_length=40, description="団体内統合宛名番号")]

# Where a service's refusal belongs on the forms (the services name fields in their own words).
FORM_FIELD_OF = {
    "事務コード": "legal_basis",
    "特定個人情報名コード": "legal_basis",
    "法令根拠": "legal_basis",
    "機関コード": "provider_code",
    "提供者": "provider_code",
    "provider_code": "provider_code",
}
SELF_INFO_FIELD_OF = {
    "特定個人情報名コード": "item_code",
    "内容": "content",
    "公開終了日": "publish_until",
}


def _refused(values: dict[str, Any], error: DomainError, fields: dict[str, str]) -> FormState:
    return FormState.refused(values, error, field_names=fields)


# ---- finding a person -------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def find(
    request: Request,
    session: Database,
    principal: BusinessScreen,
    addressee_number: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The search form; with a number, the person's page if the number is this institution's."""
    if addressee_number is None:
        return render(request, "business/find.html", principal=principal)
    values = {"addressee_number": addressee_number}
    try:
        number = parse_addressee_number(addressee_number.strip())
        intermediate.person_of(
            session, institution=_institution(session, principal), addressee_number=number
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        form = _refused(values, error, {"団体内統合宛名番号": "addressee_number"})
        status_code = domain_problem(error).status
        return render(
            request, "business/find.html", principal=principal, form=form, status_code=status_code
        )
    return redirect(f"/staff/residents/{number}")


def _institution(session: Session, principal: Principal) -> Institution:
    return get_institution(session, principal.institution_code)


# ---- the person's page ------------------------------------------------------------------------


@router.get("/{number}", response_class=HTMLResponse)
def person_page(
    number: AddresseeNumberPath,
    request: Request,
    session: Database,
    principal: BusinessScreen,
    registered: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    return _page(request, session, principal, number, registered=registered)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    number: str,
    *,
    status_code: int = 200,
    registered: int | None = None,
    **shown: Any,
) -> HTMLResponse:
    """The person as the desk sees them; ``shown`` adds a query result or a refused form."""
    institution = _institution(session, principal)
    parsed = str(parse_addressee_number(number))
    person_id = intermediate.person_of(session, institution=institution, addressee_number=parsed)
    items = intermediate.self_info_history(
        session, institution=institution, addressee_number=parsed, actor=principal.actor
    )
    records = intermediate.records_of_addressee(
        session, institution=institution, addressee_number=parsed, actor=principal.actor
    )
    return render(
        request,
        "business/person.html",
        principal=principal,
        status_code=status_code,
        number=parsed,
        resident=_resident(session, principal, institution, person_id),
        watched=_watched(session, principal, institution, parsed),
        records=[_record_row(record) for record in reversed(records)],
        self_info=[_item_row(item) for item in items],
        flash=_registered_flash(items, registered),
        basis_options=_basis_options(institution),
        item_options=_item_options(institution),
        **{"query_form": FormState(), "self_info_form": FormState(), **shown},
    )


def _resident(
    session: Session, principal: Principal, institution: Institution, person_id: uuid.UUID
) -> dict[str, str] | None:
    """Name and address, as the API shows them: only for a resident of this municipality."""
    try:
        person: Person = registry.read_resident(
            session, municipality_code=institution.code, person_id=person_id, actor=principal.actor
        )
    except UnknownPerson:
        return None  # 住登外者: the resident register of another municipality holds them
    residence = person.current_residence
    municipality = lookup_local_government(residence.municipality_code).name
    return {
        "name": person.name,
        "kana": f"{person.family_name_kana} {person.given_name_kana}",
        "birth_date": person.birth_date.isoformat(),
        "address": f"{municipality}{residence.address_line}",
    }


def _watched(session: Session, principal: Principal, institution: Institution, number: str) -> bool:
    """Whether the person is to be watched: the one thing any department may learn (audited,
    as the API's watch view)."""
    return exclusion.read_watch_flag(
        session, institution=institution, addressee_number=number, actor=principal.actor
    )


def _who(institution: InstitutionRef | None) -> str:
    if institution is None:
        return ROUTED_PROVIDER
    return f"{institution.name}（{institution.code}）"


def _party(institution: InstitutionRef | None, role: str) -> str:
    """The other party where this institution may know it, else its role in the table."""
    return _who(institution) if institution is not None else f"{role}（機関名は示しません）"


# What the requester is told of a query the network routed: never which municipality.
ROUTED_PROVIDER = "住所地の市区町村（情報提供ネットワークシステムが照会先を決めました）"


def _record_row(record: RecordView) -> dict[str, Any]:
    table = shipped_legal_basis()
    return {
        "id": record.record_id,
        "at": tokyo_time(record.requested_at),
        "requester": _party(record.requester, record.requester_role),
        "provider": _party(record.provider, record.provider_role),
        "affair": table.affair_name(record.affair_code) or record.affair_code,
        "item": table.item_name(record.item_code) or record.item_code,
        "status": record.status.label,
        "side": record.side.label,
        "undisclosed": record.undisclosed,
    }


def _item_row(item: SelfInfoItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "item": shipped_legal_basis().item_name(item.item_code) or item.item_code,
        "version": item.version,
        "period": f"{item.publish_from} ～ {item.publish_until or ''}",
        "undisclosed": item.undisclosed,
        "content": item.content,
        "registered_at": tokyo_time(item.registered_at),
    }


def _registered_flash(items: list[SelfInfoItem], registered: int | None) -> str | None:
    item = next((item for item in items if item.id == registered), None)
    if item is None:
        return None
    name = shipped_legal_basis().item_name(item.item_code)
    hidden = "不開示として" if item.undisclosed else ""
    return f"副本（{name}）第 {item.version} 版を{hidden}登録しました。"


def _basis_options(institution: Institution) -> list[tuple[str, str]]:
    """The rows of the legal basis table in which this institution may ask."""
    return [("", "選択してください")] + [
        (str(row.entry), f"{row.affair_name} ／ {row.item_name}（提供者: {_provider_role(row)}）")
        for row in shipped_legal_basis()
        if row.requester.matches(institution)
    ]


def _provider_role(row: LegalBasisRow) -> str:
    return "住所地の市区町村" if row.provider.is_residence else str(row.provider)


def _item_options(institution: Institution) -> list[tuple[str, str]]:
    """The 特定個人情報 this institution may provide, hence hold a 副本 of."""
    provided = {
        row.item_code: row.item_name
        for row in shipped_legal_basis()
        if row.provider.matches(institution)
    }
    return [("", "選択してください")] + [
        (code, f"{name}（{code}）") for code, name in sorted(provided.items())
    ]


# ---- 情報照会 ----------------------------------------------------------------------------------


@router.post("/{number}/queries", response_class=HTMLResponse)
async def run_query(
    number: AddresseeNumberPath, request: Request, session: Database, principal: BusinessScreen
) -> HTMLResponse:
    """The answer is shown at once: the provided content is not kept anywhere to show later."""
    values = await checked_form(request, session, principal)
    try:
        row = _basis_row(values)
        result = intermediate.query(
            session,
            requester=_institution(session, principal),
            addressee_number=number,
            provider_code=str(values.get("provider_code", "")).strip() or None,
            affair_code=row.affair_code,
            item_code=row.item_code,
            undisclosed=bool(values.get("query_undisclosed")),
            actor=principal.actor,
        )
    except DomainError as error:
        undo_unless_kept(session, error)  # a query the table refuses stays in the audit log
        status_code = domain_problem(error).status
        form = _refused(values, error, FORM_FIELD_OF)
        return _page(request, session, principal, number, status_code=status_code, query_form=form)
    return _page(request, session, principal, number, result=_result_view(result))


def _basis_row(values: dict[str, Any]) -> LegalBasisRow:
    chosen = str(values.get("legal_basis", ""))
    for row in shipped_legal_basis():
        if str(row.entry) == chosen:
            return row
    raise FormInput("legal_basis", "法令根拠（事務と特定個人情報）を選んでください")


def _result_view(result: QueryResult) -> dict[str, Any]:
    content = result.content
    return {
        "record_id": result.record_id,
        "at": tokyo_time(result.requested_at),
        "status": result.status.label,
        "provider": _who(result.provider),
        "affair": result.affair_name,
        "item": result.item_name,
        "entry": result.legal_basis_entry,
        "version": result.version,
        "content": None
        if content is None
        else [(key, _shown(value)) for key, value in content.items()],
        "requester_undisclosed": result.requester_undisclosed,
    }


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# ---- 副本 --------------------------------------------------------------------------------------


@router.post("/{number}/self-info", response_class=HTMLResponse)
async def register_self_info(
    number: AddresseeNumberPath, request: Request, session: Database, principal: BusinessScreen
) -> Response:
    values = await checked_form(request, session, principal)
    try:
        item = intermediate.register_self_info(
            session,
            institution=_institution(session, principal),
            addressee_number=number,
            item_code=str(values.get("item_code", "")),
            content=_content(values),
            publish_from=form_date(values, "publish_from", required=True),
            publish_until=form_date(values, "publish_until"),
            undisclosed=bool(values.get("self_info_undisclosed")),
            actor=principal.actor,
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        if error.field == "内容":
            values = {**values, "content": ""}  # it may hold a 個人番号 typed by mistake
        form = _refused(values, error, SELF_INFO_FIELD_OF)
        status_code = domain_problem(error).status
        return _page(
            request, session, principal, number, status_code=status_code, self_info_form=form
        )
    return redirect(f"/staff/residents/{item.addressee_number}?registered={item.id}#self-info")


def _content(values: dict[str, Any]) -> Any:
    text = str(values.get("content", "")).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FormInput(
            "content",
            f"JSON として読めません（{error.lineno} 行 {error.colno} 文字目: {error.msg}）"
            " (content is not JSON)",
        ) from None
