"""Reading the live state a protection is judged against (``LiveState``), from the card authority,
the portal and the register, at the moment of asking. Nothing here is stored: the usage-stop status
is derived, never ticked (DESIGN §2).

``since`` is when the case was registered: a card that existed then may be the one left behind, and
a folder that existed then (or was opened by such a card) may hold what the perpetrator set up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.jpki import service as jpki
from fukaiji.jpki.models import Card
from fukaiji.portal.folder import FolderPath, folder_paths
from fukaiji.portal.models import PortalAccount, PortalSession
from fukaiji.portal.states import GrantKind
from fukaiji.protection.facts import LiveState
from fukaiji.registry.models import MyNumberRecord


def read_live_state(
    session: Session,
    *,
    person_id: uuid.UUID,
    since: datetime,
    perpetrator_id: uuid.UUID | None,
    card_left_behind: bool = False,
) -> LiveState:
    cards = session.scalars(select(Card).where(Card.person_id == person_id)).all()
    risky = {card.id for card in cards if card.issued_at <= since}
    usable = {card.id for card in cards if jpki.card_is_usable(session, card.id)}
    stale = account_is_stale(session, person_id, since, risky)
    grants = risky_grants(
        folder_paths(session, person_id=person_id),
        perpetrator_id=perpetrator_id,
        every_grant=card_left_behind and stale,
    )
    return LiveState(
        risky_cards_total=len(risky),
        risky_cards_usable=len(risky & usable),
        new_card_issued=bool(usable - risky),
        stale_account=stale,
        risky_appointed_grants=sum(path.grant_kind is GrantKind.APPOINTED for path in grants),
        risky_legal_grants=sum(path.grant_kind is GrantKind.LEGAL for path in grants),
        my_number_changed_since_registration=_number_changed(session, person_id, since),
    )


def risky_grants(
    paths: list[FolderPath], *, perpetrator_id: uuid.UUID | None, every_grant: bool
) -> list[FolderPath]:
    """The live grants that may be the perpetrator's way in: the grants to the perpetrator, or
    every grant where the perpetrator is not identified — or where the folder is one the card
    left behind may have reached, since whoever held the card could appoint anyone (found by
    the state machine: the perpetrator, logged in as her, appointed an accomplice)."""
    grants = [path for path in paths if path.grant_id is not None]
    if perpetrator_id is None or every_grant:
        return grants
    return [path for path in grants if path.viewer_person_id == perpetrator_id]


def account_is_stale(
    session: Session, person_id: uuid.UUID, since: datetime, risky_cards: set[int]
) -> bool:
    account = session.scalars(
        select(PortalAccount).where(
            PortalAccount.person_id == person_id, PortalAccount.deleted_at.is_(None)
        )
    ).one_or_none()
    if account is None:
        return False
    if account.created_at <= since:
        return True
    # Opened after registration: stale only if a risky card ever logged in to it.
    cards_used = session.scalars(
        select(PortalSession.card_id).where(PortalSession.account_id == account.id)
    ).all()
    return bool(risky_cards & set(cards_used))


def _number_changed(session: Session, person_id: uuid.UUID, since: datetime) -> bool:
    issued = session.scalars(
        select(MyNumberRecord.issued_at).where(MyNumberRecord.person_id == person_id)
    ).all()
    return any(at > since for at in issued)
