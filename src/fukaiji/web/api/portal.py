"""マイナポータル through the API: card login, the three views, 操作履歴, proxies, settings, the
引越し手続 (the person's own 転出届) and deleting the folder, for residents; and 法定代理人 at
the card window, for staff.

Three routers, mounted differently (see ``fukaiji.web.api.api_router``):
- ``public_router``: the login challenge and the login, the only portal routes open to anyone;
- ``router``: everything else of the resident side, behind portal authentication (its own
  dependency on the router itself, so a route added later cannot forget it) and never behind
  staff authentication;
- ``staff_router``: 法定代理人 recorded at the card window, behind staff authentication and the
  交付窓口 role, for residents of the staff member's own municipality.

The card itself never talks to this API: a card reader (``fukaiji portal sign``, or a client
holding the card) signs the challenge with the 利用者証明用 key, and the login sends the signature
and certificate. No route takes or returns a card token or a PIN.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.jpki.errors import LoginRefused
from fukaiji.portal import moves as portal_moves
from fukaiji.portal import proxies
from fukaiji.portal import service as portal
from fukaiji.portal.errors import ChallengeRefused, DeletionRefused
from fukaiji.portal.models import AccessLogEntry, PortalSession, ProxyGrant, ProxyInvitation
from fukaiji.portal.public_ids import IdKind, optional_public_id, public_id, row_id
from fukaiji.portal.rules import END_REFERENCE_MAX_LENGTH
from fukaiji.portal.states import (
    AccessAction,
    GrantKind,
    LegalEndGround,
    Representation,
)
from fukaiji.registry import service as registry
from fukaiji.registry.service import resident_of
from fukaiji.staff.roles import StaffRole
from fukaiji.web.cookies import clear_session_cookie, secure_cookies, set_session_cookie
from fukaiji.web.deps import Database, OwnInstitution, Principal, require_roles
from fukaiji.web.portal_deps import PORTAL_COOKIE, PortalAuthenticated, portal_authenticated
from fukaiji.web.problems import FieldError, Problem, problem_response

PREFIX = "/portal"
public_router = APIRouter(tags=["portal"], prefix=PREFIX)
router = APIRouter(tags=["portal"], prefix=PREFIX, dependencies=[Depends(portal_authenticated)])
staff_router = APIRouter(
    tags=["portal"], prefix="/institutions/{code}/residents/{person_id}/legal-representatives"
)
CardWindow = Depends(require_roles(StaffRole.CARD_WINDOW))

# Far more than a challenge (32 bytes), a DER ECDSA signature (~72 bytes) or a certificate needs.
_MAX_B64 = 2_048
_MAX_PEM = 8_192
_LOGIN_REFUSED = (
    "ログインできませんでした。チャレンジの期限 (5 分) が切れたか使用済みか、"
    "電子証明書が無効 (一時停止・失効・期限切れ) です。最初からやり直してください"
    " (login refused: challenge expired or used, or the certificate is on hold, revoked or expired)"
)


def _decode(field: str, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        message = "Base64 で指定してください (must be standard base64)"
        raise Problem(
            422,
            f"{field}: {message}",
            slug="invalid-input",
            errors=[FieldError(field=f"body.{field}", message=message)],
        ) from error


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---- bodies and views ------------------------------------------------------------------------


class Challenge(BaseModel):
    challenge: str = Field(description="カードで署名するチャレンジ (base64); 5 分間、1 回限り")
    expires_at: datetime


class SignedChallenge(BaseModel):
    """What the card reader returns for the challenge (``fukaiji portal sign`` prints it)."""

    challenge: str = Field(min_length=1, max_length=_MAX_B64, description="base64")
    certificate_pem: str = Field(
        min_length=1, max_length=_MAX_PEM, description="利用者証明用電子証明書 (PEM)"
    )
    signature: str = Field(min_length=1, max_length=_MAX_B64, description="署名 (base64, DER)")


FOLDER_ID = "利用者フォルダの識別子です。番号の順序には意味がありません。"
GRANT_ID = "代理人設定の識別子です。番号の順序には意味がありません。"


class ProxiedFolderView(BaseModel):
    grant_id: str = Field(description=GRANT_ID)
    account_id: str = Field(description=FOLDER_ID)
    principal_name: str
    kind: GrantKind
    kind_label: str
    representation: Representation | None

    @classmethod
    def of(cls, folder: portal.ProxiedFolder) -> ProxiedFolderView:
        return cls(
            grant_id=public_id(IdKind.GRANT, folder.grant_id),
            account_id=public_id(IdKind.ACCOUNT, folder.account_id),
            principal_name=folder.principal_name,
            kind=folder.kind,
            kind_label=folder.kind.label,
            representation=folder.representation,
        )


class SessionView(BaseModel):
    name: str = Field(description="ログインした本人の氏名")
    account_id: str = Field(description="本人の利用者フォルダ")
    acting_account_id: str = Field(description="表示中の利用者フォルダ")
    as_proxy: bool
    grant_id: str | None = Field(description="代理人として表示中の場合の代理人設定")
    principal_name: str | None = Field(description="代理人として表示中の場合の本人の氏名")
    proxy_for: list[ProxiedFolderView] = Field(description="代理人として表示できるフォルダ")
    csrf_token: str = Field(description="Send as X-CSRF-Token on every unsafe request")


class LoginResponse(SessionView):
    account_created: bool = Field(description="初回ログインで利用者フォルダを開設した")


class FolderSwitch(BaseModel):
    account_id: str | None = Field(
        default=None,
        max_length=64,
        description="代理人として表示するフォルダ (proxy_for の account_id)。null で本人のフォルダ",
    )


class HistoryEntry(BaseModel):
    """操作履歴: what was done in the folder, when, and by whom."""

    at: datetime
    action: AccessAction
    action_label: str
    by: Literal["person", "proxy", "window"] = Field(
        description="本人 (person)、代理人 (proxy) または窓口 (window)"
    )
    proxy_name: str | None
    grant_id: str | None = Field(description="代理人が使った代理人設定")
    about_grant_id: str | None = Field(description="この操作の対象の代理人設定")

    @classmethod
    def of(cls, entry: AccessLogEntry) -> HistoryEntry:
        action = AccessAction(entry.action)
        by: Literal["person", "proxy", "window"]
        if entry.at_window:
            by = "window"
        elif entry.by_proxy:
            by = "proxy"
        else:
            by = "person"
        return cls(
            at=entry.at,
            action=action,
            action_label=action.label,
            by=by,
            proxy_name=entry.actor.name if by == "proxy" and entry.actor is not None else None,
            grant_id=optional_public_id(IdKind.GRANT, entry.grant_id),
            about_grant_id=optional_public_id(IdKind.GRANT, entry.about_grant_id),
        )


class GrantView(BaseModel):
    grant_id: str = Field(description=GRANT_ID)
    proxy_name: str
    kind: GrantKind
    kind_label: str
    representation: Representation | None
    representation_label: str | None
    granted_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, grant: ProxyGrant) -> GrantView:
        kind = GrantKind(grant.kind)
        representation = (
            None if grant.representation is None else Representation(grant.representation)
        )
        return cls(
            grant_id=public_id(IdKind.GRANT, grant.id),
            proxy_name=grant.proxy.name,
            kind=kind,
            kind_label=kind.label,
            representation=representation,
            representation_label=None if representation is None else representation.label,
            granted_at=grant.granted_at,
            ended_at=grant.ended_at,
        )


class InvitationView(BaseModel):
    invitation_id: str = Field(description="招待の識別子です。番号の順序には意味がありません。")
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, invitation: ProxyInvitation) -> InvitationView:
        return cls(
            invitation_id=public_id(IdKind.INVITATION, invitation.id),
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )


class IssuedInvitationView(BaseModel):
    invitation: InvitationView
    code: str = Field(description="代理人に渡す招待コード。この一度だけ表示されます (shown once)")


class InvitationAcceptance(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="本人から受け取った招待コード")


class SettingsBody(BaseModel):
    notification_email: str | None = Field(
        default=None, max_length=254, description="お知らせの通知先メールアドレス。null で通知なし"
    )


class SettingsResponse(BaseModel):
    notification_email: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, view: portal.SettingsView) -> SettingsResponse:
        return cls(notification_email=view.notification_email, updated_at=view.updated_at)


class MoveOutBody(BaseModel):
    """引越し手続: the person's own 転出届."""

    destination: str = Field(
        min_length=1,
        max_length=40,
        description="転出先の市区町村: 名前（例: ○○県○○市）または市区町村コード (6 桁)",
    )
    planned_on: date = Field(description="転出予定日")


class MoveOutStatusView(BaseModel):
    """The open 転出届: its planned day and where it was made; never its destination."""

    planned_on: date
    channel: str = Field(description="window (窓口) または portal (マイナポータル)")
    channel_label: str
    recorded_at: datetime

    @classmethod
    def of(cls, status: portal_moves.MoveOutStatus) -> MoveOutStatusView:
        return cls(
            planned_on=status.planned_on,
            channel=status.channel.value,
            channel_label=status.channel.label,
            recorded_at=status.recorded_at,
        )


class DeletionResponse(BaseModel):
    account_id: str = Field(description=FOLDER_ID)
    deleted_at: datetime
    grants_ended: int
    messages_deleted: int


# ---- login ----------------------------------------------------------------------------------


def session_view(session: Database, portal_session: PortalSession) -> SessionView:
    folders = portal.proxied_folders(session, portal_session)
    principal_name = next(
        (f.principal_name for f in folders if f.grant_id == portal_session.acting_grant_id), None
    )
    return SessionView(
        name=portal_session.person.name,
        account_id=public_id(IdKind.ACCOUNT, portal_session.account_id),
        acting_account_id=public_id(IdKind.ACCOUNT, portal_session.acting_account_id),
        as_proxy=portal_session.acting_grant_id is not None,
        grant_id=optional_public_id(IdKind.GRANT, portal_session.acting_grant_id),
        principal_name=principal_name,
        proxy_for=[ProxiedFolderView.of(folder) for folder in folders],
        csrf_token=portal_session.csrf_token,
    )


@public_router.post("/login/challenge", response_model=Challenge, summary="ログイン用チャレンジ")
def login_challenge(session: Database) -> Challenge:
    issued = portal.issue_challenge(session)
    return Challenge(challenge=_encode(issued.nonce), expires_at=issued.expires_at)


@public_router.post("/login", response_model=LoginResponse, summary="カードでログイン")
def login(
    body: SignedChallenge, request: Request, response: Response, session: Database
) -> LoginResponse | Response:
    challenge = _decode("challenge", body.challenge)
    signature = _decode("signature", body.signature)
    try:
        result = portal.log_in(
            session,
            challenge=challenge,
            certificate_pem=body.certificate_pem,
            signature=signature,
            replacing_token=request.cookies.get(PORTAL_COOKIE),
        )
    except (ChallengeRefused, LoginRefused):
        # Returned, not raised: the used-up challenge and the audit entries must be committed.
        return problem_response(Problem(401, _LOGIN_REFUSED, slug="login-refused"), request)
    set_session_cookie(response, PORTAL_COOKIE, result.token, secure=secure_cookies(request))
    view = session_view(session, result.portal_session)
    return LoginResponse(**view.model_dump(), account_created=result.account_created)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="ログアウト")
def logout(request: Request, session: Database) -> Response:
    token = request.cookies.get(PORTAL_COOKIE)
    if token:
        portal.log_out(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, PORTAL_COOKIE)
    return response


@router.get("/me", response_model=SessionView, summary="ログイン中の利用者")
def who_am_i(portal_session: PortalAuthenticated, session: Database) -> SessionView:
    return session_view(session, portal_session)


@router.post("/folder/switch", response_model=SessionView, summary="表示するフォルダの切替え")
def switch_folder(
    body: FolderSwitch, portal_session: PortalAuthenticated, session: Database
) -> SessionView:
    account_id = None if body.account_id is None else row_id(IdKind.ACCOUNT, body.account_id)
    portal.switch_folder(session, portal_session, account_id=account_id)
    return session_view(session, portal_session)


# ---- the views ------------------------------------------------------------------------------


@router.get("/history", response_model=list[HistoryEntry], summary="操作履歴 (本人のみ)")
def history(portal_session: PortalAuthenticated, session: Database) -> list[HistoryEntry]:
    return [HistoryEntry.of(entry) for entry in portal.access_history(session, portal_session)]


# ---- proxies --------------------------------------------------------------------------------


@router.get("/proxies", response_model=list[GrantView], summary="代理人設定の一覧 (本人のみ)")
def list_proxies(portal_session: PortalAuthenticated, session: Database) -> list[GrantView]:
    return [GrantView.of(grant) for grant in proxies.proxy_grants(session, portal_session)]


@router.post(
    "/proxies/{grant_id}/cancel", response_model=GrantView, summary="代理人設定の解除 (即時)"
)
def cancel_proxy(
    grant_id: str, portal_session: PortalAuthenticated, session: Database
) -> GrantView:
    grant = proxies.cancel_grant(session, portal_session, row_id(IdKind.GRANT, grant_id))
    return GrantView.of(grant)


@router.get("/proxy-invitations", response_model=list[InvitationView], summary="未使用の招待コード")
def list_invitations(
    portal_session: PortalAuthenticated, session: Database
) -> list[InvitationView]:
    return [
        InvitationView.of(invitation)
        for invitation in proxies.pending_invitations(session, portal_session)
    ]


@router.post(
    "/proxy-invitations",
    response_model=IssuedInvitationView,
    status_code=status.HTTP_201_CREATED,
    summary="代理人の招待コードを発行",
)
def create_invitation(
    portal_session: PortalAuthenticated, session: Database
) -> IssuedInvitationView:
    issued = proxies.create_invitation(session, portal_session)
    return IssuedInvitationView(invitation=InvitationView.of(issued.invitation), code=issued.code)


@router.post(
    "/proxy-invitations/{invitation_id}/cancel",
    response_model=InvitationView,
    summary="招待コードの取消し",
)
def cancel_invitation(
    invitation_id: str, portal_session: PortalAuthenticated, session: Database
) -> InvitationView:
    invitation = proxies.cancel_invitation(
        session, portal_session, row_id(IdKind.INVITATION, invitation_id)
    )
    return InvitationView.of(invitation)


@router.post(
    "/proxy-invitations/accept",
    response_model=ProxiedFolderView,
    status_code=status.HTTP_201_CREATED,
    summary="招待コードを受けて代理人になる",
)
def accept_invitation(
    body: InvitationAcceptance, portal_session: PortalAuthenticated, session: Database
) -> ProxiedFolderView:
    grant = proxies.accept_invitation(session, portal_session, code=body.code)
    folder = next(
        f for f in portal.proxied_folders(session, portal_session) if f.grant_id == grant.id
    )
    return ProxiedFolderView.of(folder)


# ---- settings -------------------------------------------------------------------------------


@router.get("/settings", response_model=SettingsResponse, summary="設定 (本人のみ)")
def get_settings(portal_session: PortalAuthenticated, session: Database) -> SettingsResponse:
    return SettingsResponse.of(portal.account_settings(session, portal_session))


@router.put("/settings", response_model=SettingsResponse, summary="設定の変更 (本人のみ)")
def put_settings(
    body: SettingsBody, portal_session: PortalAuthenticated, session: Database
) -> SettingsResponse:
    return SettingsResponse.of(
        portal.update_settings(session, portal_session, notification_email=body.notification_email)
    )


# ---- 引越し手続 (the person's own 転出届) -----------------------------------------------------


@router.get(
    "/move-out", response_model=MoveOutStatusView | None, summary="受け付けている転出届 (本人のみ)"
)
def get_move_out(
    portal_session: PortalAuthenticated, session: Database
) -> MoveOutStatusView | None:
    status_ = portal_moves.move_out_status(session, portal_session)
    return None if status_ is None else MoveOutStatusView.of(status_)


@router.post(
    "/move-out",
    response_model=MoveOutStatusView,
    status_code=status.HTTP_201_CREATED,
    summary="転出届 (引越し手続; 本人がカードでログインして行う。代理人は不可)",
)
def file_move_out(
    body: MoveOutBody, portal_session: PortalAuthenticated, session: Database
) -> MoveOutStatusView:
    return MoveOutStatusView.of(
        portal_moves.file_move_out(
            session, portal_session, destination=body.destination, planned_on=body.planned_on
        )
    )


@router.post(
    "/move-out/cancel", status_code=status.HTTP_204_NO_CONTENT, summary="転出届の取消し (本人のみ)"
)
def cancel_move_out(portal_session: PortalAuthenticated, session: Database) -> Response:
    portal_moves.cancel_move_out(session, portal_session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- deletion -------------------------------------------------------------------------------


@router.post(
    "/account/deletion-challenge",
    response_model=Challenge,
    summary="利用者フォルダ削除のためのチャレンジ (本人のカードで署名)",
)
def deletion_challenge(portal_session: PortalAuthenticated, session: Database) -> Challenge:
    issued = portal.issue_deletion_challenge(session, portal_session)
    return Challenge(challenge=_encode(issued.nonce), expires_at=issued.expires_at)


@router.post(
    "/account/delete",
    response_model=DeletionResponse,
    summary="利用者フォルダの削除 (本人のカードで再ログイン; 代理人設定もすべて消滅)",
)
def delete_account(
    body: SignedChallenge,
    request: Request,
    response: Response,
    portal_session: PortalAuthenticated,
    session: Database,
) -> DeletionResponse | Response:
    challenge = _decode("challenge", body.challenge)
    signature = _decode("signature", body.signature)
    try:
        report = portal.delete_account(
            session,
            portal_session,
            challenge=challenge,
            certificate_pem=body.certificate_pem,
            signature=signature,
        )
    except (ChallengeRefused, LoginRefused, DeletionRefused) as error:
        detail = (
            "利用者フォルダを削除できません。本人の有効なマイナンバーカードで、"
            "このセッションで発行したチャレンジ (5 分・1 回限り) に署名してください"
            f" (deletion refused: {error.message})"
        )
        # Returned, not raised: the used-up challenge and the audit entries must be committed.
        return problem_response(Problem(403, detail, slug="deletion-refused"), request)
    clear_session_cookie(response, PORTAL_COOKIE)
    return DeletionResponse(
        account_id=public_id(IdKind.ACCOUNT, report.account_id),
        deleted_at=report.deleted_at,
        grants_ended=report.grants_ended,
        messages_deleted=report.messages_deleted,
    )


# ---- 法定代理人 at the card window -------------------------------------------------------------


class LegalRepresentativeRecord(BaseModel):
    my_number: str = Field(min_length=12, max_length=20, description="法定代理人の個人番号")
    representation: Representation = Field(description="法定代理の根拠")


class LegalRepresentativeView(BaseModel):
    grant_id: int
    account_id: int
    representative_person_id: uuid.UUID
    representative_name: str
    representation: Representation
    representation_label: str
    granted_at: datetime
    granted_by: str
    ended_at: datetime | None
    end_ground: LegalEndGround | None = Field(
        default=None, description="終了の根拠 (窓口で法定代理を終了したとき)"
    )
    end_ground_label: str | None = None
    end_reference: str | None = Field(default=None, description="根拠の参照 (審判の事件番号など)")

    @classmethod
    def of(cls, grant: ProxyGrant) -> LegalRepresentativeView:
        assert grant.representation is not None  # noqa: S101  a legal grant, by the CHECK
        representation = Representation(grant.representation)
        ground = None if grant.end_ground is None else LegalEndGround(grant.end_ground)
        return cls(
            grant_id=grant.id,
            account_id=grant.account_id,
            representative_person_id=grant.proxy_person_id,
            representative_name=grant.proxy.name,
            representation=representation,
            representation_label=representation.label,
            granted_at=grant.granted_at,
            granted_by=grant.granted_by,
            ended_at=grant.ended_at,
            end_ground=ground,
            end_ground_label=None if ground is None else ground.label,
            end_reference=grant.end_reference,
        )


class LegalRepresentationEnd(BaseModel):
    """法定代理の終了: the ground the window checked in the documents shown, and their reference."""

    ground: LegalEndGround = Field(
        description="終了の根拠。法定代理の種類に当てはまるものに限ります"
    )
    reference: str | None = Field(
        default=None,
        max_length=END_REFERENCE_MAX_LENGTH,
        description="根拠の参照 (審判の事件番号など、任意、1 行)",
    )


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


@staff_router.get("", response_model=list[LegalRepresentativeView], summary="法定代理人の一覧")
def list_legal_representatives(
    person_id: uuid.UUID,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> list[LegalRepresentativeView]:
    resident_of(session, institution.code, person_id)
    grants = proxies.legal_representatives(
        session, person_id=person_id, institution=institution, actor=principal.actor
    )
    return [LegalRepresentativeView.of(grant) for grant in grants]


@staff_router.post(
    "",
    response_model=LegalRepresentativeView,
    status_code=status.HTTP_201_CREATED,
    summary="法定代理人の登録 (代理人と同じ表示権限)",
)
def record_legal_representative(
    person_id: uuid.UUID,
    body: LegalRepresentativeRecord,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> LegalRepresentativeView:
    resident_of(session, institution.code, person_id)
    representative = registry.find_by_my_number(session, _parse_my_number(body.my_number))
    grant = proxies.record_legal_representative(
        session,
        person_id=person_id,
        representative_id=representative.id,
        representation=body.representation,
        institution=institution,
        actor=principal.actor,
    )
    return LegalRepresentativeView.of(grant)


@staff_router.post(
    "/{grant_id}/end",
    response_model=LegalRepresentativeView,
    summary="法定代理の終了 (即時、終了の根拠を記録)",
)
def end_legal_representation(
    person_id: uuid.UUID,
    grant_id: int,
    body: LegalRepresentationEnd,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = CardWindow,
) -> LegalRepresentativeView:
    resident_of(session, institution.code, person_id)
    grant = proxies.end_legal_representation(
        session,
        person_id=person_id,
        grant_id=grant_id,
        ground=body.ground,
        reference=body.reference,
        institution=institution,
        actor=principal.actor,
    )
    return LegalRepresentativeView.of(grant)
