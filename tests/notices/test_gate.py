"""The sending gate re-checks every addressee at the moment of sending (別添2(3)(4)): a protected
person in an unscreened file is blocked; after the usage-stop completes the next send reaches
them; with consent it reaches them before. If the exclusion list cannot be read, nothing is sent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from fukaiji.audit.models import AuditEntry
from fukaiji.intermediate.gate import GateClosed
from fukaiji.notices import jobs
from fukaiji.notices.models import Delivery
from fukaiji.portal import proxies
from fukaiji.protection import consent


def _victim(office):
    world = office.desk.world
    victim, number = office.resident("花子")
    perpetrator = world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    office.desk.register(victim, proxy=True, perpetrator=perpetrator)
    return victim, number, grant


def test_an_unscreened_file_cannot_reach_a_protected_person(office, engine) -> None:
    victim, victim_number, _ = _victim(office)
    neighbour, neighbour_number = office.resident("次郎")
    report = office.send(office.notice(victim_number, neighbour_number), engine)
    assert (report.state, report.sent, report.blocked) == ("done", 1, 1)
    assert office.inbox_titles(victim) == []
    assert office.inbox_titles(neighbour) == ["給付金のお知らせ"]
    blocks = office.session.scalar(
        select(func.count()).where(AuditEntry.action == "intermediate.gate_blocked")
    )
    assert blocks == 1


def test_after_the_usage_stop_completes_the_next_send_reaches_them(office, engine) -> None:
    world = office.desk.world
    victim, number, grant = _victim(office)
    assert office.send(office.notice(number), engine).blocked == 1
    proxies.cancel_grant(world.session, world.login(victim.card_token).portal_session, grant.id)
    world.session.commit()
    assert office.send(office.notice(number), engine).sent == 1
    assert office.inbox_titles(victim) == ["給付金のお知らせ"]


def test_with_consent_the_notice_reaches_them_before(office, engine) -> None:
    _, number, _ = _victim(office)
    consent.record_consent(
        office.session,
        institution=office.desk.world.osaka,
        addressee_number=number,
        given_on=date(2026, 11, 20),
        channel="window",
        category="benefit",
        actor="staff:osaka-desk",
    )
    office.session.commit()
    assert office.send(office.notice(number, category="benefit"), engine).sent == 1
    assert office.send(office.notice(number, category="tax"), engine).blocked == 1


def test_a_person_without_a_folder_is_recorded_as_not_delivered(office, engine) -> None:
    _, number = office.resident("三郎", with_folder=False)
    report = office.send(office.notice(number), engine)
    assert (report.sent, report.no_account) == (0, 1)


def test_if_the_exclusion_list_cannot_be_read_nothing_is_sent(office, engine, monkeypatch) -> None:
    neighbour, number = office.resident("次郎")
    notice = office.notice(number)
    jobs.start_sending(office.session, notice=notice, sender=office.sender)
    office.session.commit()

    def broken(*_args, **_kwargs):
        raise RuntimeError("exclusion list unavailable")

    monkeypatch.setattr(jobs, "excluded_among", broken)
    with pytest.raises(GateClosed):
        jobs.work(engine, once=True)
    assert office.session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert office.inbox_titles(neighbour) == []
