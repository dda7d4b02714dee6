"""Staff accounts and API keys of the caller's own institution (管理者 only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from fukaiji.network.institutions import get_department
from fukaiji.staff import service
from fukaiji.staff.models import StaffAccount
from fukaiji.staff.roles import StaffRole
from fukaiji.staff.totp import provisioning_uri
from fukaiji.web.api.views import ApiKeyView, StaffView, TotpEnrolment
from fukaiji.web.deps import Database, OwnInstitution, Principal, require_roles, totp_key

router = APIRouter(tags=["staff"], prefix="/institutions/{code}")
Administrator = Depends(require_roles(StaffRole.ADMINISTRATOR))


class StaffCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    department: str = Field(min_length=1, max_length=100, description="部署名")
    password: str = Field(min_length=1, max_length=128)
    roles: list[StaffRole] = Field(min_length=1)


class StaffCreated(TotpEnrolment):
    staff: StaffView


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    roles: list[StaffRole] = Field(min_length=1)


class ApiKeyCreated(BaseModel):
    api_key: ApiKeyView
    key: str = Field(description="この一度だけ表示されます (shown only this once)")


@router.get("/staff", response_model=list[StaffView], summary="職員の一覧")
def list_staff(
    institution: OwnInstitution, session: Database, principal: Principal = Administrator
) -> list[StaffView]:
    accounts = service.list_staff(session, institution.id, actor=principal.actor)
    return [StaffView.of(staff) for staff in accounts]


@router.post(
    "/staff", response_model=StaffCreated, status_code=status.HTTP_201_CREATED, summary="職員の登録"
)
def create_staff(
    body: StaffCreate,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = Administrator,
) -> StaffCreated:
    department = get_department(session, institution_code=institution.code, name=body.department)
    staff, secret = service.create_staff(
        session,
        institution_id=institution.id,
        department_id=department.id,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        roles=body.roles,
        totp_key=totp_key(request),
        actor=principal.actor,
    )
    return StaffCreated(
        staff=StaffView.of(staff),
        totp_secret=secret,
        totp_uri=provisioning_uri(secret, staff.username),
    )


@router.post("/staff/{staff_id}/disable", response_model=StaffView, summary="職員の無効化")
def disable_staff(
    staff_id: int,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Administrator,
) -> StaffView:
    staff = service.disable_staff(
        session, staff_id, actor=principal.actor, institution_id=institution.id
    )
    return StaffView.of(staff)


@router.post("/staff/{staff_id}/unlock", response_model=StaffView, summary="ロックの解除")
def unlock_staff(
    staff_id: int,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Administrator,
) -> StaffView:
    staff = service.unlock_staff(
        session, staff_id, actor=principal.actor, institution_id=institution.id
    )
    return StaffView.of(staff)


@router.post("/staff/{staff_id}/reset-totp", response_model=TotpEnrolment, summary="TOTP の再設定")
def reset_totp(
    staff_id: int,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = Administrator,
) -> TotpEnrolment:
    secret = service.reset_totp(
        session,
        staff_id,
        totp_key=totp_key(request),
        actor=principal.actor,
        institution_id=institution.id,
    )
    username = session.get_one(StaffAccount, staff_id).username
    return TotpEnrolment(totp_secret=secret, totp_uri=provisioning_uri(secret, username))


@router.get("/api-keys", response_model=list[ApiKeyView], summary="API キーの一覧")
def list_api_keys(
    institution: OwnInstitution, session: Database, principal: Principal = Administrator
) -> list[ApiKeyView]:
    keys = service.list_api_keys(session, institution.id, actor=principal.actor)
    return [ApiKeyView.of(key) for key in keys]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="API キーの発行",
)
def create_api_key(
    body: ApiKeyCreate,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Administrator,
) -> ApiKeyCreated:
    key, plaintext = service.create_api_key(
        session,
        institution_id=institution.id,
        name=body.name,
        roles=body.roles,
        actor=principal.actor,
    )
    return ApiKeyCreated(api_key=ApiKeyView.of(key), key=plaintext)


@router.post("/api-keys/{api_key_id}/revoke", response_model=ApiKeyView, summary="API キーの失効")
def revoke_api_key(
    api_key_id: int,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Administrator,
) -> ApiKeyView:
    key = service.revoke_api_key(
        session, api_key_id, institution_id=institution.id, actor=principal.actor
    )
    return ApiKeyView.of(key)
