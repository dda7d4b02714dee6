"""不開示措置 through the API: the consultation desk (相談窓口) registers a protected person and
follows the usage-stop procedures and the exposure check; notice departments read the exclusion
list, record consents and import the paper ledger (紙台帳); any department asks whether a person
is to be watched.

Need to know (DESIGN §2): the case facts and the protected region are shown to the registering
desk only — staff of the department that registered the person. Another department of the same
institution learns that the person is to be watched, nothing more; another institution is told
"not found" exactly as for an id that names nothing. Every read and every refusal is audited.
A 個人番号 given to find a person goes no further; no response carries one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from fukaiji import audit, intermediate
from fukaiji.db.base import MAX_ID
from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.intermediate.models import NondisclosureRequester
from fukaiji.intermediate.service import parse_addressee_number
from fukaiji.network.institutions import get_institution
from fukaiji.network.models import Institution
from fukaiji.portal.states import GrantKind, InboxCategory, ViewKind
from fukaiji.protection import consent, exclusion, exposure, ledger, messages, requests, service
from fukaiji.protection.exposure import ExposedItem, ExposureReport, OpenPath, PathKind
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.guidance import Step, StepKind
from fukaiji.protection.models import Consent, DeskMessage, LedgerEntry, Protection
from fukaiji.protection.service import Requester, View
from fukaiji.protection.states import ConsentChannel, DeskMessageKind, ExclusionSource
from fukaiji.protection.status import ProtectionStatus, current_status
from fukaiji.registry import service as registry
from fukaiji.registry.errors import UnknownMyNumber
from fukaiji.registry.models import Person
from fukaiji.staff.roles import StaffRole
from fukaiji.web.api.uploads import (
    MULTI_LINE,
    ONE_LINE,
    TOO_LARGE_RESPONSE,
    csv_body,
    csv_request_body,
    viewer_of,
)
from fukaiji.web.deps import (
    Authenticated,
    Database,
    OwnInstitution,
    Principal,
    network_key,
    refuse,
    require_roles,
)
from fukaiji.web.problems import FieldError, Problem

router = APIRouter(tags=["protection"])
DeskRoles = Depends(require_roles(StaffRole.CONSULTATION_DESK, StaffRole.BUSINESS_DESK))
ScreeningRoles = Depends(
    require_roles(StaffRole.NOTICE_SENDER, StaffRole.CONSULTATION_DESK, StaffRole.BUSINESS_DESK)
)
AddresseePath = Annotated[str, Path(max_length=40, description="団体内統合宛名番号 (15 桁)")]
ProtectionPath = Annotated[uuid.UUID, Path(description="保護対象者の登録 ID")]

NOT_EXPOSED = "露出なし"
EXPOSED = "加害者から見える情報があります"
PERSON_FIELDS = ("my_number", "addressee_number", "person_id")
RegionCode = Annotated[str, Field(min_length=1, max_length=16, description="地方公共団体コード")]


def _registering_desk(
    request: Request, session: Database, principal: Principal = DeskRoles
) -> Principal:
    """A desk's staff member: a protection belongs to the department that registered it, and an
    API key belongs to no department."""
    if principal.department_id is not None:
        return principal
    raise refuse(
        session,
        principal,
        request,
        reason="no_department",
        detail="保護対象者の登録は相談を受けた部署の職員だけが行えます。API キーでは登録できません"
        " (a protection is registered by a desk's staff member; an API key belongs to no desk)",
    )


RegisteringDesk = Depends(_registering_desk)


# ---- requests ---------------------------------------------------------------------------------


class PersonChoice(BaseModel):
    """Whom: exactly one of ``my_number``, ``addressee_number`` and ``person_id``."""

    my_number: str | None = Field(
        default=None,
        min_length=12,
        max_length=20,
        description="個人番号 (住民を探すためだけに使い、保存も返却もしない)",
    )
    addressee_number: str | None = Field(
        default=None, min_length=1, max_length=40, description="この機関の団体内統合宛名番号"
    )
    person_id: uuid.UUID | None = Field(default=None, description="住民基本台帳の ID")


class RequesterFields(BaseModel):
    requested_by: NondisclosureRequester = Field(
        description="申出者: person (本人) または supporter (支援者)"
    )
    supporter_body: str | None = Field(
        default=None,
        max_length=service.MAX_SUPPORTER_BODY,
        pattern=ONE_LINE,
        description="支援者の機関・団体名 (支援者からの申出のとき必須)",
    )
    supporter_reason: str | None = Field(
        default=None,
        max_length=service.MAX_SUPPORTER_REASON,
        pattern=MULTI_LINE,
        description="本人が申し出られない理由 (支援者からの申出のとき必須、2(1)注)",
    )


class FactsInput(BaseModel):
    """The case facts as a whole; the perpetrator by at most one of the two fields."""

    own_procedures: bool = Field(description="ケース①: 避難先で本人が手続をする")
    card_left_behind: bool = Field(description="ケース②: カードを置いたまま避難した")
    perpetrator_is_proxy: bool = Field(description="ケース②: 加害者を代理人に設定している")
    perpetrator_is_legal_representative: bool = Field(description="ケース②: 加害者が法定代理人")
    perpetrator_my_number: str | None = Field(
        default=None, min_length=12, max_length=20, description="加害者の個人番号 (分かれば)"
    )
    perpetrator_person_id: uuid.UUID | None = Field(
        default=None, description="加害者の住民基本台帳 ID (分かれば)"
    )


FLED_ON = (
    "避難した日。この日まで（当日を含む）に交付されたカードや開設された利用者フォルダーは、"
    "加害者の手にあるおそれがあるものとして扱う（未指定なら登録の時点まで）"
)


class ProtectionRegistration(PersonChoice, RequesterFields):
    facts: FactsInput
    region_codes: list[RegionCode] = Field(
        min_length=1, max_length=20, description="保護地域: 避難先の都道府県・市区町村のコード"
    )
    fled_on: date | None = Field(default=None, description=FLED_ON)


class ProtectionChange(BaseModel):
    """Only what is given changes; ``facts`` replaces the recorded facts as a whole."""

    facts: FactsInput | None = None
    region_codes: list[RegionCode] | None = Field(default=None, min_length=1, max_length=20)
    fled_on: date | None = Field(default=None, description=FLED_ON)


class NondisclosureRequestBody(PersonChoice, RequesterFields):
    pass


class ConsentRequest(BaseModel):
    """Consent to one notice (``notice_id``) or to every notice of a ``category``."""

    addressee_number: str = Field(min_length=1, max_length=40)
    notice_id: uuid.UUID | None = None
    category: InboxCategory | None = None
    given_on: date = Field(description="本人が同意した日")
    channel: ConsentChannel = Field(description="同意の方法: window (窓口)・phone・writing")
    note: str | None = Field(default=None, max_length=consent.MAX_NOTE, pattern=MULTI_LINE)


# ---- views ------------------------------------------------------------------------------------


class PersonSummary(BaseModel):
    person_id: uuid.UUID
    name: str

    @classmethod
    def of(cls, person: Person) -> PersonSummary:
        return cls(person_id=person.id, name=person.name)


class FactsView(BaseModel):
    own_procedures: bool
    card_left_behind: bool
    perpetrator_is_proxy: bool
    perpetrator_is_legal_representative: bool


class RequesterView(BaseModel):
    requested_by: NondisclosureRequester
    supporter_body: str | None
    supporter_reason: str | None


class RegionView(BaseModel):
    codes: list[str]
    names: list[str]
    prefecture_codes: list[str] = Field(description="保護される都道府県 (市区町村の指定を含む)")


class UsageStopView(BaseModel):
    complete: bool = Field(description="利用停止手続が完了したか (実際の状態から判定)")
    open_paths: list[str] = Field(description="加害者にまだ開いている経路")


class StepView(BaseModel):
    kind: StepKind
    title: str
    reason: str
    done: bool
    required: bool = Field(description="false: 必要に応じて (利用停止手続の完了条件ではない)")

    @classmethod
    def of(cls, step: Step) -> StepView:
        return cls(
            kind=step.kind,
            title=step.title,
            reason=step.reason,
            done=step.done,
            required=step.required,
        )


class ProtectionView(BaseModel):
    """Everything the registering desk sees."""

    view: Literal["full"] = "full"
    id: uuid.UUID
    person: PersonSummary
    addressee_number: str
    facts: FactsView
    perpetrator: PersonSummary | None
    requester: RequesterView
    region: RegionView
    fled_on: date | None
    registered_at: datetime
    registered_by: str
    usage_stop: UsageStopView
    steps: list[StepView]
    excluded: bool = Field(description="お知らせの宛先から除外中 (利用停止手続の完了まで)")


class WatchOnlyView(BaseModel):
    """What another department of the institution sees: that the person is to be watched."""

    id: uuid.UUID
    to_be_watched: Literal[True] = True
    view: Literal["watch_only"] = "watch_only"


class ProtectionSummary(BaseModel):
    id: uuid.UUID
    addressee_number: str
    name: str
    registered_at: datetime
    excluded: bool
    usage_stop_complete: bool


class PathView(BaseModel):
    kind: PathKind
    label: str
    grant_id: int | None
    grant_kind: GrantKind | None
    viewer_person_id: uuid.UUID = Field(description="この経路で見る人 (カードなら本人の ID)")
    new_folder: bool = Field(description="カードでログインすると新しいフォルダーが開かれる")
    measure: str

    @classmethod
    def of(cls, path: OpenPath) -> PathView:
        return cls(
            kind=path.kind,
            label=path.kind.label,
            grant_id=path.grant_id,
            grant_kind=path.grant_kind,
            viewer_person_id=path.viewer_person_id,
            new_folder=path.new_folder,
            measure=path.measure,
        )


class InstitutionName(BaseModel):
    code: str
    name: str


class ExposedItemView(BaseModel):
    path_kind: PathKind
    grant_id: int | None
    view: ViewKind
    item_id: int
    title: str
    institutions: list[InstitutionName]
    reasons: list[str]
    measures: list[str]

    @classmethod
    def of(cls, item: ExposedItem) -> ExposedItemView:
        return cls(
            path_kind=item.path.kind,
            grant_id=item.path.grant_id,
            view=item.view,
            item_id=item.item_id,
            title=item.title,
            institutions=[InstitutionName(code=i.code, name=i.name) for i in item.institutions],
            reasons=list(item.reasons),
            measures=list(item.measures),
        )


class ExposureView(BaseModel):
    protection_id: uuid.UUID
    exposed: bool
    verdict: str = Field(description=f"「{NOT_EXPOSED}」または「{EXPOSED}」")
    checked_at: datetime
    paths: list[PathView]
    items: list[ExposedItemView] = Field(description="開いている経路に表示されている項目")
    held_back: list[ExposedItemView] = Field(
        description="隠している項目: 保護のため、開いている経路には表示していない項目"
    )
    details_withheld: bool = Field(
        description=(
            "保護地域の外の窓口には項目を示しません。このとき、経路が開いていれば露出ありとします"
        )
    )

    @classmethod
    def of(cls, report: ExposureReport) -> ExposureView:
        return cls(
            protection_id=report.protection_id,
            exposed=report.exposed,
            verdict=EXPOSED if report.exposed else NOT_EXPOSED,
            details_withheld=report.details_withheld,
            checked_at=report.checked_at,
            paths=[PathView.of(path) for path in report.paths],
            items=[ExposedItemView.of(item) for item in report.items],
            held_back=[ExposedItemView.of(item) for item in report.held_back],
        )


class RequestReportView(BaseModel):
    request_id: int
    addressee_number: str
    requested_by: NondisclosureRequester
    newly_set: bool
    records_flagged: int = Field(description="遡って不開示にした情報提供等記録の数")
    items_flagged: int = Field(description="遡って不開示にした副本の数")
    earlier_items_flagged: int = Field(description="遡って不開示にした記録と副本の合計")


class ExclusionView(BaseModel):
    addressee_number: str
    sources: list[ExclusionSource] = Field(description="把握の根拠: 相談窓口の登録・紙台帳・フラグ")


class WatchView(BaseModel):
    addressee_number: str
    to_be_watched: bool


class ConsentView(BaseModel):
    id: int
    addressee_number: str
    notice_id: uuid.UUID | None
    category: InboxCategory | None
    given_on: date
    channel: ConsentChannel
    channel_label: str
    note: str | None
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None

    @classmethod
    def of(cls, row: Consent) -> ConsentView:
        channel = ConsentChannel(row.channel)
        return cls(
            id=row.id,
            addressee_number=row.addressee_number,
            notice_id=row.notice_id,
            category=None if row.category is None else InboxCategory(row.category),
            given_on=row.given_on,
            channel=channel,
            channel_label=channel.label,
            note=row.note,
            recorded_at=row.recorded_at,
            recorded_by=row.recorded_by,
            withdrawn_at=row.withdrawn_at,
            withdrawn_by=row.withdrawn_by,
        )


class LedgerReportView(BaseModel):
    import_id: int
    rows: int
    added: int
    already_listed: int = Field(description="既に紙台帳にあった行")
    encoding: str
    encoding_label: str


class LedgerEntryView(BaseModel):
    addressee_number: str
    import_id: int
    row_number: int
    withdrawn_at: datetime | None
    withdrawn_by: str | None

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryView:
        return cls(
            addressee_number=entry.addressee_number,
            import_id=entry.import_id,
            row_number=entry.row_number,
            withdrawn_at=entry.withdrawn_at,
            withdrawn_by=entry.withdrawn_by,
        )


class DeskMessageView(BaseModel):
    id: int
    protection_id: uuid.UUID
    kind: DeskMessageKind
    body: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, message: DeskMessage) -> DeskMessageView:
        return cls(
            id=message.id,
            protection_id=message.protection_id,
            kind=DeskMessageKind(message.kind),
            body=message.body,
            created_at=message.created_at,
            read_at=message.read_at,
        )


def _full_view(session: Session, protection: Protection) -> ProtectionView:
    found = current_status(session, protection)
    region = service.protected_region(protection)
    perpetrator = protection.perpetrator_id
    return ProtectionView(
        id=protection.id,
        person=_named(session, protection.person_id),
        addressee_number=protection.addressee_number,
        facts=_facts_view(found),
        perpetrator=None if perpetrator is None else _named(session, perpetrator),
        requester=RequesterView(
            requested_by=NondisclosureRequester(protection.requested_by),
            supporter_body=protection.supporter_body,
            supporter_reason=protection.supporter_reason,
        ),
        region=RegionView(
            codes=list(region.codes),
            names=list(region.names),
            prefecture_codes=sorted(region.prefecture_codes),
        ),
        fled_on=protection.fled_on,
        registered_at=protection.registered_at,
        registered_by=protection.registered_by,
        usage_stop=UsageStopView(
            complete=found.usage_stop.complete, open_paths=list(found.usage_stop.open_paths)
        ),
        steps=[StepView.of(step) for step in found.steps],
        excluded=found.excluded,
    )


def _named(session: Session, person_id: uuid.UUID) -> PersonSummary:
    return PersonSummary.of(session.get_one(Person, person_id))


def _facts_view(found: ProtectionStatus) -> FactsView:
    return FactsView(
        own_procedures=found.facts.own_procedures,
        card_left_behind=found.facts.card_left_behind,
        perpetrator_is_proxy=found.facts.perpetrator_is_proxy,
        perpetrator_is_legal_representative=found.facts.perpetrator_is_legal_representative,
    )


def _summary(session: Session, protection: Protection) -> ProtectionSummary:
    found = current_status(session, protection)
    return ProtectionSummary(
        id=protection.id,
        addressee_number=protection.addressee_number,
        name=session.get_one(Person, protection.person_id).name,
        registered_at=protection.registered_at,
        excluded=found.excluded,
        usage_stop_complete=found.usage_stop.complete,
    )


# ---- finding persons --------------------------------------------------------------------------


def _invalid(fields: list[str], message: str) -> Problem:
    return Problem(
        422,
        message,
        slug="invalid-input",
        errors=[FieldError(field=field, message=message) for field in fields],
    )


def _by_my_number(session: Session, text: str, field: str) -> uuid.UUID:
    """The person a current 個人番号 belongs to; a fault names the field, never the number."""
    try:
        return registry.find_by_my_number(session, MyNumber.parse(text)).id
    except InvalidIdentifier as error:
        raise _invalid([field], f"個人番号: {error.fault_ja} ({error.fault_en})") from error
    except UnknownMyNumber as error:
        raise _invalid([field], f"{error.field}: {error.message}") from error


def _person_id(session: Session, institution: Institution, choice: PersonChoice) -> uuid.UUID:
    given = [name for name in PERSON_FIELDS if getattr(choice, name) is not None]
    if len(given) != 1:
        raise _invalid(
            [f"body.{name}" for name in given or PERSON_FIELDS],
            "my_number・addressee_number・person_id のどれか一つだけを指定してください"
            " (name the person by exactly one of them)",
        )
    if choice.my_number is not None:
        return _by_my_number(session, choice.my_number, "body.my_number")
    if choice.addressee_number is not None:
        return intermediate.person_of(
            session, institution=institution, addressee_number=choice.addressee_number
        )
    assert choice.person_id is not None  # noqa: S101  one field is given
    return choice.person_id


def _facts(session: Session, facts: FactsInput) -> CaseFacts:
    if facts.perpetrator_my_number is not None and facts.perpetrator_person_id is not None:
        raise _invalid(
            ["body.facts.perpetrator_my_number", "body.facts.perpetrator_person_id"],
            "加害者は perpetrator_my_number か perpetrator_person_id の"
            "どちらか一方で指定してください"
            " (name the perpetrator by at most one of them)",
        )
    perpetrator = facts.perpetrator_person_id
    if facts.perpetrator_my_number is not None:
        field = "body.facts.perpetrator_my_number"
        perpetrator = _by_my_number(session, facts.perpetrator_my_number, field)
    return CaseFacts(
        own_procedures=facts.own_procedures,
        card_left_behind=facts.card_left_behind,
        perpetrator_is_proxy=facts.perpetrator_is_proxy,
        perpetrator_is_legal_representative=facts.perpetrator_is_legal_representative,
        perpetrator_id=perpetrator,
    )


def _requester(body: RequesterFields) -> Requester:
    return Requester.checked(body.requested_by.value, body.supporter_body, body.supporter_reason)


# ---- the consultation desk --------------------------------------------------------------------


@router.post(
    "/protections",
    response_model=ProtectionView,
    status_code=status.HTTP_201_CREATED,
    summary="保護対象者の登録 (事案の内容と保護地域)",
)
def register_protection(
    body: ProtectionRegistration,
    request: Request,
    session: Database,
    principal: Principal = RegisteringDesk,
) -> ProtectionView:
    institution = get_institution(session, principal.institution_code)
    assert principal.department_id is not None  # noqa: S101  checked by RegisteringDesk
    requester = _requester(body)
    protection = service.register_protection(
        session,
        institution=institution,
        department_id=principal.department_id,
        person_id=_person_id(session, institution, body),
        facts=_facts(session, body.facts),
        region_codes=body.region_codes,
        requester=requester,
        fled_on=body.fled_on,
        network_key=network_key(request),
        actor=principal.actor,
    )
    return _full_view(session, protection)


@router.get(
    "/protections", response_model=list[ProtectionSummary], summary="自部署が登録した保護対象者"
)
def list_protections(
    session: Database, principal: Principal = DeskRoles
) -> list[ProtectionSummary]:
    found = service.list_desk_protections(session, viewer=viewer_of(principal))
    return [_summary(session, protection) for protection in found]


# Before /protections/{protection_id}, which would take "messages" for an id.
@router.get(
    "/protections/messages",
    response_model=list[DeskMessageView],
    summary="自部署へのお知らせ（除外の解除・再開、転出・転入、他機関からの情報照会、注意）",
)
def list_messages(
    session: Database,
    principal: Principal = DeskRoles,
    unread_only: Annotated[bool, Query(description="未読だけ")] = False,
) -> list[DeskMessageView]:
    found = messages.desk_messages(session, viewer=viewer_of(principal), unread_only=unread_only)
    return [DeskMessageView.of(message) for message in found]


@router.get(
    "/protections/{protection_id}",
    response_model=ProtectionView | WatchOnlyView,
    summary="保護対象者 (登録した窓口には全体、他の部署には要注意の旨だけ)",
)
def show_protection(
    protection_id: ProtectionPath, session: Database, principal: Principal = DeskRoles
) -> ProtectionView | WatchOnlyView:
    protection, view = service.access_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    if view is View.FULL:
        return _full_view(session, protection)
    return WatchOnlyView(id=protection.id)


@router.patch(
    "/protections/{protection_id}",
    response_model=ProtectionView,
    summary="事案の内容・保護地域・避難した日の訂正 (登録した窓口のみ)",
)
def change_protection(
    protection_id: ProtectionPath,
    body: ProtectionChange,
    session: Database,
    principal: Principal = DeskRoles,
) -> ProtectionView:
    viewer = viewer_of(principal)
    # Refuse before looking anyone up: a stranger must not learn whether a 個人番号 exists.
    service.desk_protection(session, protection_id=protection_id, viewer=viewer)
    protection = service.update_protection(
        session,
        protection_id=protection_id,
        viewer=viewer,
        facts=None if body.facts is None else _facts(session, body.facts),
        region_codes=body.region_codes,
        fled_on=body.fled_on,
    )
    return _full_view(session, protection)


@router.get(
    "/protections/{protection_id}/exposure",
    response_model=ExposureView,
    summary="加害者から見える情報の確認 (登録した窓口のみ)",
)
def check_exposure(
    protection_id: ProtectionPath,
    request: Request,
    session: Database,
    principal: Principal = DeskRoles,
) -> ExposureView:
    protection = service.desk_protection(
        session, protection_id=protection_id, viewer=viewer_of(principal)
    )
    report = exposure.check_exposure(
        session, protection, network_key=network_key(request), actor=principal.actor
    )
    return ExposureView.of(report)


@router.post(
    "/nondisclosure-requests",
    response_model=RequestReportView,
    status_code=status.HTTP_201_CREATED,
    summary="不開示措置の申出 (不開示フラグを設定し、過去の記録も不開示にする)",
)
def request_nondisclosure(
    body: NondisclosureRequestBody,
    request: Request,
    session: Database,
    principal: Principal = DeskRoles,
) -> RequestReportView:
    institution = get_institution(session, principal.institution_code)
    requester = _requester(body)
    report = requests.request_nondisclosure(
        session,
        institution=institution,
        person_id=_person_id(session, institution, body),
        requester=requester,
        network_key=network_key(request),
        actor=principal.actor,
    )
    return RequestReportView(
        request_id=report.request_id,
        addressee_number=report.flag.addressee_number,
        requested_by=report.flag.requested_by,
        newly_set=report.flag.newly_set,
        records_flagged=report.flag.records_flagged,
        items_flagged=report.flag.items_flagged,
        earlier_items_flagged=report.earlier_items_flagged,
    )


# ---- notice departments: exclusion, watch, consent --------------------------------------------


@router.get(
    "/institutions/{code}/exclusions",
    response_model=list[ExclusionView],
    summary="お知らせの宛先から除外する宛名番号の一覧",
)
def list_exclusions(
    institution: OwnInstitution, session: Database, principal: Principal = ScreeningRoles
) -> list[ExclusionView]:
    entries = exclusion.exclusion_list(session, institution=institution)
    audit.record(
        session,
        actor=principal.actor,
        action="protection.exclusions_read",
        institution=institution.code,
        details={"count": len(entries)},
    )
    return [
        ExclusionView(addressee_number=entry.addressee_number, sources=list(entry.sources))
        for entry in entries
    ]


@router.get(
    "/institutions/{code}/watch/{number}",
    response_model=WatchView,
    summary="留意すべき対象者か (どの部署でも)",
)
def show_watch(
    number: AddresseePath,
    institution: OwnInstitution,
    session: Database,
    principal: Authenticated,
) -> WatchView:
    parsed = str(parse_addressee_number(number))
    watched = exclusion.read_watch_flag(
        session, institution=institution, addressee_number=parsed, actor=principal.actor
    )
    return WatchView(addressee_number=parsed, to_be_watched=watched)


@router.post(
    "/institutions/{code}/consents",
    response_model=ConsentView,
    status_code=status.HTTP_201_CREATED,
    summary="お知らせを受け取る本人の同意の記録",
)
def record_consent(
    body: ConsentRequest,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = ScreeningRoles,
) -> ConsentView:
    recorded = consent.record_consent(
        session,
        institution=institution,
        addressee_number=body.addressee_number,
        notice_id=body.notice_id,
        category=None if body.category is None else body.category.value,
        given_on=body.given_on,
        channel=body.channel.value,
        note=body.note,
        actor=principal.actor,
    )
    return ConsentView.of(recorded)


@router.get(
    "/institutions/{code}/consents",
    response_model=list[ConsentView],
    summary="ある宛名番号の同意 (取り消したものを含む)",
)
def list_consents(
    addressee_number: Annotated[str, Query(min_length=1, max_length=40)],
    institution: OwnInstitution,
    session: Database,
    principal: Principal = ScreeningRoles,
) -> list[ConsentView]:
    found = consent.consents_of(session, institution=institution, addressee_number=addressee_number)
    return [ConsentView.of(row) for row in found]


@router.post(
    "/institutions/{code}/consents/{consent_id}/withdraw",
    response_model=ConsentView,
    summary="同意の取消し",
)
def withdraw_consent(
    consent_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    institution: OwnInstitution,
    session: Database,
    principal: Principal = ScreeningRoles,
) -> ConsentView:
    withdrawn = consent.withdraw_consent(
        session, institution=institution, consent_id=consent_id, actor=principal.actor
    )
    return ConsentView.of(withdrawn)


# ---- the paper ledger -------------------------------------------------------------------------


@router.post(
    "/institutions/{code}/ledger",
    response_model=LedgerReportView,
    status_code=status.HTTP_201_CREATED,
    summary="紙台帳の取込み (一行でも誤りがあれば何も取り込まない)",
    openapi_extra=csv_request_body(
        "紙台帳の CSV (見出しに「団体内統合宛名番号」の列; UTF-8 または CP932)"
    ),
    responses=TOO_LARGE_RESPONSE,
)
def import_ledger(
    institution: OwnInstitution,
    session: Database,
    data: Annotated[bytes, Depends(csv_body())],
    principal: Principal = ScreeningRoles,
    encoding: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="utf-8・cp932 など")
    ] = None,
    filename: Annotated[str | None, Query(max_length=255, pattern=ONE_LINE)] = None,
) -> LedgerReportView:
    report = ledger.import_ledger(
        session,
        institution=institution,
        data=data,
        filename=filename or "-",
        actor=principal.actor,
        encoding=encoding,
    )
    return LedgerReportView(
        import_id=report.import_id,
        rows=report.rows,
        added=report.added,
        already_listed=report.already_listed,
        encoding=report.encoding.value,
        encoding_label=report.encoding.label,
    )


@router.get(
    "/institutions/{code}/ledger",
    response_model=list[LedgerEntryView],
    summary="紙台帳にある宛名番号",
)
def list_ledger(
    institution: OwnInstitution, session: Database, principal: Principal = ScreeningRoles
) -> list[LedgerEntryView]:
    entries = ledger.ledger_entries(session, institution=institution)
    audit.record(
        session,
        actor=principal.actor,
        action="protection.ledger_read",
        institution=institution.code,
        details={"count": len(entries)},
    )
    return [LedgerEntryView.of(entry) for entry in entries]


@router.delete(
    "/institutions/{code}/ledger/{number}",
    response_model=LedgerEntryView,
    summary="紙台帳から外す",
)
def withdraw_ledger_entry(
    number: AddresseePath,
    institution: OwnInstitution,
    session: Database,
    principal: Principal = ScreeningRoles,
) -> LedgerEntryView:
    entry = ledger.withdraw_ledger_entry(
        session, institution=institution, addressee_number=number, actor=principal.actor
    )
    return LedgerEntryView.of(entry)
