"""The background sweep of `fukaiji serve` tells the desk of a lifted exclusion without anyone
opening the case."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from fukaiji.portal import proxies
from fukaiji.protection.models import DeskMessage
from fukaiji.protection.sweeper import Sweeper


def test_the_sweeper_announces_a_completed_usage_stop_on_its_own(desk, engine) -> None:
    world = desk.world
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    desk.register(victim, proxy=True, perpetrator=perpetrator)
    proxies.cancel_grant(world.session, world.login(victim.card_token).portal_session, grant.id)
    world.session.commit()

    sweeper = Sweeper(engine, interval_seconds=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _messages(world.session):
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert _messages(world.session) == 1
    assert sweeper.sweep_once() == 0  # announced once, not on every tick


def _messages(session) -> int:
    count = session.scalar(select(func.count()).select_from(DeskMessage))
    session.commit()
    return count
