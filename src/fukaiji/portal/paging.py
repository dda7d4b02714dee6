"""The three views a page at a time: newest first, keyset by (time, id), narrowed by
institution, period and kind, with the protective mask applied to every page.

Pages are built from the same display queries (``fukaiji.intermediate.display``) and the same
masks (``masks_for``) as ``folder_view``, which the exposure check reads whole; only the window
differs. The database filters, orders and limits; the mask is then decided item by item.

What paging must not give away: a page is filled to its size with items the path may see
(reading further when the mask holds some back), a next page is offered only when an item the
path may see lies beyond, and a cursor points at a shown item. So neither the length of a page
nor the presence of a cursor tells a risky path that something was held back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.db.base import utc_now
from fukaiji.db.keyset import Direction, Position
from fukaiji.intermediate.display import (
    NO_FILTER,
    DisclosableRecord,
    DisclosableSelfInfo,
    ViewFilter,
    records_page,
    self_info_page,
)
from fukaiji.intermediate.service import TOKYO, tokyo_date
from fukaiji.network.linkage import InstitutionRef
from fukaiji.network.models import Institution
from fukaiji.portal.errors import InvalidInput
from fukaiji.portal.folder import (
    FolderView,
    InboxItem,
    ShownItem,
    folder_access,
    id_key,
    inbox_page,
)
from fukaiji.portal.masking import Mask, ViewPath, masks_for
from fukaiji.portal.public_ids import cursor_position
from fukaiji.portal.states import InboxCategory, ViewKind

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# How far one read past held-back items goes at most: the reads grow from a page to this.
_MAX_READ = 1_000
_RECORD_KIND = re.compile("(JM|TM)[0-9]{14}")
_ITEM_KIND = re.compile("TM[0-9]{14}")
_INSTITUTION = re.compile("[0-9A-Za-z]{1,16}")

_Item = TypeVar("_Item", DisclosableRecord, DisclosableSelfInfo, InboxItem)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page of a view: past ``start`` in ``direction`` (from the newest when None)."""

    where: ViewFilter = NO_FILTER
    start: Position | None = None
    direction: Direction = Direction.OLDER
    limit: int = DEFAULT_PAGE_SIZE


FIRST_PAGE = PageRequest()


def position_of(item: ShownItem) -> Position:
    if isinstance(item, DisclosableRecord):
        return Position(item.occurred_at, item.record_id)
    if isinstance(item, DisclosableSelfInfo):
        return Position(item.registered_at, item.item_id)
    return Position(item.delivered_at, item.message_id)


# ---- reading what a resident asked for ------------------------------------------------------


def page_request(
    session: Session,
    view: ViewKind | None,
    *,
    account_id: int,
    cursor: str | None = None,
    limit: str | None = None,
    institution: str | None = None,
    since: str | None = None,
    until: str | None = None,
    kind: str | None = None,
) -> PageRequest:
    """The page asked for by the texts of a request. ``view`` None: the first page of every
    view at once, which takes neither a cursor nor a kind. Raises InvalidInput naming the field."""
    start, direction = None, Direction.OLDER
    if cursor and view is None:
        raise InvalidInput(
            "cursor", "cursor: 続きのページは、やりとり履歴などの表示ごとの一覧で指定してください。"
        )
    if cursor:
        found = cursor_position(view.value, account_id, cursor)
        if found is None:
            raise InvalidInput(
                "cursor",
                "cursor: 続きを示す値が正しくありません。最初のページから表示し直してください。",
            )
        start, direction = found
    where = ViewFilter(
        institution_id=_institution_id(session, institution),
        since=_day_start("from", since),
        until=_day_end("to", until),
        kind=_kind(view, kind),
    )
    if where.since and where.until and where.since >= where.until:
        raise InvalidInput("to", "to: 終わりの日は始まりの日（from）以後の日にしてください。")
    return PageRequest(where, start, direction, page_size(limit))


def page_size(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_PAGE_SIZE
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise InvalidInput(
            "limit",
            f"limit: 1 ページの件数は 1 から {MAX_PAGE_SIZE} までの整数で指定してください。",
        )
    return int(text)


def _institution_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = None
    if _INSTITUTION.fullmatch(code):
        found = session.scalar(select(Institution.id).where(Institution.code == code))
    if found is None:
        raise InvalidInput(
            "institution",
            "institution: 機関コードが登録されていません。機関の一覧のコードを指定してください。",
        )
    return found


def _day(field: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 9998:
        raise InvalidInput(
            field, f"{field}: 日付は 2026-04-01 のように年-月-日で指定してください。"
        )
    return day


def _day_start(field: str, text: str | None) -> datetime | None:
    day = _day(field, text)
    return None if day is None else datetime.combine(day, time(), TOKYO)


def _day_end(field: str, text: str | None) -> datetime | None:
    """The end of the day in Japan: the first instant of the next one (exclusive)."""
    day = _day(field, text)
    return None if day is None else datetime.combine(day + timedelta(days=1), time(), TOKYO)


def _kind(view: ViewKind | None, text: str | None) -> str | None:
    if not text:
        return None
    if view is ViewKind.RECORDS and _RECORD_KIND.fullmatch(text):
        return text
    if view is ViewKind.SELF_INFO and _ITEM_KIND.fullmatch(text):
        return text
    if view is ViewKind.INBOX and text in set(InboxCategory):
        return text
    rules = {
        ViewKind.RECORDS: (
            "事務コード（JM と 14 桁の数字）か特定個人情報名コード（TM と 14 桁の数字）"
        ),
        ViewKind.SELF_INFO: "特定個人情報名コード（TM と 14 桁の数字）",
        ViewKind.INBOX: "分類（" + "、".join(c.value for c in InboxCategory) + " のいずれか）",
    }
    if view is None:
        raise InvalidInput("kind", "kind: 種類では、表示ごとの一覧でだけ絞り込めます。")
    raise InvalidInput("kind", f"kind: 種類は{rules[view]}で指定してください。")


# ---- building a page ------------------------------------------------------------------------


def folder_page(
    session: Session,
    *,
    account_id: int,
    viewer_person_id: uuid.UUID,
    card_id: int | None,
    network_key: bytes,
    parts: Iterable[ViewKind],
    request: PageRequest = FIRST_PAGE,
    on: date | None = None,
) -> FolderView:
    """One page of each view in ``parts`` of what ``folder_view`` would show this path, with
    where the next and previous pages start. Raises NoFolderAccess as ``folder_view`` does."""
    wanted = frozenset(ViewKind(part) for part in parts)
    access = folder_access(session, account_id=account_id, viewer_person_id=viewer_person_id)
    person_id = access.account.person_id
    masks = masks_for(
        session,
        ViewPath(
            person_id, viewer_person_id, None if access.grant is None else access.grant.id, card_id
        ),
    )
    on = on or tokyo_date(utc_now())
    fetchers: dict[ViewKind, Callable[[Position | None, Direction, int], Sequence[ShownItem]]] = {
        ViewKind.RECORDS: lambda start, direction, limit: records_page(
            session,
            person_id,
            network_key=network_key,
            where=request.where,
            start=start,
            direction=direction,
            limit=limit,
        ),
        ViewKind.SELF_INFO: lambda start, direction, limit: self_info_page(
            session,
            person_id,
            network_key=network_key,
            on=on,
            where=request.where,
            start=start,
            direction=direction,
            limit=limit,
        ),
        ViewKind.INBOX: lambda start, direction, limit: inbox_page(
            session,
            account_id=access.account.id,
            where=request.where,
            start=start,
            direction=direction,
            limit=limit,
        ),
    }
    empty = _Page((), (), None, None)
    if _filtered_to_what_is_held_back(session, masks, request.where):
        pages = dict.fromkeys(wanted, empty)
    else:
        pages = {part: _page(fetchers[part], masks, request) for part in wanted}
    return FolderView(
        account_id=access.account.id,
        person_id=person_id,
        viewer_person_id=viewer_person_id,
        grant_id=None if access.grant is None else access.grant.id,
        parts=wanted,
        records=pages.get(ViewKind.RECORDS, empty).items,  # type: ignore[arg-type]
        self_info=pages.get(ViewKind.SELF_INFO, empty).items,  # type: ignore[arg-type]
        inbox=pages.get(ViewKind.INBOX, empty).items,  # type: ignore[arg-type]
        held_back=tuple(item for page in pages.values() for item in page.held_back),
        id_key=id_key(network_key, person_id),
        next={part: page.next for part, page in pages.items() if page.next is not None},
        previous={part: page.previous for part, page in pages.items() if page.previous is not None},
    )


def _filtered_to_what_is_held_back(
    session: Session, masks: tuple[Mask, ...], where: ViewFilter
) -> bool:
    """Whether the view is narrowed to an institution every item of which is held back. Its
    pages are then empty without reading: walking through every held-back item of it would
    take longer the more there are, and the time of the answer alone would tell a risky path
    which institution, and so which region, has her history (an empty institution answers at
    once)."""
    if where.institution_id is None or not masks:
        return False
    institution = InstitutionRef.of(session.get_one(Institution, where.institution_id))
    return any(mask.hides_all_of(institution) for mask in masks)


@dataclass(frozen=True, slots=True)
class _Page:
    items: tuple[ShownItem, ...]  # newest first
    held_back: tuple[ShownItem, ...]
    next: Position | None
    previous: Position | None


def _page(
    fetch: Callable[[Position | None, Direction, int], Sequence[ShownItem]],
    masks: tuple[Mask, ...],
    request: PageRequest,
) -> _Page:
    shown, held, more = _fill(fetch, masks, request)
    if request.direction is Direction.NEWER:
        if not more:
            # Back at the newest: the first page itself, so that it is always the same page.
            return _page(fetch, masks, replace(request, start=None, direction=Direction.OLDER))
        shown.reverse()
        held.reverse()
        return _Page(tuple(shown), tuple(held), position_of(shown[-1]), position_of(shown[0]))
    previous = None
    if request.start is not None:
        previous = position_of(shown[0]) if shown else request.start
    following = position_of(shown[-1]) if more else None
    return _Page(tuple(shown), tuple(held), following, previous)


def _fill(
    fetch: Callable[[Position | None, Direction, int], Sequence[ShownItem]],
    masks: tuple[Mask, ...],
    request: PageRequest,
) -> tuple[list[ShownItem], list[ShownItem], bool]:
    """Up to ``limit`` items the path may see, in walking order, what was held back among them,
    and whether one more it may see lies beyond (read, never shown)."""
    shown: list[ShownItem] = []
    held: list[ShownItem] = []
    kept_held = 0
    start, read = request.start, request.limit + 1
    while True:
        batch = fetch(start, request.direction, read)
        for item in batch:
            if any(mask.hides(item) for mask in masks):
                held.append(item)
                continue
            if len(shown) == request.limit:
                return shown, held[:kept_held], True
            shown.append(item)
            kept_held = len(held)
        if len(batch) < read:
            return shown, held, False
        start, read = position_of(batch[-1]), min(read * 2, _MAX_READ)
