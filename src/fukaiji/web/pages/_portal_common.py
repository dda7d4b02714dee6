"""What the resident portal's screens share: the resident's session, form CSRF, and the frame.

The portal is not the staff frame. A resident logs in with their card, and the screens know them
only by the portal's own cookie (``fukaiji_portal``) and its sessions: a staff cookie or an API
key opens no portal screen. Every page load re-checks the session with ``portal.resolve_session``
(card still usable, proxy grant still live, folder not deleted, not idle); a missing or ended
session sends the browser to the portal's login screen. Forms carry the session's CSRF token as
a hidden field, and a refused token is audited exactly as the portal API audits one.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from fukaiji.portal import service as portal
from fukaiji.portal.models import PortalSession
from fukaiji.web.api.portal import SessionView, session_view
from fukaiji.web.deps import Database
from fukaiji.web.pages._common import (
    CSRF_FIELD,
    LoginRequired,
    NavItem,
    render,
    safe_next,
    tokyo_time,
)
from fukaiji.web.portal_deps import PORTAL_COOKIE, audit_refused_csrf
from fukaiji.web.problems import Problem

PORTAL_HOME = "/portal"
PORTAL_LOGIN_PATH = "/portal/login"

# The portal menu. A proxy in someone else's folder sees only the three views and the proxy
# screen (to go back): the rest is the person's own business, and the service refuses it anyway.
VIEW_MENU = (
    NavItem(PORTAL_HOME, "ホーム"),
    NavItem("/portal/records", "やりとり履歴"),
    NavItem("/portal/self-info", "自己情報"),
    NavItem("/portal/inbox", "お知らせ"),
)
OWN_FOLDER_MENU = (
    NavItem("/portal/history", "操作履歴"),
    NavItem("/portal/proxies", "代理人"),
    NavItem("/portal/settings", "設定"),
    NavItem("/portal/moves", "引越し手続"),
    NavItem("/portal/delete", "アカウント削除"),
)
PROXY_MENU = (NavItem("/portal/proxies", "代理人"),)


def portal_next(value: str | None) -> str:
    """Where to go after the login: a portal screen, nothing else (not even a staff screen)."""
    chosen = safe_next(value, PORTAL_HOME)
    return chosen if chosen == PORTAL_HOME or chosen.startswith(PORTAL_HOME + "/") else PORTAL_HOME


def resident_session(request: Request, session: Database) -> PortalSession:
    """The resident's live portal session, from the portal cookie alone."""
    token = request.cookies.get(PORTAL_COOKIE)
    portal_session = portal.resolve_session(session, token) if token else None
    if portal_session is None:
        session.commit()  # a session found dead is ended for good (audited), though we redirect
        next_path = request.url.path if request.method == "GET" else PORTAL_HOME
        raise LoginRequired(PORTAL_LOGIN_PATH, next_path)
    return portal_session


ResidentSession = Annotated[PortalSession, Depends(resident_session)]


async def checked_portal_form(
    request: Request, session: Session, portal_session: PortalSession
) -> dict[str, str]:
    """The posted form, once its hidden CSRF field matches the session's; otherwise a 403 page,
    audited as the portal API audits a missing ``X-CSRF-Token``."""
    form = await request.form()
    presented = str(form.get(CSRF_FIELD, ""))
    expected = portal_session.csrf_token
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        audit_refused_csrf(session, portal_session, request)
        raise Problem(
            403,
            "フォームの有効期限が切れました。画面を開き直してから、もう一度送信してください",
            slug="csrf-token-missing",
            keep_changes=True,
        )
    return {key: str(value) for key, value in form.multi_items() if key != CSRF_FIELD}


def render_portal(
    request: Request,
    session: Session,
    portal_session: PortalSession,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the portal frame: who is logged in, whose folder is shown, the portal menu."""
    resident: SessionView = session_view(session, portal_session)
    menu = VIEW_MENU + (PROXY_MENU if resident.as_proxy else OWN_FOLDER_MENU)
    return render(
        request,
        template,
        status_code=status_code,
        resident=resident,
        portal_menu=menu,
        csrf_token=portal_session.csrf_token,
        when=tokyo_time,
        **context,
    )


def render_public(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A portal page for nobody logged in: the login screen, the page after a deletion."""
    return render(
        request, template, status_code=status_code, resident=None, when=tokyo_time, **context
    )
