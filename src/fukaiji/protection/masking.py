"""保護のための非表示 (protective masking): from the moment a desk registers a case, every portal
view reached through a path that may be the perpetrator's leaves out each item that would give
the protected region away. Nobody has to ask for it (DESIGN §2, enforce, then report).

A path is *risky* when the exposure check counts it as open:
- the person's own path, logged in with a card of hers that existed when she fled (or, where the
  desk does not know that day, when the case was registered), where the desk recorded that the
  card was left behind: whoever holds that card may be looking; her reissued card is safe;
- a proxy grant the exposure check counts as a risk (``live_state.risky_grants``).

Where several desks protect the same person, a path risky for any of them is masked against
every protected region: a leak of any region is a leak. An item gives a region away by the test
the exposure check applies (``reasons_given_away``): it names an institution located there, or
its text names a place there, however written (``fukaiji.protection.region``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fukaiji.intermediate.display import DisclosableRecord, DisclosableSelfInfo
from fukaiji.jpki import service as jpki
from fukaiji.jpki.models import Card
from fukaiji.network.linkage import InstitutionRef
from fukaiji.portal import masking
from fukaiji.portal.folder import InboxItem, ShownItem, folder_paths
from fukaiji.portal.masking import ViewPath
from fukaiji.protection.live_state import account_is_stale, risky_grants
from fukaiji.protection.models import Protection
from fukaiji.protection.region import ProtectedRegion, parse_region
from fukaiji.protection.service import risk_since


def reasons_given_away(item: ShownItem, region: ProtectedRegion) -> tuple[str, ...]:
    """Why the item gives the region away (empty: it does not). Pure."""
    reasons = [
        f"{institution.name}（保護地域内の機関）"
        for institution in dict.fromkeys(item.institutions)
        if region.covers(institution)
    ]
    reasons += [f"内容に「{place}」" for place in region.places_named_in(text_of(item))]
    return tuple(reasons)


def gives_away(item: ShownItem, region: ProtectedRegion) -> bool:
    """``reasons_given_away`` as a yes or no, cheapest test first (the portal asks this of
    every item it shows a risky path)."""
    for institution in item.institutions:
        if region.covers(institution):
            return True
    return bool(region.places_named_in(text_of(item)))


def text_of(item: ShownItem) -> str:
    """Everything of the item a viewer reads, besides the institutions it names."""
    if isinstance(item, DisclosableRecord):
        return f"{item.affair_name} {item.item_name}"
    if isinstance(item, DisclosableSelfInfo):
        return f"{item.item_name} {item.content_json}"
    if isinstance(item, InboxItem):
        return f"{item.title} {item.body}"
    raise TypeError(f"not an item of a view: {type(item).__name__}")


@dataclass(frozen=True, slots=True)
class RegionMask:
    region: ProtectedRegion

    def hides(self, item: ShownItem) -> bool:
        return gives_away(item, self.region)

    def hides_all_of(self, institution: InstitutionRef) -> bool:
        return self.region.covers(institution)


@masking.guard
def protective_mask(session: Session, path: ViewPath) -> RegionMask | None:
    protections = session.scalars(
        select(Protection).where(Protection.person_id == path.person_id)
    ).all()
    if not any(path_is_risky(session, protection, path) for protection in protections):
        return None
    codes = [code.code for protection in protections for code in protection.region]
    return RegionMask(parse_region(codes))


def path_is_risky(session: Session, protection: Protection, path: ViewPath) -> bool:
    """Whether the exposure check of ``protection`` counts ``path`` as open."""
    if path.grant_id is None:
        return protection.card_left_behind and _card_is_risky(session, protection, path.card_id)
    since = risk_since(protection)
    every_grant = protection.card_left_behind and account_is_stale(
        session, protection.person_id, since, set(risky_card_ids(session, protection))
    )
    grants = risky_grants(
        folder_paths(session, person_id=protection.person_id),
        perpetrator_id=protection.perpetrator_id,
        every_grant=every_grant,
    )
    return any(grant.grant_id == path.grant_id for grant in grants)


def risky_card_ids(session: Session, protection: Protection) -> list[int]:
    """Her cards that existed when she fled: any of them may be in the perpetrator's hands."""
    return list(
        session.scalars(
            select(Card.id)
            .where(
                Card.person_id == protection.person_id,
                Card.issued_at <= risk_since(protection),
            )
            .order_by(Card.id)
        )
    )


def usable_risky_card(session: Session, protection: Protection) -> int | None:
    """A card of hers that existed when she fled and can still log in, if any."""
    for card_id in risky_card_ids(session, protection):
        if jpki.card_is_usable(session, card_id):
            return card_id
    return None


def _card_is_risky(session: Session, protection: Protection, card_id: int | None) -> bool:
    if card_id is None:
        return True  # a login whose card is not known: when in doubt, hide
    card = session.get(Card, card_id)
    if card is None or card.person_id != protection.person_id:
        return True
    return card.issued_at <= risk_since(protection)
