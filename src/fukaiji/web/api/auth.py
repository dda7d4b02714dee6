"""Staff login and logout. The login route is the only public one of the API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole, sorted_roles
from fukaiji.web import cookies
from fukaiji.web.api.views import StaffView
from fukaiji.web.deps import SESSION_COOKIE, Authenticated, Database, totp_key
from fukaiji.web.problems import Problem, problem_response

public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["auth"])

_LOGIN_REFUSED = (
    "ユーザー名、パスワードまたは確認コードが正しくありません。5 回続けて誤るとロックされます。"
)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    totp: str = Field(pattern=r"^[0-9]{6}$", description="認証アプリの 6 桁の確認コード")


class LoginResponse(BaseModel):
    staff: StaffView
    csrf_token: str = Field(description="Send as X-CSRF-Token on every unsafe request")


class WhoAmI(BaseModel):
    actor: str
    institution_code: str
    roles: list[StaffRole]
    staff: StaffView | None
    csrf_token: str | None


@public_router.post("/auth/login", response_model=LoginResponse, summary="職員ログイン")
def login(
    body: LoginRequest, request: Request, response: Response, session: Database
) -> LoginResponse | Response:
    result = staff_service.authenticate(
        session,
        username=body.username,
        password=body.password,
        totp_code=body.totp,
        totp_key=totp_key(request),
    )
    if result.staff is None:
        # Returned, not raised: the failure counter and the audit entry must be committed.
        return problem_response(Problem(401, _LOGIN_REFUSED, slug="login-refused"), request)
    token, staff_session = staff_service.open_session(
        session, result.staff, replacing_token=request.cookies.get(SESSION_COOKIE)
    )
    set_session_cookie(response, token, secure=cookies.secure_cookies(request))
    return LoginResponse(staff=StaffView.of(result.staff), csrf_token=staff_session.csrf_token)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    cookies.set_session_cookie(response, SESSION_COOKIE, token, secure=secure)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="ログアウト")
def logout(request: Request, session: Database) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        staff_service.end_session(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.clear_session_cookie(response, SESSION_COOKIE)
    return response


@router.get("/auth/me", response_model=WhoAmI, summary="ログイン中の利用者")
def who_am_i(principal: Authenticated, session: Database) -> WhoAmI:
    staff = None
    if principal.staff_id is not None:
        staff = StaffView.of(
            staff_service.get_staff(session, principal.staff_id, actor=principal.actor)
        )
    return WhoAmI(
        actor=principal.actor,
        institution_code=principal.institution_code,
        roles=sorted_roles(principal.roles),
        staff=staff,
        csrf_token=principal.csrf_token,
    )
