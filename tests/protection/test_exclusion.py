"""宛先除外: the exclusion list follows the usage-stop status exactly — it lifts the moment the
procedures complete, with an audit entry and a message to the desk, and returns the moment a new
grant appears. Consent lets one notice or category through; the ledger and the flag count too."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select
from tests.portal.test_perpetrator import delete

from fukaiji.audit.models import AuditEntry
from fukaiji.intermediate import NondisclosureRequester, set_nondisclosure_flag
from fukaiji.portal import proxies
from fukaiji.protection import consent, exclusion, ledger, messages
from fukaiji.protection.errors import InvalidProtection
from fukaiji.protection.models import DeskMessage
from fukaiji.protection.states import ExclusionSource


def excluded(desk, **scope) -> frozenset[str]:
    found = exclusion.excluded_addressees(desk.world.session, institution=desk.world.osaka, **scope)
    desk.world.session.commit()
    return found


def actions(session, subject_prefix: str = "protection:") -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject.like(f"{subject_prefix}%"))
            .order_by(AuditEntry.seq)
        )
    )


def test_exclusion_lifts_exactly_when_the_usage_stop_completes_and_returns_with_a_new_grant(
    desk,
) -> None:
    world = desk.world
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    protection = desk.register(victim, proxy=True, perpetrator=perpetrator)
    number = protection.addressee_number
    assert excluded(desk) == {number}
    assert exclusion.is_excluded(world.session, institution=world.osaka, addressee_number=number)

    proxies.cancel_grant(world.session, world.login(victim.card_token).portal_session, grant.id)
    world.session.commit()
    assert excluded(desk) == set()  # lifted by itself, nobody ticked anything
    assert not exclusion.is_excluded(
        world.session, institution=world.osaka, addressee_number=number
    )

    world.appoint(victim, perpetrator)  # the state slips back
    assert exclusion.is_excluded(world.session, institution=world.osaka, addressee_number=number)
    assert excluded(desk) == {number}

    kinds = [m.kind for m in world.session.scalars(select(DeskMessage).order_by(DeskMessage.id))]
    assert kinds == ["exclusion_lifted", "exclusion_restored"]
    assert actions(world.session).count("protection.exclusion_lifted") == 1
    assert actions(world.session).count("protection.exclusion_restored") == 1


def test_the_desk_reads_its_messages_and_other_departments_see_none(desk) -> None:
    world = desk.world
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    protection = desk.register(victim, proxy=True, perpetrator=perpetrator)
    proxies.cancel_grant(world.session, world.login(victim.card_token).portal_session, grant.id)
    assert exclusion.sweep(world.session, institution=world.osaka) == 1
    assert messages.desk_messages(world.session, viewer=desk.tax) == []
    shown = messages.desk_messages(world.session, viewer=desk.desk)
    assert [m.kind for m in shown] == ["exclusion_lifted"]
    assert protection.addressee_number in shown[0].body and shown[0].read_at is not None
    assert messages.desk_messages(world.session, viewer=desk.desk, unread_only=True) == []


def test_a_case_closed_by_deletion_after_reissue_lifts_the_exclusion(desk) -> None:
    world = desk.world
    victim = world.resident()
    world.login(victim.card_token)
    protection = desk.register(victim, card_left_behind=True)
    world.suspend(victim)
    world.reissue(victim)
    assert excluded(desk) == {protection.addressee_number}  # not until the folder is gone
    delete(world, world.login(victim.card_token), victim.card_token)
    assert excluded(desk) == set()


def test_consent_lets_one_notice_or_one_category_through(desk) -> None:
    world = desk.world
    victim = world.resident()
    world.login(victim.card_token)
    number = desk.register(victim, card_left_behind=True).addressee_number
    notice, other = uuid.uuid4(), uuid.uuid4()
    for scope in ({"notice_id": notice}, {"category": "benefit"}):
        consent.record_consent(
            world.session,
            institution=world.osaka,
            addressee_number=number,
            given_on=date(2026, 11, 1),
            channel="window",
            actor="staff:osaka-desk",
            **scope,
        )
    assert number not in excluded(desk, notice_id=notice, category="tax")
    assert number not in excluded(desk, notice_id=other, category="benefit")
    assert number in excluded(desk, notice_id=other, category="tax")
    assert number in excluded(desk)  # the list itself still names them

    [by_notice, _] = consent.consents_of(
        world.session, institution=world.osaka, addressee_number=number
    )
    consent.withdraw_consent(
        world.session, institution=world.osaka, consent_id=by_notice.id, actor="staff:osaka-desk"
    )
    assert number in excluded(desk, notice_id=notice, category="tax")


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({}, "notice_id"),
        ({"notice_id": uuid.uuid4(), "category": "tax"}, "notice_id"),
        ({"category": "lottery"}, "category"),
    ],
)
def test_a_consent_names_exactly_one_notice_or_category(desk, scope, field) -> None:
    world = desk.world
    number = world.enrol(world.resident(), world.osaka)
    with pytest.raises(InvalidProtection) as refused:
        consent.record_consent(
            world.session,
            institution=world.osaka,
            addressee_number=number,
            given_on=date(2026, 11, 1),
            channel="phone",
            actor="staff",
            **scope,
        )
    assert refused.value.field == field
    assert (
        consent.consents_of(world.session, institution=world.osaka, addressee_number=number) == []
    )


def test_the_ledger_and_the_flag_are_sources_and_stay_until_a_protection_judges_them(desk) -> None:
    world = desk.world
    on_ledger, flagged = world.resident("一子"), world.resident("二子")
    ledger_number = world.enrol(on_ledger, world.osaka)
    flag_number = world.enrol(flagged, world.osaka)
    csv = f"団体内統合宛名番号,氏名\n{ledger_number},山田一子\n".encode("cp932")
    report = ledger.import_ledger(
        world.session, institution=world.osaka, data=csv, filename="台帳.csv", actor="staff"
    )
    assert (report.added, report.encoding.value) == (1, "cp932")
    set_nondisclosure_flag(
        world.session,
        institution=world.osaka,
        addressee_number=flag_number,
        requested_by=NondisclosureRequester.PERSON,
        actor="staff",
    )
    entries = exclusion.exclusion_list(world.session, institution=world.osaka)
    assert {(e.addressee_number, e.sources) for e in entries} == {
        (ledger_number, (ExclusionSource.PAPER_LEDGER,)),
        (flag_number, (ExclusionSource.NONDISCLOSURE_FLAG,)),
    }
    # The desk registers the flagged person's case: now the derived status decides (nothing open).
    desk.register(flagged)
    assert excluded(desk) == {ledger_number}
    assert exclusion.to_be_watched(
        world.session, institution=world.osaka, addressee_number=flag_number
    )
    ledger.withdraw_ledger_entry(
        world.session, institution=world.osaka, addressee_number=ledger_number, actor="staff"
    )
    assert excluded(desk) == set()


def test_a_ledger_with_any_bad_row_imports_nothing_and_names_every_row(desk) -> None:
    world = desk.world
    known = world.enrol(world.resident(), world.osaka)
    stranger = "9" * 15
    data = f"団体内統合宛名番号\n{known}\n12345\n{stranger}\n{known}\n123456789018\n".encode()
    with pytest.raises(ledger.LedgerRejected) as rejected:
        ledger.import_ledger(
            world.session, institution=world.osaka, data=data, filename="x.csv", actor="staff"
        )
    assert [fault.row_number for fault in rejected.value.faults] == [3, 4, 5, 6]
    assert "3 行目" in rejected.value.message and "5 行目" in rejected.value.message
    assert (
        "123456789018" not in rejected.value.message
    )  # a 個人番号 in the wrong file is not echoed
    assert ledger.ledger_entries(world.session, institution=world.osaka) == []


def test_the_exclusion_list_of_one_institution_knows_nothing_of_another(desk) -> None:
    world = desk.world
    victim = world.resident()
    world.login(victim.card_token)
    desk.register(victim, card_left_behind=True)
    assert exclusion.exclusion_list(world.session, institution=world.chiyoda) == []
