"""Messages to a registering desk (the exclusion of one of its persons lifted, or came back).
Only the desk's own staff read them; reading marks them read (audited)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.protection.models import DeskMessage
from fukaiji.protection.service import Viewer


def desk_messages(
    session: Session, *, viewer: Viewer, unread_only: bool = False, now: datetime | None = None
) -> list[DeskMessage]:
    """The viewer's department's messages, newest first; the unread ones become read."""
    if viewer.department_id is None:
        return []
    statement = select(DeskMessage).where(DeskMessage.department_id == viewer.department_id)
    if unread_only:
        statement = statement.where(DeskMessage.read_at.is_(None))
    messages = list(session.scalars(statement.order_by(DeskMessage.id.desc())))
    unread = [message for message in messages if message.read_at is None]
    for message in unread:
        message.read_at = now or utc_now()
        message.read_by = viewer.actor
    audit.record(
        session,
        actor=viewer.actor,
        action="protection.messages_read",
        institution=viewer.institution_code,
        details={"shown": len(messages), "newly_read": len(unread)},
    )
    return messages
