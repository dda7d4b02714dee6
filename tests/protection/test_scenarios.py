"""The seed's scenarios, end to end through the services. 花子 fled from 千代田区 to a shelter in
大阪市; 太郎 is the perpetrator. Each test plays the perpetrator through the real portal and checks
that the exposure check saw exactly what he saw (nothing of 大阪, from the moment the desk
registers her) and lists apart everything of 大阪 the protective mask held back from him."""

from __future__ import annotations

import pytest
from tests.portal.test_perpetrator import delete

from fukaiji.db.base import utc_now
from fukaiji.intermediate.display import disclosable_records, disclosable_self_info
from fukaiji.intermediate.service import tokyo_date
from fukaiji.jpki import CardSuspended
from fukaiji.portal import proxies
from fukaiji.portal.states import ViewKind
from fukaiji.protection import requests
from fukaiji.protection.errors import InvalidProtection
from fukaiji.protection.exposure import PathKind
from fukaiji.protection.guidance import StepKind
from fukaiji.protection.models import Protection
from fukaiji.protection.service import Requester


def osaka_in(view) -> set[tuple[str, int]]:
    """What of a portal view names Osaka: the leak the invariant forbids."""
    shown = {(ViewKind.RECORDS.value, r.record_id) for r in view.records if _osaka(r)}
    shown |= {(ViewKind.SELF_INFO.value, i.item_id) for i in view.self_info if _osaka(i)}
    return shown


def _osaka(item) -> bool:
    return any(institution.code == "271004" for institution in item.institutions)


def exposed(report, kind: PathKind) -> set[tuple[str, int]]:
    return {(item.view.value, item.item_id) for item in report.items if item.path.kind is kind}


def held_back(report, kind: PathKind) -> set[tuple[str, int]]:
    return {(item.view.value, item.item_id) for item in report.held_back if item.path.kind is kind}


def all_of_osaka(world, person) -> set[tuple[str, int]]:
    """Everything of 大阪 the intermediate servers would disclose to an unmasked view."""
    records = disclosable_records(world.session, person.id, network_key=world.network_key)
    items = disclosable_self_info(
        world.session, person.id, network_key=world.network_key, on=tokyo_date(utc_now())
    )
    shown = {(ViewKind.RECORDS.value, r.record_id) for r in records if _osaka(r)}
    return shown | {(ViewKind.SELF_INFO.value, i.item_id) for i in items if _osaka(i)}


def test_a_case_one_request_at_the_first_procedure_hides_the_shelter_for_good(desk) -> None:
    world = desk.world
    victim = world.resident()
    world.login(victim.card_token)
    at_osaka = world.enrol(victim, world.osaka)
    first = world.query(world.osaka, at_osaka, world.chiyoda)  # the first procedure itself
    report = requests.request_nondisclosure(
        world.session,
        institution=world.osaka,
        person_id=victim.id,
        requester=Requester.checked("person", None, None),
        network_key=world.network_key,
        actor="staff:osaka-tax",
    )
    world.session.commit()
    assert (report.flag.records_flagged, report.earlier_items_flagged) == (1, 1)
    protection = desk.register(victim)  # ケース① only

    world.query(world.osaka, at_osaka, world.chiyoda)
    world.register(world.osaka, at_osaka, 住所="大阪市北区梅田1-1")
    world.session.commit()

    view = world.view(world.login(victim.card_token))
    assert osaka_in(view) == set()
    assert first.record_id not in {record.record_id for record in view.records}
    assert not desk.exposure(protection).exposed
    assert desk.status(protection).usage_stop.complete  # no portal path to close


def test_b_card_left_behind_exposed_until_suspension_complete_after_reissue_and_deletion(
    desk,
) -> None:
    world = desk.world
    victim = world.resident()
    world.login(victim.card_token)  # the folder she opened at home
    world.fled_to_osaka(victim, flagged=False)
    protection = desk.register(victim, card_left_behind=True)

    report = desk.exposure(protection)
    seen = osaka_in(world.view(world.login(victim.card_token)))  # 太郎, with her card
    assert [path.kind for path in report.paths] == [PathKind.CARD]
    assert seen == exposed(report, PathKind.CARD) == set()
    assert held_back(report, PathKind.CARD) == all_of_osaka(world, victim) != set()
    steps = [step.kind for step in desk.status(protection).steps]
    assert steps[:5] == [
        StepKind.NON_DISCLOSURE_REQUEST,
        StepKind.SUSPEND_CARD,
        StepKind.REISSUE_CARD,
        StepKind.CHANGE_MY_NUMBER,
        StepKind.DELETE_ACCOUNT,
    ]

    world.suspend(victim)
    with pytest.raises(CardSuspended):
        world.login(victim.card_token)
    assert not desk.exposure(protection).exposed
    status = desk.status(protection)
    assert _done(status, StepKind.SUSPEND_CARD) and not _done(status, StepKind.REISSUE_CARD)
    assert not status.usage_stop.complete  # the folder the card reached is still there

    world.reissue(victim)
    assert not desk.status(protection).usage_stop.complete
    delete(world, world.login(victim.card_token), victim.card_token)
    final = desk.status(protection)
    assert final.usage_stop.complete and _done(final, StepKind.DELETE_ACCOUNT)


def test_b_a_card_left_behind_exposes_even_without_a_folder(desk) -> None:
    world = desk.world
    victim = world.resident()  # never logged in: the perpetrator's first login would open one
    world.fled_to_osaka(victim, flagged=False)
    protection = desk.register(victim, card_left_behind=True)
    report = desk.exposure(protection)
    assert report.paths[0].new_folder
    seen = osaka_in(world.view(world.login(victim.card_token)))
    assert seen == exposed(report, PathKind.CARD) == set()
    assert held_back(report, PathKind.CARD) == all_of_osaka(world, victim) != set()


def test_c_cancelling_the_perpetrators_proxy_completes_the_usage_stop(desk) -> None:
    world = desk.world
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    world.fled_to_osaka(victim, flagged=False)
    protection = desk.register(victim, proxy=True, perpetrator=perpetrator)

    report = desk.exposure(protection)
    assert [(p.kind, p.grant_id) for p in report.paths] == [(PathKind.PROXY, grant.id)]
    as_proxy = world.login(perpetrator.card_token)
    world.enter(as_proxy, grant.account_id)
    assert exposed(report, PathKind.PROXY) == osaka_in(world.view(as_proxy)) == set()
    assert held_back(report, PathKind.PROXY) == all_of_osaka(world, victim) != set()
    assert [step.kind for step in desk.status(protection).steps][1] is StepKind.CANCEL_PROXY

    proxies.cancel_grant(world.session, world.login(victim.card_token).portal_session, grant.id)
    world.session.commit()
    assert not desk.exposure(protection).exposed
    assert desk.status(protection).usage_stop.complete


def test_d_with_both_paths_suspension_alone_leaves_the_proxy_path_open(desk) -> None:
    world = desk.world
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    world.fled_to_osaka(victim, flagged=False)
    protection = desk.register(victim, card_left_behind=True, proxy=True, perpetrator=perpetrator)
    assert {p.kind for p in desk.exposure(protection).paths} == {PathKind.CARD, PathKind.PROXY}
    suspend = desk.status(protection).steps[1]
    assert suspend.kind is StepKind.SUSPEND_CARD and "停止するだけでは" in suspend.reason

    world.suspend(victim)
    after_suspension = desk.exposure(protection)
    assert [p.kind for p in after_suspension.paths] == [PathKind.PROXY]
    as_proxy = world.login(perpetrator.card_token)
    world.enter(as_proxy, grant.account_id)
    assert exposed(after_suspension, PathKind.PROXY) == osaka_in(world.view(as_proxy)) == set()
    assert held_back(after_suspension, PathKind.PROXY) == all_of_osaka(world, victim) != set()
    assert not desk.status(protection).usage_stop.complete

    world.reissue(victim)
    delete(world, world.login(victim.card_token), victim.card_token)
    assert not desk.exposure(protection).exposed
    assert desk.status(protection).usage_stop.complete


def test_f_a_legal_representative_is_shut_out_only_when_the_window_ends_it_with_a_ground(
    desk,
) -> None:
    """太郎 is 花子's 成年後見人. Her card and account are no help to him; the window's record of
    the end of his representation, with the family court's dismissal as its ground, is."""
    world = desk.world
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = proxies.record_legal_representative(
        world.session,
        person_id=victim.id,
        representative_id=perpetrator.id,
        representation="adult_guardian",
        institution=world.chiyoda,
        actor="staff:chiyoda-window",
    )
    world.session.commit()
    world.fled_to_osaka(victim, flagged=False)
    protection = desk.register(victim, legal=True, perpetrator=perpetrator)

    status = desk.status(protection)
    assert [step.kind for step in status.steps][1:] == [
        StepKind.END_LEGAL_REPRESENTATION,
        StepKind.INTERIM_MEASURES,
    ]
    assert not _done(status, StepKind.END_LEGAL_REPRESENTATION)
    assert any("法定代理人としての登録" in path for path in status.usage_stop.open_paths)
    report = desk.exposure(protection)
    assert [(p.kind, p.grant_id) for p in report.paths] == [(PathKind.PROXY, grant.id)]
    as_guardian = world.login(perpetrator.card_token)
    world.enter(as_guardian, grant.account_id)
    assert exposed(report, PathKind.PROXY) == osaka_in(world.view(as_guardian))

    proxies.end_legal_representation(
        world.session,
        person_id=victim.id,
        grant_id=grant.id,
        ground="guardian_dismissed",
        reference="令和8年（家）第345号",
        institution=world.chiyoda,
        actor="staff:chiyoda-window",
    )
    world.session.commit()

    assert world.resolve(as_guardian) is None
    final = desk.status(protection)
    assert _done(final, StepKind.END_LEGAL_REPRESENTATION) and final.usage_stop.complete
    assert not desk.exposure(protection).exposed


def test_e_a_supporter_registers_for_a_person_who_cannot_act(desk) -> None:
    world = desk.world
    victim = world.resident()
    supporter = Requester.checked("supporter", "大阪市配偶者暴力相談支援センター", "入院中のため")
    protection = desk.register(victim, requester=supporter)
    stored = world.session.get(Protection, protection.id)
    assert (stored.requested_by, stored.supporter_body, stored.supporter_reason) == (
        "supporter",
        "大阪市配偶者暴力相談支援センター",
        "入院中のため",
    )
    report = requests.request_nondisclosure(
        world.session,
        institution=world.osaka,
        person_id=victim.id,
        requester=supporter,
        network_key=world.network_key,
        actor="staff:osaka-desk",
    )
    assert report.flag.requested_by.value == "supporter"


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [("支援センター", None, "supporter_reason"), (None, "入院中", "supporter_body")],
)
def test_a_supporter_must_say_who_they_are_and_why(body, reason, field) -> None:
    with pytest.raises(InvalidProtection) as refused:
        Requester.checked("supporter", body, reason)
    assert refused.value.field == field and "2(1)注" in refused.value.message


def _done(status, kind: StepKind) -> bool:
    return next(step for step in status.steps if step.kind is kind).done
