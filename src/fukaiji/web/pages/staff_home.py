"""職員ログイン・ホーム (staff login, logout and the home page of each role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole, sorted_roles
from fukaiji.web import cookies
from fukaiji.web.deps import SESSION_COOKIE, Database, totp_key
from fukaiji.web.pages._common import (
    STAFF_MENU,
    FormState,
    StaffPrincipal,
    checked_form,
    redirect,
    render,
    safe_next,
)

router = APIRouter(prefix="/staff", include_in_schema=False)

LOGIN_REFUSED = (
    "ユーザー名、パスワードまたは確認コードが正しくありません。"
    "5 回続けて誤るとアカウントがロックされます。ロックされた場合は管理者に連絡してください。"
)

# What each desk does, in the words of the seed, for the home page.
DESK_DESCRIPTIONS = {
    StaffRole.CONSULTATION_DESK: "DV・虐待等の被害者を保護対象者として登録し、"
    "利用停止手続の案内と、加害者から見える情報の確認を行います。",
    StaffRole.BUSINESS_DESK: "宛名番号で住民を確認し、情報照会と副本の登録を行います。"
    "他部署が保護している住民には「留意すべき対象者」の表示だけが出ます。",
    StaffRole.CARD_WINDOW: "マイナンバーカードの交付・一時停止・解除・再交付、個人番号の変更、"
    "法定代理人の記録を行います。",
    StaffRole.NOTICE_SENDER: "お知らせを作成し、宛先ファイルを点検してから送信します。"
    "留意すべき対象者は自動的に除外されます。",
    StaffRole.ADMINISTRATOR: "職員アカウント、API キー、監査ログとその検証結果を管理します。",
}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/staff") -> HTMLResponse:
    return render(request, "staff/login.html", next=safe_next(next, "/staff"))


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    session: Database,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=500)] = "/staff",
) -> Response:
    result = None
    if username and password and totp.isdigit() and len(totp) == 6:
        result = staff_service.authenticate(
            session,
            username=username,
            password=password,
            totp_code=totp,
            totp_key=totp_key(request),
        )
    if result is None or result.staff is None:
        session.commit()  # the failure counter and the audit entry stay
        return render(
            request,
            "staff/login.html",
            status_code=401,
            refused=LOGIN_REFUSED,
            next=safe_next(next, "/staff"),
            form=FormState(values={"username": username}),
        )
    token, _ = staff_service.open_session(
        session, result.staff, replacing_token=request.cookies.get(SESSION_COOKIE)
    )
    response = redirect(safe_next(next, "/staff"))
    cookies.set_session_cookie(
        response, SESSION_COOKIE, token, secure=cookies.secure_cookies(request)
    )
    return response


@router.post("/logout")
async def log_out(request: Request, session: Database, principal: StaffPrincipal) -> Response:
    await checked_form(request, session, principal)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        staff_service.end_session(session, token)
    response = redirect("/staff/login")
    cookies.clear_session_cookie(response, SESSION_COOKIE)
    return response


@router.get("", response_class=HTMLResponse)
def home(request: Request, principal: StaffPrincipal) -> HTMLResponse:
    roles = sorted_roles(principal.roles)
    desks = [(role.label, STAFF_MENU[role], DESK_DESCRIPTIONS[role]) for role in roles]
    return render(
        request,
        "staff/home.html",
        principal=principal,
        department_name=principal.department_name,
        roles=[role.label for role in roles],
        desks=desks,
    )
