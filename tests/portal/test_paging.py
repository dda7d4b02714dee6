"""The three views a page at a time: keyset order with no item skipped or repeated when items
share a timestamp, forward and back; the filters; and every bad query refused naming its field.

Rows are written straight into the tables (a few dozen, several to a timestamp): what is tested
is the reading, and the display functions' own rules (不開示, flags, current versions) are
tested with the real writers elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from fukaiji.db.keyset import Direction
from fukaiji.intermediate.models import SelfInfoItem
from fukaiji.network.codes import person_reference
from fukaiji.network.models import LinkageRecord
from fukaiji.portal.errors import InvalidInput
from fukaiji.portal.folder import FolderView, folder_view
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.portal.paging import MAX_PAGE_SIZE, PageRequest, folder_page, page_request
from fukaiji.portal.public_ids import configure, cursor
from fukaiji.portal.states import ViewKind

from .conftest import CHILD_ALLOWANCE, LOCAL_TAX, PortalWorld, Resident

START = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
OTHER_ITEM = "TM01000000000001"


@pytest.fixture(autouse=True)
def _cursor_key() -> None:
    configure(bytes(range(32)))


def _at(index: int) -> datetime:
    # Three items to each instant: the row id must break the tie.
    return START + timedelta(hours=index // 3)


def fill_folder(world: PortalWorld, person: Resident, count: int) -> int:
    """``count`` records, 副本 items and お知らせ, alternating between 横浜市 and 千代田区."""
    session = world.session
    at_yokohama = world.enrol(person, world.yokohama)
    at_chiyoda = world.enrol(person, world.chiyoda)
    account = PortalAccount(person_id=person.id, created_by="test")
    session.add(account)
    session.flush()
    ref = person_reference(world.network_key, person.id)
    places = [(world.yokohama, at_yokohama), (world.chiyoda, at_chiyoda)]
    records, items, messages = [], [], []
    for index in range(count):
        institution, number = places[index % 2]
        records.append(
            {
                "requested_at": _at(index),
                "requester_institution_id": institution.id,
                "provider_institution_id": world.osaka.id if index % 2 else world.chiyoda.id,
                "affair_code": CHILD_ALLOWANCE,
                "item_code": LOCAL_TAX if index % 3 else OTHER_ITEM,
                "legal_basis_entry": 1,
                "person_ref": ref,
                "status": "provided",
                "requester_undisclosed": False,
                "provider_undisclosed": False,
            }
        )
        items.append(
            {
                "institution_id": institution.id,
                "addressee_number": number,
                "item_code": f"TM02{index:012d}",
                "version": 1,
                "content": '{"年度": 2026}',
                "publish_from": START.date(),
                "undisclosed": False,
                "registered_at": _at(index),
                "registered_by": "test",
            }
        )
        messages.append(
            {
                "account_id": account.id,
                "institution_id": institution.id,
                "category": "tax" if index % 3 else "general",
                "title": f"お知らせ{index}",
                "body": "本文",
                "delivered_at": _at(index),
            }
        )
    session.execute(insert(LinkageRecord), records)
    session.execute(insert(SelfInfoItem), items)
    session.execute(insert(InboxMessage), messages)
    session.commit()
    return account.id


def _page(world: PortalWorld, person: Resident, account_id: int, request: PageRequest):
    return folder_page(
        world.session,
        account_id=account_id,
        viewer_person_id=person.id,
        card_id=None,
        network_key=world.network_key,
        parts=tuple(ViewKind),
        request=request,
        on=START.date(),
    )


_IDS: dict[ViewKind, Callable[[FolderView], list[int]]] = {
    ViewKind.RECORDS: lambda view: [item.record_id for item in view.records],
    ViewKind.SELF_INFO: lambda view: [item.item_id for item in view.self_info],
    ViewKind.INBOX: lambda view: [item.message_id for item in view.inbox],
}


def _walk(world, person, account_id, part: ViewKind, limit: int, **where) -> list[list[int]]:
    """Every page of ``part``, following the next cursors, then back by the previous ones."""
    base = page_request(world.session, part, account_id=account_id, limit=str(limit), **where)
    forward, request = [], base
    while True:
        view = _page(world, person, account_id, request)
        forward.append(_IDS[part](view))
        if part not in view.next:
            break
        request = PageRequest(base.where, view.next[part], Direction.OLDER, limit)
    backward = [forward[-1]]
    while part in view.previous:
        request = PageRequest(base.where, view.previous[part], Direction.NEWER, limit)
        view = _page(world, person, account_id, request)
        backward.append(_IDS[part](view))
    assert backward[::-1] == forward, "back through the pages is not the way forward"
    return forward


@pytest.mark.parametrize("part", list(ViewKind))
def test_pages_list_every_item_once_newest_first_when_items_share_a_timestamp(
    world: PortalWorld, part: ViewKind
) -> None:
    hanako = world.resident()
    account_id = fill_folder(world, hanako, 23)
    whole = folder_view(
        world.session,
        account_id=account_id,
        viewer_person_id=hanako.id,
        card_id=None,
        network_key=world.network_key,
        on=START.date(),
    )
    pages = _walk(world, hanako, account_id, part, limit=5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [item for page in pages for item in page] == _IDS[part](whole)
    assert len(_IDS[part](whole)) == 23


def test_filters_narrow_each_view_in_the_query(world: PortalWorld) -> None:
    hanako = world.resident()
    account_id = fill_folder(world, hanako, 24)
    yokohama = {"institution": world.yokohama.code}
    # 横浜市 requests every other record; 大阪市 provides the other half (so names them).
    assert sum(map(len, _walk(world, hanako, account_id, ViewKind.RECORDS, 4, **yokohama))) == 12
    assert sum(map(len, _walk(world, hanako, account_id, ViewKind.SELF_INFO, 4, **yokohama))) == 12
    assert sum(map(len, _walk(world, hanako, account_id, ViewKind.INBOX, 4, **yokohama))) == 12
    assert (
        sum(map(len, _walk(world, hanako, account_id, ViewKind.RECORDS, 4, kind=OTHER_ITEM))) == 8
    )
    assert sum(map(len, _walk(world, hanako, account_id, ViewKind.INBOX, 4, kind="general"))) == 8
    assert _walk(world, hanako, account_id, ViewKind.SELF_INFO, 4, kind="TM02000000000007") == [
        [_walk(world, hanako, account_id, ViewKind.SELF_INFO, 50)[0][16]]
    ]
    # The folder's 24 items span 09:00–16:00 of 2026-05-01 in Japan: that day holds all of them,
    # and the next two days none.
    day = {"since": "2026-05-01", "until": "2026-05-01"}
    assert sum(map(len, _walk(world, hanako, account_id, ViewKind.INBOX, 10, **day))) == 24
    day = {"since": "2026-05-02", "until": "2026-05-03"}
    assert _walk(world, hanako, account_id, ViewKind.RECORDS, 10, **day) == [[]]


@pytest.mark.parametrize(
    ("texts", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": str(MAX_PAGE_SIZE + 1)}, "limit"),
        ({"limit": "十"}, "limit"),
        ({"cursor": "x" * 60}, "cursor"),
        ({"institution": "999999"}, "institution"),
        ({"since": "2026-13-01"}, "from"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "to"),
        ({"kind": "JM0100"}, "kind"),
    ],
)
def test_a_bad_query_is_refused_naming_its_field(
    world: PortalWorld, texts: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        page_request(world.session, ViewKind.RECORDS, account_id=1, **texts)
    assert refused.value.field == field
    assert refused.value.message.startswith(f"{field}: ")
    assert refused.value.message.isascii() is False  # Japanese, for the resident


def test_a_cursor_works_only_in_its_own_folder_and_view(world: PortalWorld) -> None:
    hanako = world.resident()
    account_id = fill_folder(world, hanako, 6)
    view = _page(world, hanako, account_id, PageRequest(limit=2))
    token = cursor("records", account_id, view.next[ViewKind.RECORDS], Direction.OLDER)
    assert page_request(world.session, ViewKind.RECORDS, account_id=account_id, cursor=token)
    for part, folder in ((ViewKind.INBOX, account_id), (ViewKind.RECORDS, account_id + 1)):
        with pytest.raises(InvalidInput, match="cursor"):
            page_request(world.session, part, account_id=folder, cursor=token)
