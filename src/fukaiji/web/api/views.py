"""Response models shared by several routes. Field names are English; values may be Japanese."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from fukaiji.network.models import Department, Institution, InstitutionKind
from fukaiji.staff.models import ApiKey, StaffAccount
from fukaiji.staff.roles import StaffRole, sorted_roles


class DepartmentView(BaseModel):
    id: int
    name: str

    @classmethod
    def of(cls, department: Department) -> DepartmentView:
        return cls(id=department.id, name=department.name)


class InstitutionView(BaseModel):
    code: str = Field(description="機関コード (地方公共団体コード for local governments)")
    name: str
    kind: InstitutionKind
    kind_label: str
    prefecture_code: str | None
    municipality_code: str | None
    body_code: str | None = Field(
        default=None, description="出先機関の上位機関の機関コード。法令根拠表は上位機関を指します。"
    )

    @classmethod
    def of(cls, institution: Institution) -> InstitutionView:
        kind = InstitutionKind(institution.kind)
        return cls(
            code=institution.code,
            name=institution.name,
            kind=kind,
            kind_label=kind.label,
            prefecture_code=institution.prefecture_code,
            municipality_code=institution.municipality_code,
            body_code=institution.body_code,
        )


class StaffView(BaseModel):
    id: int
    username: str
    display_name: str
    institution_code: str
    department: DepartmentView
    roles: list[StaffRole]
    locked: bool
    disabled: bool

    @classmethod
    def of(cls, staff: StaffAccount) -> StaffView:
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            institution_code=staff.institution.code,
            department=DepartmentView.of(staff.department),
            roles=sorted_roles(staff.roles),
            locked=staff.locked_at is not None,
            disabled=staff.disabled_at is not None,
        )


class ApiKeyView(BaseModel):
    id: int
    name: str
    prefix: str
    roles: list[StaffRole]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            roles=sorted_roles(key.roles),
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class TotpEnrolment(BaseModel):
    """Shown once: the secret to enter in an authenticator app, and the same as an otpauth URI."""

    totp_secret: str
    totp_uri: str
