"""A cancellation or a deletion while a proxy's request is being served: it waits for that
request, and the proxy's next request is refused — no view is served after the grant ended.
(PostgreSQL: the proxy's request holds its grant FOR SHARE; SQLite: BEGIN IMMEDIATE.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fukaiji import portal
from fukaiji.portal import proxies

BLOCKED_FOR = 0.5


def second_waits_for_first(
    engine: Engine, first: Callable[[Session], object], second: Callable[[Session], object]
) -> object:
    """Run ``first`` in an open transaction, start ``second`` in another thread, check that it
    waits, commit the first, and return what the second returned."""
    outcome: list[object] = []
    with Session(engine, expire_on_commit=False) as holder:
        first(holder)
        holder.flush()

        def run() -> None:
            with Session(engine, expire_on_commit=False) as other:
                outcome.append(second(other))
                other.commit()

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(BLOCKED_FOR)
        assert thread.is_alive(), "the second transaction should wait for the first"
        holder.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return outcome[0]


def proxy_inside(world):
    hanako, taro = world.resident("花子"), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    proxy_login = world.login(taro.card_token)
    world.enter(proxy_login, grant.account_id)
    victim_login = world.login(hanako.card_token)
    world.session.commit()
    return hanako, grant, proxy_login, victim_login


def proxy_request(world, token: str) -> Callable[[Session], object]:
    def request(session: Session) -> object:
        resolved = portal.resolve_session(session, token)
        assert resolved is not None
        return portal.view_folder(session, resolved, network_key=world.network_key)

    return request


def test_a_cancellation_waits_for_the_proxys_request_and_ends_the_next(
    world, engine: Engine
) -> None:
    _, grant, proxy_login, victim_login = proxy_inside(world)

    def cancel(session: Session) -> object:
        resolved = portal.resolve_session(session, victim_login.token)
        return proxies.cancel_grant(session, resolved, grant.id).end_reason

    reason = second_waits_for_first(engine, proxy_request(world, proxy_login.token), cancel)

    assert reason == "cancelled_by_principal"
    with Session(engine) as session:
        assert portal.resolve_session(session, proxy_login.token) is None


def test_a_deletion_waits_for_the_proxys_request_and_ends_the_next(world, engine: Engine) -> None:
    hanako, _, proxy_login, victim_login = proxy_inside(world)
    resolved = portal.resolve_session(world.session, victim_login.token)
    challenge = portal.issue_deletion_challenge(world.session, resolved)
    signed = world.sign(hanako.card_token, challenge.nonce)
    world.session.commit()

    def delete(session: Session) -> object:
        resolved = portal.resolve_session(session, victim_login.token)
        return portal.delete_account(
            session,
            resolved,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        ).grants_ended

    ended = second_waits_for_first(engine, proxy_request(world, proxy_login.token), delete)

    assert ended == 1
    with Session(engine) as session:
        assert portal.resolve_session(session, proxy_login.token) is None
        assert portal.live_account(session, hanako.id) is None
