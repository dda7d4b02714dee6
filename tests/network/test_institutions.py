"""Institutions: the official list loads once and exactly; others are added by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fukaiji import audit
from fukaiji.cli import app
from fukaiji.db import create_db_engine, transaction, upgrade
from fukaiji.network import institutions
from fukaiji.network.errors import (
    DuplicateDepartment,
    DuplicateInstitution,
    InvalidInstitution,
    UnknownDepartment,
    UnknownInstitution,
)
from fukaiji.network.models import Department, Institution, InstitutionKind


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_loading_a_new_database_gives_all_1788_local_governments_and_twice_changes_nothing(
    tmp_path: Path,
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    upgrade(engine)
    with transaction(engine) as session:
        first = institutions.load_local_governments(session, actor="test")
    with transaction(engine) as session:
        counts = (_count(session, Institution), _count(session, Department))
        entries = audit.verify(session).entries
        second = institutions.load_local_governments(session, actor="test")
    with transaction(engine) as session:
        assert (_count(session, Institution), _count(session, Department)) == counts
        assert audit.verify(session).entries == entries
    engine.dispose()
    assert (first.added, first.renamed) == (1788, 0)
    assert (second.added, second.renamed, second.unchanged) == (0, 0, 1788)
    assert counts[0] == 1788


def test_a_prefecture_and_a_municipality_know_where_they_are(session: Session) -> None:
    tokyo = institutions.get_institution(session, "130001")
    chiyoda = institutions.get_institution(session, "131016")
    assert (tokyo.name, tokyo.kind, tokyo.prefecture_code, tokyo.municipality_code) == (
        "東京都",
        InstitutionKind.PREFECTURE,
        "130001",
        None,
    )
    assert (chiyoda.name, chiyoda.kind, chiyoda.prefecture_code, chiyoda.municipality_code) == (
        "東京都千代田区",
        InstitutionKind.MUNICIPALITY,
        "130001",
        "131016",
    )
    assert "DV相談窓口" in [department.name for department in chiyoda.departments]


def test_a_renamed_municipality_is_corrected_on_the_next_load(session: Session) -> None:
    institutions.get_institution(session, "131016").name = "旧名称"
    report = institutions.load_local_governments(session, actor="test")
    assert report.renamed == 1
    assert institutions.get_institution(session, "131016").name == "東京都千代田区"


def test_a_national_body_and_an_insurer_can_be_added(session: Session) -> None:
    pension = institutions.add_institution(
        session,
        code="NPS0001",
        name="日本年金機構",
        kind=InstitutionKind.INCORPORATED_AGENCY,
        location_code=None,
        departments=["年金給付課"],
        actor="test",
    )
    insurer = institutions.add_institution(
        session,
        code="06131013",
        name="千代田健康保険組合",
        kind=InstitutionKind.HEALTH_INSURER,
        location_code="131016",
        departments=[],
        actor="test",
    )
    assert (pension.prefecture_code, pension.municipality_code) == (None, None)
    assert (insurer.prefecture_code, insurer.municipality_code) == ("130001", "131016")
    assert [department.name for department in pension.departments] == ["年金給付課"]


@pytest.mark.parametrize(
    ("code", "kind", "location", "field"),
    [
        ("ab", InstitutionKind.NATIONAL_BODY, None, "機関コード"),
        ("MHLW01", InstitutionKind.MUNICIPALITY, None, "種別"),
        ("MHLW01", InstitutionKind.NATIONAL_BODY, "131017", "所在地"),
        ("MHLW01", InstitutionKind.NATIONAL_BODY, "011011", "所在地"),
    ],
)
def test_a_bad_institution_is_refused_naming_the_field(
    session: Session, code: str, kind: InstitutionKind, location: str | None, field: str
) -> None:
    before = _count(session, Institution)
    with pytest.raises(InvalidInstitution) as refused:
        institutions.add_institution(
            session,
            code=code,
            name="厚生労働省",
            kind=kind,
            location_code=location,
            departments=[],
            actor="test",
        )
    assert refused.value.field == field
    assert _count(session, Institution) == before


def test_a_duplicate_code_is_refused(session: Session) -> None:
    with pytest.raises(DuplicateInstitution):
        institutions.add_institution(
            session,
            code="131016",
            name="偽の区",
            kind=InstitutionKind.NATIONAL_BODY,
            location_code=None,
            departments=[],
            actor="test",
        )


def test_departments_are_added_once(session: Session) -> None:
    institutions.add_department(session, institution_code="131016", name="保健所", actor="test")
    assert institutions.get_department(session, institution_code="131016", name="保健所")
    with pytest.raises(DuplicateDepartment):
        institutions.add_department(session, institution_code="131016", name="保健所", actor="t")
    with pytest.raises(UnknownDepartment):
        institutions.get_department(session, institution_code="131016", name="存在しない課")
    with pytest.raises(UnknownInstitution):
        institutions.get_department(session, institution_code="999999", name="市民課")
    # PostgreSQL cannot even bind a NUL byte: such input must be "unknown", not a crash.
    with pytest.raises(UnknownInstitution):
        institutions.get_institution(session, "131016\x00")
    with pytest.raises(UnknownDepartment):
        institutions.get_department(session, institution_code="131016", name="市民課\x00")


def test_listing_filters_by_kind_prefecture_and_name(session: Session) -> None:
    prefectures, total = institutions.list_institutions(session, kind=InstitutionKind.PREFECTURE)
    assert total == 47
    assert len(prefectures) == 47
    page, total = institutions.list_institutions(session, prefecture_code="130001", limit=5)
    assert total == 63  # 東京都 itself, 23 特別区, 26 市, 5 町, 8 村
    assert [institution.code for institution in page][:2] == ["130001", "131016"]
    found, _ = institutions.list_institutions(session, name_contains="府中市")
    assert sorted(institution.code for institution in found) == ["132063", "342084"]


runner = CliRunner()


def test_the_cli_loads_lists_and_shows(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, database_url: str
) -> None:
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "c" * 40)
    loaded = runner.invoke(app, ["institutions", "load"])
    assert loaded.exit_code == 0, loaded.output
    assert "1,788" in loaded.output
    shown = runner.invoke(app, ["institutions", "show", "131016"])
    assert shown.exit_code == 0, shown.output
    assert "東京都千代田区" in shown.output
    assert runner.invoke(app, ["institutions", "show", "999999"]).exit_code == 2
    listed = runner.invoke(app, ["institutions", "list", "--kind", "prefecture", "--limit", "50"])
    assert "47 / 47" in listed.output
