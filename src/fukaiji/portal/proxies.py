"""代理人 (proxies): invitations made by the person, grants accepted by the proxy logged in with
their own card, cancellation by the person alone, and 法定代理人 recorded at the card window.

A grant names a person (the proxy's register id), not a card: the proxy enters with whatever card
they hold now, and suspending or reissuing the person's card leaves grants as they are — the
seed's warning that suspension alone does not shut a perpetrator who is also the proxy out. A
grant ends only when the person cancels it, when the folder is deleted, or (法定代理人) at the
window, which records the ground of the end (終了の根拠, e.g. a family court's decision); it ends
at once, with every session the proxy has in the folder.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import MAX_ID, utc_now
from fukaiji.network.models import Institution
from fukaiji.portal import rules
from fukaiji.portal._common import (
    digest,
    end_sessions,
    is_live_account,
    live_account,
    log_access,
    open_account,
    record,
    require_own_folder,
    session_actor,
)
from fukaiji.portal.errors import (
    DuplicateGrant,
    GrantNotLegal,
    InvalidInput,
    InvitationRefused,
    NoAccount,
    SelfProxy,
    UnknownGrant,
    UnknownInvitation,
)
from fukaiji.portal.models import PortalAccount, PortalSession, ProxyGrant, ProxyInvitation
from fukaiji.portal.states import AccessAction, GrantEnd, GrantKind, Representation, SessionEnd
from fukaiji.registry.errors import UnknownPerson
from fukaiji.registry.models import Person
from fukaiji.registry.service import person_subject

# ---- invitations ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A new invitation; the code is shown to the person once and stored only as a hash."""

    invitation: ProxyInvitation
    code: str = field(repr=False)


def create_invitation(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> IssuedInvitation:
    """代理人招待コード: the person, in their own folder, makes a one-time code to hand to the
    person they appoint, who accepts it logged in with their own card (no 個人番号 travels
    through the portal). Valid for 24 hours."""
    now = now or utc_now()
    require_own_folder(session, portal_session, "代理人の招待", "inviting a proxy", now)
    raw = "".join(secrets.choice(rules.INVITATION_ALPHABET) for _ in range(rules.INVITATION_LENGTH))
    invitation = ProxyInvitation(
        account_id=portal_session.account_id,
        code_hash=digest(raw),
        created_at=now,
        expires_at=now + rules.INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    log_access(
        session,
        portal_session.account_id,
        AccessAction.INVITATION_CREATED,
        actor_person_id=portal_session.person_id,
        now=now,
    )
    record(
        session,
        actor=session_actor(portal_session),
        action="portal.invitation_created",
        now=now,
        account_id=portal_session.account_id,
        invitation=invitation.id,
    )
    return IssuedInvitation(invitation=invitation, code=rules.format_invitation_code(raw))


def pending_invitations(
    session: Session, portal_session: PortalSession, *, now: datetime | None = None
) -> list[ProxyInvitation]:
    """The person's invitations not yet accepted, cancelled or expired."""
    now = now or utc_now()
    require_own_folder(session, portal_session, "代理人の招待", "inviting a proxy", now)
    return list(
        session.scalars(
            select(ProxyInvitation)
            .where(
                ProxyInvitation.account_id == portal_session.account_id,
                ProxyInvitation.accepted_at.is_(None),
                ProxyInvitation.cancelled_at.is_(None),
                ProxyInvitation.expires_at > now,
            )
            .order_by(ProxyInvitation.id)
        )
    )


def cancel_invitation(
    session: Session,
    portal_session: PortalSession,
    invitation_id: int,
    *,
    now: datetime | None = None,
) -> ProxyInvitation:
    now = now or utc_now()
    require_own_folder(session, portal_session, "代理人の招待", "inviting a proxy", now)
    invitation = None
    if 1 <= invitation_id <= MAX_ID:
        invitation = session.scalars(
            select(ProxyInvitation)
            .where(
                ProxyInvitation.id == invitation_id,
                ProxyInvitation.account_id == portal_session.account_id,
                ProxyInvitation.accepted_at.is_(None),
                ProxyInvitation.cancelled_at.is_(None),
            )
            .with_for_update()
        ).one_or_none()
    if invitation is None:
        raise UnknownInvitation(invitation_id)
    invitation.cancelled_at = now
    log_access(
        session,
        portal_session.account_id,
        AccessAction.INVITATION_CANCELLED,
        actor_person_id=portal_session.person_id,
        now=now,
    )
    record(
        session,
        actor=session_actor(portal_session),
        action="portal.invitation_cancelled",
        now=now,
        account_id=portal_session.account_id,
        invitation=invitation.id,
    )
    return invitation


def _insert_grant(session: Session, grant: ProxyGrant) -> None:
    # A concurrent grant for the same pair passes the check before; the partial unique index
    # catches it, and the savepoint keeps the caller's transaction usable.
    try:
        with session.begin_nested():
            session.add(grant)
    except IntegrityError as error:
        raise DuplicateGrant() from error


def _live_grant_for(
    session: Session, account_id: int, proxy_person_id: uuid.UUID
) -> ProxyGrant | None:
    return session.scalars(
        select(ProxyGrant).where(
            ProxyGrant.account_id == account_id,
            ProxyGrant.proxy_person_id == proxy_person_id,
            ProxyGrant.ended_at.is_(None),
        )
    ).one_or_none()


def accept_invitation(
    session: Session, portal_session: PortalSession, *, code: str, now: datetime | None = None
) -> ProxyGrant:
    """The logged-in person becomes the proxy of the person who made the code. Refused
    (audited) for a code that is wrong, used, cancelled or expired, and for one's own code."""
    now = now or utc_now()
    actor = session_actor(portal_session)
    normalized = rules.normalize_invitation_code(code)
    invitation = None
    if normalized is not None:
        invitation = session.scalars(
            select(ProxyInvitation)
            .where(ProxyInvitation.code_hash == digest(normalized))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
    usable = (
        invitation is not None
        and invitation.accepted_at is None
        and invitation.cancelled_at is None
        and rules.is_fresh(invitation.expires_at, now)
        and is_live_account(session, invitation.account_id)
    )
    if not usable:
        record(
            session,
            actor=actor,
            action="portal.invitation_refused",
            now=now,
            account_id=None if invitation is None else invitation.account_id,
            session=portal_session.id,
            reason=InvitationRefused.reason,
        )
        raise InvitationRefused()
    assert invitation is not None  # noqa: S101  usable
    account = session.get_one(PortalAccount, invitation.account_id)
    if account.person_id == portal_session.person_id:
        record(
            session,
            actor=actor,
            action="portal.invitation_refused",
            now=now,
            account_id=account.id,
            session=portal_session.id,
            reason=SelfProxy.reason,
        )
        raise SelfProxy()
    if _live_grant_for(session, account.id, portal_session.person_id) is not None:
        raise DuplicateGrant()
    grant = ProxyGrant(
        account_id=account.id,
        proxy_person_id=portal_session.person_id,
        kind=GrantKind.APPOINTED,
        representation=None,
        granted_at=now,
        granted_by=actor,
    )
    _insert_grant(session, grant)
    invitation.accepted_at = now
    log_access(
        session,
        account.id,
        AccessAction.GRANT_CREATED,
        actor_person_id=portal_session.person_id,
        grant_id=grant.id,
        about_grant_id=grant.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="portal.grant_created",
        now=now,
        account_id=account.id,
        grant=grant.id,
        kind=GrantKind.APPOINTED.value,
        proxy=person_subject(portal_session.person_id),
        invitation=invitation.id,
    )
    return grant


def proxy_grants(session: Session, portal_session: PortalSession) -> list[ProxyGrant]:
    """The live grants over the person's own folder, oldest first (the person only)."""
    require_own_folder(
        session, portal_session, "代理人設定の確認", "listing proxy grants", utc_now()
    )
    return list(
        session.scalars(
            select(ProxyGrant)
            .where(
                ProxyGrant.account_id == portal_session.account_id, ProxyGrant.ended_at.is_(None)
            )
            .order_by(ProxyGrant.granted_at, ProxyGrant.id)
        )
    )


def _end_grant(
    session: Session, grant: ProxyGrant, reason: GrantEnd, *, actor: str, now: datetime
) -> int:
    """End the grant at once, and every session a proxy is using it in. Returns how many
    sessions were ended."""
    grant.ended_at = now
    grant.end_reason = reason
    grant.ended_by = actor
    session.flush()
    return end_sessions(
        session, PortalSession.acting_grant_id == grant.id, SessionEnd.GRANT_ENDED, now
    )


def _grant_for_update(session: Session, grant_id: int, account_id: int) -> ProxyGrant:
    grant = None
    if 1 <= grant_id <= MAX_ID:
        grant = session.scalars(
            select(ProxyGrant)
            .where(
                ProxyGrant.id == grant_id,
                ProxyGrant.account_id == account_id,
                ProxyGrant.ended_at.is_(None),
            )
            # FOR NO KEY UPDATE: waits for every proxy request holding the grant (FOR SHARE),
            # without blocking the foreign-key checks of rows that merely refer to it.
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).one_or_none()
    if grant is None:
        raise UnknownGrant(grant_id)
    return grant


def cancel_grant(
    session: Session, portal_session: PortalSession, grant_id: int, *, now: datetime | None = None
) -> ProxyGrant:
    """代理人設定の解除 by the person alone, at once: the proxy's sessions in the folder end now
    and their next request is refused. Any grant over the folder, a 法定代理人's included."""
    now = now or utc_now()
    require_own_folder(session, portal_session, "代理人設定の解除", "cancelling a proxy", now)
    actor = session_actor(portal_session)
    grant = _grant_for_update(session, grant_id, portal_session.account_id)
    sessions_ended = _end_grant(
        session, grant, GrantEnd.CANCELLED_BY_PRINCIPAL, actor=actor, now=now
    )
    log_access(
        session,
        grant.account_id,
        AccessAction.GRANT_ENDED,
        actor_person_id=portal_session.person_id,
        about_grant_id=grant.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="portal.grant_cancelled",
        now=now,
        account_id=grant.account_id,
        grant=grant.id,
        kind=str(grant.kind),
        proxy=person_subject(grant.proxy_person_id),
        sessions_ended=sessions_ended,
    )
    return grant


# ---- 法定代理人 at the card window -------------------------------------------------------------


def _representation(value: str) -> Representation:
    try:
        return Representation(value)
    except ValueError:
        choices = ", ".join(r.value for r in Representation)
        raise InvalidInput(
            "representation",
            f"法定代理の根拠 {value!r}: 次のいずれかです: {choices}"
            f" (representation must be one of: {choices})",
        ) from None


def record_legal_representative(
    session: Session,
    *,
    person_id: uuid.UUID,
    representative_id: uuid.UUID,
    representation: str,
    institution: Institution,
    actor: str,
    now: datetime | None = None,
) -> ProxyGrant:
    """法定代理人 recorded by staff at the card window of the person's municipality: the
    representative, logged in with their own card, may enter the person's folder as a proxy
    does. The folder is created if the person has none yet. The caller has checked that the
    person lives in ``institution`` and found the representative in the register."""
    now = now or utc_now()
    chosen = _representation(representation)
    if person_id == representative_id:
        raise InvalidInput(
            "my_number",
            "法定代理人: 本人を自分の法定代理人にすることはできません"
            " (a person cannot be their own legal representative)",
        )
    for someone in (person_id, representative_id):
        if session.get(Person, someone) is None:
            raise UnknownPerson()
    account, _ = open_account(session, person_id=person_id, actor=actor, now=now)
    if _live_grant_for(session, account.id, representative_id) is not None:
        raise DuplicateGrant()
    grant = ProxyGrant(
        account_id=account.id,
        proxy_person_id=representative_id,
        kind=GrantKind.LEGAL,
        representation=chosen,
        granted_at=now,
        granted_by=actor,
    )
    _insert_grant(session, grant)
    log_access(
        session,
        account.id,
        AccessAction.GRANT_CREATED,
        actor_person_id=None,
        about_grant_id=grant.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="portal.grant_created",
        now=now,
        account_id=account.id,
        institution=institution.code,
        grant=grant.id,
        kind=GrantKind.LEGAL.value,
        representation=chosen.value,
        person=person_subject(person_id),
        proxy=person_subject(representative_id),
    )
    return grant


def legal_representatives(
    session: Session, *, person_id: uuid.UUID, institution: Institution, actor: str
) -> list[ProxyGrant]:
    """The live 法定代理人 grants over the person's folder, for the card window. Audited."""
    account = live_account(session, person_id)
    grants: list[ProxyGrant] = []
    if account is not None:
        grants = list(
            session.scalars(
                select(ProxyGrant)
                .where(
                    ProxyGrant.account_id == account.id,
                    ProxyGrant.kind == GrantKind.LEGAL,
                    ProxyGrant.ended_at.is_(None),
                )
                .order_by(ProxyGrant.granted_at, ProxyGrant.id)
            )
        )
    audit.record(
        session,
        actor=actor,
        action="portal.legal_representatives_read",
        institution=institution.code,
        subject=person_subject(person_id),
        details={"count": len(grants)},
    )
    return grants


def end_legal_representation(
    session: Session,
    *,
    person_id: uuid.UUID,
    grant_id: int,
    ground: str | None,
    reference: str | None = None,
    institution: Institution,
    actor: str,
    now: datetime | None = None,
) -> ProxyGrant:
    """法定代理の終了 recorded at the window, with its ground (終了の根拠, ``LegalEndGround``:
    the family court's decision, the child coming of age, …) and, where the document has one,
    its reference (根拠の参照: 審判の事件番号, at most ``rules.END_REFERENCE_MAX_LENGTH``
    characters). The grant ends at once, and so does every session the representative has in
    the folder.

    Refused, changing nothing, without a ground, with one not in the list, with one that cannot
    end this kind of representation (a 成年後見人 does not end by the person coming of age), or
    with a reference too long or not on one line. The audit entry records the ground's code, not
    the reference."""
    now = now or utc_now()
    chosen = rules.legal_end_ground(ground)
    cleaned_reference = rules.clean_end_reference(reference)
    account = live_account(session, person_id)
    if account is None:
        raise NoAccount(person_id)
    grant = _grant_for_update(session, grant_id, account.id)
    if grant.kind != GrantKind.LEGAL or grant.representation is None:
        raise GrantNotLegal(grant_id)
    rules.ground_fits(chosen, Representation(grant.representation))
    grant.end_ground = chosen
    grant.end_reference = cleaned_reference
    sessions_ended = _end_grant(session, grant, GrantEnd.ENDED_AT_WINDOW, actor=actor, now=now)
    log_access(
        session,
        account.id,
        AccessAction.GRANT_ENDED,
        actor_person_id=None,
        about_grant_id=grant.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="portal.grant_cancelled",
        now=now,
        account_id=account.id,
        institution=institution.code,
        grant=grant.id,
        kind=GrantKind.LEGAL.value,
        ground=chosen.value,
        proxy=person_subject(grant.proxy_person_id),
        sessions_ended=sessions_ended,
    )
    return grant
