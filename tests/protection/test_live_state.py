"""The live state read from cards, the folder and grants drives the usage-stop status: the seed's
case ② with both paths open, closed step by step, judged only from what really happened."""

from __future__ import annotations

from datetime import timedelta

from tests.portal.conftest import MY_NUMBER_KEY, world  # noqa: F401  (fixture)
from tests.portal.test_perpetrator import delete

from fukaiji.db.base import utc_now
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.live_state import read_live_state
from fukaiji.protection.usage_stop import usage_stop
from fukaiji.registry import service as registry

BOTH_PATHS = CaseFacts(
    own_procedures=True,
    card_left_behind=True,
    perpetrator_is_proxy=True,
    perpetrator_is_legal_representative=False,
)


def test_case_two_with_both_paths_closes_only_after_reissue_and_deletion(world) -> None:  # noqa: F811
    victim = world.resident()
    perpetrator = world.resident(given_name="太郎")
    world.login(victim.card_token)
    world.appoint(victim, perpetrator)
    registered = utc_now() + timedelta(microseconds=1)

    def state(perpetrator_known: bool = True):
        return read_live_state(
            world.session,
            person_id=victim.id,
            since=registered,
            perpetrator_id=perpetrator.id if perpetrator_known else None,
        )

    fresh = state()
    assert (fresh.risky_cards_total, fresh.risky_cards_usable, fresh.risky_grants) == (1, 1, 1)
    assert fresh.stale_account and not fresh.new_card_issued
    assert not usage_stop(BOTH_PATHS, fresh).complete

    world.suspend(victim)
    suspended = state()
    assert suspended.risky_cards_usable == 0
    assert suspended.risky_grants == 1  # suspension alone leaves the proxy path open
    assert not usage_stop(BOTH_PATHS, suspended).complete

    world.reissue(victim)
    assert state().new_card_issued
    registry.change_my_number(
        world.session, person_id=victim.id, reason="漏えいのおそれ", my_number_key=MY_NUMBER_KEY,
        actor="test",
    )  # fmt: skip
    assert state().my_number_changed_since_registration

    delete(world, world.login(victim.card_token), victim.card_token)
    closed = state()
    assert (closed.stale_account, closed.risky_grants) == (False, 0)
    assert usage_stop(BOTH_PATHS, closed).complete


def test_an_unknown_perpetrator_makes_every_grant_a_risk(world) -> None:  # noqa: F811
    victim = world.resident()
    relative = world.resident(given_name="次郎")
    stranger = world.resident(given_name="三郎")
    world.login(victim.card_token)
    world.appoint(victim, relative)
    since = utc_now()
    unknown = read_live_state(world.session, person_id=victim.id, since=since, perpetrator_id=None)
    known = read_live_state(
        world.session, person_id=victim.id, since=since, perpetrator_id=stranger.id
    )
    assert (unknown.risky_grants, known.risky_grants) == (1, 0)
