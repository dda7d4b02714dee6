"""Who is asking on the resident portal: a person logged in with their card.

Separate from the staff frame (``fukaiji.web.deps``): its own cookie (``fukaiji_portal``), its own
sessions, and no staff credential — a staff cookie or API key opens nothing here, and a portal
cookie opens nothing there. Every request re-checks the session (``portal.resolve_session``): the
card that opened it must still be usable, a proxy's grant still live, and the session not idle;
otherwise the session is ended for good and the request refused. Unsafe methods need the
session's CSRF token in ``X-CSRF-Token``, as in the staff frame.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.portal import service as portal
from fukaiji.portal.models import PortalSession
from fukaiji.portal.rules import account_subject
from fukaiji.registry.service import person_subject
from fukaiji.web.cookies import CSRF_HEADER, csrf_token_matches, needs_csrf_token
from fukaiji.web.deps import Database
from fukaiji.web.problems import Problem

PORTAL_COOKIE = "fukaiji_portal"


def _unauthenticated(detail: str, *, keep_changes: bool = False) -> Problem:
    return Problem(
        401,
        detail,
        slug="portal-login-required",
        headers={"WWW-Authenticate": 'Cookie realm="fukaiji-portal"'},
        keep_changes=keep_changes,
    )


def portal_authenticated(request: Request, session: Database) -> PortalSession:
    token = request.cookies.get(PORTAL_COOKIE)
    if not token:
        raise _unauthenticated(
            "マイナンバーカードでログインしてください (log in with your My Number card)"
        )
    portal_session = portal.resolve_session(session, token)
    if portal_session is None:
        raise _unauthenticated(
            "セッションが終了しました。カードの一時停止・代理人設定の解除・一定時間の無操作などに"
            "より終了します。もう一度ログインしてください"
            " (session ended: card suspended or revoked, proxy grant ended, folder deleted,"
            " or idle for 15 minutes; log in again)",
            keep_changes=True,
        )
    if needs_csrf_token(request) and not csrf_token_matches(request, portal_session.csrf_token):
        audit_refused_csrf(session, portal_session, request)
        raise Problem(
            403,
            f"CSRF トークンがありません、または一致しません ({CSRF_HEADER} header required)",
            slug="csrf-token-missing",
            keep_changes=True,
        )
    return portal_session


def audit_refused_csrf(session: Session, portal_session: PortalSession, request: Request) -> None:
    """A request without the session's CSRF token (header or form field): someone else's page
    tried to act with the resident's cookie. Recorded for the resident's 操作履歴 and for audit."""
    audit.record(
        session,
        actor=person_subject(portal_session.person_id),
        action="portal.access_refused",
        subject=account_subject(portal_session.acting_account_id),
        details={
            "reason": "csrf_token_missing",
            "method": request.method,
            "path": request.url.path[:200],
            "session": portal_session.id,
        },
    )


PortalAuthenticated = Annotated[PortalSession, Depends(portal_authenticated)]
