"""The demonstration world, on both backends: what it prints must work — every resident logs in
with the printed card and PIN, every staff member with the password and the current TOTP code —
and the seed's ケース② is there to be found: 花子's old card still works, 太郎 is her proxy, and
once the desk registers her case the exposure check shows both of his paths."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fukaiji import portal
from fukaiji.config import Settings
from fukaiji.db.base import utc_now
from fukaiji.demo import (
    DemoInProduction,
    DemoWorld,
    DemoWorldExists,
    StoryRole,
    current_code,
    demo_totp_code,
    load_demo_world,
)
from fukaiji.jpki import service as jpki
from fukaiji.jpki.states import CardStatus
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_institution
from fukaiji.notices import jobs
from fukaiji.notices.models import Notice
from fukaiji.portal.models import InboxMessage, PortalAccount
from fukaiji.portal.states import ViewKind
from fukaiji.protection import exposure, service, status
from fukaiji.protection.exposure import PathKind
from fukaiji.protection.service import Requester, Viewer
from fukaiji.registry import service as registry
from fukaiji.registry.models import Person
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.staff.totp import TOTP_KEY_PURPOSE

SETTINGS = Settings(secret_key="demo-test-" + "d" * 40)
OSAKA, CHIYODA = "271004", "131016"


@pytest.fixture
def world(session: Session) -> DemoWorld:
    loaded = load_demo_world(session, settings=SETTINGS, actor="test:demo")
    session.commit()
    return loaded


def test_every_role_has_staff_at_the_shelter_and_chiyoda_has_an_administrator_and_a_desk(
    world: DemoWorld,
) -> None:
    roles_at = {
        code: {member.role for member in world.staff if member.institution_code == code}
        for code in (OSAKA, CHIYODA)
    }
    assert roles_at[OSAKA] == set(StaffRole)
    assert {StaffRole.ADMINISTRATOR, StaffRole.BUSINESS_DESK} <= roles_at[CHIYODA]
    assert all(member.password and member.totp_secret for member in world.staff)
    assert world.staff_member("demo-osaka-desk").role_label == "相談窓口"


def test_every_resident_logs_in_with_the_printed_card_and_pin(
    world: DemoWorld, session: Session
) -> None:
    for resident in world.residents:
        challenge = portal.issue_challenge(session)
        signed = jpki.card_signature(
            session,
            card_token=resident.card_token,
            pin=resident.auth_pin,
            challenge=challenge.nonce,
        )
        login = portal.log_in(
            session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
        session.commit()
        assert login.portal_session.person_id == resident.person_id, resident.name
        # Only 高橋 さくら never opened her folder at home.
        assert login.account_created == (resident.name == "高橋 さくら"), resident.name
    assert {r.role for r in world.residents} == set(StoryRole)


def test_every_staff_member_logs_in_with_the_password_and_the_current_code(
    world: DemoWorld, session: Session
) -> None:
    now = utc_now()  # one moment for both, so that no 30-second boundary falls between
    for member in world.staff:
        code = demo_totp_code(
            session, username=member.username, settings=SETTINGS, actor="test:demo", now=now
        )
        assert code == current_code(member.totp_secret, now)
        result = staff_service.authenticate(
            session,
            username=member.username,
            password=member.password,
            totp_code=code,
            totp_key=SETTINGS.derive_key(TOTP_KEY_PURPOSE),
            now=now,
        )
        session.commit()
        assert result.succeeded, (member.username, result.failure)


def test_case_two_the_old_card_works_and_the_perpetrator_is_her_proxy(
    world: DemoWorld, session: Session
) -> None:
    story = world.story
    victim, perpetrator = story.victim, story.perpetrator
    assert (victim.name, perpetrator.name) == ("山田 花子", "山田 太郎")
    assert registry.get_person(session, victim.person_id).current_residence.municipality_code == (
        OSAKA
    )
    card = jpki.find_card_for_person(session, victim.person_id)
    assert card is not None and card.status == CardStatus.ACTIVE
    assert card.issued_at.date() < story.fled_on  # the card she left behind, not a new one

    as_perpetrator = _log_in(session, perpetrator.card_token, perpetrator.auth_pin)
    folders = portal.proxied_folders(session, as_perpetrator.portal_session)
    assert [(f.grant_id, f.account_id) for f in folders] == [
        (story.proxy_grant_id, story.victim_account_id)
    ]
    assert story.facts.perpetrator_id == perpetrator.person_id


def test_registering_her_case_shows_both_paths_and_what_they_give_away(
    world: DemoWorld, session: Session
) -> None:
    story = world.story
    desk = _viewer(session, world, "demo-osaka-desk")
    protection = service.register_protection(
        session,
        institution=get_institution(session, OSAKA),
        department_id=desk.department_id,
        person_id=story.victim.person_id,
        facts=story.facts,
        region_codes=list(story.region_codes),
        requester=Requester.checked("person", None, None),
        fled_on=story.fled_on,
        network_key=SETTINGS.derive_key(NETWORK_KEY_PURPOSE),
        actor=desk.actor,
    )
    report = exposure.check_exposure(
        session, protection, network_key=SETTINGS.derive_key(NETWORK_KEY_PURPOSE), actor="test"
    )
    judged = status.current_status(session, protection)
    session.commit()

    assert {path.kind for path in report.paths} == {PathKind.CARD, PathKind.PROXY}
    assert report.items == ()  # masked from the moment of registration
    for kind in (PathKind.CARD, PathKind.PROXY):
        held = {item.view for item in report.held_back if item.path.kind is kind}
        # The shelter's procedures (records, its 住民票 副本) and its notice all name 大阪市.
        assert held == {ViewKind.RECORDS, ViewKind.SELF_INFO, ViewKind.INBOX}, kind
    assert not judged.usage_stop.complete


def test_the_registered_victim_is_stopped_at_the_gate_and_the_draft_waits(
    world: DemoWorld, session: Session, engine: Engine
) -> None:
    sent = session.get_one(Notice, world.story.sent_notice_id)
    report = jobs.delivery_report(session, notice=sent)
    assert report is not None
    assert (report.sent, report.blocked, report.no_account) == (2, 1, 1)
    assert _inbox(session, world.story.registered) == []
    assert _inbox(session, world.story.victim) == [sent.title]

    draft = session.get_one(Notice, world.story.draft_notice_id)
    assert jobs.delivery_report(session, notice=draft) is None
    jobs.start_sending(session, notice=draft, sender=_viewer(session, world, "demo-osaka-notice"))
    session.commit()
    jobs.work(engine, once=True)
    session.expire_all()  # the worker wrote through connections of its own
    later = jobs.delivery_report(session, notice=draft)
    assert later is not None and later.blocked == 1  # 美咲, still protected


def test_loading_twice_is_refused_and_adds_no_one(world: DemoWorld, session: Session) -> None:
    people = session.scalar(select(func.count()).select_from(Person))
    with pytest.raises(DemoWorldExists):
        load_demo_world(session, settings=SETTINGS)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == people


def test_production_refuses_the_demo_world(session: Session) -> None:
    production = Settings(env="production", secret_key="p" * 40)
    with pytest.raises(DemoInProduction):
        load_demo_world(session, settings=production)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def _log_in(session: Session, card_token: str, pin: str) -> portal.Login:
    challenge = portal.issue_challenge(session)
    signed = jpki.card_signature(session, card_token=card_token, pin=pin, challenge=challenge.nonce)
    login = portal.log_in(
        session,
        challenge=challenge.nonce,
        certificate_pem=signed.certificate_pem,
        signature=signed.signature,
    )
    session.commit()
    return login


def _viewer(session: Session, world: DemoWorld, username: str) -> Viewer:
    account = staff_service.get_staff(
        session, staff_service.find_staff_id(session, username), actor="test"
    )
    member = world.staff_member(username)
    institution = get_institution(session, member.institution_code)
    return Viewer(institution.id, institution.code, account.department_id, f"staff:{account.id}")


def _inbox(session: Session, resident) -> list[str]:
    return list(
        session.scalars(
            select(InboxMessage.title)
            .join(PortalAccount, PortalAccount.id == InboxMessage.account_id)
            .where(PortalAccount.person_id == resident.person_id)
        )
    )
