"""Putting an お知らせ into portal inboxes: one person's, or a whole batch of a send job's.

Whether a person may be sent the notice at all (the exclusion of 留意すべき対象者) is the sending
gate's to decide before calling; this delivers what it is given. The audit entry of each delivery
names the folder and the institution, never the title or the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.db.sets import one_of
from fukaiji.network.models import Institution
from fukaiji.portal import rules
from fukaiji.portal.errors import InvalidInput
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.portal.rules import account_subject
from fukaiji.portal.states import InboxCategory

Key = TypeVar("Key", bound=Hashable)


def deliver_to_inboxes(
    session: Session,
    *,
    recipients: Mapping[Key, uuid.UUID],
    institution_id: int,
    title: str,
    body: str,
    category: str,
    actor: str,
    source: str | None = None,
    now: datetime | None = None,
) -> set[Key]:
    """Deliver one お知らせ from the institution to each recipient (a key of the caller's, say an
    addressee number, mapped to the person) who has a live folder; returns the keys delivered.
    A recipient without a live folder gets nothing written: the caller records it as not
    delivered. A few statements for the whole batch, whatever its size."""
    chosen = _category(category)
    message = {
        "institution_id": _institution(session, institution_id).id,
        "category": chosen.value,
        "title": rules.clean_title(title),
        "body": rules.clean_body(body),
        "source": rules.clean_source(source),
        "delivered_at": now or utc_now(),
    }
    folders = _live_folders(session, set(recipients.values()))
    delivered = [(key, folders[person]) for key, person in recipients.items() if person in folders]
    if not delivered:
        return set()
    message_ids = session.scalars(
        insert(InboxMessage).returning(InboxMessage.id, sort_by_parameter_order=True),
        [{**message, "account_id": account_id} for _, account_id in delivered],
    ).all()
    institution_code = session.get_one(Institution, message["institution_id"]).code
    for (_, account_id), message_id in zip(delivered, message_ids, strict=True):
        audit.record(
            session,
            actor=actor,
            action="portal.inbox_delivered",
            institution=institution_code,
            subject=account_subject(account_id),
            details={"message": message_id, "category": chosen.value, "source": message["source"]},
            at=message["delivered_at"],
        )
    return {key for key, _ in delivered}


def _live_folders(session: Session, persons: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each person's live folder. Shared locks: a deletion of a folder running now (which locks
    it exclusively) either finishes first, and then this finds no live folder, or waits until
    this has delivered."""
    if not persons:
        return {}
    rows = session.execute(
        select(PortalAccount.person_id, PortalAccount.id)
        .where(
            one_of(session, PortalAccount.person_id, persons), PortalAccount.deleted_at.is_(None)
        )
        .with_for_update(read=True)
    )
    return {person: account_id for person, account_id in rows}


def _institution(session: Session, institution_id: int) -> Institution:
    institution = (
        session.get(Institution, institution_id) if 1 <= institution_id <= MAX_ID else None
    )
    if institution is None:
        raise InvalidInput("institution_id", f"機関 {institution_id}: 登録されていません")
    return institution


def _category(value: str) -> InboxCategory:
    try:
        return InboxCategory(value)
    except ValueError:
        choices = "、".join(category.value for category in InboxCategory)
        raise InvalidInput(
            "category", f"分類 {value!r}: 次のいずれかを指定してください: {choices}"
        ) from None
