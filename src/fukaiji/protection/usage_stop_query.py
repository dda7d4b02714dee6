"""利用停止手続 asked in SQL: whether a protection's usage-stop is still incomplete, as one
correlated expression, so that the exclusion question can be put to a whole institution or a
whole batch of addressees in one query (a national body holds ~10⁵ protected persons).

It is the same rule as ``live_state.read_live_state`` followed by ``usage_stop.usage_stop``,
written a second time in SQL; ``tests/protection/test_exclusion_set_form.py`` holds the two to
the same answer on random states. Change one, change the other.

Still derived, never ticked (DESIGN §2): every clause reads cards, folders, sessions and grants
as they are at the moment of asking. ``Protection.risk_since`` is not live state but a fact of the
case, derived from the day of flight and the registration whenever the row is written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import aliased

from fukaiji.jpki.models import Card
from fukaiji.jpki.states import CardStatus
from fukaiji.portal.models import PortalAccount, PortalSession, ProxyGrant
from fukaiji.protection.models import Protection


def usage_stop_incomplete() -> ColumnElement[bool]:
    """True for a ``Protection`` row of the enclosing query while a perpetrator path into the
    portal is open: the protection is excluded from destination files (別添2(3)(4))."""
    left_behind = Protection.card_left_behind.is_(True)
    return or_(
        and_(left_behind, or_(_risky_card_usable(), _stale_account())),
        _risky_grant(every_grant=and_(left_behind, _stale_account())),
    )


def _exists(*conditions: ColumnElement[bool], outer: tuple[Any, ...] = ()) -> ColumnElement[bool]:
    # Correlated to the protection of the outermost query at every depth (and to ``outer``, the
    # enclosing EXISTS's own tables): left to itself, SQLAlchemy correlates only to the SELECT
    # just around, and a nested EXISTS would quietly range over every protection (found by
    # test_exclusion_set_form's exhaustive check).
    return exists().where(*conditions).correlate(Protection, *outer)


def _risky_card(card: type[Card]) -> ColumnElement[bool]:
    """A card of hers that existed at ``risk_since``: it may be the one left behind."""
    return and_(card.person_id == Protection.person_id, card.issued_at <= Protection.risk_since)


def _risky_card_usable() -> ColumnElement[bool]:
    return _exists(_risky_card(Card), Card.status == CardStatus.ACTIVE.value)


def _stale_account() -> ColumnElement[bool]:
    """Her live folder was opened before ``risk_since``, or a risky card ever logged in to it."""
    account = aliased(PortalAccount)
    card = aliased(Card)
    used_by_risky_card = _exists(
        PortalSession.account_id == account.id,
        card.id == PortalSession.card_id,
        _risky_card(card),
        outer=(account,),
    )
    return _exists(
        account.person_id == Protection.person_id,
        account.deleted_at.is_(None),
        or_(account.created_at <= Protection.risk_since, used_by_risky_card),
    )


def _risky_grant(*, every_grant: ColumnElement[bool]) -> ColumnElement[bool]:
    """A live grant into her live folder that may be the perpetrator's: to the perpetrator, or any
    grant where the perpetrator is not identified or the card left behind may have made it."""
    account = aliased(PortalAccount)
    return _exists(
        ProxyGrant.account_id == account.id,
        account.person_id == Protection.person_id,
        account.deleted_at.is_(None),
        ProxyGrant.ended_at.is_(None),
        or_(
            Protection.perpetrator_id.is_(None),
            ProxyGrant.proxy_person_id == Protection.perpetrator_id,
            every_grant,
        ),
    )
