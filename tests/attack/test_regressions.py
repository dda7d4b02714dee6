"""Defects found by the state machine of ``test_model.py``, each as the smallest failing case."""

from __future__ import annotations

from tests.protection.conftest import desk as desk
from tests.protection.test_scenarios import all_of_osaka, exposed, held_back, osaka_in

from fukaiji.protection.exposure import PathKind


def test_a_proxy_appointed_with_the_card_left_behind_stays_a_reported_path(desk) -> None:
    """太郎 holds 花子's card: logged in as her, he appoints 次郎 (his accomplice) as her proxy.
    After the card is suspended, 次郎's path stays open; the exposure check must still report
    it — the grant was made by whoever held the card — and the mask must hold the shelter's
    record back from it (before masking, 次郎 read it)."""
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
    assert seen == set()  # the shelter's record is held back from the accomplice

    report = desk.exposure(protection)
    assert [path.grant_id for path in report.paths] == [grant.id]
    assert exposed(report, PathKind.PROXY) == seen
    assert held_back(report, PathKind.PROXY) == all_of_osaka(world, victim) != set()
