"""出先機関 and the protected region, played as the perpetrator: a 年金事務所 in the shelter's city
asks about her under 日本年金機構's row. The body has no location and gives nothing away; the
office does, so the exposure check must count the record and the 副本 that name it."""

from __future__ import annotations

from datetime import date

from fukaiji import intermediate
from fukaiji.network.institutions import add_institution
from fukaiji.network.models import Institution, InstitutionKind
from fukaiji.portal.states import ViewKind
from fukaiji.protection import exposure

OSAKA_PREFECTURE = ["270008"]  # 大阪府
PENSION_AFFAIR = "JM01000000000060"  # 国民年金 (日本年金機構 → 市町村長)
LOCAL_TAX = "TM02000000000001"  # 地方税関係情報
PENSION_BENEFIT = "TM04000000000001"  # 年金給付関係情報


def _pension_body_and_office(session) -> tuple[Institution, Institution]:
    common = {"kind": InstitutionKind.INCORPORATED_AGENCY, "departments": [], "actor": "test"}
    body = add_institution(
        session, code="JPNENKIN", name="日本年金機構", location_code=None, **common
    )
    office = add_institution(
        session,
        code="JPNENKIN27A",
        name="日本年金機構 大手前年金事務所",
        location_code="271004",  # 大阪市
        body_code="JPNENKIN",
        **common,
    )
    return body, office


def _ask_chiyoda(world, requester: Institution, number: str) -> int:
    return intermediate.query(
        world.session,
        requester=requester,
        addressee_number=number,
        provider_code=world.chiyoda.code,
        affair_code=PENSION_AFFAIR,
        item_code=LOCAL_TAX,
        actor="test:pension",
    ).record_id


def _reported(report) -> set[tuple[ViewKind, int]]:
    """Every item the check counts: still shown, or held back by the mask where there is one."""
    items = (*report.items, *getattr(report, "held_back", ()))
    return {(item.view, item.item_id) for item in items}


def test_a_query_by_an_office_in_the_region_is_counted_and_one_by_its_body_is_not(desk) -> None:
    world = desk.world
    victim = world.resident()
    world.login(victim.card_token)  # the folder she opened at home; the card stays behind
    body, office = _pension_body_and_office(world.session)
    world.enrol(victim, world.chiyoda)
    at_office = world.enrol(victim, office)
    by_office = _ask_chiyoda(world, office, at_office)
    by_body = _ask_chiyoda(world, body, world.enrol(victim, body))
    item = intermediate.register_self_info(
        world.session,
        institution=office,
        addressee_number=at_office,
        item_code=PENSION_BENEFIT,
        content={"年金": "受給なし"},
        publish_from=date(2026, 4, 1),
        actor="test:pension",
    )
    world.session.commit()
    protection = desk.register(victim, card_left_behind=True, region=OSAKA_PREFECTURE)

    report = exposure.full_exposure(world.session, protection, network_key=world.network_key)

    assert (ViewKind.RECORDS, by_office) in _reported(report)
    assert (ViewKind.SELF_INFO, item.id) in _reported(report)
    assert (ViewKind.RECORDS, by_body) not in _reported(report)
    reported = (*report.items, *getattr(report, "held_back", ()))
    assert "JPNENKIN27A" in {i.code for item in reported for i in item.institutions}
