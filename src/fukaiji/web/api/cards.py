"""マイナンバーカード at the card window (交付窓口) of the municipality where the holder lives.

The card token is returned once, when a card is issued or reissued: handing it over is handing
over the card. PINs are set by the holder at the window and never returned.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from fukaiji.jpki import service as jpki
from fukaiji.jpki.models import Card
from fukaiji.jpki.service import IssuedCard
from fukaiji.jpki.states import CardFunction, CardStatus, CertificateStatus, SuspensionChannel
from fukaiji.registry.service import resident_of
from fukaiji.staff.roles import StaffRole
from fukaiji.web.deps import Database, OwnInstitution, Principal, ca_key, require_roles
from fukaiji.web.problems import Problem

router = APIRouter(tags=["cards"], prefix="/institutions/{code}/residents/{person_id}/card")
# Not public, although CA certificates and CRLs usually are: every CRL here is freshly signed and
# audited, so an anonymous route would let anyone flood the audit chain. Relying parties are staff
# systems with a key; the portal checks logins against the live state, not the CRL.
authority_router = APIRouter(tags=["cards"], prefix="/jpki")
CardWindow = Depends(require_roles(StaffRole.CARD_WINDOW))


class CertificateView(BaseModel):
    serial: str
    function: CardFunction
    status: CertificateStatus
    not_after: datetime


class CardView(BaseModel):
    id: int
    status: CardStatus
    status_label: str
    issued_at: datetime
    suspended_at: datetime | None
    certificates: list[CertificateView]

    @classmethod
    def of(cls, card: Card) -> CardView:
        card_status = CardStatus(card.status)
        return cls(
            id=card.id,
            status=card_status,
            status_label=card_status.label,
            issued_at=card.issued_at,
            suspended_at=card.suspended_at,
            certificates=[
                CertificateView(
                    serial=c.serial, function=c.function, status=c.status, not_after=c.not_after
                )
                for c in card.certificates
            ],
        )


class HandedOverCard(BaseModel):
    card: CardView
    card_token: str = Field(description="カードそのもの。この一度だけ表示されます (shown once)")


class NewPins(BaseModel):
    auth_pin: str = Field(min_length=1, max_length=16, description="利用者証明用暗証番号 (4 桁)")
    sign_pin: str = Field(
        min_length=1, max_length=16, description="署名用暗証番号 (英大文字と数字)"
    )


class Suspension(BaseModel):
    channel: SuspensionChannel = SuspensionChannel.WINDOW


class PinReset(BaseModel):
    card_token: str = Field(min_length=1, max_length=200)
    function: CardFunction
    new_pin: str = Field(min_length=1, max_length=16)


def _card(session: Database, person_id: uuid.UUID) -> Card:
    card = jpki.find_card_for_person(session, person_id)
    if card is None:
        raise Problem(404, "この住民には有効なカードがありません (no live card)", slug="no-card")
    return card


def _handed_over(session: Database, issued: IssuedCard) -> HandedOverCard:
    card = session.get_one(Card, issued.card_id)
    session.refresh(card)
    return HandedOverCard(card=CardView.of(card), card_token=issued.card_token)


@router.get("", response_model=CardView, summary="カードの状態")
def show_card(
    person_id: uuid.UUID,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> CardView:
    resident_of(session, institution.code, person_id)
    return CardView.of(_card(session, person_id))


@router.post(
    "", response_model=HandedOverCard, status_code=status.HTTP_201_CREATED, summary="カードの交付"
)
def issue_card(
    person_id: uuid.UUID,
    body: NewPins,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = CardWindow,
) -> HandedOverCard:
    resident_of(session, institution.code, person_id)
    issued = jpki.issue_card(
        session,
        person_id=person_id,
        auth_pin=body.auth_pin,
        sign_pin=body.sign_pin,
        ca_key=ca_key(request),
        actor=principal.actor,
    )
    return _handed_over(session, issued)


@router.post("/suspend", response_model=CardView, summary="カードの一時停止")
def suspend_card(
    person_id: uuid.UUID,
    body: Suspension,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> CardView:
    resident_of(session, institution.code, person_id)
    card = jpki.suspend_card(
        session, card_id=_card(session, person_id).id, channel=body.channel, actor=principal.actor
    )
    return CardView.of(card)


@router.post("/lift-suspension", response_model=CardView, summary="一時停止の解除")
def lift_suspension(
    person_id: uuid.UUID,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> CardView:
    resident_of(session, institution.code, person_id)
    card = jpki.lift_suspension(
        session, card_id=_card(session, person_id).id, actor=principal.actor
    )
    return CardView.of(card)


@router.post("/reissue", response_model=HandedOverCard, summary="カードの再交付")
def reissue_card(
    person_id: uuid.UUID,
    body: NewPins,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = CardWindow,
) -> HandedOverCard:
    resident_of(session, institution.code, person_id)
    issued = jpki.reissue_card(
        session,
        person_id=person_id,
        auth_pin=body.auth_pin,
        sign_pin=body.sign_pin,
        ca_key=ca_key(request),
        actor=principal.actor,
    )
    return _handed_over(session, issued)


@router.post(
    "/reset-pin", status_code=status.HTTP_204_NO_CONTENT, summary="暗証番号の再設定 (カード持参)"
)
def reset_pin(
    person_id: uuid.UUID,
    body: PinReset,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> Response:
    resident_of(session, institution.code, person_id)
    jpki.reset_pin(
        session,
        card_token=body.card_token,
        function=body.function,
        new_pin=body.new_pin,
        actor=principal.actor,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@authority_router.get("/ca.pem", summary="認証局の証明書", response_class=Response)
def ca_certificate(request: Request, session: Database) -> Response:
    pem = jpki.export_ca_certificate(session, ca_key=ca_key(request))
    return Response(pem, media_type="application/x-pem-file")


@authority_router.get("/crl", summary="証明書失効リスト (DER)", response_class=Response)
def revocation_list(request: Request, session: Database) -> Response:
    return Response(
        jpki.current_crl(session, ca_key=ca_key(request)), media_type="application/pkix-crl"
    )
