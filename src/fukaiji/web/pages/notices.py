"""お知らせ送信担当 (notice sender): write a notice, attach its destination file (宛先ファイル),
screen it against the exclusion list, start sending, and follow the job to its report.

The same service calls and access rules as the JSON API (``web/api/notices.py``): notices of
the own institution only (another institution's is "not found"); only the department that
wrote a notice changes, screens or sends it (others may read it; refusals are audited); reading
a screening report is audited; the reason a row was removed is never more than 要確認.

The destination file comes as a multipart form, read no further than the API's limit
(``uploads.MAX_CSV_BYTES``). Every bad row is shown with its row number and reason, and a
12-digit value (perhaps a 個人番号 in the wrong column) never appears. The job page polls a
fragment with htmx every 2 seconds while the job runs; without JavaScript, reloading it does
the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.types import Message

from fukaiji.errors import DomainError
from fukaiji.intermediate.addressee_files import Encoding
from fukaiji.network.institutions import get_institution
from fukaiji.notices import jobs, service
from fukaiji.notices.errors import DestinationRejected
from fukaiji.notices.models import Notice
from fukaiji.notices.service import REVIEW_REASON
from fukaiji.portal.rules import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from fukaiji.portal.states import InboxCategory
from fukaiji.staff.roles import StaffRole

# The API's access rules, used as they are so that the screens cannot drift from them.
from fukaiji.web.api.notices import readable_notice, screening_view, writable_notice
from fukaiji.web.api.uploads import MAX_CSV_BYTES, too_large, viewer_of
from fukaiji.web.deps import Database, Principal
from fukaiji.web.pages._common import (
    FormState,
    checked_form,
    redirect,
    render,
    staff_screen,
    tokyo_time,
    undo_unless_kept,
)

router = APIRouter(prefix="/staff/notices", include_in_schema=False)
Sender = Annotated[Principal, Depends(staff_screen(StaffRole.NOTICE_SENDER))]

# The multipart envelope around the file: boundaries, part headers, the other fields.
FORM_OVERHEAD_BYTES = 64 * 1024
CATEGORIES = [(category.value, category.label) for category in InboxCategory]
ENCODINGS = [("auto", "自動判定"), ("utf-8", "UTF-8"), ("cp932", "CP932 (Shift_JIS)")]
# Services name the file's faults in Japanese; the upload form calls its fields by these names.
FORM_FIELDS = {
    "宛先ファイル": "file",
    "団体内統合宛名番号": "file",
    "destination": "file",
    "文字コード": "encoding",
}
STATE_LABELS = {
    "not_started": "未送信",
    "queued": "送信待ち",
    "running": "送信中",
    "done": "送信完了",
}
DONE_MESSAGES = {
    "created": "お知らせを作成しました。宛先ファイルを添付してください。",
    "uploaded": "宛先ファイルを添付しました。",
    "screened": "宛先ファイルを確認し、留意すべき対象者を宛先から除きました。",
}


def _refused(values: Mapping[str, Any], error: DomainError) -> FormState:
    return FormState.refused(values, error, field_names=FORM_FIELDS)


def _department_names(session: Session, principal: Principal) -> dict[int, str]:
    institution = get_institution(session, principal.institution_code)
    return {department.id: department.name for department in institution.departments}


# ---- the list and a new notice ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeRow:
    notice: Notice
    department: str
    destination_attached: bool
    screened: bool
    state: str


@router.get("", response_class=HTMLResponse)
def list_notices(request: Request, session: Database, principal: Sender) -> HTMLResponse:
    departments = _department_names(session, principal)
    rows = []
    for notice in service.list_notices(session, viewer=viewer_of(principal)):
        file = service.destination_of(session, notice)
        report = None if file is None else jobs.delivery_report(session, notice=notice)
        rows.append(
            NoticeRow(
                notice=notice,
                department=departments.get(notice.department_id, ""),
                destination_attached=file is not None,
                screened=file is not None and file.screened_at is not None,
                state="not_started" if report is None else report.state,
            )
        )
    return render(
        request,
        "notices/list.html",
        principal=principal,
        rows=rows,
        states=STATE_LABELS,
        categories=dict(CATEGORIES),
        when=tokyo_time,
    )


def _new_form(
    request: Request, principal: Principal, form: FormState | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "notices/new.html",
        principal=principal,
        status_code=status_code,
        form=form or FormState(),
        categories=CATEGORIES,
        title_max=TITLE_MAX_LENGTH,
        body_max=BODY_MAX_LENGTH,
    )


@router.get("/new", response_class=HTMLResponse)
def new_notice(request: Request, principal: Sender) -> HTMLResponse:
    return _new_form(request, principal)


@router.post("", response_class=HTMLResponse)
async def create_notice(request: Request, session: Database, principal: Sender) -> Response:
    values = await checked_form(request, session, principal)
    try:
        notice = service.create_notice(
            session,
            sender=viewer_of(principal),
            title=str(values.get("title", "")),
            body=str(values.get("body", "")),
            category=str(values.get("category", "")),
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        return _new_form(request, principal, _refused(values, error), status_code=422)
    return redirect(f"/staff/notices/{notice.id}?done=created")


# ---- one notice: its file, screening and sending ----------------------------------------------


def _notice_page(
    request: Request,
    session: Session,
    principal: Principal,
    notice: Notice,
    *,
    form: FormState | None = None,
    rejected: tuple[Any, ...] = (),
    status_code: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    file = service.destination_of(session, notice)
    screened = file is not None and file.screened_at is not None
    delivery = None if file is None else jobs.delivery_report(session, notice=notice)
    return render(
        request,
        "notices/detail.html",
        principal=principal,
        status_code=status_code,
        form=form or FormState(),
        flash=flash,
        notice=notice,
        category=InboxCategory(notice.category).label,
        department=_department_names(session, principal).get(notice.department_id, ""),
        writable=notice.department_id == principal.department_id,
        file=file,
        encoding_label="" if file is None else Encoding(file.encoding).label,
        faults=[] if file is None else service.destination_faults(session, notice=notice),
        rejected=rejected,
        screening=screening_view(session, notice, principal) if screened else None,
        delivery=delivery,
        encodings=ENCODINGS,
        review_reason=REVIEW_REASON,
        max_megabytes=MAX_CSV_BYTES // (1024 * 1024),
        when=tokyo_time,
    )


@router.get("/{notice_id}", response_class=HTMLResponse)
def show_notice(
    notice_id: uuid.UUID,
    request: Request,
    session: Database,
    principal: Sender,
    done: str | None = None,
) -> HTMLResponse:
    notice = readable_notice(notice_id, session, principal)
    flash = DONE_MESSAGES.get(done or "")
    return _notice_page(request, session, principal, notice, flash=flash)


def _size_limited(request: Request) -> Request:
    """The request, whose body is refused (413) as soon as it passes the API's file limit."""
    limit = MAX_CSV_BYTES + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large()
        return message

    return Request(request.scope, receive)


@router.post("/{notice_id}/destination", response_class=HTMLResponse)
async def attach_destination(
    notice_id: uuid.UUID, request: Request, session: Database, principal: Sender
) -> Response:
    values = await checked_form(_size_limited(request), session, principal)
    notice = writable_notice(notice_id, request, session, principal)
    upload = values.get("file")
    shown = {"encoding": str(values.get("encoding", "auto")), "strict": values.get("strict", "")}
    if not isinstance(upload, UploadFile) or not upload.filename:
        form = FormState(values=shown, errors={"file": "宛先ファイルを選んでください"})
        return _notice_page(request, session, principal, notice, form=form, status_code=422)
    data = await upload.read()
    if len(data) > MAX_CSV_BYTES:
        raise too_large()
    try:
        service.attach_destination(
            session,
            notice=notice,
            sender=viewer_of(principal),
            data=data,
            filename=upload.filename,
            encoding=None if shown["encoding"] == "auto" else shown["encoding"],
            strict=bool(shown["strict"]),
        )
    except DomainError as error:
        undo_unless_kept(session, error)
        rejected = error.faults if isinstance(error, DestinationRejected) else ()
        form = _refused(shown, error)
        if rejected:  # the rows are listed one by one under the field; no need to repeat them
            form.errors["file"] = (
                f"{len(rejected)} 行に誤りがあるため、ファイル全体を受け付けませんでした"
                "（厳格モード。何も添付していません）"
            )
        return _notice_page(
            request, session, principal, notice, form=form, rejected=rejected, status_code=422
        )
    return redirect(f"/staff/notices/{notice.id}?done=uploaded")


@router.post("/{notice_id}/screening", response_class=HTMLResponse)
async def screen_destination(
    notice_id: uuid.UUID, request: Request, session: Database, principal: Sender
) -> Response:
    values = await checked_form(request, session, principal)
    notice = writable_notice(notice_id, request, session, principal)
    try:
        service.screen(session, notice=notice, sender=viewer_of(principal))
    except DomainError as error:
        undo_unless_kept(session, error)
        form = _refused(values, error)
        return _notice_page(request, session, principal, notice, form=form, status_code=422)
    return redirect(f"/staff/notices/{notice.id}?done=screened")


@router.post("/{notice_id}/send", response_class=HTMLResponse)
async def start_sending(
    notice_id: uuid.UUID, request: Request, session: Database, principal: Sender
) -> Response:
    values = await checked_form(request, session, principal)
    notice = writable_notice(notice_id, request, session, principal)
    try:
        jobs.start_sending(session, notice=notice, sender=viewer_of(principal))
    except DomainError as error:
        undo_unless_kept(session, error)
        form = _refused(values, error)
        return _notice_page(request, session, principal, notice, form=form, status_code=422)
    return redirect(f"/staff/notices/{notice.id}/delivery")


# ---- the sending job --------------------------------------------------------------------------


def _progress_context(session: Session, notice: Notice) -> dict[str, Any]:
    report = (
        None
        if service.destination_of(session, notice) is None
        else jobs.delivery_report(session, notice=notice)
    )
    state = "not_started" if report is None else report.state
    return {
        "notice": notice,
        "report": report,
        "state": state,
        "state_label": STATE_LABELS[state],
        "polling": state in ("queued", "running"),
        "when": tokyo_time,
    }


@router.get("/{notice_id}/delivery", response_class=HTMLResponse)
def show_delivery(
    notice_id: uuid.UUID, request: Request, session: Database, principal: Sender
) -> HTMLResponse:
    notice = readable_notice(notice_id, session, principal)
    context = _progress_context(session, notice)
    return render(request, "notices/delivery.html", principal=principal, **context)


@router.get("/{notice_id}/delivery/progress", response_class=HTMLResponse)
def delivery_progress(
    notice_id: uuid.UUID, request: Request, session: Database, principal: Sender
) -> HTMLResponse:
    """The progress fragment alone, for htmx to swap in every 2 seconds."""
    notice = readable_notice(notice_id, session, principal)
    context = _progress_context(session, notice)
    return render(request, "notices/_progress.html", principal=principal, **context)
