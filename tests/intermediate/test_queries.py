"""情報照会・情報提供 from end to end: legal basis, 符号, 副本 and one 情報提供等記録 per query."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.audit.models import AuditEntry
from fukaiji.db import Base
from fukaiji.identifiers import InstitutionSpecificCode
from fukaiji.intermediate import InvalidSelfInfo, UnknownAddressee
from fukaiji.intermediate.models import Addressee, IntermediateCode
from fukaiji.network.codes import person_reference
from fukaiji.network.errors import InvalidQuery, ProviderIsRouted, QueryNotPermitted
from fukaiji.network.models import CodeIssuance, LinkageRecord, LinkageStatus

CHILD_ALLOWANCE = "JM01000000000010"
NATIONAL_HEALTH = "JM01000000000020"
PENSION_AFFAIR = "JM01000000000060"
LOCAL_TAX = "TM02000000000001"
RESIDENT_RECORD = "TM01000000000001"
PENSION_BENEFIT = "TM04000000000001"


def record_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LinkageRecord)) or 0


def test_an_allowed_query_is_answered_with_the_current_copy_and_makes_one_record(world) -> None:
    person = world.person()
    at_chiyoda = world.enrol(person, world.chiyoda)
    at_yokohama = world.enrol(person, world.yokohama)
    world.register(world.yokohama, at_yokohama, content={"所得割額": 100_000})
    world.register(world.yokohama, at_yokohama, content={"所得割額": 120_000})

    result = world.query(world.chiyoda, at_chiyoda, world.yokohama)

    assert result.status is LinkageStatus.PROVIDED
    assert (result.content, result.version) == ({"所得割額": 120_000}, 2)
    assert (result.requester.code, result.provider.code) == ("131016", "141003")
    assert result.item_name == "地方税関係情報"
    assert not result.requester_undisclosed and not result.routed
    record = world.session.get_one(LinkageRecord, result.record_id)
    assert (record.affair_code, record.item_code, record.legal_basis_entry) == (
        CHILD_ALLOWANCE,
        LOCAL_TAX,
        1,
    )
    assert record_count(world.session) == 1
    audited = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "linkage.query")
    ).one()
    assert audited.subject == f"addressee:131016:{at_chiyoda}"
    # The history is kept: both versions are there for the provider's staff.
    history = intermediate.self_info_history(
        world.session, institution=world.yokohama, addressee_number=at_yokohama, actor="test"
    )
    assert [item.version for item in history] == [1, 2]


def test_a_query_that_no_row_allows_is_refused_naming_the_missing_permission(world) -> None:
    person = world.person()
    at_chiyoda = world.enrol(person, world.chiyoda)
    world.enrol(person, world.nenkin)

    with pytest.raises(QueryNotPermitted) as refused:
        # 児童手当 may ask a municipality for 地方税関係情報, not the pension body.
        world.query(world.chiyoda, at_chiyoda, world.nenkin, CHILD_ALLOWANCE, LOCAL_TAX)

    message = refused.value.message
    assert message.startswith("照会は許可されていません")
    for part in ("千代田区 (131016)", CHILD_ALLOWANCE, "日本年金機構 (JPNENKIN)", LOCAL_TAX):
        assert part in message
    assert "市町村長→市町村長" in message
    assert refused.value.keep_changes
    assert record_count(world.session) == 0
    assert (
        world.session.scalar(
            select(AuditEntry.subject).where(AuditEntry.action == "linkage.query_refused")
        )
        == f"addressee:131016:{at_chiyoda}"
    )


def test_a_requester_of_the_wrong_kind_is_refused(world) -> None:
    person = world.person()
    at_tokyo = world.enrol(person, world.tokyo)
    world.enrol(person, world.chiyoda)
    with pytest.raises(QueryNotPermitted, match="東京都 \\(130001\\) \\[都道府県\\]"):
        world.query(world.tokyo, at_tokyo, world.chiyoda, CHILD_ALLOWANCE, LOCAL_TAX)


def test_a_pension_body_asks_the_municipality_of_residence_without_naming_it(world) -> None:
    person = world.person(municipality_code="271004")
    at_nenkin = world.enrol(person, world.nenkin)
    at_osaka = world.enrol(person, world.osaka)
    world.register(world.osaka, at_osaka, RESIDENT_RECORD, {"住所": "大阪市北区"})
    result = world.query(world.nenkin, at_nenkin, None, PENSION_AFFAIR, RESIDENT_RECORD)
    assert result.status is LinkageStatus.PROVIDED
    assert result.legal_basis_entry == 20
    # The network chose 大阪市; the requester is not told which municipality answered.
    assert result.routed and result.provider is None
    record = world.session.get_one(LinkageRecord, result.record_id)
    assert (record.provider_institution_id, record.routed) == (world.osaka.id, True)


def test_naming_a_municipality_for_a_routed_query_is_refused_and_audited(world) -> None:
    person = world.person(municipality_code="271004")
    at_nenkin = world.enrol(person, world.nenkin)
    for municipality in (world.chiyoda, world.yokohama, world.osaka):
        with pytest.raises(ProviderIsRouted):
            world.query(world.nenkin, at_nenkin, municipality, PENSION_AFFAIR, RESIDENT_RECORD)
    assert record_count(world.session) == 0
    refused = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "linkage.query_refused")
    ).all()
    assert [json.loads(entry.details)["reason"] for entry in refused] == [
        "provider_named_for_routed_query"
    ] * 3


def test_the_requester_cannot_tell_an_unknown_person_from_no_data(world) -> None:
    """Asked at each institution in turn, the answer must not say where she is known."""
    person = world.person()
    at_chiyoda = world.enrol(person, world.chiyoda)
    world.enrol(person, world.osaka)  # known at 大阪市, which holds nothing current

    unknown = world.query(world.chiyoda, at_chiyoda, world.yokohama)
    known = world.query(world.chiyoda, at_chiyoda, world.osaka)

    assert unknown.status is known.status is LinkageStatus.NO_DATA
    assert (unknown.content, unknown.version) == (known.content, known.version) == (None, None)
    assert record_count(world.session) == 2
    # The record itself keeps what happened; only the requester's view folds it.
    stored = world.session.get_one(LinkageRecord, unknown.record_id)
    assert stored.status == LinkageStatus.UNKNOWN_PERSON
    seen = intermediate.records_of_addressee(
        world.session, institution=world.chiyoda, addressee_number=at_chiyoda, actor="test"
    )
    assert {record.status for record in seen} == {LinkageStatus.NO_DATA}


def test_a_provider_that_knows_the_person_but_holds_no_current_item_answers_no_data(
    world,
) -> None:
    person = world.person(municipality_code="271004")
    at_chiyoda = world.enrol(person, world.chiyoda)
    at_osaka = world.enrol(person, world.osaka)
    # A version published only from next year is not current yet; an ended one is not either.
    world.register(world.osaka, at_osaka, publish_from=date(2027, 4, 1))
    world.register(
        world.osaka,
        at_osaka,
        RESIDENT_RECORD,
        publish_from=date(2025, 4, 1),
        publish_until=date(2026, 3, 31),
    )
    tax = world.query(world.chiyoda, at_chiyoda, world.osaka, CHILD_ALLOWANCE, LOCAL_TAX)
    record = world.query(world.chiyoda, at_chiyoda, None, CHILD_ALLOWANCE, RESIDENT_RECORD)
    assert (tax.status, record.status) == (LinkageStatus.NO_DATA, LinkageStatus.NO_DATA)
    assert record_count(world.session) == 2


def test_a_newer_version_not_yet_published_leaves_the_published_one_current(world) -> None:
    person = world.person()
    at_chiyoda = world.enrol(person, world.chiyoda)
    at_osaka = world.enrol(person, world.osaka)
    world.register(world.osaka, at_osaka, content={"年度": 2026})
    world.register(world.osaka, at_osaka, content={"年度": 2027}, publish_from=date(2027, 6, 1))
    assert world.query(world.chiyoda, at_chiyoda, world.osaka).content == {"年度": 2026}
    assert [item.content for item in world.self_info(person)] == [{"年度": 2026}]


def test_the_same_person_has_unrelated_codes_at_two_institutions(world) -> None:
    hanako, taro = world.person("花子"), world.person("太郎")
    for person in (hanako, taro):
        world.enrol(person, world.chiyoda)
        world.enrol(person, world.yokohama)
    codes = {
        (person.given_name, row.institution_id): row.code
        for person in (hanako, taro)
        for row in world.session.scalars(
            select(IntermediateCode)
            .join(
                Addressee,
                (Addressee.institution_id == IntermediateCode.institution_id)
                & (Addressee.addressee_number == IntermediateCode.addressee_number),
            )
            .where(Addressee.person_id == person.id)
        )
    }
    assert len(codes) == 4
    assert len(set(codes.values())) == 4
    for code in codes.values():
        InstitutionSpecificCode(code)  # well-formed
    at_chiyoda = codes["花子", world.chiyoda.id]
    at_yokohama = codes["花子", world.yokohama.id]
    # Unrelated: no shared prefix beyond chance, and not derivable without the network key.
    assert at_chiyoda[:4] != at_yokohama[:4]
    assert str(hanako.id) not in at_chiyoda + at_yokohama
    other_key = InstitutionSpecificCode.derive(b"x" * 32, "131016", str(hanako.id))
    assert str(other_key) != at_chiyoda
    # The network links them only through a reference that is neither code nor register id.
    refs = set(
        world.session.scalars(
            select(CodeIssuance.person_ref).where(CodeIssuance.code.in_([at_chiyoda, at_yokohama]))
        )
    )
    assert refs == {person_reference(world.network_key, hanako.id)}
    assert str(hanako.id).replace("-", "") not in refs.pop()


def test_enrolling_twice_gives_the_same_number(world) -> None:
    person = world.person()
    first = world.enrol(person, world.chiyoda)
    assert world.enrol(person, world.chiyoda) == first
    assert len(first) == 15
    assert (
        intermediate.person_of(world.session, institution=world.chiyoda, addressee_number=first)
        == person.id
    )


def test_an_addressee_the_requester_never_enrolled_is_unknown(world) -> None:
    with pytest.raises(UnknownAddressee, match="131016"):
        world.query(world.chiyoda, "123456789012345", world.osaka)


def test_a_query_to_oneself_and_malformed_codes_are_refused(world) -> None:
    person = world.person()
    number = world.enrol(person, world.chiyoda)
    with pytest.raises(InvalidQuery, match="照会者自身"):
        world.query(world.chiyoda, number, world.chiyoda)
    with pytest.raises(InvalidQuery) as bad:
        world.query(world.chiyoda, number, world.osaka, "JM123", LOCAL_TAX)
    assert bad.value.field == "事務コード"
    with pytest.raises(InvalidQuery) as bad:
        world.query(world.chiyoda, number, world.osaka, CHILD_ALLOWANCE, "TM0000")
    assert bad.value.field == "特定個人情報名コード"
    assert record_count(world.session) == 0


def test_a_copy_that_would_hold_a_my_number_or_that_the_institution_may_not_provide_is_refused(
    world,
) -> None:
    person = world.person()
    number = world.enrol(person, world.chiyoda)
    my_number = str(world.my_number(person))
    with pytest.raises(InvalidSelfInfo) as refused:
        world.register(world.chiyoda, number, content={"備考": f"番号 {my_number}"})
    assert my_number not in str(refused.value)
    with pytest.raises(InvalidSelfInfo, match="提供者として法令根拠表にありません"):
        world.register(world.chiyoda, number, PENSION_BENEFIT)
    with pytest.raises(InvalidSelfInfo, match="公開開始日"):
        world.register(
            world.chiyoda, number, publish_from=date(2026, 4, 1), publish_until=date(2026, 3, 1)
        )
    with pytest.raises(InvalidSelfInfo, match="JSON のオブジェクト"):
        world.register(world.chiyoda, number, content=[1, 2])  # type: ignore[arg-type]


NETWORK_AND_INTERMEDIATE = ("fukaiji.network.models", "fukaiji.intermediate.models")


def test_no_my_number_is_stored_in_any_network_or_intermediate_table(world) -> None:
    people = [world.person(name) for name in ("花子", "太郎", "次郎")]
    for person in people:
        at_chiyoda = world.enrol(person, world.chiyoda)
        at_osaka = world.enrol(person, world.osaka)
        at_nenkin = world.enrol(person, world.nenkin)
        world.register(world.osaka, at_osaka, content={"所得割額": 98_765})
        world.register(world.osaka, at_osaka, RESIDENT_RECORD, {"住所": "大阪市北区梅田1丁目"})
        world.query(world.chiyoda, at_chiyoda, world.osaka)
        world.query(world.chiyoda, at_chiyoda, world.yokohama)
        world.query(world.nenkin, at_nenkin, None, PENSION_AFFAIR, RESIDENT_RECORD)
        world.query(world.chiyoda, at_chiyoda, world.nenkin, NATIONAL_HEALTH, PENSION_BENEFIT)
    world.flag(world.osaka, world.enrol(people[0], world.osaka))
    world.session.flush()

    numbers = {str(world.my_number(person)) for person in people}
    tables = [
        mapper.local_table
        for mapper in Base.registry.mappers
        if mapper.class_.__module__ in NETWORK_AND_INTERMEDIATE
    ]
    assert {table.name for table in tables} >= {
        "code_issuances",
        "linkage_records",
        "addressees",
        "intermediate_codes",
        "self_info_items",
        "nondisclosure_flags",
    }
    scanned = 0
    for table in [*tables, AuditEntry.__table__]:
        for row in world.session.execute(select(table)):
            text = "|".join(str(value) for value in row)
            scanned += 1
            assert not any(number in text for number in numbers), table.name
    assert scanned > 30
    # The scan would have found them: the register does hold the numbers.
    held = "|".join(
        str(value)
        for table in ("my_numbers",)
        for row in world.session.execute(select(Base.metadata.tables[table]))
        for value in row
    )
    assert all(number in held for number in numbers)
