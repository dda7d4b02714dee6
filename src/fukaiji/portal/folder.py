"""What a folder shows, and to whom: the one function that builds the three views.

``folder_view`` is the single builder of what a path into a folder displays — the person
themselves or a proxy with a live grant — read whole, as the exposure check calls it. The portal's
routes and CLI show the same a page at a time (``fukaiji.portal.paging.folder_page``, through
``fukaiji.portal.service.view_folder``, which adds the 操作履歴 entry and the audit entry): the
same display queries, the same masks and the same order, so the portal and the check can never
disagree about what a path would see.

The やりとり履歴 and 自己情報 come only through the intermediate server's display functions
(``disclosable_records``, ``disclosable_self_info``): this module never reads the linkage or 副本
tables. お知らせ are the portal's own table; what reaches it is decided by the sending gate of the
institution that sends (which excludes the 留意すべき対象者 until the usage-stop procedures are
complete, and lets notices flow again afterwards, as the seed says).

Then the protective mask (``fukaiji.portal.masking``) holds back, from a path that may be the
perpetrator's, every item that would give a protected region away; the view keeps them apart in
``held_back`` for the exposure check, and the portal never renders that part.

Items are shown under opaque ids (``FolderView.public_id``), never the tables' sequence numbers,
so a gap in the numbering cannot tell a viewer that something was held back.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.db.keyset import Direction, Position, beyond, ordered
from fukaiji.intermediate.display import (
    DisclosableRecord,
    DisclosableSelfInfo,
    ViewFilter,
    disclosable_records,
    disclosable_self_info,
)
from fukaiji.intermediate.service import tokyo_date
from fukaiji.network.linkage import InstitutionRef, institution_columns, institution_from_row
from fukaiji.network.models import Institution
from fukaiji.portal.delivery import deliver_to_inboxes
from fukaiji.portal.errors import NoFolderAccess
from fukaiji.portal.masking import Mask, ViewPath, masks_for
from fukaiji.portal.models import InboxMessage, PortalAccount, ProxyGrant
from fukaiji.portal.states import ALL_VIEWS, GrantKind, InboxCategory, ViewKind


@dataclass(frozen=True, slots=True)
class InboxItem:
    """お知らせ as the folder shows it, with the institution that sent it."""

    message_id: int
    institution: InstitutionRef
    category: InboxCategory
    title: str
    body: str
    delivered_at: datetime

    @property
    def institutions(self) -> tuple[InstitutionRef, ...]:
        return (self.institution,)


@dataclass(frozen=True, slots=True)
class FolderAccess:
    """A path into a folder: the folder, and the grant the viewer holds (None for the person)."""

    account: PortalAccount
    grant: ProxyGrant | None

    @property
    def as_proxy(self) -> bool:
        return self.grant is not None


ShownItem = DisclosableRecord | DisclosableSelfInfo | InboxItem
_Item = TypeVar("_Item", DisclosableRecord, DisclosableSelfInfo, InboxItem)


@dataclass(frozen=True, slots=True)
class FolderView:
    """Exactly what one path into a folder displays. ``parts`` says which views were built; the
    others are empty. ``held_back`` is what the protective mask kept from this path, for the
    exposure check only: nothing that renders a view for a person reads it."""

    account_id: int
    person_id: uuid.UUID
    viewer_person_id: uuid.UUID
    grant_id: int | None
    parts: frozenset[ViewKind]
    records: tuple[DisclosableRecord, ...]
    self_info: tuple[DisclosableSelfInfo, ...]
    inbox: tuple[InboxItem, ...]
    held_back: tuple[ShownItem, ...] = ()
    id_key: bytes = field(default=b"", repr=False)
    # For a page of a view (``fukaiji.portal.paging``): where the next (older) and the previous
    # (newer) page start, for each view that has one. Row positions: the web layer shows them
    # only as encrypted cursors.
    next: Mapping[ViewKind, Position] = field(default_factory=dict)
    previous: Mapping[ViewKind, Position] = field(default_factory=dict)

    def public_id(self, item: ShownItem) -> str:
        """The item's id on the portal: a keyed hash of the item, the same for every path into
        this folder, revealing neither the table's sequence number nor what lies between."""
        if isinstance(item, DisclosableRecord):
            name = f"record:{item.record_id}"
        elif isinstance(item, DisclosableSelfInfo):
            name = f"self-info:{item.item_id}"
        else:
            name = f"inbox:{item.message_id}"
        digest = hmac.new(self.id_key, name.encode(), hashlib.sha256).hexdigest()
        return digest[:20]

    @property
    def institutions(self) -> tuple[InstitutionRef, ...]:
        """Every institution any displayed item names (for the exposure check)."""
        named: list[InstitutionRef] = []
        for item in (*self.records, *self.self_info, *self.inbox):
            named.extend(item.institutions)
        return tuple(named)


def folder_access(
    session: Session, *, account_id: int, viewer_person_id: uuid.UUID, lock: bool = False
) -> FolderAccess:
    """The viewer's way into the folder: they are its person, or they hold a live grant over it.
    Raises NoFolderAccess otherwise (not audited here: the caller knows who was asking).

    ``lock`` takes a shared lock on the grant row on PostgreSQL, so that a cancellation or a
    deletion running at the same moment waits for this request and the next one sees it ended.
    """
    account = None
    if 1 <= account_id <= MAX_ID:
        account = session.scalars(
            select(PortalAccount)
            .where(PortalAccount.id == account_id)
            .execution_options(populate_existing=True)
        ).one_or_none()
    if account is None or not account.is_live:
        raise NoFolderAccess(account_id)
    if account.person_id == viewer_person_id:
        return FolderAccess(account, None)
    statement = select(ProxyGrant).where(
        ProxyGrant.account_id == account.id,
        ProxyGrant.proxy_person_id == viewer_person_id,
        ProxyGrant.ended_at.is_(None),
    )
    if lock:
        statement = statement.with_for_update(read=True)
    grant = session.scalars(statement.execution_options(populate_existing=True)).one_or_none()
    if grant is None:
        raise NoFolderAccess(account_id)
    return FolderAccess(account, grant)


@dataclass(frozen=True, slots=True)
class FolderPath:
    """One way into a folder: its person (``grant_id`` None) or a proxy under a live grant."""

    account_id: int
    viewer_person_id: uuid.UUID
    grant_id: int | None
    grant_kind: GrantKind | None


def folder_paths(session: Session, *, person_id: uuid.UUID) -> list[FolderPath]:
    """Every path into the person's live folder now: the person (with whatever card they, or
    whoever holds it, can log in with — the card authority says whether it is usable) and every
    proxy with a live grant, oldest grant first. Empty if the person has no live folder.

    For the exposure check: ``folder_view`` of each path is exactly what that path displays."""
    account = session.scalars(
        select(PortalAccount).where(
            PortalAccount.person_id == person_id, PortalAccount.deleted_at.is_(None)
        )
    ).one_or_none()
    if account is None:
        return []
    grants = session.scalars(
        select(ProxyGrant)
        .where(ProxyGrant.account_id == account.id, ProxyGrant.ended_at.is_(None))
        .order_by(ProxyGrant.granted_at, ProxyGrant.id)
    )
    return [
        FolderPath(account.id, person_id, None, None),
        *(
            FolderPath(account.id, grant.proxy_person_id, grant.id, GrantKind(grant.kind))
            for grant in grants
        ),
    ]


def folder_view(
    session: Session,
    *,
    account_id: int,
    viewer_person_id: uuid.UUID,
    card_id: int | None,
    network_key: bytes,
    parts: Iterable[ViewKind] = ALL_VIEWS,
    on: date | None = None,
) -> FolderView:
    """What ``viewer_person_id``, logged in with ``card_id``, sees in the folder ``account_id``:
    its person's やりとり履歴 and 自己情報 as the intermediate servers disclose them, and its
    お知らせ, less what the protective mask holds back from this path. Raises NoFolderAccess
    if the viewer is neither the person nor a proxy with a live grant.

    Reads only; neither the 操作履歴 nor the audit log is written (``service.view_folder`` does
    that for the portal; the exposure check audits its own run)."""
    wanted = frozenset(ViewKind(part) for part in parts)
    access = folder_access(session, account_id=account_id, viewer_person_id=viewer_person_id)
    return _build_view(
        session,
        account_id=access.account.id,
        person_id=access.account.person_id,
        viewer_person_id=viewer_person_id,
        grant_id=None if access.grant is None else access.grant.id,
        card_id=card_id,
        wanted=wanted,
        network_key=network_key,
        on=on,
    )


def new_folder_view(
    session: Session,
    *,
    person_id: uuid.UUID,
    card_id: int | None,
    network_key: bytes,
    on: date | None = None,
) -> FolderView:
    """What a folder opened now by a login with ``card_id`` would show the card holder, for a
    person with no live folder: a first login opens an empty folder (no お知らせ, no proxy), and
    its やりとり履歴 and 自己情報 come from the intermediate servers at once. ``account_id`` is
    0, naming no folder. For the exposure check of a card left behind."""
    return _build_view(
        session,
        account_id=0,
        person_id=person_id,
        viewer_person_id=person_id,
        grant_id=None,
        card_id=card_id,
        wanted=frozenset(ALL_VIEWS),
        network_key=network_key,
        on=on,
    )


def _build_view(
    session: Session,
    *,
    account_id: int,
    person_id: uuid.UUID,
    viewer_person_id: uuid.UUID,
    grant_id: int | None,
    card_id: int | None,
    wanted: frozenset[ViewKind],
    network_key: bytes,
    on: date | None,
) -> FolderView:
    masks = masks_for(session, ViewPath(person_id, viewer_person_id, grant_id, card_id))
    records: tuple[DisclosableRecord, ...] = ()
    self_info: tuple[DisclosableSelfInfo, ...] = ()
    messages: tuple[InboxItem, ...] = ()
    if ViewKind.RECORDS in wanted:
        records = tuple(disclosable_records(session, person_id, network_key=network_key))
    if ViewKind.SELF_INFO in wanted:
        self_info = tuple(
            disclosable_self_info(
                session, person_id, network_key=network_key, on=on or tokyo_date(utc_now())
            )
        )
    if ViewKind.INBOX in wanted and account_id:
        messages = tuple(inbox(session, account_id=account_id))
    held_back: list[ShownItem] = []
    if masks:
        records = _unmasked(records, masks, held_back)
        self_info = _unmasked(self_info, masks, held_back)
        messages = _unmasked(messages, masks, held_back)
    return FolderView(
        account_id=account_id,
        person_id=person_id,
        viewer_person_id=viewer_person_id,
        grant_id=grant_id,
        parts=wanted,
        records=records,
        self_info=self_info,
        inbox=messages,
        held_back=tuple(held_back),
        id_key=id_key(network_key, person_id),
    )


def inbox_shown_to(session: Session, *, account: PortalAccount, card_id: int | None) -> int:
    """How many お知らせ the person's own path, logged in with ``card_id``, is shown: the only
    count of them a total told to that path may give (a larger one would tell that something is
    held back)."""
    masks = masks_for(session, ViewPath(account.person_id, account.person_id, None, card_id))
    return len(_unmasked(tuple(inbox(session, account_id=account.id)), masks, []))


def _unmasked(
    items: tuple[_Item, ...], masks: tuple[Mask, ...], held_back: list[ShownItem]
) -> tuple[_Item, ...]:
    shown: list[_Item] = []
    for item in items:
        if any(mask.hides(item) for mask in masks):
            held_back.append(item)
        else:
            shown.append(item)
    return tuple(shown)


def id_key(network_key: bytes, person_id: uuid.UUID) -> bytes:
    """Per person, so that one item's id says nothing about another person's folder."""
    return hmac.new(network_key, b"portal-ids:" + person_id.bytes, hashlib.sha256).digest()


# ---- お知らせ -------------------------------------------------------------------------------


def _inbox_statement(account_id: int) -> Any:
    return (
        select(
            InboxMessage.id,
            InboxMessage.category,
            InboxMessage.title,
            InboxMessage.body,
            InboxMessage.delivered_at,
            *institution_columns(Institution, "i"),
        )
        .join(Institution, Institution.id == InboxMessage.institution_id)
        .where(InboxMessage.account_id == account_id)
    )


def _inbox_item(row: Any) -> InboxItem:
    return InboxItem(
        message_id=row.id,
        institution=institution_from_row(row, "i"),
        category=InboxCategory(row.category),
        title=row.title,
        body=row.body,
        delivered_at=row.delivered_at,
    )


def inbox(session: Session, *, account_id: int) -> list[InboxItem]:
    """The folder's お知らせ, newest first, each with the institution that sent it: the whole
    inbox, for the exposure check and the count a deletion reports. The portal shows it a page
    at a time (``inbox_page``)."""
    statement = _inbox_statement(account_id).order_by(
        InboxMessage.delivered_at.desc(), InboxMessage.id.desc()
    )
    return [_inbox_item(row) for row in session.execute(statement)]


def inbox_page(
    session: Session,
    *,
    account_id: int,
    where: ViewFilter,
    start: Position | None,
    direction: Direction,
    limit: int,
) -> list[InboxItem]:
    """At most ``limit`` of the folder's お知らせ past ``start`` in ``direction`` and in that
    order (newest first for ``OLDER``); ``where.kind`` is a category."""
    at, row_id = InboxMessage.delivered_at, InboxMessage.id
    statement = _inbox_statement(account_id)
    if where.institution_id is not None:
        statement = statement.where(InboxMessage.institution_id == where.institution_id)
    if where.kind is not None:
        statement = statement.where(InboxMessage.category == where.kind)
    if where.since is not None:
        statement = statement.where(at >= where.since)
    if where.until is not None:
        statement = statement.where(at < where.until)
    if start is not None:
        statement = statement.where(beyond(at, row_id, start, direction))
    rows = session.execute(statement.order_by(*ordered(at, row_id, direction)).limit(limit))
    return [_inbox_item(row) for row in rows]


def deliver_to_inbox(
    session: Session,
    *,
    person_id: uuid.UUID,
    institution_id: int,
    title: str,
    body: str,
    category: str,
    actor: str,
    source: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Put an お知らせ from the institution into the person's live folder. False, and nothing
    written, if the person has no live folder (see ``delivery.deliver_to_inboxes``)."""
    delivered = deliver_to_inboxes(
        session,
        recipients={person_id: person_id},
        institution_id=institution_id,
        title=title,
        body=body,
        category=category,
        actor=actor,
        source=source,
        now=now,
    )
    return bool(delivered)
