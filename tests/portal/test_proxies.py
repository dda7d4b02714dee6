"""代理人: invitation codes, acceptance with the proxy's own card, what only the person may do,
and 法定代理人 recorded at the card window."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fukaiji import portal
from fukaiji.audit.models import AuditEntry
from fukaiji.db.base import utc_now
from fukaiji.portal import (
    DuplicateGrant,
    GrantNotLegal,
    InvalidInput,
    InvitationRefused,
    LegalEndGround,
    OwnFolderOnly,
    ProxyGrant,
    Representation,
    SelfProxy,
    UnknownGrant,
    proxies,
)


@pytest.fixture
def hanako(world):
    return world.resident("花子")


@pytest.fixture
def taro(world):
    return world.resident("太郎")


def test_an_invitation_code_is_accepted_once(world, hanako, taro) -> None:
    jiro = world.resident("次郎")
    principal = world.login(hanako.card_token)
    issued = proxies.create_invitation(world.session, principal.portal_session)
    world.session.commit()

    assert len(issued.code) == 24 and issued.code.count("-") == 4
    grant = proxies.accept_invitation(
        world.session, world.login(taro.card_token).portal_session, code=issued.code
    )
    world.session.commit()
    with pytest.raises(InvitationRefused) as refused:
        proxies.accept_invitation(
            world.session, world.login(jiro.card_token).portal_session, code=issued.code
        )
    assert refused.value.keep_changes
    assert issued.code not in refused.value.message
    world.session.commit()

    assert (grant.account_id, grant.proxy_person_id, grant.kind) == (
        principal.account.id,
        taro.id,
        "appointed",
    )
    assert proxies.pending_invitations(world.session, principal.portal_session) == []
    refusal = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.invitation_refused")
    ).one()
    assert refusal.actor == f"person:{jiro.id}"


def test_a_typed_code_may_differ_in_case_hyphens_and_confusable_letters(
    world, hanako, taro
) -> None:
    issued = proxies.create_invitation(world.session, world.login(hanako.card_token).portal_session)
    typed = issued.code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    grant = proxies.accept_invitation(
        world.session, world.login(taro.card_token).portal_session, code=typed
    )
    assert grant.is_live


def test_an_expired_or_cancelled_invitation_is_refused(world, hanako, taro) -> None:
    principal = world.login(hanako.card_token).portal_session
    cancelled = proxies.create_invitation(world.session, principal)
    proxies.cancel_invitation(world.session, principal, cancelled.invitation.id)
    expiring = proxies.create_invitation(world.session, principal)
    world.session.commit()
    proxy = world.login(taro.card_token).portal_session

    with pytest.raises(InvitationRefused):
        proxies.accept_invitation(world.session, proxy, code=cancelled.code)
    with pytest.raises(InvitationRefused):
        proxies.accept_invitation(
            world.session, proxy, code=expiring.code, now=utc_now() + timedelta(hours=24, seconds=1)
        )
    with pytest.raises(InvitationRefused):
        proxies.accept_invitation(world.session, proxy, code="not a code")
    assert proxies.accept_invitation(world.session, proxy, code=expiring.code).is_live


def test_nobody_is_their_own_proxy_and_a_pair_has_one_live_grant(world, hanako, taro) -> None:
    principal = world.login(hanako.card_token).portal_session
    own = proxies.create_invitation(world.session, principal)
    with pytest.raises(SelfProxy):
        proxies.accept_invitation(world.session, principal, code=own.code)
    world.session.commit()
    world.appoint(hanako, taro)
    again = proxies.create_invitation(world.session, principal)
    with pytest.raises(DuplicateGrant):
        proxies.accept_invitation(
            world.session, world.login(taro.card_token).portal_session, code=again.code
        )


def test_inside_the_principals_folder_a_proxy_cannot_manage_it(world, hanako, taro) -> None:
    grant = world.appoint(hanako, taro)
    login = world.login(taro.card_token)
    inside = world.enter(login, grant.account_id)

    attempts = [
        lambda: proxies.create_invitation(world.session, inside),
        lambda: proxies.pending_invitations(world.session, inside),
        lambda: proxies.proxy_grants(world.session, inside),
        lambda: proxies.cancel_grant(world.session, inside, grant.id),
        lambda: portal.access_history(world.session, inside),
        lambda: portal.account_settings(world.session, inside),
        lambda: portal.update_settings(world.session, inside, notification_email="x@example.jp"),
        lambda: portal.issue_deletion_challenge(world.session, inside),
    ]
    for attempt in attempts:
        with pytest.raises(OwnFolderOnly):
            attempt()
        world.session.commit()

    refused = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.access_refused")
    ).all()
    assert len(refused) == len(attempts)
    assert all(entry.actor == f"person:{taro.id}" for entry in refused)
    assert world.session.get_one(portal.ProxyGrant, grant.id).is_live


def test_the_person_cancels_a_grant_alone_and_only_over_their_own_folder(
    world, hanako, taro
) -> None:
    grant = world.appoint(hanako, taro)
    stranger = world.login(world.resident("三郎").card_token).portal_session
    with pytest.raises(UnknownGrant):
        proxies.cancel_grant(world.session, stranger, grant.id)
    principal = world.login(hanako.card_token).portal_session
    proxies.cancel_grant(world.session, principal, grant.id)
    with pytest.raises(UnknownGrant):
        proxies.cancel_grant(world.session, principal, grant.id)
    with pytest.raises(UnknownGrant):
        proxies.cancel_grant(world.session, principal, 2**40)


def test_a_proxy_sees_exactly_what_the_person_sees(world, hanako, taro) -> None:
    world.fled_to_osaka(hanako)
    grant = world.appoint(hanako, taro)
    portal.deliver_to_inbox(
        world.session,
        person_id=hanako.id,
        institution_id=world.yokohama.id,
        title="お知らせ",
        body="本文",
        category="general",
        actor="test:sender",
    )
    as_person = portal.folder_view(
        world.session,
        account_id=grant.account_id,
        viewer_person_id=hanako.id,
        card_id=None,
        network_key=world.network_key,
    )
    as_proxy = portal.folder_view(
        world.session,
        account_id=grant.account_id,
        viewer_person_id=taro.id,
        card_id=None,
        network_key=world.network_key,
    )
    assert (as_person.records, as_person.self_info, as_person.inbox) == (
        as_proxy.records,
        as_proxy.self_info,
        as_proxy.inbox,
    )
    assert (as_person.grant_id, as_proxy.grant_id) == (None, grant.id)
    assert {i.name for i in as_proxy.institutions} >= {"神奈川県横浜市"}


def test_a_legal_representative_recorded_at_the_window_opens_the_folder_if_needed(
    world, hanako, taro
) -> None:
    assert portal.live_account(world.session, hanako.id) is None
    grant = proxies.record_legal_representative(
        world.session,
        person_id=hanako.id,
        representative_id=taro.id,
        representation="parental_authority",
        institution=world.chiyoda,
        actor="staff:7",
    )
    world.session.commit()

    account = portal.live_account(world.session, hanako.id)
    assert account is not None and grant.account_id == account.id
    login = world.login(taro.card_token)
    folders = portal.proxied_folders(world.session, login.portal_session)
    assert [(f.account_id, f.kind, f.representation) for f in folders] == [
        (account.id, "legal", "parental_authority")
    ]
    world.enter(login, account.id)
    assert world.view(login).grant_id == grant.id
    [created] = [e for e in world.history(account.id) if e.action == "grant_created"]
    assert created.at_window and created.about_grant_id == grant.id
    entry = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.grant_created")
    ).one()
    assert (entry.actor, entry.institution) == ("staff:7", "131016")
    # The person opens the folder the window created; it is the same one.
    assert world.login(hanako.card_token).account.id == account.id


def test_the_window_ends_only_legal_grants_and_the_end_is_immediate(world, hanako, taro) -> None:
    appointed = world.appoint(hanako, taro)
    guardian = world.resident("次郎")
    legal = proxies.record_legal_representative(
        world.session,
        person_id=hanako.id,
        representative_id=guardian.id,
        representation="minor_guardian",
        institution=world.chiyoda,
        actor="staff:7",
    )
    world.session.commit()
    login = world.login(guardian.card_token)
    world.enter(login, legal.account_id)

    with pytest.raises(GrantNotLegal):
        proxies.end_legal_representation(
            world.session,
            person_id=hanako.id,
            grant_id=appointed.id,
            ground="guardian_dismissed",
            institution=world.chiyoda,
            actor="staff:7",
        )
    ended = proxies.end_legal_representation(
        world.session,
        person_id=hanako.id,
        grant_id=legal.id,
        ground="guardian_dismissed",
        reference="  令和８年（家）第１２３号 ",
        institution=world.chiyoda,
        actor="staff:7",
    )
    world.session.commit()

    assert ended.end_reason == "ended_at_window"
    assert (ended.end_ground, ended.end_reference) == ("guardian_dismissed", "令和8年(家)第123号")
    assert world.resolve(login) is None
    listed = proxies.legal_representatives(
        world.session, person_id=hanako.id, institution=world.chiyoda, actor="staff:7"
    )
    assert listed == []
    # The audit entry names the ground by its code, and keeps the reference out.
    entry = world.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "portal.grant_cancelled")
        .order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None and '"ground":"guardian_dismissed"' in entry.details
    assert "reference" not in entry.details and "第123号" not in entry.details


def _legal_grant(world, person, representative, representation: str) -> ProxyGrant:
    grant = proxies.record_legal_representative(
        world.session,
        person_id=person.id,
        representative_id=representative.id,
        representation=representation,
        institution=world.chiyoda,
        actor="staff:7",
    )
    world.session.commit()
    return grant


@pytest.mark.parametrize(
    ("ground", "reference", "field", "words"),
    [
        (None, None, "ground", "終了の根拠が選ばれていません"),
        ("", "令和8年（家）第1号", "ground", "終了の根拠が選ばれていません"),
        ("protection_order", None, "ground", "選べる根拠のいずれでもありません"),
        ("came_of_age", None, "ground", "成年後見人の法定代理を終了させる根拠ではありません"),
        ("guardian_dismissed", "第1号" * 30, "reference", "64 文字以内"),
        ("guardian_dismissed", "令和8年\n第1号", "reference", "制御文字"),
    ],
    ids=["missing", "blank", "unknown", "does-not-fit", "reference-too-long", "two-lines"],
)
def test_ending_at_the_window_needs_a_valid_ground_and_a_refusal_changes_nothing(
    world, hanako, taro, ground, reference, field, words
) -> None:
    grant = _legal_grant(world, hanako, taro, "adult_guardian")
    login = world.login(taro.card_token)
    world.enter(login, grant.account_id)
    world.session.commit()
    audited = world.session.scalar(select(func.count()).select_from(AuditEntry))

    with pytest.raises(InvalidInput) as refused:
        proxies.end_legal_representation(
            world.session,
            person_id=hanako.id,
            grant_id=grant.id,
            ground=ground,
            reference=reference,
            institution=world.chiyoda,
            actor="staff:7",
        )
    world.session.rollback()

    assert refused.value.field == field and words in refused.value.message
    assert not re.search(r"[A-Za-z]{4,}", refused.value.message.split(":")[0])
    world.session.refresh(grant)
    assert grant.is_live and grant.end_ground is None
    assert world.resolve(login) is not None  # the representative is still in
    assert world.session.scalar(select(func.count()).select_from(AuditEntry)) == audited


def test_every_ground_has_a_label_and_ends_some_representation() -> None:
    for ground in LegalEndGround:
        assert ground.label and ground.applies_to
    for representation in Representation:
        fitting = [g for g in LegalEndGround if representation in g.applies_to]
        assert LegalEndGround.RESIGNATION_PERMITTED in fitting and len(fitting) >= 3
    assert Representation.ADULT_GUARDIAN not in LegalEndGround.CAME_OF_AGE.applies_to


def test_the_person_may_cancel_a_legal_representative_too(world, hanako, taro) -> None:
    legal = proxies.record_legal_representative(
        world.session,
        person_id=hanako.id,
        representative_id=taro.id,
        representation="adult_guardian",
        institution=world.chiyoda,
        actor="staff:7",
    )
    principal = world.login(hanako.card_token).portal_session
    assert proxies.cancel_grant(world.session, principal, legal.id).end_reason == (
        "cancelled_by_principal"
    )


def test_a_legal_representative_must_be_someone_else_with_a_known_ground(world, hanako) -> None:
    with pytest.raises(InvalidInput, match="本人を自分の法定代理人"):
        proxies.record_legal_representative(
            world.session,
            person_id=hanako.id,
            representative_id=hanako.id,
            representation="parental_authority",
            institution=world.chiyoda,
            actor="staff:7",
        )
    with pytest.raises(InvalidInput, match="representation"):
        proxies.record_legal_representative(
            world.session,
            person_id=hanako.id,
            representative_id=world.resident("太郎").id,
            representation="uncle",
            institution=world.chiyoda,
            actor="staff:7",
        )
