"""管理者 (administrator): the staff accounts and API keys of the own institution, and its audit
log with the verification of the whole hash chain.

The same service calls as the JSON API (``web/api/staff.py``); every service takes the
institution, so another institution's account or key is "not found" and nothing changes. Two
secrets are shown once, on the response to the POST that made them, and never again: a new
account's (or a reset) TOTP secret with its ``otpauth://`` URI, and a new API key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.audit import canonical_json
from fukaiji.audit.models import AuditEntry
from fukaiji.errors import DomainError
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.staff import service
from fukaiji.staff.models import StaffAccount
from fukaiji.staff.roles import StaffRole, sorted_roles
from fukaiji.staff.totp import provisioning_uri
from fukaiji.web.deps import Database, Principal, totp_key
from fukaiji.web.pages._common import (
    FormState,
    checked_form,
    redirect,
    render,
    staff_screen,
    tokyo_time,
    undo_unless_kept,
)

router = APIRouter(prefix="/staff/admin", include_in_schema=False)
Administrator = Annotated[Principal, Depends(staff_screen(StaffRole.ADMINISTRATOR))]

ROLES = [(role.value, role.label) for role in StaffRole]
SECRET_FIELDS = ("password",)
FORM_FIELDS = {"部署": "department"}
AUDIT_PAGE_SIZE = 50
DONE_MESSAGES = {
    "disabled": "職員を無効化しました。その職員のセッションはすべて終了しました。",
    "unlocked": "ロックを解除しました。",
    "revoked": "API キーを失効させました。次の要求から拒否されます。",
}


def when(at: datetime | None) -> str:
    return tokyo_time(at, seconds=True)


def detail_lines(entry: AuditEntry) -> list[str]:
    """An entry's details as ``key: value`` lines, for a table cell that stays narrow."""
    details = json.loads(entry.details)
    if not isinstance(details, dict):
        return [entry.details]
    return [
        f"{key}: {value if isinstance(value, str) else canonical_json(value)}"
        for key, value in details.items()
    ]


def role_labels(roles: Any) -> str:
    return "・".join(StaffRole(role).label for role in sorted_roles(roles))


def _refused(values: Mapping[str, Any], error: DomainError) -> FormState:
    return FormState.refused(values, error, field_names=FORM_FIELDS, never_shown=SECRET_FIELDS)


async def _roles_posted(request: Request) -> list[str]:
    # checked_form gives one value per name; the form it read is cached, so asking again is free.
    return [str(value) for value in (await request.form()).getlist("roles")]


# ---- staff accounts ---------------------------------------------------------------------------


@router.get("/staff", response_class=HTMLResponse)
def list_staff(
    request: Request, session: Database, principal: Administrator, done: str | None = None
) -> HTMLResponse:
    accounts = service.list_staff(session, principal.institution_id, actor=principal.actor)
    return render(
        request,
        "admin/staff.html",
        principal=principal,
        flash=DONE_MESSAGES.get(done or ""),
        accounts=accounts,
        role_labels=role_labels,
    )


def _staff_form(
    request: Request,
    session: Session,
    principal: Principal,
    form: FormState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    institution = get_institution(session, principal.institution_code)
    return render(
        request,
        "admin/staff_new.html",
        principal=principal,
        status_code=status_code,
        form=form or FormState(),
        departments=[(d.name, d.name) for d in institution.departments],
        roles=ROLES,
    )


@router.get("/staff/new", response_class=HTMLResponse)
def new_staff(request: Request, session: Database, principal: Administrator) -> HTMLResponse:
    return _staff_form(request, session, principal)


@router.post("/staff", response_class=HTMLResponse)
async def create_staff(request: Request, session: Database, principal: Administrator) -> Response:
    values = await checked_form(request, session, principal)
    roles = await _roles_posted(request)
    try:
        department = get_department(
            session,
            institution_code=principal.institution_code,
            name=str(values.get("department", "")),
        )
        staff, secret = service.create_staff(
            session,
            institution_id=principal.institution_id,
            department_id=department.id,
            username=str(values.get("username", "")),
            display_name=str(values.get("display_name", "")),
            password=str(values.get("password", "")),
            roles=roles,
            totp_key=totp_key(request),
            actor=principal.actor,
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        form = _refused(values, error)
        form.values["roles"] = ",".join(roles)
        return _staff_form(request, session, principal, form, status_code=422)
    return _totp_page(request, principal, staff, secret, created=True)


def _totp_page(
    request: Request, principal: Principal, staff: StaffAccount, secret: str, *, created: bool
) -> HTMLResponse:
    return render(
        request,
        "admin/totp.html",
        principal=principal,
        staff=staff,
        created=created,
        totp_secret=secret,
        totp_uri=provisioning_uri(secret, staff.username),
        role_labels=role_labels,
    )


@router.post("/staff/{staff_id}/disable", response_class=HTMLResponse)
async def disable_staff(
    staff_id: int, request: Request, session: Database, principal: Administrator
) -> Response:
    await checked_form(request, session, principal)
    # Not caught: another institution's account is "not found", a refused page as in the API.
    service.disable_staff(
        session, staff_id, actor=principal.actor, institution_id=principal.institution_id
    )
    return redirect("/staff/admin/staff?done=disabled")


@router.post("/staff/{staff_id}/unlock", response_class=HTMLResponse)
async def unlock_staff(
    staff_id: int, request: Request, session: Database, principal: Administrator
) -> Response:
    await checked_form(request, session, principal)
    service.unlock_staff(
        session, staff_id, actor=principal.actor, institution_id=principal.institution_id
    )
    return redirect("/staff/admin/staff?done=unlocked")


@router.post("/staff/{staff_id}/reset-totp", response_class=HTMLResponse)
async def reset_totp(
    staff_id: int, request: Request, session: Database, principal: Administrator
) -> Response:
    await checked_form(request, session, principal)
    secret = service.reset_totp(
        session,
        staff_id,
        totp_key=totp_key(request),
        actor=principal.actor,
        institution_id=principal.institution_id,
    )
    staff = service.get_staff(
        session, staff_id, actor=principal.actor, institution_id=principal.institution_id
    )
    return _totp_page(request, principal, staff, secret, created=False)


# ---- API keys ---------------------------------------------------------------------------------


def _keys_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    keys = service.list_api_keys(session, principal.institution_id, actor=principal.actor)
    return render(
        request,
        "admin/api_keys.html",
        principal=principal,
        status_code=status_code,
        form=form or FormState(),
        flash=flash,
        keys=keys,
        roles=ROLES,
        role_labels=role_labels,
        when=when,
    )


@router.get("/api-keys", response_class=HTMLResponse)
def list_api_keys(
    request: Request, session: Database, principal: Administrator, done: str | None = None
) -> HTMLResponse:
    return _keys_page(request, session, principal, flash=DONE_MESSAGES.get(done or ""))


@router.post("/api-keys", response_class=HTMLResponse)
async def create_api_key(request: Request, session: Database, principal: Administrator) -> Response:
    values = await checked_form(request, session, principal)
    roles = await _roles_posted(request)
    try:
        key, plaintext = service.create_api_key(
            session,
            institution_id=principal.institution_id,
            name=str(values.get("name", "")),
            roles=roles,
            actor=principal.actor,
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        form = _refused(values, error)
        form.values["roles"] = ",".join(roles)
        return _keys_page(request, session, principal, form=form, status_code=422)
    return render(
        request,
        "admin/api_key_created.html",
        principal=principal,
        key=key,
        plaintext=plaintext,
        role_labels=role_labels,
    )


@router.post("/api-keys/{api_key_id}/revoke", response_class=HTMLResponse)
async def revoke_api_key(
    api_key_id: int, request: Request, session: Database, principal: Administrator
) -> Response:
    await checked_form(request, session, principal)
    service.revoke_api_key(
        session, api_key_id, institution_id=principal.institution_id, actor=principal.actor
    )
    return redirect("/staff/admin/api-keys?done=revoked")


# ---- the audit log ----------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: Database,
    principal: Administrator,
    before: Annotated[int | None, Query(ge=2, le=2**62)] = None,
) -> HTMLResponse:
    audit.record(  # reading the log is itself recorded
        session,
        actor=principal.actor,
        institution=principal.institution_code,
        action="audit.viewed",
        details={"before": before},
    )
    # The institution's own chain only, from its newest valid checkpoint: other chains are other
    # institutions' business, and the whole log is for `fukaiji audit verify`.
    verification = audit.verify(
        session,
        signer=audit.Ed25519Signer.from_secret(request.app.state.settings.derive_key),
        chains=[principal.institution_code],
    )
    entries = audit.entries(
        session, institution=principal.institution_code, before=before, limit=AUDIT_PAGE_SIZE
    )
    next_before = entries[-1].seq if len(entries) == AUDIT_PAGE_SIZE else None
    return render(
        request,
        "admin/audit.html",
        principal=principal,
        verification=verification,
        entries=entries,
        next_before=next_before,
        first_page=before is None,
        when=when,
        detail_lines=detail_lines,
    )
