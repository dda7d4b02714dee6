"""出先機関 (offices of national bodies): a 年金事務所 is an institution with a location of its
own under 日本年金機構; it asks and answers under the body's rows of the legal basis table, and
records and 副本 name the office, with its location."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tests.intermediate.conftest import World, build_world
from typer.testing import CliRunner

from fukaiji.audit.models import AuditEntry
from fukaiji.cli import app
from fukaiji.network import institutions
from fukaiji.network.errors import InvalidInstitution, InvalidQuery, QueryNotPermitted
from fukaiji.network.legal_basis import shipped_legal_basis
from fukaiji.network.linkage import InstitutionRef, institution_ref, records_involving
from fukaiji.network.models import CodeIssuance, Institution, InstitutionKind, LinkageStatus

PENSION_AFFAIR = "JM01000000000060"  # 国民年金 (日本年金機構 → 市町村長, 住所地市町村長)
NATIONAL_HEALTH = "JM01000000000020"  # 国民健康保険 (市町村長 → 日本年金機構)
HEALTH_INSURANCE = "JM01000000000070"  # 健康保険 (医療保険者 → 医療保険者)
LOCAL_TAX = "TM02000000000001"
RESIDENT_RECORD = "TM01000000000001"
PENSION_BENEFIT = "TM04000000000001"
MEDICAL_BENEFIT = "TM03000000000001"
OSAKA = "271004"  # 大阪市


def add(session: Session, code: str, name: str, kind: InstitutionKind, **options) -> Institution:
    return institutions.add_institution(
        session,
        code=code,
        name=name,
        kind=kind,
        location_code=options.pop("location_code", None),
        departments=options.pop("departments", ["年金給付課"]),
        actor="test",
        **options,
    )


def office(session: Session, code: str = "JPNENKIN27A", body: str = "JPNENKIN") -> Institution:
    return add(
        session,
        code,
        "日本年金機構 大手前年金事務所",
        InstitutionKind.INCORPORATED_AGENCY,
        location_code=OSAKA,
        body_code=body,
    )


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)  # 日本年金機構 (JPNENKIN) is in it


# ---- registration ----------------------------------------------------------------------------


def test_an_office_has_its_body_its_kind_and_a_location_of_its_own(world: World) -> None:
    added = office(world.session)
    assert (added.body_id, added.body_code) == (world.nenkin.id, "JPNENKIN")
    assert (added.prefecture_code, added.municipality_code) == ("270008", OSAKA)
    assert world.nenkin.body_code is None
    ref = institution_ref(world.session, "JPNENKIN27A")
    assert (ref.name, ref.body_code, ref.municipality_code) == (
        "日本年金機構 大手前年金事務所",
        "JPNENKIN",
        OSAKA,
    )
    logged = world.session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.action == "institutions.add", AuditEntry.institution == "JPNENKIN27A"
        )
    ).one()
    assert json.loads(logged)["body"] == "JPNENKIN"


@pytest.mark.parametrize(
    ("body", "kind", "location", "field", "fault"),
    [
        ("NOSUCH", InstitutionKind.INCORPORATED_AGENCY, OSAKA, "上位機関", "登録されていません"),
        ("131016", InstitutionKind.INCORPORATED_AGENCY, OSAKA, "上位機関", "市区町村です"),
        ("JPNENKIN27A", InstitutionKind.INCORPORATED_AGENCY, OSAKA, "上位機関", "出先機関の下"),
        ("JPNENKIN", InstitutionKind.NATIONAL_BODY, OSAKA, "種別", "上位機関と同じ"),
        ("JPNENKIN", InstitutionKind.INCORPORATED_AGENCY, None, "所在地", "所在地が必要"),
        ("JPNENKIN", InstitutionKind.INCORPORATED_AGENCY, "271005", "所在地", ""),
    ],
)
def test_a_bad_office_is_refused_naming_the_field_and_the_rule(
    world: World, body: str, kind: InstitutionKind, location: str | None, field: str, fault: str
) -> None:
    office(world.session)
    before = world.session.scalars(select(Institution.code)).all()
    with pytest.raises(InvalidInstitution) as refused:
        add(
            world.session, "JPNENKIN27B", "年金事務所", kind, location_code=location, body_code=body
        )
    assert refused.value.field == field
    assert fault in refused.value.message
    assert world.session.scalars(select(Institution.code)).all() == before


def test_the_database_refuses_an_office_without_a_location(world: World) -> None:
    world.session.add(
        Institution(
            code="JPNENKIN27C",
            name="所在地のない事務所",
            kind=InstitutionKind.INCORPORATED_AGENCY,
            body_id=world.nenkin.id,
        )
    )
    with pytest.raises(IntegrityError):
        world.session.flush()
    world.session.rollback()


def test_an_office_matches_the_rows_that_name_its_body() -> None:
    table = shipped_legal_basis()
    nenkin_office = InstitutionRef(
        9, "JPNENKIN27A", "x", InstitutionKind.INCORPORATED_AGENCY, "270008", OSAKA, "JPNENKIN"
    )
    other_office = InstitutionRef(
        9, "JASSO27", "x", InstitutionKind.INCORPORATED_AGENCY, "270008", OSAKA, "JASSO"
    )
    municipality = InstitutionRef(1, "131016", "x", InstitutionKind.MUNICIPALITY, None, None)
    assert table.find(nenkin_office, PENSION_AFFAIR, municipality, LOCAL_TAX) is not None
    assert table.find(other_office, PENSION_AFFAIR, municipality, LOCAL_TAX) is None
    assert table.find_routed(nenkin_office, PENSION_AFFAIR, RESIDENT_RECORD) is not None
    assert table.may_provide(nenkin_office, PENSION_BENEFIT)
    assert not table.may_provide(other_office, PENSION_BENEFIT)


# ---- linkage ---------------------------------------------------------------------------------


def test_an_office_asks_under_its_bodys_row_and_the_record_names_the_office(world: World) -> None:
    pension_office = office(world.session)
    person = world.person()
    at_office = world.enrol(person, pension_office)
    at_chiyoda = world.enrol(person, world.chiyoda)
    world.register(world.chiyoda, at_chiyoda)
    result = world.query(pension_office, at_office, world.chiyoda, PENSION_AFFAIR, LOCAL_TAX)
    assert result.status is LinkageStatus.PROVIDED
    assert result.legal_basis_entry == 19  # the row names 日本年金機構
    (record,) = world.records(person)
    assert record.requester.id == pension_office.id
    assert (record.requester.name, record.requester.municipality_code) == (
        "日本年金機構 大手前年金事務所",
        OSAKA,
    )
    code = _code_at(world, pension_office)
    (seen,) = records_involving(world.session, institution_id=pension_office.id, code=code)
    assert seen.requester is not None and seen.requester.code == "JPNENKIN27A"
    assert seen.requester_role == "日本年金機構 (JPNENKIN)"
    # The provider learns the role the table names, never which office asked: that is where
    # she is now.
    (told,) = records_involving(
        world.session, institution_id=world.chiyoda.id, code=_code_at(world, world.chiyoda)
    )
    assert (told.requester, told.requester_role) == (None, "日本年金機構 (JPNENKIN)")


def _code_at(world: World, institution: Institution) -> str:
    return world.session.scalars(
        select(CodeIssuance.code).where(CodeIssuance.institution_id == institution.id)
    ).one()


def test_an_office_answers_under_its_bodys_row_and_holds_its_bodys_副本(world: World) -> None:
    pension_office = office(world.session)
    person = world.person()
    at_office = world.enrol(person, pension_office)
    at_chiyoda = world.enrol(person, world.chiyoda)
    item = world.register(pension_office, at_office, PENSION_BENEFIT, {"年金": "受給なし"})
    result = world.query(
        world.chiyoda, at_chiyoda, pension_office, NATIONAL_HEALTH, PENSION_BENEFIT
    )
    assert result.status is LinkageStatus.PROVIDED
    assert result.provider is not None and result.provider.municipality_code == OSAKA
    (shown,) = world.self_info(person)
    assert (shown.item_id, shown.institution.id) == (item.id, pension_office.id)
    assert shown.institution.municipality_code == OSAKA


def test_an_office_may_ask_the_municipality_of_residence_through_the_network(world: World) -> None:
    pension_office = office(world.session)
    person = world.person(municipality_code="141003")
    at_office = world.enrol(person, pension_office)
    at_yokohama = world.enrol(person, world.yokohama)
    world.register(world.yokohama, at_yokohama, RESIDENT_RECORD, {"住所": "横浜市中区"})
    result = world.query(pension_office, at_office, None, PENSION_AFFAIR, RESIDENT_RECORD)
    assert result.status is LinkageStatus.PROVIDED
    assert result.routed and result.provider is None


def test_an_office_of_another_body_is_refused_under_the_row(world: World) -> None:
    add(world.session, "JASSO", "日本学生支援機構", InstitutionKind.INCORPORATED_AGENCY)
    other = office(world.session, code="JASSO27", body="JASSO")
    person = world.person()
    at_other = world.enrol(person, other)
    world.enrol(person, world.chiyoda)
    with pytest.raises(QueryNotPermitted):
        world.query(other, at_other, world.chiyoda, PENSION_AFFAIR, LOCAL_TAX)
    assert world.records(person) == []


def test_an_office_and_its_body_do_not_query_each_other_through_the_network(
    world: World,
) -> None:
    kyokai = add(
        world.session,
        "01000000",
        "全国健康保険協会",
        InstitutionKind.HEALTH_INSURER,
        location_code="131016",
    )
    branch = add(
        world.session,
        "01270000",
        "全国健康保険協会 大阪支部",
        InstitutionKind.HEALTH_INSURER,
        location_code=OSAKA,
        body_code=kyokai.code,
    )
    person = world.person()
    at_branch = world.enrol(person, branch)
    world.enrol(person, kyokai)
    with pytest.raises(InvalidQuery, match="同じ上位機関"):
        world.query(branch, at_branch, kyokai, HEALTH_INSURANCE, MEDICAL_BENEFIT)


# ---- the command line ------------------------------------------------------------------------

runner = CliRunner()


def test_the_cli_adds_an_office_and_shows_its_body(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, database_url: str
) -> None:
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "c" * 40)
    base = ["institutions", "add", "--kind", "incorporated_agency"]
    body = runner.invoke(app, [*base, "--code", "JPNENKIN", "--name", "日本年金機構"])
    assert body.exit_code == 0, body.output
    refused = runner.invoke(
        app, [*base, "--code", "JPNENKIN27A", "--name", "年金事務所", "--body", "JPNENKIN"]
    )
    assert refused.exit_code == 2
    assert "所在地" in refused.output
    added = runner.invoke(
        app,
        [
            *base,
            *("--code", "JPNENKIN27A", "--name", "日本年金機構 大手前年金事務所"),
            *("--location", OSAKA, "--body", "JPNENKIN"),
        ],
    )
    assert added.exit_code == 0, added.output
    shown = runner.invoke(app, ["institutions", "show", "JPNENKIN27A"])
    assert shown.exit_code == 0, shown.output
    assert "上位機関: JPNENKIN" in shown.output
    assert "271004" in shown.output
