"""Operations of マイナポータル: card login and sessions, entering a folder as a proxy, the
logged views, 操作履歴, settings, and deleting a folder. Proxy invitations and grants are in
``fukaiji.portal.proxies``.

The portal cannot tell the person from someone holding their card, so every rule here is about
closing paths: a session lives only while the card that opened it is usable, a proxy's session
only while its grant and the folder live, and deleting a folder (which ends every grant) needs a
fresh login with the person's own, usable card.

Audit: every login, refusal, switch, view and deletion is appended to the audit log inside the
caller's transaction. Refusals raise an error whose ``keep_changes`` is true (commit after
catching it). As for staff sessions, a session that resolves successfully on a request is not
audited (the operation the request performs is); its end is.

Locking: a grant is cancelled and a folder deleted under an exclusive row lock, while every
request of a proxy takes a shared lock on its grant (``folder_access(lock=True)``), so on
PostgreSQL no proxy request that started before a cancellation commits after it. On SQLite
every transaction already holds the write lock.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from cryptography import x509
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload

from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.intermediate.service import tokyo_date
from fukaiji.jpki import service as jpki
from fukaiji.jpki.errors import LoginRefused
from fukaiji.jpki.service import MAX_CHALLENGE_BYTES
from fukaiji.portal import rules
from fukaiji.portal._common import (
    ANONYMOUS_ACTOR,
    SYSTEM_ACTOR,
    digest,
    end_sessions,
    is_live_account,
    log_access,
    open_account,
    record,
    require_own_folder,
    session_actor,
)
from fukaiji.portal.errors import ChallengeRefused, DeletionRefused, NoFolderAccess
from fukaiji.portal.folder import FolderView, folder_access, inbox_shown_to
from fukaiji.portal.models import (
    AccessLogEntry,
    AccountSettings,
    InboxMessage,
    LoginChallenge,
    PortalAccount,
    PortalSession,
    ProxyGrant,
    ProxyInvitation,
)
from fukaiji.portal.paging import FIRST_PAGE, PageRequest, folder_page
from fukaiji.portal.states import (
    ALL_VIEWS,
    AccessAction,
    ChallengePurpose,
    GrantEnd,
    GrantKind,
    Representation,
    SessionEnd,
    ViewKind,
)
from fukaiji.registry.models import Person
from fukaiji.registry.service import person_subject

# The relying party, as the card authority's audit entries name it.
PORTAL_ACTOR = "portal"


# ---- challenges ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedChallenge:
    """A challenge for a card to sign: shown to the caller once, stored only as a hash."""

    nonce: bytes = field(repr=False)
    purpose: ChallengePurpose
    expires_at: datetime


def _new_challenge(
    session: Session, purpose: ChallengePurpose, session_id: int | None, now: datetime
) -> IssuedChallenge:
    # Anyone may ask for a login challenge, so expired ones are swept here rather than left to
    # pile up; a swept nonce is refused like any unknown one.
    session.execute(
        delete(LoginChallenge)
        .where(LoginChallenge.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    nonce = secrets.token_bytes(rules.NONCE_BYTES)
    expires_at = now + rules.CHALLENGE_LIFETIME
    session.add(
        LoginChallenge(
            nonce_hash=digest(nonce),
            purpose=purpose,
            session_id=session_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedChallenge(nonce=nonce, purpose=purpose, expires_at=expires_at)


def issue_challenge(session: Session, *, now: datetime | None = None) -> IssuedChallenge:
    """A login challenge: 32 random bytes, usable once within five minutes. Not audited (anyone
    may ask; the login that uses it is)."""
    return _new_challenge(session, ChallengePurpose.LOGIN, None, now or utc_now())


def _consume_challenge(
    session: Session,
    nonce: bytes,
    purpose: ChallengePurpose,
    *,
    session_id: int | None,
    now: datetime,
) -> bool:
    """Use the challenge up if it is one we issued for ``purpose`` (and, for a deletion, for
    this session), unused and unexpired. One statement, so two requests racing with the same
    nonce cannot both use it."""
    if not 1 <= len(nonce) <= MAX_CHALLENGE_BYTES:
        return False
    binding = (
        LoginChallenge.session_id.is_(None)
        if session_id is None
        else LoginChallenge.session_id == session_id
    )
    result = session.execute(
        update(LoginChallenge)
        .where(
            LoginChallenge.nonce_hash == digest(nonce),
            LoginChallenge.purpose == purpose,
            LoginChallenge.used_at.is_(None),
            LoginChallenge.expires_at > now,
            binding,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _certificate_serial(certificate_pem: bytes | str) -> int:
    data = certificate_pem.encode("ascii") if isinstance(certificate_pem, str) else certificate_pem
    return x509.load_pem_x509_certificate(data).serial_number


def _verified_person(
    session: Session,
    *,
    challenge: bytes,
    certificate_pem: bytes | str,
    signature: bytes,
    now: datetime,
    refused_action: str,
    actor: str,
    account_id: int | None = None,
) -> uuid.UUID:
    try:
        return jpki.verify_login(
            session,
            certificate_pem=certificate_pem,
            challenge=challenge,
            signature=signature,
            now=now,
            actor=PORTAL_ACTOR,
        )
    except LoginRefused as error:
        record(
            session,
            actor=actor,
            action=refused_action,
            now=now,
            account_id=account_id,
            reason=str(error.reason),
        )
        raise


# ---- login and sessions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Login:
    """A login that succeeded: the session token (returned once; only its hash is stored)."""

    token: str = field(repr=False)
    portal_session: PortalSession
    account: PortalAccount
    account_created: bool


def log_in(
    session: Session,
    *,
    challenge: bytes,
    certificate_pem: bytes | str,
    signature: bytes,
    replacing_token: str | None = None,
    now: datetime | None = None,
) -> Login:
    """カードでログイン: the card signed our challenge; open a session over the person's own
    folder, created on the first login. The folder belongs to the person, so a reissued card
    opens the same one.

    Refused (audited; commit after catching) with ChallengeRefused for a challenge not ours,
    used, expired or for another purpose, and with the card authority's LoginRefused for a
    certificate or signature that does not verify, or a card suspended or revoked. A refused
    login has used its challenge up. ``replacing_token`` is the browser's previous session,
    ended so that a token planted before login is worthless after it."""
    now = now or utc_now()
    if not _consume_challenge(session, challenge, ChallengePurpose.LOGIN, session_id=None, now=now):
        record(
            session,
            actor=ANONYMOUS_ACTOR,
            action="portal.login_refused",
            now=now,
            reason=ChallengeRefused.reason,
        )
        raise ChallengeRefused()
    person_id = _verified_person(
        session,
        challenge=challenge,
        certificate_pem=certificate_pem,
        signature=signature,
        now=now,
        refused_action="portal.login_refused",
        actor=ANONYMOUS_ACTOR,
    )
    certificate = jpki.find_certificate(session, _certificate_serial(certificate_pem))
    assert certificate is not None  # noqa: S101  verify_login found it
    actor = person_subject(person_id)
    account, created = open_account(session, person_id=person_id, actor=actor, now=now)
    replaced = _live_session(session, replacing_token) if replacing_token else None
    if replaced is not None:
        _end(session, replaced, now, SessionEnd.REPLACED)
    token = secrets.token_urlsafe(rules.TOKEN_BYTES)
    row = PortalSession(
        token_hash=digest(token),
        csrf_token=secrets.token_urlsafe(rules.TOKEN_BYTES),
        person_id=person_id,
        account_id=account.id,
        certificate_serial=certificate.serial,
        card_id=certificate.card_id,
        acting_account_id=account.id,
        acting_grant_id=None,
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    log_access(session, account.id, AccessAction.LOGIN, actor_person_id=person_id, now=now)
    record(
        session,
        actor=actor,
        action="portal.login",
        now=now,
        account_id=account.id,
        session=row.id,
        card=certificate.card_id,
        serial=certificate.serial,
        account_created=created,
        replaced_session=None if replaced is None else replaced.id,
    )
    return Login(token=token, portal_session=row, account=account, account_created=created)


def _live_session(session: Session, token: str) -> PortalSession | None:
    row = session.scalars(
        select(PortalSession)
        .where(PortalSession.token_hash == digest(token))
        .execution_options(populate_existing=True)
    ).one_or_none()
    return row if row is not None and row.ended_at is None else None


def _end(session: Session, row: PortalSession, now: datetime, reason: SessionEnd) -> None:
    row.ended_at = now
    row.end_reason = reason
    actor = session_actor(row) if reason == SessionEnd.LOGOUT else SYSTEM_ACTOR
    record(
        session,
        actor=actor,
        action="portal.session_ended",
        now=now,
        account_id=row.acting_account_id,
        session=row.id,
        reason=reason.value,
        grant=row.acting_grant_id,
    )


def _grant_is_live(session: Session, row: PortalSession) -> bool:
    if row.acting_grant_id is None:
        return True
    try:
        access = folder_access(
            session, account_id=row.acting_account_id, viewer_person_id=row.person_id, lock=True
        )
    except NoFolderAccess:
        return False
    return access.grant is not None and access.grant.id == row.acting_grant_id


def resolve_session(
    session: Session, token: str, *, now: datetime | None = None
) -> PortalSession | None:
    """The live session ``token`` names, its idle clock restarted; None if there is none.

    Checked afresh on every request, and the session ended for good (audited) if any fails:
    the card that opened it is still usable (not suspended, abolished or expired); the
    person's own folder still exists; as a proxy, the grant is live and the folder entered
    exists; and it has not been idle for 15 minutes. The caller must commit even when this
    returns None."""
    now = now or utc_now()
    row = _live_session(session, token)
    if row is None:
        return None
    as_proxy = row.acting_grant_id is not None
    state = rules.SessionState(
        now=now,
        last_seen_at=row.last_seen_at,
        card_usable=jpki.certificate_is_usable(session, int(row.certificate_serial, 16), now=now),
        own_account_live=is_live_account(session, row.account_id),
        as_proxy=as_proxy,
        grant_live=_grant_is_live(session, row),
        folder_live=not as_proxy or is_live_account(session, row.acting_account_id),
    )
    reason = rules.session_end_reason(state)
    if reason is not None:
        _end(session, row, now, reason)
        return None
    row.last_seen_at = now
    return row


def log_out(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """ログアウト. True if a live session was ended."""
    row = _live_session(session, token)
    if row is None:
        return False
    _end(session, row, now or utc_now(), SessionEnd.LOGOUT)
    return True


# ---- entering a folder as a proxy ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProxiedFolder:
    """A folder the logged-in person may enter as a proxy."""

    grant_id: int
    account_id: int
    principal_name: str
    kind: GrantKind
    representation: Representation | None
    granted_at: datetime


def proxied_folders(session: Session, portal_session: PortalSession) -> list[ProxiedFolder]:
    """The folders the logged-in person holds a live grant over, oldest grant first."""
    rows = session.execute(
        select(ProxyGrant, Person)
        .join(PortalAccount, PortalAccount.id == ProxyGrant.account_id)
        .join(Person, Person.id == PortalAccount.person_id)
        .where(
            ProxyGrant.proxy_person_id == portal_session.person_id,
            ProxyGrant.ended_at.is_(None),
            PortalAccount.deleted_at.is_(None),
        )
        .order_by(ProxyGrant.granted_at, ProxyGrant.id)
    ).all()
    return [
        ProxiedFolder(
            grant_id=grant.id,
            account_id=grant.account_id,
            principal_name=person.name,
            kind=GrantKind(grant.kind),
            representation=None
            if grant.representation is None
            else Representation(grant.representation),
            granted_at=grant.granted_at,
        )
        for grant, person in rows
    ]


def switch_folder(
    session: Session,
    portal_session: PortalSession,
    *,
    account_id: int | None,
    now: datetime | None = None,
) -> PortalSession:
    """Enter the folder ``account_id`` as a proxy (a live grant must name the logged-in person),
    or go back to one's own folder with None (or one's own id). Refused entries are audited."""
    now = now or utc_now()
    actor = session_actor(portal_session)
    if account_id is None or account_id == portal_session.account_id:
        portal_session.acting_account_id = portal_session.account_id
        portal_session.acting_grant_id = None
        record(
            session,
            actor=actor,
            action="portal.switched",
            now=now,
            account_id=portal_session.account_id,
            session=portal_session.id,
            grant=None,
        )
        return portal_session
    try:
        access = folder_access(
            session, account_id=account_id, viewer_person_id=portal_session.person_id, lock=True
        )
    except NoFolderAccess as error:
        record(
            session,
            actor=actor,
            action="portal.switch_refused",
            now=now,
            account_id=account_id if 1 <= account_id <= MAX_ID else None,
            session=portal_session.id,
            reason=error.reason,
        )
        raise
    # One live folder per person, and the own folder was handled above: this is a proxy's way in.
    assert access.grant is not None  # noqa: S101
    portal_session.acting_account_id = access.account.id
    portal_session.acting_grant_id = access.grant.id
    session.flush()
    log_access(
        session,
        access.account.id,
        AccessAction.PROXY_ENTERED,
        actor_person_id=portal_session.person_id,
        grant_id=access.grant.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="portal.switched",
        now=now,
        account_id=access.account.id,
        session=portal_session.id,
        grant=access.grant.id,
    )
    return portal_session


# ---- the views -----------------------------------------------------------------------------


def view_folder(
    session: Session,
    portal_session: PortalSession,
    *,
    network_key: bytes,
    parts: Iterable[ViewKind] = ALL_VIEWS,
    page: PageRequest = FIRST_PAGE,
    now: datetime | None = None,
) -> FolderView:
    """One page of each view of the folder the session is in (``page``; the first by default),
    built by ``folder_page`` from the same display queries and the same protective mask for the
    session's path as ``folder_view``, which the exposure check reads whole. Each view is entered
    in the folder's 操作履歴 with who looked (the person, or the proxy and their grant) and
    audited. The audit counts only what was shown: the log is read by administrators, who are
    not told that anyone is protected."""
    now = now or utc_now()
    actor = session_actor(portal_session)
    try:
        view = folder_page(
            session,
            account_id=portal_session.acting_account_id,
            viewer_person_id=portal_session.person_id,
            card_id=portal_session.card_id,
            network_key=network_key,
            parts=parts,
            request=page,
            on=tokyo_date(now),
        )
    except NoFolderAccess as error:
        record(
            session,
            actor=actor,
            action="portal.access_refused",
            now=now,
            account_id=portal_session.acting_account_id,
            session=portal_session.id,
            reason=error.reason,
        )
        raise
    for part in sorted(view.parts):
        log_access(
            session,
            view.account_id,
            AccessAction.viewed(part),
            actor_person_id=portal_session.person_id,
            grant_id=view.grant_id,
            now=now,
        )
    record(
        session,
        actor=actor,
        action="portal.folder_viewed",
        now=now,
        account_id=view.account_id,
        session=portal_session.id,
        grant=view.grant_id,
        views=sorted(part.value for part in view.parts),
        records=len(view.records),
        self_info=len(view.self_info),
        inbox=len(view.inbox),
    )
    return view


def access_history(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> list[AccessLogEntry]:
    """操作履歴 of the person's own folder, newest first (the person only: a proxy cannot read
    when the person logs in). Audited."""
    now = now or utc_now()
    require_own_folder(session, portal_session, "操作履歴の表示", "reading the access log", now)
    entries = list(
        session.scalars(
            select(AccessLogEntry)
            .options(selectinload(AccessLogEntry.actor))
            .where(AccessLogEntry.account_id == portal_session.account_id)
            .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
        )
    )
    record(
        session,
        actor=session_actor(portal_session),
        action="portal.history_read",
        now=now,
        account_id=portal_session.account_id,
        session=portal_session.id,
        count=len(entries),
    )
    return entries


# ---- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingsView:
    notification_email: str | None
    updated_at: datetime | None


def account_settings(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> SettingsView:
    """The settings of the person's own folder (the person only)."""
    require_own_folder(session, portal_session, "設定", "settings", now or utc_now())
    row = session.get(AccountSettings, portal_session.account_id)
    if row is None:
        return SettingsView(notification_email=None, updated_at=None)
    return SettingsView(notification_email=row.notification_email, updated_at=row.updated_at)


def update_settings(
    session: Session,
    portal_session: PortalSession,
    *,
    notification_email: str | None,
    now: datetime | None = None,
) -> SettingsView:
    now = now or utc_now()
    require_own_folder(session, portal_session, "設定", "settings", now)
    email = rules.clean_notification_email(notification_email)
    row = session.get(AccountSettings, portal_session.account_id, with_for_update=True)
    if row is None:
        row = AccountSettings(account_id=portal_session.account_id)
        session.add(row)
    row.notification_email = email
    row.updated_at = now
    session.flush()
    log_access(
        session,
        portal_session.account_id,
        AccessAction.SETTINGS_CHANGED,
        actor_person_id=portal_session.person_id,
        now=now,
    )
    record(
        session,
        actor=session_actor(portal_session),
        action="portal.settings_changed",
        now=now,
        account_id=portal_session.account_id,
        notification_email_set=email is not None,
    )
    return SettingsView(notification_email=row.notification_email, updated_at=row.updated_at)


# ---- deleting a folder -------------------------------------------------------------------------


def issue_deletion_challenge(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> IssuedChallenge:
    """A challenge for the fresh card login that deleting the folder needs, bound to this
    session: usable once, within five minutes, by this session only. Refused to a proxy."""
    now = now or utc_now()
    require_own_folder(session, portal_session, "利用者フォルダの削除", "deleting the folder", now)
    return _new_challenge(session, ChallengePurpose.DELETION, portal_session.id, now)


@dataclass(frozen=True, slots=True)
class DeletionReport:
    """What a deletion did. ``messages_deleted`` counts the お知らせ the deleting session was
    shown (the audit entry has them all)."""

    account_id: int
    deleted_at: datetime
    grants_ended: int
    sessions_ended: int
    messages_deleted: int
    invitations_deleted: int
    history_deleted: int


def delete_account(
    session: Session,
    portal_session: PortalSession,
    *,
    challenge: bytes,
    certificate_pem: bytes | str,
    signature: bytes,
    now: datetime | None = None,
) -> DeletionReport:
    """利用者フォルダの削除. Needs, besides the session, a fresh card login: the deletion
    challenge of this session signed by the person's own card, which must be usable — so a
    proxy's card cannot delete, and a suspended or revoked card cannot either (a victim whose
    card is with the perpetrator has it suspended and reissued first, as the seed says).

    Deletes the inbox, settings, invitations and 操作履歴; ends every proxy grant (代理権も消滅)
    and every session of the person or in the folder, this one included. A folder opened later
    is a new, empty one with no proxy. Refusals are audited (commit after catching them)."""
    now = now or utc_now()
    actor = session_actor(portal_session)
    require_own_folder(session, portal_session, "利用者フォルダの削除", "deleting the folder", now)
    account_id = portal_session.account_id
    if not _consume_challenge(
        session, challenge, ChallengePurpose.DELETION, session_id=portal_session.id, now=now
    ):
        record(
            session,
            actor=actor,
            action="portal.deletion_refused",
            now=now,
            account_id=account_id,
            reason=ChallengeRefused.reason,
        )
        raise ChallengeRefused()
    signer = _verified_person(
        session,
        challenge=challenge,
        certificate_pem=certificate_pem,
        signature=signature,
        now=now,
        refused_action="portal.deletion_refused",
        actor=actor,
        account_id=account_id,
    )
    account = session.scalars(
        select(PortalAccount)
        .where(PortalAccount.id == account_id)
        # FOR NO KEY UPDATE: a delivery to the inbox (FOR SHARE) finishes first or finds the
        # folder deleted; inserts that only refer to the folder are not blocked (no deadlock
        # with a proxy's request that holds its grant and writes to the 操作履歴).
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    if signer != account.person_id or signer != portal_session.person_id:
        record(
            session,
            actor=actor,
            action="portal.deletion_refused",
            now=now,
            account_id=account_id,
            reason=DeletionRefused.reason,
        )
        raise DeletionRefused()
    shown = inbox_shown_to(session, account=account, card_id=portal_session.card_id)
    return replace(_delete(session, account, actor=actor, now=now), messages_deleted=shown)


def _delete(
    session: Session, account: PortalAccount, *, actor: str, now: datetime
) -> DeletionReport:
    grants = list(
        session.scalars(
            select(ProxyGrant)
            .where(ProxyGrant.account_id == account.id, ProxyGrant.ended_at.is_(None))
            .with_for_update(key_share=True)
        )
    )
    for grant in grants:
        grant.ended_at, grant.end_reason, grant.ended_by = now, GrantEnd.ACCOUNT_DELETED, actor
    session.flush()
    sessions_ended = end_sessions(
        session,
        or_(PortalSession.account_id == account.id, PortalSession.acting_account_id == account.id),
        SessionEnd.ACCOUNT_DELETED,
        now,
    )
    counts = {}
    for name, table, column in (
        ("messages", InboxMessage, InboxMessage.account_id),
        ("invitations", ProxyInvitation, ProxyInvitation.account_id),
        ("history", AccessLogEntry, AccessLogEntry.account_id),
        ("settings", AccountSettings, AccountSettings.account_id),
    ):
        counts[name] = session.execute(
            delete(table).where(column == account.id).execution_options(synchronize_session=False)
        ).rowcount
    account.deleted_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action="portal.account_deleted",
        now=now,
        account_id=account.id,
        person=person_subject(account.person_id),
        grants_ended=[grant.id for grant in grants],
        sessions_ended=sessions_ended,
        messages_deleted=counts["messages"],
    )
    return DeletionReport(
        account_id=account.id,
        deleted_at=now,
        grants_ended=len(grants),
        sessions_ended=sessions_ended,
        messages_deleted=counts["messages"],
        invitations_deleted=counts["invitations"],
        history_deleted=counts["history"],
    )
