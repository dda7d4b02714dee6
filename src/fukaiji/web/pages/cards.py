"""交付窓口 (card window): find a resident of the own municipality, and issue, suspend, lift,
reissue their マイナンバーカード; change their 個人番号; record their 法定代理人.

The same service calls as the JSON API (``web/api/cards.py``, ``residents.py`` and the
法定代理人 routes of ``portal.py``). A resident is reachable only while they live in the staff
member's municipality (``registry.resident_of``), so another municipality's card holder is "not
found".

Three things are shown once, on the response to the POST that made them, and never again: the
card token (handing it over is handing over the card; the portal's simulated card reader asks
for it), and a changed 個人番号. PINs are typed by the resident at the window and never echoed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fukaiji.errors import DomainError
from fukaiji.jpki import service as jpki
from fukaiji.jpki.errors import NoCard
from fukaiji.jpki.service import IssuedCard
from fukaiji.jpki.states import CardFunction, CardStatus, CertificateStatus, SuspensionChannel
from fukaiji.network.institutions import get_institution
from fukaiji.network.models import Institution
from fukaiji.portal import proxies, rules
from fukaiji.portal.errors import InvalidInput, UnknownGrant
from fukaiji.portal.models import ProxyGrant
from fukaiji.portal.states import LegalEndGround, Representation
from fukaiji.registry import service as registry
from fukaiji.registry.models import Person
from fukaiji.staff.roles import StaffRole
from fukaiji.web.deps import Database, Principal, ca_key, my_number_key
from fukaiji.web.pages._common import (
    FormState,
    checked_form,
    parse_my_number,
    person_by_my_number,
    redirect,
    render,
    staff_screen,
    tokyo_time,
    undo_unless_kept,
)

router = APIRouter(prefix="/staff/cards", include_in_schema=False)
CardWindow = Annotated[Principal, Depends(staff_screen(StaffRole.CARD_WINDOW))]

# PINs and a 個人番号 typed are never sent back, not even on a refused form.
NEVER_SHOWN = ("auth_pin", "sign_pin", "my_number")
# Services name some fields in Japanese; the forms call them by these names.
FORM_FIELDS = {"個人番号": "my_number", "変更理由": "reason", "proxy": "my_number"}
CHANNELS = [
    (SuspensionChannel.WINDOW.value, "窓口（市区町村の交付窓口）"),
    (SuspensionChannel.PHONE.value, "電話（マイナンバー総合フリーダイヤル 0120-95-0178）"),
]
REPRESENTATIONS = [(r.value, r.label) for r in Representation]
CONFIRM_END_MISSING = (
    "確認: 法定代理を終了すると元に戻せません。書類で終了の根拠を確かめたうえで、"
    "チェックを入れてください。"
)
DONE_MESSAGES = {
    "suspended": "カードを一時停止しました。電子証明書は一時保留になりました。",
    "lifted": "一時停止を解除しました。電子証明書は有効に戻りました。",
    "represented": "法定代理人を登録しました。",
    "ended": (
        "法定代理を終了し、終了の根拠を記録しました。法定代理人のログインもその場で終了しました。"
    ),
}


def _refused(values: Mapping[str, Any], error: DomainError) -> FormState:
    return FormState.refused(values, error, field_names=FORM_FIELDS, never_shown=NEVER_SHOWN)


def _institution(session: Session, principal: Principal) -> Institution:
    return get_institution(session, principal.institution_code)


def _resident(session: Session, principal: Principal, person_id: uuid.UUID) -> Person:
    """The resident, if they live in this municipality now; otherwise "not found" (404)."""
    return registry.resident_of(session, principal.institution_code, person_id)


# ---- finding a resident -----------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def search_form(request: Request, principal: CardWindow) -> HTMLResponse:
    return render(request, "cards/search.html", principal=principal)


@router.post("/lookup", response_class=HTMLResponse)
async def look_up(request: Request, session: Database, principal: CardWindow) -> Response:
    values = await checked_form(request, session, principal)
    try:
        number = parse_my_number(str(values.get("my_number", "")), "my_number")
        person_id = registry.lookup_resident(
            session,
            municipality_code=principal.institution_code,
            number=number,
            actor=principal.actor,
        ).id
    except DomainError as error:
        undo_unless_kept(session, error)
        # Malformed, unknown or living elsewhere (answered alike), or retired here: said next to
        # the field; the number typed is not shown again.
        form = FormState(errors={"my_number": error.message})
        return render(request, "cards/search.html", principal=principal, status_code=422, form=form)
    return redirect(f"/staff/cards/{person_id}")


# ---- the resident's page ----------------------------------------------------------------------


def _person_page(
    request: Request,
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    person = registry.read_resident(
        session,
        municipality_code=principal.institution_code,
        person_id=person_id,
        actor=principal.actor,
    )
    representatives = proxies.legal_representatives(
        session,
        person_id=person.id,
        institution=_institution(session, principal),
        actor=principal.actor,
    )
    return render(
        request,
        "cards/person.html",
        principal=principal,
        status_code=status_code,
        form=form or FormState(),
        flash=flash,
        person=person,
        residence=person.current_residence,
        card=jpki.find_card_for_person(session, person.id),
        # The enums, so the page shows each state by its own Japanese label.
        CardStatus=CardStatus,
        CardFunction=CardFunction,
        CertificateStatus=CertificateStatus,
        SuspensionChannel=SuspensionChannel,
        Representation=Representation,
        representatives=representatives,
        channels=CHANNELS,
        representations=REPRESENTATIONS,
        when=tokyo_time,
    )


@router.get("/{person_id}", response_class=HTMLResponse)
def show_person(
    person_id: uuid.UUID,
    request: Request,
    session: Database,
    principal: CardWindow,
    done: str | None = None,
) -> HTMLResponse:
    flash = DONE_MESSAGES.get(done or "")
    return _person_page(request, session, principal, person_id, flash=flash)


def _refused_page(
    request: Request,
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    values: Mapping[str, Any],
    error: DomainError,
) -> HTMLResponse:
    undo_unless_kept(session, error)
    form = _refused(values, error)
    return _person_page(request, session, principal, person_id, form=form, status_code=422)


# ---- the card ---------------------------------------------------------------------------------


def _handed_over(
    request: Request,
    session: Session,
    principal: Principal,
    person: Person,
    issued: IssuedCard,
    *,
    reissued: bool,
) -> HTMLResponse:
    card = jpki.find_card_for_person(session, person.id)
    return render(
        request,
        "cards/handed_over.html",
        principal=principal,
        person=person,
        card=card,
        card_token=issued.card_token,
        reissued=reissued,
        when=tokyo_time,
    )


@router.post("/{person_id}/issue", response_class=HTMLResponse)
async def issue(
    person_id: uuid.UUID, request: Request, session: Database, principal: CardWindow
) -> Response:
    return await _hand_over_card(person_id, request, session, principal, reissue=False)


@router.post("/{person_id}/reissue", response_class=HTMLResponse)
async def reissue(
    person_id: uuid.UUID, request: Request, session: Database, principal: CardWindow
) -> Response:
    return await _hand_over_card(person_id, request, session, principal, reissue=True)


async def _hand_over_card(
    person_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Principal,
    *,
    reissue: bool,
) -> Response:
    values = await checked_form(request, session, principal)
    person = _resident(session, principal, person_id)
    operation = jpki.reissue_card if reissue else jpki.issue_card
    try:
        issued = operation(
            session,
            person_id=person.id,
            auth_pin=str(values.get("auth_pin", "")),
            sign_pin=str(values.get("sign_pin", "")),
            ca_key=ca_key(request),
            actor=principal.actor,
        )
    except DomainError as error:
        return _refused_page(request, session, principal, person_id, values, error)
    return _handed_over(request, session, principal, person, issued, reissued=reissue)


def _live_card_id(session: Session, person_id: uuid.UUID) -> int:
    card = jpki.find_card_for_person(session, person_id)
    if card is None:
        raise NoCard(person_id)
    return card.id


@router.post("/{person_id}/suspend", response_class=HTMLResponse)
async def suspend(
    person_id: uuid.UUID, request: Request, session: Database, principal: CardWindow
) -> Response:
    values = await checked_form(request, session, principal)
    person = _resident(session, principal, person_id)
    try:
        jpki.suspend_card(
            session,
            card_id=_live_card_id(session, person.id),
            channel=str(values.get("channel", "")),
            actor=principal.actor,
        )
    except DomainError as error:
        return _refused_page(request, session, principal, person_id, values, error)
    return redirect(f"/staff/cards/{person.id}?done=suspended")


@router.post("/{person_id}/lift-suspension", response_class=HTMLResponse)
async def lift_suspension(
    person_id: uuid.UUID, request: Request, session: Database, principal: CardWindow
) -> Response:
    values = await checked_form(request, session, principal)
    person = _resident(session, principal, person_id)
    try:
        jpki.lift_suspension(
            session, card_id=_live_card_id(session, person.id), actor=principal.actor
        )
    except DomainError as error:
        return _refused_page(request, session, principal, person_id, values, error)
    return redirect(f"/staff/cards/{person.id}?done=lifted")


# ---- 個人番号の変更 -----------------------------------------------------------------------------


@router.post("/{person_id}/my-number-change", response_class=HTMLResponse)
async def change_my_number(
    person_id: uuid.UUID, request: Request, session: Database, principal: CardWindow
) -> Response:
    values = await checked_form(request, session, principal)
    person = _resident(session, principal, person_id)
    try:
        number = registry.change_my_number(
            session,
            person_id=person.id,
            reason=str(values.get("reason", "")),
            my_number_key=my_number_key(request),
            actor=principal.actor,
            institution=principal.institution_code,
        )
    except DomainError as error:
        return _refused_page(request, session, principal, person_id, values, error)
    return render(
        request,
        "cards/my_number_changed.html",
        principal=principal,
        person=person,
        my_number=str(number),
    )


# ---- 法定代理人 ---------------------------------------------------------------------------------


@router.post("/{person_id}/legal-representatives", response_class=HTMLResponse)
async def record_legal_representative(
    person_id: uuid.UUID, request: Request, session: Database, principal: CardWindow
) -> Response:
    values = await checked_form(request, session, principal)
    person = _resident(session, principal, person_id)
    try:
        representative_id = person_by_my_number(
            session, str(values.get("my_number", "")), "my_number"
        )
        proxies.record_legal_representative(
            session,
            person_id=person.id,
            representative_id=representative_id,
            representation=str(values.get("representation", "")),
            institution=_institution(session, principal),
            actor=principal.actor,
        )
    except DomainError as error:
        return _refused_page(request, session, principal, person_id, values, error)
    return redirect(f"/staff/cards/{person.id}?done=represented")


def _end_grounds(grant: ProxyGrant) -> list[tuple[str, str]]:
    """The grounds that can end this representation, after a blank first choice."""
    representation = Representation(grant.representation)
    fitting = [(g.value, g.label) for g in LegalEndGround if representation in g.applies_to]
    return [("", "選んでください"), *fitting]


def _end_page(
    request: Request,
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    grant_id: int,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """法定代理の終了: what is ended, the ground and its reference, and a confirmation."""
    person = _resident(session, principal, person_id)
    representatives = proxies.legal_representatives(
        session,
        person_id=person.id,
        institution=_institution(session, principal),
        actor=principal.actor,
    )
    grant = next((g for g in representatives if g.id == grant_id), None)
    if grant is None:
        raise UnknownGrant(grant_id)  # ended already, another's, or never: "not found"
    return render(
        request,
        "cards/end_representation.html",
        principal=principal,
        status_code=status_code,
        form=form or FormState(),
        person=person,
        grant=grant,
        representation=Representation(grant.representation),
        grounds=_end_grounds(grant),
        reference_max=rules.END_REFERENCE_MAX_LENGTH,
        when=tokyo_time,
    )


@router.get("/{person_id}/legal-representatives/{grant_id}/end", response_class=HTMLResponse)
def end_legal_representation_form(
    person_id: uuid.UUID,
    grant_id: int,
    request: Request,
    session: Database,
    principal: CardWindow,
) -> HTMLResponse:
    return _end_page(request, session, principal, person_id, grant_id)


@router.post("/{person_id}/legal-representatives/{grant_id}/end", response_class=HTMLResponse)
async def end_legal_representation(
    person_id: uuid.UUID,
    grant_id: int,
    request: Request,
    session: Database,
    principal: CardWindow,
) -> Response:
    """Ends the representation with its ground, once the staff member has confirmed: it cannot
    be undone (the representative would have to be recorded again)."""
    values = await checked_form(request, session, principal)
    person = _resident(session, principal, person_id)
    typed = {name: value for name, value in values.items() if isinstance(value, str)}
    # Every fault of the form at once; the service checks the ground and reference again.
    errors: dict[str, str] = {}
    checks = ((rules.legal_end_ground, "ground"), (rules.clean_end_reference, "reference"))
    for check, name in checks:
        try:
            check(typed.get(name, ""))
        except InvalidInput as error:
            errors[error.field] = error.message
    if not typed.get("confirm"):
        errors["confirm"] = CONFIRM_END_MISSING
    if errors:
        form = FormState(values=typed, errors=errors)
        return _end_page(
            request, session, principal, person.id, grant_id, form=form, status_code=422
        )
    try:
        # An unknown grant (ended already, another's) is not caught: "not found", as the API.
        proxies.end_legal_representation(
            session,
            person_id=person.id,
            grant_id=grant_id,
            ground=typed.get("ground", ""),
            reference=typed.get("reference", ""),
            institution=_institution(session, principal),
            actor=principal.actor,
        )
    except UnknownGrant:
        raise
    except DomainError as error:
        undo_unless_kept(session, error)
        form = FormState.refused(typed, error, field_names=FORM_FIELDS)
        return _end_page(
            request, session, principal, person.id, grant_id, form=form, status_code=422
        )
    return redirect(f"/staff/cards/{person.id}?done=ended")
