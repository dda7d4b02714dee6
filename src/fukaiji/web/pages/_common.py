"""What every server-rendered screen shares: who is asking, form CSRF, rendering, field errors.

Screens are for browsers, so they differ from the JSON API in three ways. Authentication is by
the session cookie only (an API key opens no screen). A missing or ended session sends the
browser to the login screen instead of answering 401. Forms work without JavaScript, so the CSRF
token travels as a hidden form field (``csrf_token``) rather than the ``X-CSRF-Token`` header.
Authorisation is the same as the API's: the roles and the own-institution rule, every refusal
audited (``deps.refuse``).
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from fukaiji.errors import DomainError
from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.intermediate.service import TOKYO
from fukaiji.registry import service as registry
from fukaiji.registry.errors import UnknownMyNumber
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole, sorted_roles
from fukaiji.web.deps import (
    SESSION_COOKIE,
    Database,
    Principal,
    _session_principal,
    refuse,
    role_gate,
)
from fukaiji.web.problems import Problem
from fukaiji.web.templating import templates

CSRF_FIELD = "csrf_token"
STAFF_LOGIN_PATH = "/staff/login"


class LoginRequired(Exception):
    """Raised by a screen's dependency when nobody is logged in; answered by a redirect."""

    def __init__(self, login_path: str, next_path: str) -> None:
        self.login_path = login_path
        self.next_path = next_path


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str


# The staff menu: each role sees the screens of its desk (a person may hold several roles).
STAFF_MENU: dict[StaffRole, tuple[NavItem, ...]] = {
    StaffRole.CONSULTATION_DESK: (NavItem("/staff/protections", "保護対象者"),),
    StaffRole.BUSINESS_DESK: (NavItem("/staff/residents", "住民・情報照会"),),
    StaffRole.CARD_WINDOW: (NavItem("/staff/cards", "カード交付"),),
    StaffRole.NOTICE_SENDER: (NavItem("/staff/notices", "お知らせ"),),
    StaffRole.ADMINISTRATOR: (
        NavItem("/staff/admin/staff", "職員"),
        NavItem("/staff/admin/api-keys", "API キー"),
        NavItem("/staff/admin/audit", "監査ログ"),
    ),
}


def staff_menu(roles: frozenset[StaffRole]) -> list[NavItem]:
    return [item for role in sorted_roles(roles) for item in STAFF_MENU[role]]


@dataclass
class FormState:
    """What a form shows again after a refusal: the values typed and an error per field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refused(
        cls,
        values: Mapping[str, Any],
        error: DomainError,
        *,
        field_names: Mapping[str, str] | None = None,
        never_shown: Collection[str] = (),
    ) -> FormState:
        """``field_names`` maps a service's name of a field (often Japanese, 個人番号) to the
        form's; ``never_shown`` are fields never sent back (PINs, passwords, a 個人番号).
        Uploaded files are not sent back either."""
        typed = {
            name: value
            for name, value in values.items()
            if isinstance(value, str) and name not in never_shown
        }
        field = (field_names or {}).get(error.field, error.field)
        return cls(values=typed, errors={field: error.message})


class FormInput(DomainError):
    """A fault a screen finds while reading a form (a date, JSON, a 個人番号), before any
    service sees it; shown next to its field like a service's refusal."""


def form_date(values: Mapping[str, Any], name: str, *, required: bool = False) -> date | None:
    """A date field typed as 2026-04-01; blank is None unless ``required``."""
    text = str(values.get(name, "")).strip()
    if not text:
        if required:
            raise FormInput(name, "日付を入力してください (a date is required)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormInput(
            name, f"{text}: 日付は 2026-04-01 の形で入力してください (date as YYYY-MM-DD)"
        ) from None


def parse_my_number(text: str, field: str) -> MyNumber:
    """A 個人番号 typed into ``field``; a fault names the field, never the number."""
    try:
        return MyNumber.parse(text.strip())
    except InvalidIdentifier as error:
        raise FormInput(field, f"個人番号: {error.fault_ja} ({error.fault_en})") from error


def person_by_my_number(session: Session, text: str, field: str) -> uuid.UUID:
    """The person a current 個人番号 belongs to; a fault names the field, never the number."""
    try:
        return registry.find_by_my_number(session, parse_my_number(text, field)).id
    except UnknownMyNumber as error:
        raise FormInput(field, error.message) from error


def tokyo_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """A moment as people in Japan read it: Japan time, to the minute (to the second for the
    audit log, where order within a minute matters)."""
    if moment is None:
        return ""
    return moment.astimezone(TOKYO).strftime("%Y年%m月%d日 %H:%M" + (":%S" if seconds else ""))


def render(
    request: Request,
    template: str,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the staff frame; ``principal`` gives the header, menu and form token."""
    base: dict[str, Any] = {"principal": principal, "menu": [], "csrf_token": None}
    if principal is not None:
        base["menu"] = staff_menu(principal.roles)
        base["csrf_token"] = principal.csrf_token
    base.setdefault("form", FormState())
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def redirect(path: str) -> RedirectResponse:
    """Post/redirect/get: after a change, the browser loads the result with a plain GET."""
    return RedirectResponse(path, status_code=303)


def staff_principal(request: Request, session: Database) -> Principal:
    """The logged-in staff member, from the session cookie alone."""
    token = request.cookies.get(SESSION_COOKIE)
    staff_session = staff_service.resolve_session(session, token) if token else None
    if staff_session is None:
        session.commit()  # an expired session is ended for good, even though we redirect
        raise LoginRequired(STAFF_LOGIN_PATH, _next_path(request))
    return _session_principal(staff_session)


StaffPrincipal = Annotated[Principal, Depends(staff_principal)]


def staff_screen(*roles: StaffRole) -> Callable[..., Principal]:
    """A dependency for the screens of ``roles``: others get an audited 403 page."""
    return role_gate(roles, staff_principal, refused_detail="この画面には次の役割が必要です")


async def checked_form(request: Request, session: Session, principal: Principal) -> dict[str, Any]:
    """The posted form, once its CSRF token matches the session's; otherwise an audited 403."""
    form = await request.form()
    presented = str(form.get(CSRF_FIELD, ""))
    expected = principal.csrf_token or ""
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise refuse(
            session,
            principal,
            request,
            reason="csrf_token_missing",
            detail="フォームの有効期限が切れました。画面を開き直してから、もう一度送信してください",
        )
    return {key: value for key, value in form.multi_items() if key != CSRF_FIELD}


def undo_unless_kept(session: Session, error: DomainError) -> None:
    """A refused form changes nothing, except the traces a refusal must leave (audit entries)."""
    if getattr(error, "keep_changes", False):
        session.commit()
    else:
        session.rollback()


def _next_path(request: Request) -> str:
    path = request.url.path
    return path if request.method == "GET" else "/staff"


def safe_next(value: str | None, default: str) -> str:
    """Only a path of this site: an open redirect would let a phishing link borrow our login."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def install_page_handlers(app: FastAPI) -> None:
    """Screens answer a missing login with a redirect, and every refusal or failure with a page.

    Registered after the API's handlers: each is wrapped, so a screen shows the very same
    problem (status, title, detail) that the API would send as JSON.
    """

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, error: LoginRequired) -> Response:
        return redirect(f"{error.login_path}?next={quote(error.next_path)}")

    for kind in (Problem, DomainError, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, _as_page(app.exception_handlers[kind]))


Handler = Callable[..., Awaitable[Response]]


def _as_page(json_handler: Handler) -> Handler:
    async def _handler(request: Request, error: Exception) -> Response:
        response = await json_handler(request, error)
        if request.url.path.startswith(("/api/", "/static/")) or request.url.path == "/healthz":
            return response
        problem = json.loads(bytes(response.body))
        return templates.TemplateResponse(
            request,
            "error.html",
            {"principal": None, "menu": [], "csrf_token": None, "problem": problem},
            status_code=response.status_code,
        )

    return _handler
