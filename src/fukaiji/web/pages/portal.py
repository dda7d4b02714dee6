"""マイナポータル (the resident portal): card login through a simulated card reader, the three
views, 操作履歴, proxies, settings, the 引越し手続 (her own 転出届), deleting the folder, and
logout.

Thin, like the portal API (``fukaiji.web.api.portal``): the same service functions, and the same
view models to put their results into words, so a screen shows exactly what the API returns —
in particular, the views come only from ``portal.view_folder``, which applies the 不開示 measures.

The card reader is simulated: the resident types the card token (as if the card were on the
reader) and the 利用者証明用 PIN; the server has the card sign the portal's challenge
(``jpki.card_signature``, which counts wrong PINs and locks the card as the chip does) and logs in
with the signature. The token and the PIN are never shown back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fukaiji.errors import DomainError
from fukaiji.jpki import service as jpki
from fukaiji.jpki.errors import (
    CardAbolished,
    CardRefused,
    CardSuspended,
    InvalidPin,
    LoginRefused,
    NoCertificate,
    PinLocked,
    UnrecognisedCard,
    WrongPin,
)
from fukaiji.portal import moves as portal_moves
from fukaiji.portal import proxies
from fukaiji.portal import service as portal
from fukaiji.portal.errors import (
    ChallengeRefused,
    DeletionRefused,
    DuplicateGrant,
    InvalidInput,
    InvitationRefused,
    SelfProxy,
)
from fukaiji.portal.folder import FolderView
from fukaiji.portal.models import PortalSession
from fukaiji.portal.paging import page_request
from fukaiji.portal.public_ids import IdKind, row_id
from fukaiji.portal.states import InboxCategory, ViewKind
from fukaiji.registry.errors import MoveOutRefused
from fukaiji.registry.rules import japanese_date
from fukaiji.web.api.portal import GrantView, HistoryEntry, InvitationView
from fukaiji.web.api.portal_views import InboxEntry, RecordItem, SelfInfoEntry, page_cursors
from fukaiji.web.cookies import clear_session_cookie, secure_cookies, set_session_cookie
from fukaiji.web.deps import Database, network_key
from fukaiji.web.pages._common import FormInput, FormState, form_date, redirect, undo_unless_kept
from fukaiji.web.pages._portal_common import (
    PORTAL_HOME,
    ResidentSession,
    checked_portal_form,
    portal_next,
    render_portal,
    render_public,
)
from fukaiji.web.portal_deps import PORTAL_COOKIE

router = APIRouter(prefix="/portal", include_in_schema=False)

# One message per kind of refusal. Which of token and PIN was wrong is not said, beyond what the
# chip itself says about the PIN tries left (WrongPin, PinLocked).
CARD_NOT_READ = (
    "カードを読み取れないか、暗証番号が正しくありません。"
    "カードと利用者証明用電子証明書の暗証番号（数字 4 桁）を確かめて、もう一度お試しください。"
)
CARD_UNUSABLE = (
    "このカードは使えません。カードが一時停止・廃止されているか、利用者証明用電子証明書が"
    "失効しています。お住まいの市区町村の窓口にお問い合わせください。"
)
NOT_CONFIRMED = (
    "本人確認ができませんでした。電子証明書が無効（一時停止・失効・期限切れ）か、"
    "読み取りの有効期限（5 分）が切れています。もう一度最初からお試しください。"
)
CONFIRM_MISSING = "確認: 削除すると元に戻せないことを確認し、チェックを入れてください"

FLASHES = {
    "logged_out": "ログアウトしました。",
    "grant_cancelled": "代理人設定を解除しました。代理人のログインはすでに終了しています。",
    "invitation_cancelled": "招待コードを取り消しました。",
    "accepted": "代理人になりました。下の一覧から本人のフォルダを表示できます。",
    "saved": "設定を保存しました。",
    "move_out_filed": "転出届を受け付けました。",
    "move_out_cancelled": "転出届を取り消しました。",
}


def _flash(done: str | None) -> str | None:
    return FLASHES.get(done or "")


def _card_refusal(error: DomainError) -> str:
    """What the simulated reader says when the card, its PIN or the login check refused."""
    if isinstance(error, WrongPin | PinLocked | DeletionRefused):
        return error.message
    if isinstance(error, CardSuspended | CardAbolished | NoCertificate):
        return CARD_UNUSABLE
    if isinstance(error, UnrecognisedCard):
        return CARD_NOT_READ
    return NOT_CONFIRMED


# ---- login and logout -----------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = PORTAL_HOME, done: str | None = None) -> Response:
    return render_public(request, "portal/login.html", next=portal_next(next), flash=_flash(done))


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    session: Database,
    card_token: Annotated[str, Form(max_length=200)] = "",
    pin: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=500)] = PORTAL_HOME,
) -> Response:
    target = portal_next(next)
    challenge = portal.issue_challenge(session)
    try:
        signed = jpki.card_signature(
            session, card_token=card_token.strip(), pin=pin, challenge=challenge.nonce
        )
        login = portal.log_in(
            session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
            replacing_token=request.cookies.get(PORTAL_COOKIE),
        )
    except InvalidPin as error:  # the format: refused before the chip, not counted
        undo_unless_kept(session, error)
        form = FormState(errors={error.field: error.message})
        return render_public(request, "portal/login.html", status_code=422, next=target, form=form)
    except (CardRefused, LoginRefused, ChallengeRefused) as error:
        undo_unless_kept(session, error)  # the wrong-PIN count and the audit entries stay
        return render_public(
            request, "portal/login.html", status_code=401, next=target, refused=_card_refusal(error)
        )
    response = redirect(target)
    set_session_cookie(response, PORTAL_COOKIE, login.token, secure=secure_cookies(request))
    return response


@router.post("/logout")
async def log_out(request: Request, session: Database, resident: ResidentSession) -> Response:
    await checked_portal_form(request, session, resident)
    portal.log_out(session, request.cookies.get(PORTAL_COOKIE, ""))
    response = redirect("/portal/login?done=logged_out")
    clear_session_cookie(response, PORTAL_COOKIE)
    return response


# ---- home and the views ---------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: Database, resident: ResidentSession) -> HTMLResponse:
    grants = [] if resident.as_proxy else proxies.proxy_grants(session, resident)
    return render_portal(
        request,
        session,
        resident,
        "portal/home.html",
        grants=[GrantView.of(grant) for grant in grants],
    )


_FILTER_FIELDS = ("institution", "from", "to", "kind")


@dataclass(frozen=True, slots=True)
class Pager:
    """The filter form of a view and its 「前へ」「次へ」 links."""

    form: FormState
    next_url: str | None = None
    previous_url: str | None = None


def _view_page(
    request: Request, session: Session, resident: PortalSession, part: ViewKind
) -> tuple[FolderView | None, Pager]:
    """One page of the view the query asks for; None with the refusal in the form when the
    query is wrong (nothing is read or recorded then)."""
    texts = {name: request.query_params.get(name, "").strip() for name in _FILTER_FIELDS}
    try:
        page = page_request(
            session,
            part,
            account_id=resident.acting_account_id,
            cursor=request.query_params.get("cursor"),
            limit=request.query_params.get("limit"),
            institution=texts["institution"],
            since=texts["from"],
            until=texts["to"],
            kind=texts["kind"],
        )
    except InvalidInput as error:
        return None, Pager(FormState(values=texts, errors={error.field: error.message}))
    view = portal.view_folder(
        session, resident, network_key=network_key(request), parts=(part,), page=page
    )
    kept = {name: value for name, value in texts.items() if value}
    if limit := request.query_params.get("limit"):
        kept["limit"] = limit
    next_token, previous_token = page_cursors(view, part)
    return view, Pager(
        FormState(values=texts),
        _page_url(request, kept, next_token),
        _page_url(request, kept, previous_token),
    )


def _page_url(request: Request, kept: dict[str, str], token: str | None) -> str | None:
    if token is None:
        return None
    return f"{request.url.path}?{urlencode({**kept, 'cursor': token})}"


def _render_view(
    request: Request,
    session: Session,
    resident: PortalSession,
    template: str,
    pager: Pager,
    **items: object,
) -> HTMLResponse:
    status_code = 422 if pager.form.errors else 200
    return render_portal(
        request, session, resident, template, status_code=status_code, pager=pager, **items
    )


@router.get("/records", response_class=HTMLResponse)
def records(request: Request, session: Database, resident: ResidentSession) -> HTMLResponse:
    view, pager = _view_page(request, session, resident, ViewKind.RECORDS)
    items = [] if view is None else [RecordItem.of(record, view) for record in view.records]
    return _render_view(request, session, resident, "portal/records.html", pager, records=items)


@router.get("/self-info", response_class=HTMLResponse)
def self_info(request: Request, session: Database, resident: ResidentSession) -> HTMLResponse:
    view, pager = _view_page(request, session, resident, ViewKind.SELF_INFO)
    items = [] if view is None else [SelfInfoEntry.of(item, view) for item in view.self_info]
    return _render_view(request, session, resident, "portal/self_info.html", pager, items=items)


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: Database, resident: ResidentSession) -> HTMLResponse:
    view, pager = _view_page(request, session, resident, ViewKind.INBOX)
    messages = [] if view is None else [InboxEntry.of(item, view) for item in view.inbox]
    return _render_view(
        request,
        session,
        resident,
        "portal/inbox.html",
        pager,
        messages=messages,
        categories=[("", "すべて"), *((c.value, c.label) for c in InboxCategory)],
    )


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, session: Database, resident: ResidentSession) -> HTMLResponse:
    entries = [HistoryEntry.of(entry) for entry in portal.access_history(session, resident)]
    return render_portal(request, session, resident, "portal/history.html", entries=entries)


# ---- proxies --------------------------------------------------------------------------------


def _proxies_page(
    request: Request,
    session: Session,
    resident: PortalSession,
    *,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    """The grants and invitations of one's own folder (not shown to a proxy in someone else's
    folder: only the person manages them), and the folders one may enter as a proxy."""
    grants, invitations = [], []
    if not resident.as_proxy:
        grants = [GrantView.of(grant) for grant in proxies.proxy_grants(session, resident)]
        invitations = [
            InvitationView.of(invitation)
            for invitation in proxies.pending_invitations(session, resident)
        ]
    return render_portal(
        request,
        session,
        resident,
        "portal/proxies.html",
        status_code=status_code,
        grants=grants,
        invitations=invitations,
        **context,
    )


@router.get("/proxies", response_class=HTMLResponse)
def proxies_page(
    request: Request, session: Database, resident: ResidentSession, done: str | None = None
) -> HTMLResponse:
    return _proxies_page(request, session, resident, flash=_flash(done))


@router.post("/proxies/{grant_id}/cancel")
async def cancel_grant(
    grant_id: str, request: Request, session: Database, resident: ResidentSession
) -> Response:
    await checked_portal_form(request, session, resident)
    proxies.cancel_grant(session, resident, row_id(IdKind.GRANT, grant_id))
    return redirect("/portal/proxies?done=grant_cancelled")


@router.post("/proxy-invitations", response_class=HTMLResponse)
async def create_invitation(
    request: Request, session: Database, resident: ResidentSession
) -> HTMLResponse:
    """The code is shown this once, on the page the POST answers (never in a URL)."""
    await checked_portal_form(request, session, resident)
    issued = proxies.create_invitation(session, resident)
    return _proxies_page(request, session, resident, issued_code=issued.code)


@router.post("/proxy-invitations/{invitation_id}/cancel")
async def cancel_invitation(
    invitation_id: str, request: Request, session: Database, resident: ResidentSession
) -> Response:
    await checked_portal_form(request, session, resident)
    proxies.cancel_invitation(session, resident, row_id(IdKind.INVITATION, invitation_id))
    return redirect("/portal/proxies?done=invitation_cancelled")


@router.post("/proxy-invitations/accept", response_class=HTMLResponse)
async def accept_invitation(
    request: Request, session: Database, resident: ResidentSession
) -> Response:
    values = await checked_portal_form(request, session, resident)
    code = values.get("code", "")
    try:
        proxies.accept_invitation(session, resident, code=code)
    except (InvitationRefused, SelfProxy, DuplicateGrant) as error:
        undo_unless_kept(session, error)  # a guessed code stays in the audit log
        form = FormState(values={"code": code[:64]}, errors={"code": error.message})
        return _proxies_page(request, session, resident, status_code=422, form=form)
    return redirect("/portal/proxies?done=accepted")


def _account_id(text: str) -> int | None:
    """The folder chosen on the form: empty for one's own. A token that names no folder is
    refused by the switch itself, as a folder one may not enter."""
    cleaned = text.strip()
    return row_id(IdKind.ACCOUNT, cleaned[:64]) if cleaned else None


@router.post("/folder/switch")
async def switch_folder(request: Request, session: Database, resident: ResidentSession) -> Response:
    values = await checked_portal_form(request, session, resident)
    account_id = _account_id(values.get("account_id", ""))
    portal.switch_folder(session, resident, account_id=account_id)  # refused: audited 403 page
    return redirect(PORTAL_HOME)


# ---- settings -------------------------------------------------------------------------------


@router.get("/settings", response_class=HTMLResponse)
def settings_form(
    request: Request, session: Database, resident: ResidentSession, done: str | None = None
) -> HTMLResponse:
    current = portal.account_settings(session, resident)
    return render_portal(
        request,
        session,
        resident,
        "portal/settings.html",
        settings=current,
        flash=_flash(done),
    )


@router.post("/settings", response_class=HTMLResponse)
async def save_settings(request: Request, session: Database, resident: ResidentSession) -> Response:
    values = await checked_portal_form(request, session, resident)
    email = values.get("notification_email", "")
    try:
        portal.update_settings(session, resident, notification_email=email or None)
    except InvalidInput as error:
        undo_unless_kept(session, error)
        return render_portal(
            request,
            session,
            resident,
            "portal/settings.html",
            status_code=422,
            settings=portal.account_settings(session, resident),
            form=FormState.refused({"notification_email": email[:300]}, error),
        )
    return redirect("/portal/settings?done=saved")


# ---- 引越し手続 (the person's own 転出届) -----------------------------------------------------

# The service's field names (the register's are Japanese) as the form's.
MOVE_FIELDS = {"転出先": "destination", "転出予定日": "planned_on", "転出届": "destination"}


def _moves_page(
    request: Request,
    session: Session,
    resident: PortalSession,
    *,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    """Refused to a proxy (an audited 403 page): only the person moves herself."""
    return render_portal(
        request,
        session,
        resident,
        "portal/moves.html",
        status_code=status_code,
        move_out=portal_moves.move_out_status(session, resident),
        japanese_date=japanese_date,
        **context,
    )


@router.get("/moves", response_class=HTMLResponse)
def moves_page(
    request: Request, session: Database, resident: ResidentSession, done: str | None = None
) -> HTMLResponse:
    return _moves_page(request, session, resident, flash=_flash(done))


@router.post("/moves", response_class=HTMLResponse)
async def file_move_out(request: Request, session: Database, resident: ResidentSession) -> Response:
    values = await checked_portal_form(request, session, resident)
    typed = {name: values.get(name, "")[:40] for name in ("destination", "planned_on")}
    try:
        portal_moves.file_move_out(
            session,
            resident,
            destination=typed["destination"],
            planned_on=form_date(typed, "planned_on", required=True),  # type: ignore[arg-type]
        )
    except (FormInput, InvalidInput, MoveOutRefused) as error:
        undo_unless_kept(session, error)
        form = FormState.refused(typed, error, field_names=MOVE_FIELDS)
        return _moves_page(request, session, resident, status_code=422, form=form)
    return redirect("/portal/moves?done=move_out_filed")


@router.post("/moves/cancel")
async def cancel_move_out(
    request: Request, session: Database, resident: ResidentSession
) -> Response:
    await checked_portal_form(request, session, resident)
    portal_moves.cancel_move_out(session, resident)
    return redirect("/portal/moves?done=move_out_cancelled")


# ---- deleting the folder --------------------------------------------------------------------


@router.get("/delete", response_class=HTMLResponse)
def deletion_form(request: Request, session: Database, resident: ResidentSession) -> HTMLResponse:
    return render_portal(request, session, resident, "portal/delete.html")


@router.post("/delete", response_class=HTMLResponse)
async def delete_account(
    request: Request, session: Database, resident: ResidentSession
) -> Response:
    """Deleting needs the card again: a deletion challenge of this session, signed by the
    person's own card through the simulated reader. Refused to a proxy (an audited 403 page)."""
    values = await checked_portal_form(request, session, resident)
    if not values.get("confirm"):
        form = FormState(errors={"confirm": CONFIRM_MISSING})
        return render_portal(
            request, session, resident, "portal/delete.html", status_code=422, form=form
        )
    challenge = portal.issue_deletion_challenge(session, resident)
    try:
        signed = jpki.card_signature(
            session,
            card_token=values.get("card_token", "").strip()[:200],
            pin=values.get("pin", ""),
            challenge=challenge.nonce,
        )
        report = portal.delete_account(
            session,
            resident,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
    except InvalidPin as error:
        undo_unless_kept(session, error)
        form = FormState(values={"confirm": "on"}, errors={error.field: error.message})
        return render_portal(
            request, session, resident, "portal/delete.html", status_code=422, form=form
        )
    except (CardRefused, LoginRefused, ChallengeRefused, DeletionRefused) as error:
        undo_unless_kept(session, error)  # the wrong-PIN count and the audit entries stay
        return render_portal(
            request,
            session,
            resident,
            "portal/delete.html",
            status_code=403,
            refused=_card_refusal(error),
            form=FormState(values={"confirm": "on"}),
        )
    response = render_public(request, "portal/deleted.html", report=report)
    clear_session_cookie(response, PORTAL_COOKIE)
    return response
