"""情報連携 through the API: addressee numbers, 情報照会, 副本, 情報提供等記録 and 不開示フラグ.

Business desks (事務担当) enrol people, query and register 副本 for their own institution only.
The 不開示フラグ is set by the consultation desk (相談窓口) or by a business desk at the person's
first procedure (the seed: the victim asks wherever they first hand in their 個人番号).
A 個人番号 given to enrol someone is used to find them in the resident register and goes no
further; no response carries one.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import BaseModel, Field, model_validator

from fukaiji import intermediate
from fukaiji.db.base import MAX_ID
from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.intermediate.models import NondisclosureRequester, SelfInfoItem
from fukaiji.network import linkage as network_linkage
from fukaiji.network.errors import QueryNotPermitted
from fukaiji.network.legal_basis import shipped_legal_basis
from fukaiji.network.linkage import InstitutionRef, QueryResult, RecordView, Side
from fukaiji.network.models import InstitutionKind, LinkageRecord, LinkageStatus
from fukaiji.registry import service as registry
from fukaiji.staff.roles import StaffRole
from fukaiji.web.deps import Database, OwnInstitution, Principal, network_key, require_roles
from fukaiji.web.domain_errors import domain_problem
from fukaiji.web.problems import FieldError, Problem

router = APIRouter(tags=["linkage"])
Desk = Depends(require_roles(StaffRole.BUSINESS_DESK))
FlagDesk = Depends(require_roles(StaffRole.CONSULTATION_DESK, StaffRole.BUSINESS_DESK))
AddresseePath = Annotated[str, Path(max_length=40, description="団体内統合宛名番号 (15 桁)")]


# ---- views ------------------------------------------------------------------------------------


class InstitutionSummary(BaseModel):
    code: str
    name: str
    kind: InstitutionKind
    prefecture_code: str | None
    municipality_code: str | None

    @classmethod
    def of(cls, institution: InstitutionRef) -> InstitutionSummary:
        return cls(
            code=institution.code,
            name=institution.name,
            kind=institution.kind,
            prefecture_code=institution.prefecture_code,
            municipality_code=institution.municipality_code,
        )


class EnrolRequest(BaseModel):
    """Exactly one of ``my_number`` (as handed in at the desk) and ``person_id``."""

    my_number: str | None = Field(default=None, min_length=12, max_length=20)
    person_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EnrolRequest:
        if (self.my_number is None) == (self.person_id is None):
            raise ValueError("my_number か person_id のどちらか一方を指定してください")
        return self


class EnrolmentView(BaseModel):
    addressee_number: str
    created: bool = Field(description="この呼び出しで付番されたか (assigned by this call)")


class FlagView(BaseModel):
    requested_by: NondisclosureRequester
    set_at: datetime


class AddresseeView(BaseModel):
    addressee_number: str
    nondisclosure_flag: FlagView | None


class QueryRequest(BaseModel):
    addressee_number: str = Field(min_length=1, max_length=40, description="照会者の宛名番号")
    provider_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description=(
            "情報提供者の機関コード。住所地の市区町村への照会では指定しません"
            "（情報提供ネットワークシステムが照会先を決め、照会者には知らせません）"
        ),
    )
    affair_code: str = Field(min_length=1, max_length=16, description="事務コード (JM+14 桁)")
    item_code: str = Field(
        min_length=1, max_length=16, description="特定個人情報名コード (TM+14 桁)"
    )
    undisclosed: bool = Field(default=False, description="照会側不開示 (by hand)")


class QueryView(BaseModel):
    record_id: int
    requested_at: datetime
    status: LinkageStatus
    status_label: str
    requester: InstitutionSummary
    provider: InstitutionSummary | None = Field(
        description="情報提供者。住所地の市区町村へ送られた照会では示しません"
    )
    routed: bool = Field(description="住所地の市区町村へ送られた照会か")
    affair_code: str
    affair_name: str
    item_code: str
    item_name: str
    legal_basis_entry: int
    content: dict[str, Any] | None
    version: int | None
    requester_undisclosed: bool = Field(description="照会側（自機関）の不開示")

    @classmethod
    def of(cls, result: QueryResult) -> QueryView:
        return cls(
            record_id=result.record_id,
            requested_at=result.requested_at,
            status=result.status,
            status_label=result.status.label,
            requester=InstitutionSummary.of(result.requester),
            provider=None if result.provider is None else InstitutionSummary.of(result.provider),
            routed=result.routed,
            affair_code=result.affair_code,
            affair_name=result.affair_name,
            item_code=result.item_code,
            item_name=result.item_name,
            legal_basis_entry=result.legal_basis_entry,
            content=result.content,
            version=result.version,
            requester_undisclosed=result.requester_undisclosed,
        )


class RecordStaffView(BaseModel):
    """A record as this institution's staff see it: its own side and its own flag only."""

    record_id: int
    requested_at: datetime
    side: Side = Field(description="この機関が照会側か提供側か")
    status: LinkageStatus
    requester: InstitutionSummary | None = Field(
        description="照会者。提供側には示しません（照会者の役割だけを示します）"
    )
    requester_role: str = Field(description="法令根拠表での情報照会者の役割")
    provider: InstitutionSummary | None = Field(
        description="情報提供者。住所地の市区町村へ送られた照会では照会側に示しません"
    )
    provider_role: str = Field(description="法令根拠表での情報提供者の役割")
    routed: bool
    affair_code: str
    item_code: str
    legal_basis_entry: int
    undisclosed: bool = Field(description="自機関の側の不開示")

    @classmethod
    def of(cls, record: RecordView) -> RecordStaffView:
        return cls(
            record_id=record.record_id,
            requested_at=record.requested_at,
            side=record.side,
            status=record.status,
            requester=None if record.requester is None else InstitutionSummary.of(record.requester),
            requester_role=record.requester_role,
            provider=None if record.provider is None else InstitutionSummary.of(record.provider),
            provider_role=record.provider_role,
            routed=record.routed,
            affair_code=record.affair_code,
            item_code=record.item_code,
            legal_basis_entry=record.legal_basis_entry,
            undisclosed=record.undisclosed,
        )


class RecordFlags(BaseModel):
    """The flag of the side this institution took part in; the other side's is not shown."""

    record_id: int
    side: Side
    undisclosed: bool

    @classmethod
    def of(cls, record: LinkageRecord, institution_id: int) -> RecordFlags:
        side = (
            Side.REQUESTER if record.requester_institution_id == institution_id else Side.PROVIDER
        )
        return cls(
            record_id=record.id,
            side=side,
            undisclosed=getattr(record, f"{side.value}_undisclosed"),
        )


class SelfInfoRequest(BaseModel):
    item_code: str = Field(min_length=1, max_length=16, description="特定個人情報名コード")
    content: dict[str, Any]
    publish_from: date = Field(description="公開開始日")
    publish_until: date | None = Field(default=None, description="公開終了日")
    undisclosed: bool = Field(default=False, description="自己情報表示不開示 (by hand)")


class SelfInfoView(BaseModel):
    id: int
    addressee_number: str
    item_code: str
    version: int
    content: dict[str, Any]
    publish_from: date
    publish_until: date | None
    undisclosed: bool
    registered_at: datetime
    registered_by: str

    @classmethod
    def of(cls, item: SelfInfoItem) -> SelfInfoView:
        return cls(
            id=item.id,
            addressee_number=item.addressee_number,
            item_code=item.item_code,
            version=item.version,
            content=json.loads(item.content),
            publish_from=item.publish_from,
            publish_until=item.publish_until,
            undisclosed=item.undisclosed,
            registered_at=item.registered_at,
            registered_by=item.registered_by,
        )


class FlagRequest(BaseModel):
    requested_by: NondisclosureRequester = Field(
        description="申出者: person (本人) または supporter (支援者)"
    )


class FlagReportView(BaseModel):
    addressee_number: str
    requested_by: NondisclosureRequester
    set_at: datetime
    newly_set: bool
    records_flagged: int = Field(description="遡って不開示にした情報提供等記録の数")
    items_flagged: int = Field(description="遡って不開示にした副本の数")


class LegalBasisRowView(BaseModel):
    entry: int
    requester_role: str
    requester_kind: InstitutionKind
    requester_code: str | None
    affair_code: str
    affair_name: str
    provider_role: str
    provider_kind: InstitutionKind
    provider_code: str | None
    item_code: str
    item_name: str


# ---- routes -----------------------------------------------------------------------------------


@router.get(
    "/linkage/legal-basis", response_model=list[LegalBasisRowView], summary="法令根拠表 (見本)"
)
def legal_basis() -> list[LegalBasisRowView]:
    return [
        LegalBasisRowView(
            entry=row.entry,
            requester_role=row.requester.role,
            requester_kind=row.requester.kind,
            requester_code=row.requester.code,
            affair_code=row.affair_code,
            affair_name=row.affair_name,
            provider_role=row.provider.role,
            provider_kind=row.provider.kind,
            provider_code=row.provider.code,
            item_code=row.item_code,
            item_name=row.item_name,
        )
        for row in shipped_legal_basis()
    ]


def _parse_my_number(text: str) -> MyNumber:
    try:
        return MyNumber.parse(text)
    except InvalidIdentifier as error:
        message = f"{error.fault_ja} ({error.fault_en})"
        raise Problem(
            422,
            f"個人番号: {message}",
            slug="invalid-input",
            errors=[FieldError(field="body.my_number", message=message)],
        ) from error


@router.post(
    "/institutions/{code}/addressees",
    response_model=EnrolmentView,
    summary="団体内統合宛名番号の付番 (符号取得を含む)",
)
def enrol(
    body: EnrolRequest,
    institution: OwnInstitution,
    request: Request,
    session: Database,
    principal: Principal = Desk,
) -> EnrolmentView:
    if body.my_number is not None:
        person_id = registry.find_by_my_number(session, _parse_my_number(body.my_number)).id
    else:
        assert body.person_id is not None  # noqa: S101  checked by the model
        person_id = body.person_id
    enrolment = intermediate.enrol(
        session,
        institution=institution,
        person_id=person_id,
        network_key=network_key(request),
        actor=principal.actor,
    )
    return EnrolmentView(
        addressee_number=str(enrolment.addressee_number), created=enrolment.created
    )


@router.get(
    "/institutions/{code}/addressees/{number}",
    response_model=AddresseeView,
    summary="宛名番号と不開示フラグ",
)
def show_addressee(
    number: AddresseePath,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = FlagDesk,
) -> AddresseeView:
    parsed, flag = intermediate.addressee_status(
        session, institution=institution, addressee_number=number, actor=principal.actor
    )
    return AddresseeView(
        addressee_number=str(parsed),
        nondisclosure_flag=None
        if flag is None
        else FlagView(requested_by=flag.requested_by, set_at=flag.set_at),
    )


@router.put(
    "/institutions/{code}/addressees/{number}/nondisclosure-flag",
    response_model=FlagReportView,
    summary="不開示フラグの設定 (遡って記録・副本を不開示にする)",
)
def set_flag(
    number: AddresseePath,
    body: FlagRequest,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = FlagDesk,
) -> FlagReportView:
    report = intermediate.set_nondisclosure_flag(
        session,
        institution=institution,
        addressee_number=number,
        requested_by=body.requested_by,
        actor=principal.actor,
    )
    return FlagReportView(
        addressee_number=report.addressee_number,
        requested_by=report.requested_by,
        set_at=report.set_at,
        newly_set=report.newly_set,
        records_flagged=report.records_flagged,
        items_flagged=report.items_flagged,
    )


@router.post(
    "/institutions/{code}/queries",
    response_model=QueryView,
    status_code=status.HTTP_201_CREATED,
    summary="情報照会",
)
def query(
    body: QueryRequest,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Desk,
) -> QueryView:
    try:
        result = intermediate.query(
            session,
            requester=institution,
            addressee_number=body.addressee_number,
            provider_code=body.provider_code,
            affair_code=body.affair_code,
            item_code=body.item_code,
            undisclosed=body.undisclosed,
            actor=principal.actor,
        )
    except QueryNotPermitted as error:
        # The refusal is in the audit log; it must be committed, not rolled back.
        problem = domain_problem(error)
        problem.keep_changes = True
        raise problem from error
    return QueryView.of(result)


@router.get(
    "/institutions/{code}/addressees/{number}/records",
    response_model=list[RecordStaffView],
    summary="情報提供等記録 (この機関が関わったもの)",
)
def list_records(
    number: AddresseePath,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Desk,
) -> list[RecordStaffView]:
    records = intermediate.records_of_addressee(
        session, institution=institution, addressee_number=number, actor=principal.actor
    )
    return [RecordStaffView.of(record) for record in records]


@router.post(
    "/institutions/{code}/records/{record_id}/undisclose",
    response_model=RecordFlags,
    summary="情報提供等記録を不開示にする (自機関の側)",
)
def undisclose_record(
    record_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Desk,
) -> RecordFlags:
    record = network_linkage.undisclose_record(
        session, institution=institution, record_id=record_id, actor=principal.actor
    )
    return RecordFlags.of(record, institution.id)


@router.post(
    "/institutions/{code}/addressees/{number}/self-info",
    response_model=SelfInfoView,
    status_code=status.HTTP_201_CREATED,
    summary="副本の登録 (新しい版)",
)
def register_self_info(
    number: AddresseePath,
    body: SelfInfoRequest,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Desk,
) -> SelfInfoView:
    item = intermediate.register_self_info(
        session,
        institution=institution,
        addressee_number=number,
        item_code=body.item_code,
        content=body.content,
        publish_from=body.publish_from,
        publish_until=body.publish_until,
        undisclosed=body.undisclosed,
        actor=principal.actor,
    )
    return SelfInfoView.of(item)


@router.get(
    "/institutions/{code}/addressees/{number}/self-info",
    response_model=list[SelfInfoView],
    summary="副本の一覧 (全ての版)",
)
def list_self_info(
    number: AddresseePath,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Desk,
) -> list[SelfInfoView]:
    items = intermediate.self_info_history(
        session, institution=institution, addressee_number=number, actor=principal.actor
    )
    return [SelfInfoView.of(item) for item in items]


@router.post(
    "/institutions/{code}/self-info/{item_id}/undisclose",
    response_model=SelfInfoView,
    summary="副本を不開示にする (自己情報表示不開示)",
)
def undisclose_self_info(
    item_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    institution: OwnInstitution,
    session: Database,
    principal: Principal = Desk,
) -> SelfInfoView:
    item = intermediate.undisclose_self_info_item(
        session, institution=institution, item_id=item_id, actor=principal.actor
    )
    return SelfInfoView.of(item)
