"""What the portal's service modules share: hashing secrets, the audit and 操作履歴 entries,
folders (accounts), and the rule that some things are done in one's own folder only."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.portal.errors import OwnFolderOnly
from fukaiji.portal.models import AccessLogEntry, PortalAccount, PortalSession
from fukaiji.portal.rules import account_subject
from fukaiji.portal.states import AccessAction, SessionEnd
from fukaiji.registry.service import person_subject

# Who the audit log names for what the portal does before anyone has proved who they are, and
# for what it does by rule (a session ending because a card was suspended).
ANONYMOUS_ACTOR = "anonymous"
SYSTEM_ACTOR = "system"


def digest(secret: str | bytes) -> str:
    """SHA-256 of a random secret (nonce, code, token): nothing to guess, so a fast hash."""
    data = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(data).hexdigest()


def session_actor(portal_session: PortalSession) -> str:
    """The audit log names the person logged in, whatever folder they are in."""
    return person_subject(portal_session.person_id)


def record(
    session: Session,
    /,
    *,
    actor: str,
    action: str,
    now: datetime,
    account_id: int | None = None,
    institution: str | None = None,
    **details: object,
) -> None:
    """An audit entry about a folder (or about no folder yet, for an anonymous refusal)."""
    audit.record(
        session,
        actor=actor,
        action=action,
        institution=institution,
        subject=None if account_id is None else account_subject(account_id),
        details=details,
        at=now,
    )


def log_access(
    session: Session,
    account_id: int,
    action: AccessAction,
    *,
    actor_person_id: uuid.UUID | None,
    now: datetime,
    grant_id: int | None = None,
    about_grant_id: int | None = None,
) -> None:
    """One entry of the folder's 操作履歴: ``actor_person_id`` the person who acted (None at
    the card window), ``grant_id`` the grant they acted under as a proxy."""
    session.add(
        AccessLogEntry(
            account_id=account_id,
            at=now,
            action=action,
            actor_person_id=actor_person_id,
            grant_id=grant_id,
            about_grant_id=about_grant_id,
        )
    )


def require_own_folder(
    session: Session, portal_session: PortalSession, what_ja: str, what_en: str, now: datetime
) -> None:
    """Refuse (audited) what only the person may do in their own folder, when the session is
    in someone else's folder as a proxy."""
    if portal_session.acting_grant_id is None:
        return
    record(
        session,
        actor=session_actor(portal_session),
        action="portal.access_refused",
        now=now,
        account_id=portal_session.acting_account_id,
        session=portal_session.id,
        grant=portal_session.acting_grant_id,
        reason=OwnFolderOnly.reason,
        what=what_en,
    )
    raise OwnFolderOnly(what_ja, what_en)


def end_sessions(session: Session, condition: Any, reason: SessionEnd, now: datetime) -> int:
    """End at once every live session matching ``condition``; how many were ended."""
    result = session.execute(
        update(PortalSession)
        .where(condition, PortalSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


# ---- folders -------------------------------------------------------------------------------


def live_account(
    session: Session, person_id: uuid.UUID, *, for_update: bool = False
) -> PortalAccount | None:
    """The person's folder that is not deleted, if any."""
    statement = select(PortalAccount).where(
        PortalAccount.person_id == person_id, PortalAccount.deleted_at.is_(None)
    )
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement.execution_options(populate_existing=True)).one_or_none()


def is_live_account(session: Session, account_id: int) -> bool:
    row = session.execute(
        select(PortalAccount.deleted_at).where(PortalAccount.id == account_id)
    ).one_or_none()
    return row is not None and row.deleted_at is None


def open_account(
    session: Session, *, person_id: uuid.UUID, actor: str, now: datetime | None = None
) -> tuple[PortalAccount, bool]:
    """The person's live folder, created (empty, with no proxy) if there is none; and whether
    it was created now."""
    now = now or utc_now()
    existing = live_account(session, person_id)
    if existing is not None:
        return existing, False
    account = PortalAccount(person_id=person_id, created_by=actor, created_at=now)
    # Two first logins at once: the partial unique index lets one win; the loser uses its row.
    try:
        with session.begin_nested():
            session.add(account)
    except IntegrityError:
        concurrent = live_account(session, person_id)
        if concurrent is None:
            raise
        return concurrent, False
    record(
        session,
        actor=actor,
        action="portal.account_created",
        now=now,
        account_id=account.id,
        person=person_subject(person_id),
    )
    return account, True
