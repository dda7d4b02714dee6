"""Defects found by the state machine of ``test_model.py``, each as the smallest failing case."""

from __future__ import annotations

from tests.protection.conftest import desk as desk
from tests.protection.test_scenarios import exposed, osaka_in

from fukaiji.protection.exposure import PathKind


def test_a_proxy_appointed_with_the_card_left_behind_stays_a_reported_path(desk) -> None:
    """太郎 holds 花子's card: logged in as her, he appoints 次郎 (his accomplice) as her proxy.
    After the card is suspended, 次郎 still sees the shelter's record; the exposure check must
    still report that path — the grant was made by whoever held the card."""
    world = desk.world
    victim, perpetrator = world.resident("花子"), world.resident("太郎")
    accomplice = world.resident("次郎")
    world.fled_to_osaka(victim, flagged=False)
    protection = desk.register(victim, card_left_behind=True, perpetrator=perpetrator)
    grant = world.appoint(victim, accomplice)  # made with the card left behind
    world.suspend(victim)

    as_accomplice = world.login(accomplice.card_token)
    world.enter(as_accomplice, grant.account_id)
    seen = osaka_in(world.view(as_accomplice))
    assert seen  # the shelter's record, through the accomplice

    report = desk.exposure(protection)
    assert exposed(report, PathKind.PROXY) == seen
