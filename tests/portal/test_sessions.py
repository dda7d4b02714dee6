"""Card login and sessions: one-time, five-minute challenges; the folder belongs to the person,
not the card; sessions die with their card, when idle, at logout and when replaced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fukaiji import portal
from fukaiji.audit.models import AuditEntry
from fukaiji.db.base import utc_now
from fukaiji.jpki import LoginRefusal, LoginRefused
from fukaiji.portal import ChallengeRefused, LoginChallenge, PortalSession, SessionEnd


def audit_actions(world, prefix: str = "portal.") -> list[str]:
    return list(
        world.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like(f"{prefix}%"))
            .order_by(AuditEntry.seq)
        )
    )


def test_the_first_login_opens_the_folder_and_a_reissued_card_opens_the_same_one(world) -> None:
    hanako = world.resident()
    first = world.login(hanako.card_token)
    second = world.login(hanako.card_token)
    world.reissue(hanako)
    after_reissue = world.login(hanako.card_token)

    assert first.account_created and not second.account_created
    assert not after_reissue.account_created
    assert first.account.id == second.account.id == after_reissue.account.id
    assert first.portal_session.card_id != after_reissue.portal_session.card_id
    assert audit_actions(world).count("portal.account_created") == 1
    assert audit_actions(world).count("portal.login") == 3


def test_a_challenge_is_usable_once_and_the_refusal_is_kept(world) -> None:
    hanako = world.resident()
    challenge = portal.issue_challenge(world.session)
    signed = world.sign(hanako.card_token, challenge.nonce)
    arguments = {
        "challenge": challenge.nonce,
        "certificate_pem": signed.certificate_pem,
        "signature": signed.signature,
    }
    portal.log_in(world.session, **arguments)
    world.session.commit()

    with pytest.raises(ChallengeRefused) as refused:
        portal.log_in(world.session, **arguments)
    assert refused.value.keep_changes
    world.session.commit()

    assert audit_actions(world)[-1] == "portal.login_refused"
    assert world.session.scalar(select(PortalSession.id).order_by(PortalSession.id.desc())) == 1


def test_a_challenge_expires_after_five_minutes(world) -> None:
    hanako = world.resident()
    issued_at = utc_now()
    challenge = portal.issue_challenge(world.session, now=issued_at)
    signed = world.sign(hanako.card_token, challenge.nonce)
    assert challenge.expires_at == issued_at + timedelta(minutes=5)
    with pytest.raises(ChallengeRefused):
        portal.log_in(
            world.session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
            now=issued_at + timedelta(minutes=5),
        )


def test_a_failed_signature_uses_the_challenge_up(world) -> None:
    hanako, taro = world.resident(), world.resident("太郎")
    challenge = portal.issue_challenge(world.session)
    other = portal.issue_challenge(world.session)
    signed_other = world.sign(hanako.card_token, other.nonce)
    with pytest.raises(LoginRefused) as refused:
        portal.log_in(
            world.session,
            challenge=challenge.nonce,
            certificate_pem=signed_other.certificate_pem,
            signature=signed_other.signature,
        )
    assert refused.value.reason == LoginRefusal.BAD_SIGNATURE
    world.session.commit()
    good = world.sign(taro.card_token, challenge.nonce)
    with pytest.raises(ChallengeRefused):
        portal.log_in(
            world.session,
            challenge=challenge.nonce,
            certificate_pem=good.certificate_pem,
            signature=good.signature,
        )


def test_a_login_challenge_cannot_delete_and_a_deletion_challenge_cannot_log_in(world) -> None:
    hanako = world.resident()
    login = world.login(hanako.card_token)
    deletion = portal.issue_deletion_challenge(world.session, login.portal_session)
    signed = world.sign(hanako.card_token, deletion.nonce)
    with pytest.raises(ChallengeRefused):
        portal.log_in(
            world.session,
            challenge=deletion.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
    world.session.commit()
    login_challenge = portal.issue_challenge(world.session)
    signed = world.sign(hanako.card_token, login_challenge.nonce)
    with pytest.raises(ChallengeRefused):
        portal.delete_account(
            world.session,
            login.portal_session,
            challenge=login_challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
    world.session.commit()
    # A deletion challenge is bound to the session that asked for it.
    other = world.login(hanako.card_token)
    deletion = portal.issue_deletion_challenge(world.session, login.portal_session)
    signed = world.sign(hanako.card_token, deletion.nonce)
    with pytest.raises(ChallengeRefused):
        portal.delete_account(
            world.session,
            other.portal_session,
            challenge=deletion.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
    world.session.commit()
    assert portal.live_account(world.session, hanako.id) is not None


def test_a_session_ends_after_fifteen_idle_minutes(world) -> None:
    hanako = world.resident()
    login = world.login(hanako.card_token)
    start = login.portal_session.last_seen_at
    assert world.resolve(login, now=start + timedelta(minutes=14)) is not None
    # The idle clock restarted at the last request.
    assert world.resolve(login, now=start + timedelta(minutes=28)) is not None
    assert world.resolve(login, now=start + timedelta(minutes=43)) is None
    assert world.resolve(login) is None  # for good
    world.session.refresh(login.portal_session)
    assert login.portal_session.end_reason == SessionEnd.IDLE_TIMEOUT


def test_reissue_ends_every_session_of_the_old_card(world) -> None:
    hanako = world.resident()
    old = world.login(hanako.card_token)
    world.reissue(hanako)
    assert world.resolve(old) is None
    world.session.refresh(old.portal_session)
    assert old.portal_session.end_reason == SessionEnd.CARD_UNUSABLE
    assert world.resolve(world.login(hanako.card_token)) is not None


def test_an_address_change_does_not_end_the_session(world) -> None:
    """Only the 署名用 certificate names the address; the login one stays valid."""
    from fukaiji.jpki import on_address_change

    hanako = world.resident()
    login = world.login(hanako.card_token)
    on_address_change(world.session, person_id=hanako.id, actor="test:desk")
    world.session.commit()
    assert world.resolve(login) is not None


def test_logout_and_a_replacing_login_end_the_previous_session(world) -> None:
    hanako = world.resident()
    first = world.login(hanako.card_token)
    challenge = portal.issue_challenge(world.session)
    signed = world.sign(hanako.card_token, challenge.nonce)
    second = portal.log_in(
        world.session,
        challenge=challenge.nonce,
        certificate_pem=signed.certificate_pem,
        signature=signed.signature,
        replacing_token=first.token,
    )
    world.session.commit()
    assert world.resolve(first) is None
    assert portal.log_out(world.session, second.token)
    assert not portal.log_out(world.session, second.token)
    world.session.commit()
    assert world.resolve(second) is None
    reasons = [s.end_reason for s in world.session.scalars(select(PortalSession))]
    assert reasons == [SessionEnd.REPLACED, SessionEnd.LOGOUT]


def test_deleting_ones_own_folder_ends_ones_sessions_but_not_grants_over_others(world) -> None:
    hanako, taro = world.resident(), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    taro_login = world.login(taro.card_token)
    world.enter(taro_login, grant.account_id)
    resolved = world.resolve(taro_login)
    with pytest.raises(portal.OwnFolderOnly):  # not while inside hanako's folder
        portal.issue_deletion_challenge(world.session, resolved)
    world.session.commit()
    world.enter(taro_login, None)
    resolved = world.resolve(taro_login)
    deletion = portal.issue_deletion_challenge(world.session, resolved)
    signed = world.sign(taro.card_token, deletion.nonce)
    portal.delete_account(
        world.session,
        resolved,
        challenge=deletion.nonce,
        certificate_pem=signed.certificate_pem,
        signature=signed.signature,
    )
    world.session.commit()

    assert world.resolve(taro_login) is None
    again = world.login(taro.card_token)
    assert again.account_created
    assert world.enter(again, grant.account_id).acting_grant_id == grant.id


def test_expired_challenges_are_swept_when_a_new_one_is_issued(world) -> None:
    start = utc_now()
    portal.issue_challenge(world.session, now=start)
    portal.issue_challenge(world.session, now=start + timedelta(minutes=6))
    world.session.commit()
    assert len(world.session.scalars(select(LoginChallenge)).all()) == 1
