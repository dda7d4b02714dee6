"""マイナポータルの 3 つの表示 through the API: やりとり履歴, 自己情報 and お知らせ, a page at a
time (newest first), narrowed by institution, period and kind.

Thin: the query's texts become a ``PageRequest`` (``fukaiji.portal.paging.page_request``, which
names the field of anything wrong), ``portal.view_folder`` builds the page with the protective
mask, and the positions of the next and previous pages go out only as sealed cursors
(``public_ids.cursor``). The per-view lists keep their body a list and say where the next and
previous pages are in a ``Link`` header; ``/folder`` gives the first page of each view with the
cursor of its next page.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from fukaiji.db.keyset import Direction
from fukaiji.intermediate.display import DisclosableRecord, DisclosableSelfInfo
from fukaiji.network.linkage import InstitutionRef
from fukaiji.network.models import InstitutionKind, LinkageStatus
from fukaiji.portal import service as portal
from fukaiji.portal.folder import FolderView, InboxItem
from fukaiji.portal.models import PortalSession
from fukaiji.portal.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest, page_request
from fukaiji.portal.public_ids import IdKind, cursor, optional_public_id, public_id
from fukaiji.portal.states import InboxCategory, ViewKind
from fukaiji.web.api.portal import FOLDER_ID, GRANT_ID, PREFIX
from fukaiji.web.deps import Database, network_key
from fukaiji.web.portal_deps import PortalAuthenticated, portal_authenticated

router = APIRouter(tags=["portal"], prefix=PREFIX, dependencies=[Depends(portal_authenticated)])


class InstitutionName(BaseModel):
    code: str
    name: str
    kind: InstitutionKind
    kind_label: str

    @classmethod
    def of(cls, institution: InstitutionRef) -> InstitutionName:
        return cls(
            code=institution.code,
            name=institution.name,
            kind=institution.kind,
            kind_label=institution.kind.label,
        )


_OPAQUE_ID = "この利用者フォルダーでの項目の識別子です。番号の順序や間隔には意味がありません。"


class RecordItem(BaseModel):
    """やりとり履歴 (情報提供等記録)."""

    record_id: str = Field(description=_OPAQUE_ID)
    occurred_at: datetime
    requester: InstitutionName
    provider: InstitutionName
    affair_code: str
    affair_name: str
    item_code: str
    item_name: str
    status: LinkageStatus
    status_label: str

    @classmethod
    def of(cls, record: DisclosableRecord, view: FolderView) -> RecordItem:
        return cls(
            record_id=view.public_id(record),
            occurred_at=record.occurred_at,
            requester=InstitutionName.of(record.requester),
            provider=InstitutionName.of(record.provider),
            affair_code=record.affair_code,
            affair_name=record.affair_name,
            item_code=record.item_code,
            item_name=record.item_name,
            status=record.status,
            status_label=record.status.label,
        )


class SelfInfoEntry(BaseModel):
    """自己情報 (the current version of one 副本 item)."""

    item_id: str = Field(description=_OPAQUE_ID)
    institution: InstitutionName
    item_code: str
    item_name: str
    version: int
    content: dict[str, Any]
    publish_from: date
    publish_until: date | None
    registered_at: datetime

    @classmethod
    def of(cls, item: DisclosableSelfInfo, view: FolderView) -> SelfInfoEntry:
        return cls(
            item_id=view.public_id(item),
            institution=InstitutionName.of(item.institution),
            item_code=item.item_code,
            item_name=item.item_name,
            version=item.version,
            content=json.loads(item.content_json),
            publish_from=item.publish_from,
            publish_until=item.publish_until,
            registered_at=item.registered_at,
        )


class InboxEntry(BaseModel):
    """お知らせ."""

    message_id: str = Field(description=_OPAQUE_ID)
    institution: InstitutionName
    category: InboxCategory
    category_label: str
    title: str
    body: str
    delivered_at: datetime

    @classmethod
    def of(cls, item: InboxItem, view: FolderView) -> InboxEntry:
        return cls(
            message_id=view.public_id(item),
            institution=InstitutionName.of(item.institution),
            category=item.category,
            category_label=item.category.label,
            title=item.title,
            body=item.body,
            delivered_at=item.delivered_at,
        )


class FolderCursors(BaseModel):
    """Where each view continues: give it as ``cursor`` to that view's list."""

    records: str | None = Field(
        default=None, description="やりとり履歴の次のページ（/records の cursor）。なければ null"
    )
    self_info: str | None = Field(
        default=None, description="自己情報の次のページ（/self-info の cursor）。なければ null"
    )
    inbox: str | None = Field(
        default=None, description="お知らせの次のページ（/inbox の cursor）。なければ null"
    )


class FolderResponse(BaseModel):
    account_id: str = Field(description=FOLDER_ID)
    as_proxy: bool
    grant_id: str | None = Field(description=GRANT_ID)
    records: list[RecordItem]
    self_info: list[SelfInfoEntry]
    inbox: list[InboxEntry]
    next: FolderCursors = Field(description="各表示の次のページを示す値")

    @classmethod
    def of(cls, view: FolderView) -> FolderResponse:
        return cls(
            account_id=public_id(IdKind.ACCOUNT, view.account_id),
            as_proxy=view.grant_id is not None,
            grant_id=optional_public_id(IdKind.GRANT, view.grant_id),
            records=[RecordItem.of(record, view) for record in view.records],
            self_info=[SelfInfoEntry.of(item, view) for item in view.self_info],
            inbox=[InboxEntry.of(item, view) for item in view.inbox],
            next=FolderCursors(
                **{
                    part.value: _cursor(view, part, Direction.OLDER)
                    for part in view.parts
                    if part in view.next
                }
            ),
        )


# ---- the query of a view ---------------------------------------------------------------------

_CURSOR = (
    '続きのページを示す値です。前の応答の Link ヘッダー（rel="next" または rel="prev"）か'
    "フォルダの next にあるものをそのまま指定します。省略すると最新のページです。"
)
_LIMIT = (
    f"1 ページの件数です。1 から {MAX_PAGE_SIZE} までの整数で、"
    f"省略すると {DEFAULT_PAGE_SIZE} 件です。"
)
_INSTITUTION = "この機関が関わるものだけを表示します（機関コード。例: 131016）。"
_FROM = "この日以後のものだけを表示します（日本時間の日付。例: 2026-04-01）。"
_TO = "この日以前のものだけを表示します（日本時間の日付。例: 2026-12-31）。"


class ViewQuery:
    """The texts of a view's query, checked by ``page_request`` (not by FastAPI, so that every
    fault comes back in Japanese naming its field)."""

    def __init__(
        self,
        cursor: Annotated[str | None, Query(max_length=200, description=_CURSOR)] = None,
        limit: Annotated[str | None, Query(max_length=10, description=_LIMIT)] = None,
        institution: Annotated[str | None, Query(max_length=20, description=_INSTITUTION)] = None,
        since: Annotated[str | None, Query(alias="from", max_length=20, description=_FROM)] = None,
        until: Annotated[str | None, Query(alias="to", max_length=20, description=_TO)] = None,
    ) -> None:
        self.texts = {
            "cursor": cursor,
            "limit": limit,
            "institution": institution,
            "since": since,
            "until": until,
        }

    def page(
        self,
        session: Database,
        portal_session: PortalSession,
        view: ViewKind | None,
        kind: str | None = None,
    ) -> PageRequest:
        return page_request(
            session, view, account_id=portal_session.acting_account_id, kind=kind, **self.texts
        )


Paging = Annotated[ViewQuery, Depends()]


def page_cursors(view: FolderView, part: ViewKind) -> tuple[str | None, str | None]:
    """The cursors of the next (older) and the previous (newer) page of ``part``."""
    return _cursor(view, part, Direction.OLDER), _cursor(view, part, Direction.NEWER)


def _cursor(view: FolderView, part: ViewKind, direction: Direction) -> str | None:
    bounds = view.next if direction is Direction.OLDER else view.previous
    position = bounds.get(part)
    if position is None:
        return None
    return cursor(part.value, view.account_id, position, direction)


def _view(
    request: Request,
    session: Database,
    portal_session: PortalSession,
    page: PageRequest,
    *parts: ViewKind,
) -> FolderView:
    return portal.view_folder(
        session, portal_session, network_key=network_key(request), parts=parts, page=page
    )


def _link_pages(request: Request, response: Response, view: FolderView, part: ViewKind) -> None:
    """RFC 8288: where the next (older) and previous (newer) pages are, filters kept."""
    links = []
    for relation, token in zip(("next", "prev"), page_cursors(view, part), strict=True):
        if token is not None:
            links.append(f'<{request.url.include_query_params(cursor=token)}>; rel="{relation}"')
    if links:
        response.headers["Link"] = ", ".join(links)


_PAGED = (
    "新しいものから 1 ページずつ返します。続きのページがあるときは、その URL を Link ヘッダー"
    '（rel="next" は古い方、rel="prev" は新しい方）で示します。'
)


@router.get(
    "/folder",
    response_model=FolderResponse,
    summary="利用者フォルダ (3 つの表示)",
    description=(
        "やりとり履歴・自己情報・お知らせのそれぞれ最新の 1 ページと、各表示の次のページを示す"
        "値（next）を返します。続きは各表示の一覧に cursor として指定して取得します。"
    ),
)
def folder(
    request: Request, portal_session: PortalAuthenticated, session: Database, paging: Paging
) -> FolderResponse:
    page = paging.page(session, portal_session, None)
    return FolderResponse.of(_view(request, session, portal_session, page, *ViewKind))


@router.get("/records", response_model=list[RecordItem], summary="やりとり履歴", description=_PAGED)
def records(
    request: Request,
    response: Response,
    portal_session: PortalAuthenticated,
    session: Database,
    paging: Paging,
    kind: Annotated[
        str | None,
        Query(
            max_length=20,
            description=(
                "事務コード（JM で始まる）か特定個人情報名コード（TM で始まる）で絞り込みます。"
            ),
        ),
    ] = None,
) -> list[RecordItem]:
    page = paging.page(session, portal_session, ViewKind.RECORDS, kind)
    view = _view(request, session, portal_session, page, ViewKind.RECORDS)
    _link_pages(request, response, view, ViewKind.RECORDS)
    return [RecordItem.of(record, view) for record in view.records]


@router.get(
    "/self-info", response_model=list[SelfInfoEntry], summary="自己情報", description=_PAGED
)
def self_info(
    request: Request,
    response: Response,
    portal_session: PortalAuthenticated,
    session: Database,
    paging: Paging,
    kind: Annotated[
        str | None,
        Query(max_length=20, description="特定個人情報名コード（TM で始まる）で絞り込みます。"),
    ] = None,
) -> list[SelfInfoEntry]:
    page = paging.page(session, portal_session, ViewKind.SELF_INFO, kind)
    view = _view(request, session, portal_session, page, ViewKind.SELF_INFO)
    _link_pages(request, response, view, ViewKind.SELF_INFO)
    return [SelfInfoEntry.of(item, view) for item in view.self_info]


@router.get("/inbox", response_model=list[InboxEntry], summary="お知らせ", description=_PAGED)
def inbox(
    request: Request,
    response: Response,
    portal_session: PortalAuthenticated,
    session: Database,
    paging: Paging,
    kind: Annotated[
        str | None,
        Query(
            max_length=20,
            description="分類（" + "、".join(c.value for c in InboxCategory) + "）で絞り込みます。",
        ),
    ] = None,
) -> list[InboxEntry]:
    page = paging.page(session, portal_session, ViewKind.INBOX, kind)
    view = _view(request, session, portal_session, page, ViewKind.INBOX)
    _link_pages(request, response, view, ViewKind.INBOX)
    return [InboxEntry.of(item, view) for item in view.inbox]
