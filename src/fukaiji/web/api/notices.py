"""お知らせ through the API: a notice-sending department (お知らせ送信担当) writes a notice,
attaches its destination file (宛先ファイル), screens it against the exclusion list, and queues it
for sending; a worker sends it (``fukaiji.notices.jobs.work``), every addressee through the gate.

Who may do what:

* every route needs the お知らせ送信担当 role, and sees the notices of its own institution only; a
  notice of another institution is "not found" exactly as an id that names nothing;
* a notice belongs to the department of the staff member who wrote it. Only that department
  changes it (destination file, screening, sending); another department of the institution may
  read it, but its screening report without the removed rows (``removed_rows: null``). An API
  key belongs to no department: it may read, never write. Every refusal is audited.
* the reason a row was removed is never more than "要確認 (留意すべき対象者)", and reading a
  screening report is audited (which rows were removed is protection knowledge).

A bad row is shown by its row number and its ``shown_value``: a 12-digit value (perhaps a
個人番号 in the wrong column) is never echoed.

``GET /notices/{id}/delivery`` answers 200 with ``state: "not_started"`` (and zero counts) for a
notice whose sending has not started, rather than 404: the notice exists, it has simply not been
sent, and a client polling for progress needs no special case.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.intermediate.addressee_files import Encoding
from fukaiji.network.models import Department
from fukaiji.notices import jobs, service
from fukaiji.notices.models import DestinationFault, DestinationFile, Notice, SendJob
from fukaiji.notices.service import REVIEW_REASON, ScreeningReport, notice_subject
from fukaiji.portal.rules import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from fukaiji.portal.states import InboxCategory
from fukaiji.staff.roles import StaffRole
from fukaiji.web.api.uploads import (
    MULTI_LINE,
    ONE_LINE,
    TOO_LARGE_RESPONSE,
    csv_body,
    csv_request_body,
    viewer_of,
)
from fukaiji.web.deps import Database, Principal, refuse, require_roles

router = APIRouter(tags=["notices"])
SenderRoles = Depends(require_roles(StaffRole.NOTICE_SENDER))
NoticePath = Annotated[uuid.UUID, Path(description="お知らせの ID")]

NOT_STARTED = "not_started"


def _refuse_without_department(session: Session, principal: Principal, request: Request) -> None:
    if principal.department_id is None:
        raise refuse(
            session,
            principal,
            request,
            reason="no_department",
            detail="お知らせは送信する部署の職員だけが作成・変更・送信できます。"
            "API キーではできません (a notice is written and sent by a department's staff member;"
            " an API key belongs to no department)",
        )


def _sending_staff(
    request: Request, session: Database, principal: Principal = SenderRoles
) -> Principal:
    """A sender's staff member: a notice is written by a department, and an API key belongs to
    no department."""
    _refuse_without_department(session, principal, request)
    return principal


SendingStaff = Depends(_sending_staff)


def readable_notice(notice_id: uuid.UUID, session: Session, principal: Principal) -> Notice:
    return service.get_notice(session, notice_id=notice_id, viewer=viewer_of(principal))


def writable_notice(
    notice_id: uuid.UUID, request: Request, session: Session, principal: Principal
) -> Notice:
    """The notice, if the caller's department wrote it (another institution's: "not found").

    Called in the route's body, not as a dependency: by then the path is a valid id, so the
    audited refusal names a path of bounded length."""
    _refuse_without_department(session, principal, request)
    notice = readable_notice(notice_id, session, principal)
    if notice.department_id == principal.department_id:
        return notice
    raise refuse(
        session,
        principal,
        request,
        reason="not_sending_department",
        detail="このお知らせを作成した部署の職員だけが変更・送信できます"
        " (only the department that wrote the notice may change or send it)",
    )


# ---- requests ---------------------------------------------------------------------------------


class NoticeCreate(BaseModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=ONE_LINE)
    body: str = Field(min_length=1, max_length=BODY_MAX_LENGTH, pattern=MULTI_LINE)
    category: InboxCategory = Field(description="お知らせの種類")


# ---- views ------------------------------------------------------------------------------------


class NoticeView(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    category: InboxCategory
    category_label: str
    department: str = Field(description="作成した (送信する) 部署")
    created_at: datetime
    created_by: str


class NoticeSummary(BaseModel):
    id: uuid.UUID
    title: str
    category: InboxCategory
    department: str
    created_at: datetime
    destination_attached: bool = Field(description="宛先ファイルが添付されているか")
    screened: bool = Field(description="宛先ファイルの確認 (除外) を行ったか")
    delivery_state: str = Field(description="not_started・queued・running・done")


class DestinationView(BaseModel):
    filename: str
    sha256: str
    encoding: str
    encoding_label: str
    rows: int = Field(description="宛先として読めた行の数")
    bad_rows: int = Field(description="誤りのある行の数 (送信しない)")
    uploaded_at: datetime
    uploaded_by: str
    screened_at: datetime | None

    @classmethod
    def of(cls, file: DestinationFile) -> DestinationView:
        encoding = Encoding(file.encoding)
        return cls(
            filename=file.filename,
            sha256=file.sha256,
            encoding=encoding.value,
            encoding_label=encoding.label,
            rows=file.row_count,
            bad_rows=file.fault_count,
            uploaded_at=file.uploaded_at,
            uploaded_by=file.uploaded_by,
            screened_at=file.screened_at,
        )


class UploadView(BaseModel):
    rows: int = Field(description="宛先として読めた行の数")
    faults: int = Field(description="誤りのある行の数 (一覧は destination/faults)")
    encoding: str
    encoding_label: str


class FaultView(BaseModel):
    row_number: int = Field(description="行番号 (見出し行が 1)")
    value: str = Field(description="その行の値 (12 桁の番号は表示しない)")
    reason: str

    @classmethod
    def of(cls, fault: DestinationFault) -> FaultView:
        # Stored as the fault's shown_value by the service: a 12-digit value is never kept.
        return cls(row_number=fault.row_number, value=fault.value, reason=fault.reason)


class ScreeningView(BaseModel):
    screened: bool
    rows: int
    kept: int
    removed: int
    bad_rows: int
    screened_at: datetime | None
    removed_rows: list[int] | None = Field(
        description="除外した行の行番号 (作成した部署にだけ示す。他の部署には null)"
    )
    reason: Literal["要確認 (留意すべき対象者)"] = Field(
        default=REVIEW_REASON, description="除外の理由 (これ以上は示さない)"
    )

    @classmethod
    def of(cls, report: ScreeningReport) -> ScreeningView:
        return cls(
            screened=report.screened_at is not None,
            rows=report.rows,
            kept=report.kept,
            removed=report.removed,
            bad_rows=report.bad_rows,
            screened_at=report.screened_at,
            removed_rows=None if report.removed_rows is None else list(report.removed_rows),
            reason=REVIEW_REASON,
        )


class JobView(BaseModel):
    id: int
    notice_id: uuid.UUID
    state: str
    total: int = Field(description="送信する宛先の数 (確認で除外した行を除く)")

    @classmethod
    def of(cls, job: SendJob) -> JobView:
        return cls(id=job.id, notice_id=job.notice_id, state=job.state, total=job.total)


class DeliveryView(BaseModel):
    state: Literal["not_started", "queued", "running", "done"]
    total: int = Field(description="送信する宛先の数")
    done: int = Field(description="処理を終えた宛先の数")
    sent: int = Field(description="利用者フォルダーに届けた数")
    blocked: int = Field(description="送信時の確認 (ゲート) で止めた数")
    no_account: int = Field(description="利用者フォルダーがなく届けられなかった数")
    removed_by_screening: int = Field(description="宛先ファイルの確認で除外した数")
    bad_rows: int = Field(description="宛先ファイルの誤りのある行の数")
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, report: jobs.DeliveryReport | None) -> DeliveryView:
        if report is None:
            return cls(
                state=NOT_STARTED,
                total=0,
                done=0,
                sent=0,
                blocked=0,
                no_account=0,
                removed_by_screening=0,
                bad_rows=0,
                started_at=None,
                finished_at=None,
            )
        return cls(
            state=report.state,  # one of the job's states, checked by the model
            total=report.total,
            done=report.done,
            sent=report.sent,
            blocked=report.blocked,
            no_account=report.no_account,
            removed_by_screening=report.removed_by_screening,
            bad_rows=report.bad_rows,
            started_at=report.started_at,
            finished_at=report.finished_at,
        )


class NoticeDetail(NoticeView):
    destination: DestinationView | None
    screening: ScreeningView | None = Field(description="確認の結果 (確認を行ったとき)")
    delivery: DeliveryView | None = Field(description="送信の状況 (送信を開始したとき)")


def _department_name(session: Session, notice: Notice) -> str:
    return session.get_one(Department, notice.department_id).name


def _notice_view(session: Session, notice: Notice) -> NoticeView:
    category = InboxCategory(notice.category)
    return NoticeView(
        id=notice.id,
        title=notice.title,
        body=notice.body,
        category=category,
        category_label=category.label,
        department=_department_name(session, notice),
        created_at=notice.created_at,
        created_by=notice.created_by,
    )


def screening_view(session: Session, notice: Notice, principal: Principal) -> ScreeningView:
    """The screening report as the caller may see it; the read is audited."""
    report = service.screening_report(session, notice=notice, viewer=viewer_of(principal))
    audit.record(
        session,
        actor=principal.actor,
        action="notices.screening_read",
        institution=principal.institution_code,
        subject=notice_subject(notice.id),
        details={"removed": report.removed, "rows_shown": report.removed_rows is not None},
    )
    return ScreeningView.of(report)


# ---- notices ----------------------------------------------------------------------------------


@router.post(
    "/notices",
    response_model=NoticeView,
    status_code=status.HTTP_201_CREATED,
    summary="お知らせの作成 (自部署から送信する)",
)
def create_notice(
    body: NoticeCreate, session: Database, principal: Principal = SendingStaff
) -> NoticeView:
    notice = service.create_notice(
        session,
        sender=viewer_of(principal),
        title=body.title,
        body=body.body,
        category=body.category.value,
    )
    return _notice_view(session, notice)


@router.get("/notices", response_model=list[NoticeSummary], summary="自機関のお知らせ")
def list_notices(session: Database, principal: Principal = SenderRoles) -> list[NoticeSummary]:
    summaries = []
    for notice in service.list_notices(session, viewer=viewer_of(principal)):
        file = service.destination_of(session, notice)
        report = None if file is None else jobs.delivery_report(session, notice=notice)
        summaries.append(
            NoticeSummary(
                id=notice.id,
                title=notice.title,
                category=InboxCategory(notice.category),
                department=_department_name(session, notice),
                created_at=notice.created_at,
                destination_attached=file is not None,
                screened=file is not None and file.screened_at is not None,
                delivery_state=NOT_STARTED if report is None else report.state,
            )
        )
    return summaries


@router.get(
    "/notices/{notice_id}",
    response_model=NoticeDetail,
    summary="お知らせと宛先ファイル・確認・送信の状況",
)
def show_notice(
    notice_id: NoticePath, session: Database, principal: Principal = SenderRoles
) -> NoticeDetail:
    notice = readable_notice(notice_id, session, principal)
    file = service.destination_of(session, notice)
    screened = file is not None and file.screened_at is not None
    report = None if file is None else jobs.delivery_report(session, notice=notice)
    return NoticeDetail(
        **_notice_view(session, notice).model_dump(),
        destination=None if file is None else DestinationView.of(file),
        screening=screening_view(session, notice, principal) if screened else None,
        delivery=None if report is None else DeliveryView.of(report),
    )


# ---- the destination file ---------------------------------------------------------------------


@router.put(
    "/notices/{notice_id}/destination",
    response_model=UploadView,
    summary="宛先ファイルの添付・差替え (送信開始まで。strict なら誤りが一行でもあれば拒否)",
    openapi_extra=csv_request_body(
        "宛先ファイルの CSV (見出しに「団体内統合宛名番号」の列; UTF-8 または CP932)"
    ),
    responses=TOO_LARGE_RESPONSE,
)
def attach_destination(
    notice_id: NoticePath,
    request: Request,
    session: Database,
    principal: Principal = SenderRoles,
    *,
    # After ``principal``: the body is read only once the caller is let through.
    data: Annotated[bytes, Depends(csv_body())],
    encoding: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="utf-8・cp932 など")
    ] = None,
    filename: Annotated[str | None, Query(max_length=255, pattern=ONE_LINE)] = None,
    strict: Annotated[
        bool, Query(description="誤りのある行が一つでもあればファイル全体を受け付けない")
    ] = False,
) -> UploadView:
    notice = writable_notice(notice_id, request, session, principal)
    report = service.attach_destination(
        session,
        notice=notice,
        sender=viewer_of(principal),
        data=data,
        filename=filename or "-",
        encoding=encoding,
        strict=strict,
    )
    return UploadView(
        rows=report.rows,
        faults=report.faults,
        encoding=report.encoding.value,
        encoding_label=report.encoding.label,
    )


@router.get(
    "/notices/{notice_id}/destination/faults",
    response_model=list[FaultView],
    summary="宛先ファイルの誤りのある行 (すべて)",
)
def list_destination_faults(
    notice_id: NoticePath, session: Database, principal: Principal = SenderRoles
) -> list[FaultView]:
    notice = readable_notice(notice_id, session, principal)
    return [FaultView.of(fault) for fault in service.destination_faults(session, notice=notice)]


# ---- screening and sending --------------------------------------------------------------------


@router.post(
    "/notices/{notice_id}/screening",
    response_model=ScreeningView,
    summary="宛先ファイルの確認 (除外リストにある人を宛先から除く)",
)
def screen_destination(
    notice_id: NoticePath,
    request: Request,
    session: Database,
    principal: Principal = SenderRoles,
) -> ScreeningView:
    notice = writable_notice(notice_id, request, session, principal)
    return ScreeningView.of(service.screen(session, notice=notice, sender=viewer_of(principal)))


@router.get(
    "/notices/{notice_id}/screening",
    response_model=ScreeningView,
    summary="確認の結果 (除外した行番号は作成した部署にだけ示す)",
)
def show_screening(
    notice_id: NoticePath, session: Database, principal: Principal = SenderRoles
) -> ScreeningView:
    notice = readable_notice(notice_id, session, principal)
    return screening_view(session, notice, principal)


@router.post(
    "/notices/{notice_id}/send",
    response_model=JobView,
    status_code=status.HTTP_202_ACCEPTED,
    summary="送信の開始 (送信ジョブを登録し、ワーカーが送る。一度だけ)",
)
def start_sending(
    notice_id: NoticePath,
    request: Request,
    session: Database,
    principal: Principal = SenderRoles,
) -> JobView:
    notice = writable_notice(notice_id, request, session, principal)
    job = jobs.start_sending(session, notice=notice, sender=viewer_of(principal))
    return JobView.of(job)


@router.get(
    "/notices/{notice_id}/delivery",
    response_model=DeliveryView,
    summary="送信の状況 (開始前は state が not_started)",
)
def show_delivery(
    notice_id: NoticePath, session: Database, principal: Principal = SenderRoles
) -> DeliveryView:
    notice = readable_notice(notice_id, session, principal)
    return DeliveryView.of(jobs.delivery_report(session, notice=notice))
