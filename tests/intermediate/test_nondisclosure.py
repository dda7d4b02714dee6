"""不開示フラグ and the fail-closed flags: what an institution that flagged a person takes part
in is never displayed, retroactively and from then on, whatever the staff member chose."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from fukaiji import intermediate
from fukaiji.audit.models import AuditEntry
from fukaiji.intermediate import SelfInfoItem, UnknownSelfInfoItem
from fukaiji.network import linkage as network_linkage
from fukaiji.network.errors import UnknownRecord
from fukaiji.network.models import InstitutionKind, LinkageRecord, LinkageStatus

CHILD_ALLOWANCE = "JM01000000000010"
LOCAL_TAX = "TM02000000000001"
RESIDENT_RECORD = "TM01000000000001"


def flags(world, record_id: int) -> tuple[bool, bool]:
    record = world.session.get_one(LinkageRecord, record_id)
    world.session.refresh(record)
    return record.requester_undisclosed, record.provider_undisclosed


def test_a_person_flagged_at_a_is_hidden_in_every_record_of_a_and_only_there(world) -> None:
    """A = 千代田区 (the shelter's municipality), B = 横浜市, C = 大阪市."""
    a, b, c = world.chiyoda, world.yokohama, world.osaka
    person = world.person()
    at_a, at_b, at_c = (world.enrol(person, institution) for institution in (a, b, c))
    for institution, number in ((a, at_a), (b, at_b), (c, at_c)):
        world.register(institution, number)

    earlier_by_a = world.query(a, at_a, b)
    earlier_answered_by_a = world.query(c, at_c, a)
    report = world.flag(a, at_a)
    later_by_a = world.query(a, at_a, c, undisclosed=False)
    later_answered_by_a = world.query(b, at_b, a)
    between_b_and_c = world.query(b, at_b, c)

    assert report.newly_set
    assert (report.records_flagged, report.items_flagged) == (2, 1)
    assert flags(world, earlier_by_a.record_id) == (True, False)
    assert flags(world, earlier_answered_by_a.record_id) == (False, True)
    assert later_by_a.requester_undisclosed
    assert flags(world, later_by_a.record_id) == (True, False)
    # B, the requester, is not told that A flagged its side (only A's own view shows it).
    assert not later_answered_by_a.requester_undisclosed
    assert flags(world, later_answered_by_a.record_id) == (False, True)
    assert flags(world, between_b_and_c.record_id) == (False, False)
    # The portal sees the record between B and C, and nothing that names A.
    shown = world.records(person)
    assert [record.record_id for record in shown] == [between_b_and_c.record_id]
    assert all(a.code not in {i.code for i in record.institutions} for record in shown)
    entry = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "intermediate.nondisclosure_flag_set")
    ).one()
    assert entry.subject == f"addressee:131016:{at_a}"
    assert '"records_flagged":2' in entry.details


def test_every_item_a_flagged_institution_registers_is_hidden_whatever_the_desk_chose(
    world,
) -> None:
    a, b = world.chiyoda, world.yokohama
    person = world.person()
    at_a, at_b = world.enrol(person, a), world.enrol(person, b)
    before = world.register(a, at_a, LOCAL_TAX)
    world.register(b, at_b, LOCAL_TAX, {"所得割額": 5})
    report = world.flag(a, at_a)
    after = world.register(a, at_a, RESIDENT_RECORD, {"住所": "千代田"}, undisclosed=False)
    world.session.refresh(before)

    assert report.items_flagged == 1
    assert before.undisclosed and after.undisclosed
    shown = world.self_info(person)
    assert [(item.institution.code, item.content) for item in shown] == [
        ("141003", {"所得割額": 5})
    ]


def test_flagging_twice_changes_nothing_and_reports_it(world) -> None:
    person = world.person()
    number = world.enrol(person, world.chiyoda)
    first = world.flag(world.chiyoda, number)
    again = world.flag(world.chiyoda, number)
    assert first.newly_set and not again.newly_set
    assert (again.records_flagged, again.items_flagged) == (0, 0)
    assert again.set_at == first.set_at
    flag = intermediate.nondisclosure_flag(
        world.session, institution=world.chiyoda, addressee_number=number
    )
    assert flag is not None and flag.requested_by == "person"


def test_staff_flag_a_single_query_or_item_by_hand(world) -> None:
    a, b, c = world.chiyoda, world.yokohama, world.osaka
    person = world.person()
    at_a, at_b = world.enrol(person, a), world.enrol(person, b)
    world.enrol(person, c)
    by_hand = world.query(a, at_a, b, undisclosed=True)
    plain = world.query(a, at_a, c)
    provider_side = world.query(b, at_b, c)

    network_linkage.undisclose_record(
        world.session, institution=c, record_id=provider_side.record_id, actor="test"
    )
    with pytest.raises(UnknownRecord):
        # B took no part in A → C: it cannot even learn that the record exists.
        network_linkage.undisclose_record(
            world.session, institution=b, record_id=plain.record_id, actor="test"
        )
    assert by_hand.requester_undisclosed
    assert flags(world, by_hand.record_id) == (True, False)
    assert flags(world, provider_side.record_id) == (False, True)
    assert [record.record_id for record in world.records(person)] == [plain.record_id]

    first = world.register(b, at_b, content={"版": 1})
    second = world.register(b, at_b, content={"版": 2})
    intermediate.undisclose_self_info_item(
        world.session, institution=b, item_id=second.id, actor="test"
    )
    # The hidden current version is not replaced by the older one.
    assert world.self_info(person) == []
    assert first.undisclosed is False
    with pytest.raises(UnknownSelfInfoItem):
        intermediate.undisclose_self_info_item(
            world.session, institution=a, item_id=first.id, actor="test"
        )


def test_an_item_hidden_from_display_also_hides_the_record_of_providing_it(world) -> None:
    person = world.person()
    at_a, at_b = world.enrol(person, world.chiyoda), world.enrol(person, world.yokohama)
    world.register(world.yokohama, at_b, undisclosed=True)
    result = world.query(world.chiyoda, at_a, world.yokohama)
    assert result.status is LinkageStatus.PROVIDED
    assert result.content == {"所得割額": 123_400, "年度": 2026}  # provision is not affected
    assert flags(world, result.record_id) == (False, True)
    assert world.records(person) == []


def test_a_flag_hides_records_even_where_a_stored_flag_was_missed(world) -> None:
    """Defence in depth: a record written by a query that raced with the flag stays hidden."""
    person = world.person()
    at_a, at_b = world.enrol(person, world.chiyoda), world.enrol(person, world.yokohama)
    result = world.query(world.yokohama, at_b, world.chiyoda)
    world.flag(world.chiyoda, at_a)
    world.session.execute(
        update(LinkageRecord)
        .where(LinkageRecord.id == result.record_id)
        .values(provider_undisclosed=False)
    )
    world.register(world.chiyoda, at_a)
    world.session.execute(update(SelfInfoItem).values(undisclosed=False))
    assert world.records(person) == []
    assert world.self_info(person) == []


def test_display_items_name_the_institution_with_its_location_and_carry_the_content(
    world,
) -> None:
    person = world.person()
    other = world.person("太郎")
    at_a = world.enrol(person, world.chiyoda)
    at_c = world.enrol(person, world.osaka)
    world.enrol(other, world.osaka)
    world.register(world.osaka, at_c, content={"所得割額": 1})
    world.register(
        world.osaka, at_c, RESIDENT_RECORD, {"住所": "北区"}, publish_from=date(2026, 1, 1)
    )
    result = world.query(world.chiyoda, at_a, world.osaka)

    (record,) = world.records(person)
    assert record.record_id == result.record_id
    assert record.occurred_at == result.requested_at
    assert (record.affair_name, record.item_name) == (
        "児童手当法による児童手当又は特例給付の支給に関する事務",
        "地方税関係情報",
    )
    assert record.requester.name == "東京都千代田区"
    assert (record.requester.prefecture_code, record.requester.municipality_code) == (
        "130001",
        "131016",
    )
    assert (record.provider.prefecture_code, record.provider.municipality_code) == (
        "270008",
        "271004",
    )
    assert record.provider.kind is InstitutionKind.MUNICIPALITY
    items = world.self_info(person)
    assert [(item.item_code, item.content, item.version) for item in items] == [
        (RESIDENT_RECORD, {"住所": "北区"}, 1),
        (LOCAL_TAX, {"所得割額": 1}, 1),
    ]
    assert {item.institution.code for item in items} == {"271004"}
    assert items[0].institution.prefecture_code == "270008"
    # Someone else's view holds none of it.
    assert world.records(other) == [] and world.self_info(other) == []
    with pytest.raises(AttributeError):
        record.status = LinkageStatus.NO_DATA  # type: ignore[misc]
