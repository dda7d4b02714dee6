"""Request dependencies: the database unit of work, who is asking, and what they may do.

Authentication is by a staff session cookie (browsers; unsafe methods need the CSRF token in the
``X-CSRF-Token`` header) or by an institution API key (``Authorization: Bearer fkj_…``).
Authorisation is by role and by institution: staff of one institution never reach another
institution's data, and every refusal is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.jpki.service import CA_KEY_PURPOSE
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_institution
from fukaiji.network.models import Institution
from fukaiji.registry.service import MY_NUMBER_KEY_PURPOSE
from fukaiji.staff import service as staff_service
from fukaiji.staff.models import ApiKey, StaffSession
from fukaiji.staff.roles import StaffRole
from fukaiji.staff.totp import TOTP_KEY_PURPOSE
from fukaiji.web.cookies import CSRF_HEADER, SAFE_METHODS, csrf_token_matches
from fukaiji.web.problems import Problem

SESSION_COOKIE = "fukaiji_session"


def _database(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
        except Exception as error:
            # A refusal that must leave a trace (an audit entry, a failure counter) says so.
            if getattr(error, "keep_changes", False):
                session.commit()
            raise
        session.commit()


Database = Annotated[Session, Depends(_database, scope="function")]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a staff member through a session, or a system through an API key."""

    actor: str
    institution_id: int
    institution_code: str
    roles: frozenset[StaffRole]
    staff_id: int | None = None
    department_id: int | None = None
    csrf_token: str | None = None
    display_name: str | None = None  # for the screens' header; None for an API key
    institution_name: str | None = None
    department_name: str | None = None


def _key(request: Request, purpose: str) -> bytes:
    return request.app.state.settings.derive_key(purpose)


# The keys the routes hand to the services, each derived from FUKAIJI_SECRET_KEY for its purpose.
def network_key(request: Request) -> bytes:
    return _key(request, NETWORK_KEY_PURPOSE)


def ca_key(request: Request) -> bytes:
    return _key(request, CA_KEY_PURPOSE)


def my_number_key(request: Request) -> bytes:
    return _key(request, MY_NUMBER_KEY_PURPOSE)


def totp_key(request: Request) -> bytes:
    return _key(request, TOTP_KEY_PURPOSE)


def _unauthenticated(detail: str, *, keep_changes: bool = False) -> Problem:
    return Problem(
        401,
        detail,
        slug="unauthenticated",
        headers={"WWW-Authenticate": 'Bearer realm="fukaiji"'},
        keep_changes=keep_changes,
    )


def refuse(
    session: Session, principal: Principal, request: Request, *, reason: str, detail: str
) -> Problem:
    """Audit a refused attempt and return the 403 to raise; the entry survives the refusal."""
    audit.record(
        session,
        actor=principal.actor,
        institution=principal.institution_code,
        action="access.refused",
        subject=request.url.path[:200],  # the column holds 200; a fuzzer sends longer paths
        details={"reason": reason, "method": request.method},
    )
    return Problem(403, detail, slug=reason.replace("_", "-"), keep_changes=True)


def authenticated(request: Request, session: Database) -> Principal:
    authorization = request.headers.get("Authorization")
    if authorization:
        return _api_key_principal(session, authorization)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _unauthenticated("ログインしてください (authentication required)")
    staff_session = staff_service.resolve_session(session, token)
    if staff_session is None:
        raise _unauthenticated(
            "セッションが無効か期限切れです。再度ログインしてください (session expired or invalid)",
            keep_changes=True,
        )
    principal = _session_principal(staff_session)
    if request.method not in SAFE_METHODS:
        _check_csrf(session, principal, request)
    return principal


def _api_key_principal(session: Session, authorization: str) -> Principal:
    scheme, _, credentials = authorization.partition(" ")
    key: ApiKey | None = None
    if scheme.lower() == "bearer" and credentials.strip():
        key = staff_service.resolve_api_key(session, credentials.strip())
    if key is None:
        raise _unauthenticated("API キーが無効です (invalid API key)", keep_changes=True)
    return Principal(
        actor=staff_service.api_key_subject(key.id),
        institution_id=key.institution_id,
        institution_code=key.institution.code,
        roles=key.roles,
    )


def _session_principal(staff_session: StaffSession) -> Principal:
    staff = staff_session.staff
    return Principal(
        actor=staff_service.staff_subject(staff.id),
        institution_id=staff.institution_id,
        institution_code=staff.institution.code,
        roles=staff.roles,
        staff_id=staff.id,
        department_id=staff.department_id,
        csrf_token=staff_session.csrf_token,
        display_name=staff.display_name,
        institution_name=staff.institution.name,
        department_name=staff.department.name,
    )


def _check_csrf(session: Session, principal: Principal, request: Request) -> None:
    if not csrf_token_matches(request, principal.csrf_token):
        raise refuse(
            session,
            principal,
            request,
            reason="csrf_token_missing",
            detail=f"CSRF トークンがありません、または一致しません ({CSRF_HEADER} header required)",
        )


Authenticated = Annotated[Principal, Depends(authenticated)]


def require_roles(*roles: StaffRole) -> Callable[..., Principal]:
    """A dependency that lets through only principals holding one of ``roles``."""
    return role_gate(roles, authenticated, refused_detail="この操作には次の役割が必要です")


def role_gate(
    roles: tuple[StaffRole, ...], who: Callable[..., Principal], *, refused_detail: str
) -> Callable[..., Principal]:
    """The one role check of the API and the screens: ``who`` finds the principal (API key or
    cookie for the API, cookie only for a screen); a principal without the roles is refused
    and the refusal audited."""
    allowed = frozenset(roles)
    names = "、".join(role.label for role in roles)
    # A default rather than an Annotated hint: the hint would be a string (postponed
    # annotations) naming a local variable, which FastAPI could not resolve.
    asking = Depends(who)

    def _dependency(
        request: Request, session: Database, principal: Principal = asking
    ) -> Principal:
        if principal.roles & allowed:
            return principal
        raise refuse(
            session, principal, request, reason="role_missing", detail=f"{refused_detail}: {names}"
        )

    return _dependency


def own_institution(
    code: str, principal: Authenticated, request: Request, session: Database
) -> Institution:
    """The institution named in the path, if it is the principal's own; otherwise 403."""
    if code != principal.institution_code:
        raise refuse(
            session,
            principal,
            request,
            reason="other_institution",
            detail="他の機関のデータにはアクセスできません (access to another institution's data)",
        )
    return get_institution(session, code)


OwnInstitution = Annotated[Institution, Depends(own_institution)]
