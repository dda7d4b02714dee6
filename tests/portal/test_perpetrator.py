"""The perpetrator tries every path into the victim's folder (DESIGN.md §2), and the seed's
measures close them one by one: card suspension, proxy cancellation, folder deletion after
reissue — and 不開示 hides what the shelter's institutions record, whoever looks.

The victim (花子) fled to Osaka, leaving her card and PIN behind with the perpetrator (太郎), whom
she had also appointed as her proxy.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fukaiji import portal
from fukaiji.audit.models import AuditEntry
from fukaiji.jpki import CardSuspended, LoginRefusal, LoginRefused
from fukaiji.portal import (
    AccessAction,
    DeletionRefused,
    InvalidInput,
    NoFolderAccess,
    OwnFolderOnly,
    ProxyGrant,
    deliver_to_inbox,
    proxies,
)


@pytest.fixture
def victim(world):
    return world.resident("花子")


@pytest.fixture
def perpetrator(world):
    return world.resident("太郎")


def codes(view) -> set[str]:
    return {institution.code for institution in view.institutions}


def test_with_the_victims_card_before_suspension_the_perpetrator_sees_the_folder(
    world, victim
) -> None:
    ids = world.fled_to_osaka(victim)
    world.login(victim.card_token)  # she opened her folder before fleeing
    assert deliver_to_inbox(
        world.session,
        person_id=victim.id,
        institution_id=world.chiyoda.id,
        title="住民税の決定通知",
        body="令和8年度の住民税額が決定しました。",
        category="tax",
        actor="test:sender",
    )
    login = world.login(victim.card_token)  # the card left behind, and its PIN

    view = world.view(login)

    assert [r.record_id for r in view.records] == [ids["harmless_record"]]
    assert [i.item_id for i in view.self_info] == [ids["chiyoda_item"]]
    assert [m.title for m in view.inbox] == ["住民税の決定通知"]
    assert view.inbox[0].institution.name == "東京都千代田区"
    assert {r.requester.name for r in view.records} == {"神奈川県横浜市"}
    assert "271004" not in codes(view)


def test_after_suspension_the_card_is_refused_and_a_session_opened_earlier_is_dead(
    world, victim
) -> None:
    earlier = world.login(victim.card_token)
    presigned_challenge = portal.issue_challenge(world.session)
    presigned = world.sign(victim.card_token, presigned_challenge.nonce)
    world.session.commit()

    world.suspend(victim)  # マイナンバー総合フリーダイヤル 0120-95-0178

    assert world.resolve(earlier) is None
    with pytest.raises(CardSuspended):
        world.login(victim.card_token)
    world.session.commit()
    # A signature made before the suspension does not open a session after it either.
    with pytest.raises(LoginRefused) as refused:
        portal.log_in(
            world.session,
            challenge=presigned_challenge.nonce,
            certificate_pem=presigned.certificate_pem,
            signature=presigned.signature,
        )
    assert refused.value.reason == LoginRefusal.SUSPENDED
    world.session.commit()
    ended = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.session_ended")
    ).one()
    assert '"reason":"card_unusable"' in ended.details


def test_as_proxy_after_the_victims_card_was_suspended_the_perpetrator_still_sees_the_folder(
    world, victim, perpetrator
) -> None:
    """The seed's warning: suspending the card alone does not shut out a perpetrator who is
    also the proxy — they enter with their own card."""
    ids = world.fled_to_osaka(victim)
    grant = world.appoint(victim, perpetrator)
    world.suspend(victim)

    login = world.login(perpetrator.card_token)
    world.enter(login, grant.account_id)
    view = world.view(login)

    assert view.grant_id == grant.id
    assert [r.record_id for r in view.records] == [ids["harmless_record"]]
    assert "271004" not in codes(view)


def test_suspending_or_reissuing_the_victims_card_leaves_the_grant(
    world, victim, perpetrator
) -> None:
    grant = world.appoint(victim, perpetrator)
    world.suspend(victim)
    world.reissue(victim)
    world.session.refresh(grant)
    assert grant.is_live
    login = world.login(perpetrator.card_token)
    assert world.enter(login, grant.account_id).acting_grant_id == grant.id


def test_after_the_grant_is_cancelled_the_proxy_is_refused_and_their_live_session_dies(
    world, victim, perpetrator
) -> None:
    grant = world.appoint(victim, perpetrator)
    world.suspend(victim)
    world.reissue(victim)  # the victim gets a new card, and logs in with it
    proxy_login = world.login(perpetrator.card_token)
    world.enter(proxy_login, grant.account_id)
    world.view(proxy_login)

    victim_login = world.login(victim.card_token)
    cancelled = proxies.cancel_grant(world.session, victim_login.portal_session, grant.id)
    world.session.commit()

    assert cancelled.end_reason == "cancelled_by_principal"
    assert world.resolve(proxy_login) is None  # dead at once, not at the next idle check
    fresh = world.login(perpetrator.card_token)
    with pytest.raises(NoFolderAccess):
        world.enter(fresh, grant.account_id)
    world.session.commit()
    with pytest.raises(NoFolderAccess):
        portal.folder_view(
            world.session,
            account_id=grant.account_id,
            viewer_person_id=perpetrator.id,
            card_id=None,
            network_key=world.network_key,
        )
    refused = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.switch_refused")
    ).one()
    assert refused.actor == f"person:{perpetrator.id}"


def delete(world, login, card_token: str) -> portal.DeletionReport:
    resolved = world.resolve(login)
    assert resolved is not None
    challenge = portal.issue_deletion_challenge(world.session, resolved)
    signed = world.sign(card_token, challenge.nonce)
    report = portal.delete_account(
        world.session,
        resolved,
        challenge=challenge.nonce,
        certificate_pem=signed.certificate_pem,
        signature=signed.signature,
    )
    world.session.commit()
    return report


def test_after_the_folder_is_deleted_the_proxy_is_refused_and_their_live_session_dies(
    world, victim, perpetrator
) -> None:
    grant = world.appoint(victim, perpetrator)
    world.suspend(victim)
    world.reissue(victim)
    proxy_login = world.login(perpetrator.card_token)
    world.enter(proxy_login, grant.account_id)

    report = delete(world, world.login(victim.card_token), victim.card_token)

    assert report.grants_ended == 1
    assert world.resolve(proxy_login) is None
    world.session.refresh(grant)
    assert grant.end_reason == "account_deleted"
    with pytest.raises(NoFolderAccess):
        world.enter(world.login(perpetrator.card_token), grant.account_id)


def test_a_new_folder_after_deletion_starts_empty_with_no_proxy(world, victim, perpetrator) -> None:
    grant = world.appoint(victim, perpetrator)
    deliver_to_inbox(
        world.session,
        person_id=victim.id,
        institution_id=world.chiyoda.id,
        title="児童手当のお知らせ",
        body="現況届の提出をお願いします。",
        category="benefit",
        actor="test:sender",
    )
    world.suspend(victim)
    world.reissue(victim)
    delete(world, world.login(victim.card_token), victim.card_token)

    again = world.login(victim.card_token)

    assert again.account_created
    assert again.account.id != grant.account_id
    assert world.view(again).inbox == ()
    assert proxies.proxy_grants(world.session, again.portal_session) == []
    assert [e.action for e in world.history(again.account.id)] == [
        AccessAction.LOGIN,
        AccessAction.VIEWED_INBOX,
        AccessAction.VIEWED_RECORDS,
        AccessAction.VIEWED_SELF_INFO,
    ]
    assert world.history(grant.account_id) == []
    proxy_login = world.login(perpetrator.card_token)
    assert portal.proxied_folders(world.session, proxy_login.portal_session) == []
    with pytest.raises(NoFolderAccess):
        world.enter(proxy_login, again.account.id)


def test_flagged_items_never_appear_for_the_person_or_any_proxy(world, victim, perpetrator) -> None:
    ids = world.fled_to_osaka(victim)
    appointed = world.appoint(victim, perpetrator)
    guardian = world.resident("次郎")
    legal = proxies.record_legal_representative(
        world.session,
        person_id=victim.id,
        representative_id=guardian.id,
        representation="parental_authority",
        institution=world.chiyoda,
        actor="staff:1",
    )
    world.session.commit()

    views = [world.view(world.login(victim.card_token))]
    for proxy, grant in ((perpetrator, appointed), (guardian, legal)):
        login = world.login(proxy.card_token)
        world.enter(login, grant.account_id)
        views.append(world.view(login))

    for view in views:
        assert ids["revealing_record"] not in {r.record_id for r in view.records}
        assert ids["osaka_item"] not in {i.item_id for i in view.self_info}
        assert "271004" not in codes(view)
        assert [r.record_id for r in view.records] == [ids["harmless_record"]]


def test_before_the_flag_the_shelters_record_shows_and_after_it_no_view_has_it(
    world, victim, perpetrator
) -> None:
    """ケース①: until the victim asks for 不開示 at the shelter, the record names Osaka."""
    grant = world.appoint(victim, perpetrator)
    world.fled_to_osaka(victim, flagged=False)
    proxy_login = world.login(perpetrator.card_token)
    world.enter(proxy_login, grant.account_id)
    assert "271004" in codes(world.view(proxy_login))

    world.flag(world.osaka, world.enrol(victim, world.osaka))
    world.session.commit()

    assert "271004" not in codes(world.view(proxy_login))
    assert "271004" not in codes(world.view(world.login(victim.card_token)))


def test_the_access_log_names_each_viewer(world, victim, perpetrator) -> None:
    grant = world.appoint(victim, perpetrator)
    victim_login = world.login(victim.card_token)
    world.view(victim_login)
    proxy_login = world.login(perpetrator.card_token)
    world.enter(proxy_login, grant.account_id)
    world.view(proxy_login)

    entries = [
        (e.action, e.actor_person_id, e.grant_id)
        for e in world.history(grant.account_id)
        if e.action.startswith("viewed_") or e.action == AccessAction.PROXY_ENTERED
    ]
    by_victim = [(a, victim.id, None) for a in ("viewed_inbox", "viewed_records")]
    by_proxy = [(a, perpetrator.id, grant.id) for a in ("viewed_inbox", "viewed_records")]
    assert entries == [
        *by_victim,
        (AccessAction.VIEWED_SELF_INFO, victim.id, None),
        (AccessAction.PROXY_ENTERED, perpetrator.id, grant.id),
        *by_proxy,
        (AccessAction.VIEWED_SELF_INFO, perpetrator.id, grant.id),
    ]
    created = next(e for e in world.history(grant.account_id) if e.action == "grant_created")
    assert (created.actor_person_id, created.about_grant_id) == (perpetrator.id, grant.id)
    audited = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.folder_viewed")
    ).all()
    assert [entry.actor for entry in audited] == [f"person:{victim.id}", f"person:{perpetrator.id}"]
    assert f'"grant":{grant.id}' in audited[1].details


def test_a_proxy_cannot_delete_the_folder(world, victim, perpetrator) -> None:
    grant = world.appoint(victim, perpetrator)
    proxy_login = world.login(perpetrator.card_token)
    inside = world.enter(proxy_login, grant.account_id)

    with pytest.raises(OwnFolderOnly):
        portal.issue_deletion_challenge(world.session, inside)
    world.session.commit()
    # Nor by signing a challenge of the victim's own session with the proxy's card.
    victim_session = world.resolve(world.login(victim.card_token))
    challenge = portal.issue_deletion_challenge(world.session, victim_session)
    signed = world.sign(perpetrator.card_token, challenge.nonce)
    with pytest.raises(DeletionRefused):
        portal.delete_account(
            world.session,
            victim_session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
    world.session.commit()

    assert portal.live_account(world.session, victim.id) is not None
    assert world.session.get_one(ProxyGrant, grant.id).is_live
    refusals = world.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("portal.%refused"))
    ).all()
    assert refusals == ["portal.access_refused", "portal.deletion_refused"]


def test_a_suspended_card_cannot_delete_and_the_reissued_card_does(
    world, victim, perpetrator
) -> None:
    grant = world.appoint(victim, perpetrator)
    login = world.login(victim.card_token)
    resolved = world.resolve(login)
    challenge = portal.issue_deletion_challenge(world.session, resolved)
    signed = world.sign(victim.card_token, challenge.nonce)  # signed while still usable
    world.session.commit()
    world.suspend(victim)

    # The session opened with the card died with it, and the signature no longer verifies.
    assert world.resolve(login) is None
    with pytest.raises(LoginRefused):
        portal.delete_account(
            world.session,
            resolved,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
    world.session.commit()
    with pytest.raises(CardSuspended):
        world.login(victim.card_token)
    world.session.commit()
    assert portal.live_account(world.session, victim.id) is not None

    old_token = world.reissue(victim)
    report = delete(world, world.login(victim.card_token), victim.card_token)

    assert report.grants_ended == 1
    assert portal.live_account(world.session, victim.id) is None
    assert world.session.get_one(ProxyGrant, grant.id).end_reason == "account_deleted"
    with pytest.raises(Exception, match="廃止"):
        world.login(old_token)


def test_the_paths_into_a_folder_are_the_person_and_each_live_proxy(
    world, victim, perpetrator
) -> None:
    """What the exposure check walks: ``folder_view`` of every path, which is exactly what the
    portal would display on that path."""
    assert portal.folder_paths(world.session, person_id=victim.id) == []
    ids = world.fled_to_osaka(victim, flagged=False)
    grant = world.appoint(victim, perpetrator)

    paths = portal.folder_paths(world.session, person_id=victim.id)
    assert [(p.viewer_person_id, p.grant_id, p.grant_kind) for p in paths] == [
        (victim.id, None, None),
        (perpetrator.id, grant.id, "appointed"),
    ]
    proxy_login = world.login(perpetrator.card_token)
    world.enter(proxy_login, grant.account_id)
    for path in paths:
        seen = portal.folder_view(
            world.session,
            account_id=path.account_id,
            viewer_person_id=path.viewer_person_id,
            card_id=None,
            network_key=world.network_key,
        )
        assert ids["revealing_record"] in {r.record_id for r in seen.records}
        assert seen.records == world.view(proxy_login).records

    proxies.cancel_grant(world.session, world.login(victim.card_token).portal_session, grant.id)
    assert [p.grant_id for p in portal.folder_paths(world.session, person_id=victim.id)] == [None]


def test_as_legal_representative_he_keeps_access_until_the_window_ends_it_with_a_ground(
    world, victim, perpetrator
) -> None:
    """太郎 is 花子's 成年後見人, recorded at the window. Nothing she does with her card shuts him
    out; a refused end (no ground) leaves him in; the window's end with its ground does, at once."""
    ids = world.fled_to_osaka(victim)
    grant = proxies.record_legal_representative(
        world.session,
        person_id=victim.id,
        representative_id=perpetrator.id,
        representation="adult_guardian",
        institution=world.chiyoda,
        actor="staff:7",
    )
    world.session.commit()
    world.suspend(victim)
    world.reissue(victim)

    login = world.login(perpetrator.card_token)  # his own card
    world.enter(login, grant.account_id)
    assert [r.record_id for r in world.view(login).records] == [ids["harmless_record"]]

    with pytest.raises(InvalidInput):
        proxies.end_legal_representation(
            world.session,
            person_id=victim.id,
            grant_id=grant.id,
            ground=None,
            institution=world.chiyoda,
            actor="staff:7",
        )
    world.session.rollback()
    assert world.view(login).grant_id == grant.id  # still in

    proxies.end_legal_representation(
        world.session,
        person_id=victim.id,
        grant_id=grant.id,
        ground="guardian_dismissed",
        reference="令和8年（家）第345号",
        institution=world.chiyoda,
        actor="staff:7",
    )
    world.session.commit()

    assert world.resolve(login) is None  # the session he had open is dead
    fresh = world.login(perpetrator.card_token)
    with pytest.raises(NoFolderAccess):
        world.enter(fresh, grant.account_id)
    world.session.commit()
    assert portal.proxied_folders(world.session, fresh.portal_session) == []
    world.session.refresh(grant)
    assert (grant.end_reason, grant.end_ground) == ("ended_at_window", "guardian_dismissed")
