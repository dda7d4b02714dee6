"""相談窓口 (consultation desk) screens: register a protected person, follow the usage-stop
procedures and the exposure check, record the 不開示 request and consents.

The screens call the very services the JSON API calls (``fukaiji.web.api.protection``), with the
same access rules: the registering desk sees everything; another department of the institution
sees that the person is to be watched, nothing more; another institution is told "not found".
The services audit every read and decide who sees what; the screens render what they return.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.errors import DomainError
from fukaiji.network.institutions import get_institution
from fukaiji.network.models import Institution
from fukaiji.portal.states import InboxCategory
from fukaiji.protection import consent, exposure, messages, requests, service
from fukaiji.protection.errors import InvalidProtection, UnknownConsent
from fukaiji.protection.exposure import ExposedItem, ExposureReport, OpenPath
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.guidance import TOLL_FREE
from fukaiji.protection.models import Protection
from fukaiji.protection.region import REGION_FIELD, parse_region
from fukaiji.protection.service import Requester, View
from fukaiji.protection.states import ConsentChannel, DeskMessageKind
from fukaiji.protection.status import current_status
from fukaiji.registry import service as registry
from fukaiji.staff.roles import StaffRole
from fukaiji.web.api.uploads import MULTI_LINE, ONE_LINE, viewer_of
from fukaiji.web.deps import Database, Principal, network_key
from fukaiji.web.domain_errors import domain_problem
from fukaiji.web.pages._common import (
    FormInput,
    FormState,
    checked_form,
    form_date,
    person_by_my_number,
    redirect,
    render,
    staff_screen,
    tokyo_time,
    undo_unless_kept,
)

router = APIRouter(prefix="/staff/protections", include_in_schema=False)
DeskScreen = Annotated[Principal, Depends(staff_screen(StaffRole.CONSULTATION_DESK))]
# As in the API, a business desk may open a protection: it learns only that the person is to be
# watched (the service decides). Every change stays with the consultation desk's screens.
ReaderScreen = Annotated[
    Principal,
    Depends(staff_screen(StaffRole.CONSULTATION_DESK, StaffRole.BUSINESS_DESK)),
]
ProtectionId = Annotated[uuid.UUID, Path(description="保護対象者の登録 ID")]

# The 個人番号 fields: used to find a person, never shown again, not even on a refused form.
SECRET_FIELDS = ("my_number", "perpetrator_my_number")
REGION_SEPARATORS = re.compile(r"[\s,、，]+")
# Where a service's refusal belongs on the forms (the services name fields in their own words).
FORM_FIELD_OF = {
    "person": "addressee_number",
    "住民": "addressee_number",
    "団体内統合宛名番号": "addressee_number",
    "perpetrator": "perpetrator_my_number",
    REGION_FIELD: "region_codes",
}
DONE_MESSAGES = {
    "registered": "保護対象者を登録しました。案内に沿って利用停止手続を進めてください。",
    "changed": "事案の内容を訂正しました。",
    "consent": "同意を記録しました。",
    "withdrawn": "同意を取り消しました。",
}
# ---- reading forms ----------------------------------------------------------------------------


def _text(values: dict[str, Any], name: str, *, multi_line: bool = False) -> str | None:
    """A free-text field as typed, None if blank; control characters are refused as by the API."""
    text = str(values.get(name, "")).strip()
    if not text:
        return None
    if not re.fullmatch(MULTI_LINE if multi_line else ONE_LINE, text):
        raise FormInput(name, "制御文字は使えません (control characters are not allowed)")
    return text


def _checked(values: dict[str, Any], name: str) -> bool:
    return bool(values.get(name))


def _person(session: Session, principal: Principal, values: dict[str, Any]) -> uuid.UUID:
    """Whom to register: by this institution's addressee number or by 個人番号, exactly one."""
    number, my_number = _text(values, "addressee_number"), _text(values, "my_number")
    if (number is None) == (my_number is None):
        raise FormInput(
            "addressee_number",
            "宛名番号か個人番号のどちらか一方を入力してください"
            " (name the person by exactly one of them)",
        )
    if my_number is not None:
        return person_by_my_number(session, my_number, "my_number")
    institution = get_institution(session, principal.institution_code)
    return intermediate.person_of(session, institution=institution, addressee_number=number or "")


def _facts(
    session: Session, values: dict[str, Any], *, kept_perpetrator: uuid.UUID | None = None
) -> CaseFacts:
    """The case facts as a whole; the perpetrator given now, else the one kept (if any)."""
    perpetrator = kept_perpetrator
    if _checked(values, "clear_perpetrator"):
        perpetrator = None
    given = _text(values, "perpetrator_my_number")
    if given is not None:
        perpetrator = person_by_my_number(session, given, "perpetrator_my_number")
    return CaseFacts(
        own_procedures=_checked(values, "own_procedures"),
        card_left_behind=_checked(values, "card_left_behind"),
        perpetrator_is_proxy=_checked(values, "perpetrator_is_proxy"),
        perpetrator_is_legal_representative=_checked(values, "perpetrator_is_legal"),
        perpetrator_id=perpetrator,
    )


def _region_codes(values: dict[str, Any]) -> list[str]:
    """The codes as typed (spaces or commas between them); every bad code is named at once."""
    codes = [code for code in REGION_SEPARATORS.split(str(values.get("region_codes", ""))) if code]
    faults = []
    for code in codes:
        try:
            parse_region([code])
        except InvalidProtection as error:
            faults.append(error.message)
    if faults:
        raise FormInput("region_codes", " ／ ".join(faults))
    return codes  # none at all: the service says at least one is needed


def _requester(values: dict[str, Any]) -> Requester:
    return Requester.checked(
        str(values.get("requested_by", "")),
        _text(values, "supporter_body"),
        _text(values, "supporter_reason", multi_line=True),
    )


def _refused(values: dict[str, Any], error: DomainError) -> FormState:
    """The form again with the values typed (never a 個人番号) and the error at its field."""
    return FormState.refused(values, error, field_names=FORM_FIELD_OF, never_shown=SECRET_FIELDS)


# ---- the desk's list --------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def protections(request: Request, session: Database, principal: DeskScreen) -> HTMLResponse:
    viewer = viewer_of(principal)
    rows = []
    for protection in service.list_desk_protections(session, viewer=viewer):
        found = current_status(session, protection)
        rows.append(
            {
                "id": protection.id,
                "name": registry.get_person(session, protection.person_id).name,
                "addressee_number": protection.addressee_number,
                "registered_at": tokyo_time(protection.registered_at),
                "complete": found.usage_stop.complete,
                "excluded": found.excluded,
            }
        )
    now = utc_now()  # what this visit marks read is what is new to the reader
    shown = [
        {
            "protection_id": message.protection_id,
            "kind": DeskMessageKind(message.kind).label,
            "body": message.body,
            "created_at": tokyo_time(message.created_at),
            "new": message.read_at == now,
        }
        for message in messages.desk_messages(session, viewer=viewer, now=now)
    ]
    return render(request, "desk/index.html", principal=principal, protections=rows, messages=shown)


# ---- registering ------------------------------------------------------------------------------


@router.get("/new", response_class=HTMLResponse)
def registration_form(request: Request, principal: DeskScreen) -> HTMLResponse:
    return render(
        request,
        "desk/register.html",
        principal=principal,
        form=FormState(values={"own_procedures": "on", "requested_by": "person"}),
    )


@router.post("/new", response_class=HTMLResponse)
async def register(request: Request, session: Database, principal: DeskScreen) -> Response:
    values = await checked_form(request, session, principal)
    try:
        protection = _register(request, session, principal, values)
    except DomainError as error:
        undo_unless_kept(session, error)
        return render(
            request,
            "desk/register.html",
            principal=principal,
            status_code=domain_problem(error).status,
            form=_refused(values, error),
        )
    return redirect(f"/staff/protections/{protection.id}?done=registered")


def _register(
    request: Request, session: Session, principal: Principal, values: dict[str, Any]
) -> Protection:
    if principal.department_id is None:  # a staff session always has one; an API key never
        raise FormInput("addressee_number", "部署に属する職員だけが登録できます")
    requester = _requester(values)
    person_id = _person(session, principal, values)
    return service.register_protection(
        session,
        institution=get_institution(session, principal.institution_code),
        department_id=principal.department_id,
        person_id=person_id,
        facts=_facts(session, values),
        region_codes=_region_codes(values),
        requester=requester,
        fled_on=form_date(values, "fled_on"),
        network_key=network_key(request),
        actor=principal.actor,
    )


# ---- one protection ---------------------------------------------------------------------------


@router.get("/{protection_id}", response_class=HTMLResponse)
def protection_page(
    protection_id: ProtectionId,
    request: Request,
    session: Database,
    principal: ReaderScreen,
    done: str | None = None,
    flagged: int | None = None,
) -> HTMLResponse:
    protection, view = service.access_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    if view is not View.FULL:
        return render(request, "desk/watch.html", principal=principal)
    flash = DONE_MESSAGES.get(done or "")
    if done == "requested":
        flash = (
            "不開示措置の申出を記録し、不開示フラグを設定しました。"
            f"それまでの記録と副本 {flagged or 0} 件も不開示にしました。"
        )
    return _full_page(request, session, principal, protection, flash=flash)


def _full_page(
    request: Request,
    session: Session,
    principal: Principal,
    protection: Protection,
    *,
    status_code: int = 200,
    **forms: Any,
) -> HTMLResponse:
    """Everything the registering desk sees; ``forms`` re-shows a refused form of the page."""
    institution = get_institution(session, principal.institution_code)
    found = current_status(session, protection)
    flag = intermediate.nondisclosure_flag(
        session, institution=institution, addressee_number=protection.addressee_number
    )
    return render(
        request,
        "desk/protection.html",
        principal=principal,
        status_code=status_code,
        protection=protection,
        **_case(session, protection),
        status=found,
        toll_free=TOLL_FREE,
        exposure=_exposure(request, session, principal, protection),
        flag=None if flag is None else _flag(flag.requested_by, flag.set_at),
        consents=_consents(session, institution, protection),
        categories=[(category.value, category.label) for category in InboxCategory],
        channels=[(channel.value, channel.label) for channel in ConsentChannel],
        **{"request_form": FormState(), "consent_form": FormState(), **forms},
    )


def _flag(requested_by: str, set_at: datetime) -> dict[str, str]:
    return {"by": intermediate.NondisclosureRequester(requested_by).label, "at": tokyo_time(set_at)}


def _case(session: Session, protection: Protection) -> dict[str, Any]:
    """The person, the perpetrator and the region: for the registering desk's page only."""
    perpetrator = protection.perpetrator_id
    region = service.protected_region(protection)
    return {
        "name": registry.get_person(session, protection.person_id).name,
        "perpetrator": None if perpetrator is None else registry.get_person(session, perpetrator),
        "region": list(zip(region.names, region.codes, strict=True)),
        "requester_label": intermediate.NondisclosureRequester(protection.requested_by).label,
        "registered_at": tokyo_time(protection.registered_at),
    }


@dataclass(frozen=True, slots=True)
class PathSection:
    """One path still open to the perpetrator, with what it shows of the region."""

    path: OpenPath
    label: str
    items: list[ExposedItem]
    held_back: list[ExposedItem]


def _exposure(
    request: Request, session: Session, principal: Principal, protection: Protection
) -> dict[str, Any]:
    report: ExposureReport = exposure.check_exposure(
        session, protection, network_key=network_key(request), actor=principal.actor
    )
    sections = [
        PathSection(
            path,
            _path_label(session, path),
            [item for item in report.items if item.path == path],
            [item for item in report.held_back if item.path == path],
        )
        for path in report.paths
    ]
    return {
        "exposed": report.exposed,
        "details_withheld": report.details_withheld,
        "checked_at": tokyo_time(report.checked_at),
        "sections": sections,
        "protection_id": protection.id,
    }


def _path_label(session: Session, path: OpenPath) -> str:
    """A grant is named by who holds it, so that two grants can be told apart."""
    if path.grant_kind is None:
        return path.kind.label
    holder = registry.get_person(session, path.viewer_person_id).name
    return f"{path.grant_kind.label}設定（{holder}）"


def _consents(
    session: Session, institution: Institution, protection: Protection
) -> list[dict[str, Any]]:
    found = consent.consents_of(
        session, institution=institution, addressee_number=protection.addressee_number
    )
    return [
        {
            "id": row.id,
            "scope": _consent_scope(row.notice_id, row.category),
            "given_on": row.given_on.isoformat(),
            "channel": ConsentChannel(row.channel).label,
            "note": row.note,
            "recorded_at": tokyo_time(row.recorded_at),
            "withdrawn_at": tokyo_time(row.withdrawn_at),
        }
        for row in found
    ]


def _consent_scope(notice_id: uuid.UUID | None, category: str | None) -> str:
    if category is not None:
        return f"種別「{InboxCategory(category).label}」のお知らせすべて"
    return f"お知らせ {notice_id}"


@router.get("/{protection_id}/exposure", response_class=HTMLResponse)
def exposure_fragment(
    protection_id: ProtectionId, request: Request, session: Database, principal: DeskScreen
) -> Response:
    """The exposure section alone, for htmx to swap in; a plain browser gets the whole page."""
    if request.headers.get("HX-Request") != "true":
        return redirect(f"/staff/protections/{protection_id}#exposure")
    protection = service.desk_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    return render(
        request,
        "desk/_exposure.html",
        principal=principal,
        exposure=_exposure(request, session, principal, protection),
    )


# ---- the non-disclosure request and consents --------------------------------------------------


@router.post("/{protection_id}/nondisclosure-request", response_class=HTMLResponse)
async def request_nondisclosure(
    protection_id: ProtectionId, request: Request, session: Database, principal: DeskScreen
) -> Response:
    values = await checked_form(request, session, principal)
    protection = service.desk_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    try:
        report = requests.request_nondisclosure(
            session,
            institution=get_institution(session, principal.institution_code),
            person_id=protection.person_id,
            requester=_requester(values),
            network_key=network_key(request),
            actor=principal.actor,
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        return _full_page(
            request,
            session,
            principal,
            protection,
            status_code=domain_problem(error).status,
            request_form=_refused(values, error),
        )
    flagged = report.earlier_items_flagged
    return redirect(
        f"/staff/protections/{protection_id}?done=requested&flagged={flagged}#nondisclosure"
    )


@router.post("/{protection_id}/consents", response_class=HTMLResponse)
async def record_consent(
    protection_id: ProtectionId, request: Request, session: Database, principal: DeskScreen
) -> Response:
    values = await checked_form(request, session, principal)
    protection = service.desk_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    try:
        consent.record_consent(
            session,
            institution=get_institution(session, principal.institution_code),
            addressee_number=protection.addressee_number,
            notice_id=_notice_id(values),
            category=_text(values, "category"),
            given_on=form_date(values, "given_on", required=True),
            channel=str(values.get("channel", "")),
            note=_text(values, "note", multi_line=True),
            actor=principal.actor,
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        return _full_page(
            request,
            session,
            principal,
            protection,
            status_code=domain_problem(error).status,
            consent_form=_refused(values, error),
        )
    return redirect(f"/staff/protections/{protection_id}?done=consent#consents")


def _notice_id(values: dict[str, Any]) -> uuid.UUID | None:
    text = _text(values, "notice_id")
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise FormInput(
            "notice_id", f"{text}: お知らせの ID の形ではありません (not a notice id)"
        ) from None


@router.post("/{protection_id}/consents/{consent_id}/withdraw")
async def withdraw_consent(
    protection_id: ProtectionId,
    consent_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    session: Database,
    principal: DeskScreen,
) -> Response:
    await checked_form(request, session, principal)
    protection = service.desk_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    institution = get_institution(session, principal.institution_code)
    own = consent.consents_of(
        session, institution=institution, addressee_number=protection.addressee_number
    )
    if consent_id not in {row.id for row in own}:  # only this person's consents, from this page
        raise UnknownConsent("consent_id", f"{consent_id}: 見つかりません (not found)")
    consent.withdraw_consent(
        session, institution=institution, consent_id=consent_id, actor=principal.actor
    )
    return redirect(f"/staff/protections/{protection_id}?done=withdrawn#consents")


# ---- correcting the case ----------------------------------------------------------------------


@router.get("/{protection_id}/edit", response_class=HTMLResponse)
def change_form(
    protection_id: ProtectionId, request: Request, session: Database, principal: DeskScreen
) -> HTMLResponse:
    protection = service.desk_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    facts = service.case_facts(protection)
    ticked = {
        "own_procedures": facts.own_procedures,
        "card_left_behind": facts.card_left_behind,
        "perpetrator_is_proxy": facts.perpetrator_is_proxy,
        "perpetrator_is_legal": facts.perpetrator_is_legal_representative,
    }
    values = {name: "on" for name, on in ticked.items() if on}
    values["region_codes"] = " ".join(service.protected_region(protection).codes)
    values["fled_on"] = "" if protection.fled_on is None else protection.fled_on.isoformat()
    return _change_page(request, session, principal, protection, FormState(values=values))


def _change_page(
    request: Request,
    session: Session,
    principal: Principal,
    protection: Protection,
    form: FormState,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "desk/edit.html",
        principal=principal,
        status_code=status_code,
        protection=protection,
        **_case(session, protection),
        form=form,
    )


@router.post("/{protection_id}/edit", response_class=HTMLResponse)
async def change(
    protection_id: ProtectionId, request: Request, session: Database, principal: DeskScreen
) -> Response:
    values = await checked_form(request, session, principal)
    viewer = viewer_of(principal)
    # Refuse before looking anyone up: a stranger must not learn whether a 個人番号 exists.
    protection = service.desk_protection(session, protection_id=protection_id, viewer=viewer)
    try:
        service.update_protection(
            session,
            protection_id=protection_id,
            viewer=viewer,
            facts=_facts(session, values, kept_perpetrator=protection.perpetrator_id),
            region_codes=_region_codes(values),
            fled_on=form_date(values, "fled_on"),
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        status_code = domain_problem(error).status
        form = _refused(values, error)
        return _change_page(request, session, principal, protection, form, status_code)
    return redirect(f"/staff/protections/{protection_id}?done=changed")
