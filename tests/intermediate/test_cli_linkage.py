"""The ``fukaiji linkage`` commands, run against a real database.

The commands are mounted on a Typer app of this test's own, so the tests do not depend on how the
main ``fukaiji`` command registers them.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from fukaiji.audit.models import AuditEntry
from fukaiji.cli import _common as cli_common
from fukaiji.cli.linkage import linkage_app
from fukaiji.db import transaction
from fukaiji.registry import service as registry

SECRET_KEY = "l" * 40
app = typer.Typer()
app.add_typer(linkage_app, name="linkage")
runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setattr(cli_common.console, "width", 200)
    monkeypatch.setattr(cli_common.errors, "width", 200)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", SECRET_KEY)


def invoke(*arguments: str) -> Result:
    return runner.invoke(app, ["linkage", *arguments])


def enrol(institution: str, *how: str) -> str:
    result = invoke("enrol", "--institution", institution, *how)
    assert result.exit_code == 0, result.output
    found = re.search(r"団体内統合宛名番号 ([0-9]{15})", result.output)
    assert found is not None
    return found.group(1)


def test_enrol_register_query_flag_and_list_from_the_command_line(engine: Engine) -> None:
    with transaction(engine) as session:
        person = registry.register_resident(
            session,
            municipality_code="131016",
            family_name="山田",
            given_name="花子",
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date=date(1990, 4, 1),
            address_line="千代田一丁目1番1号",
            moved_in_on=date(2020, 4, 1),
            my_number_key=b"m" * 32,
            actor="test",
        )
        my_number = str(registry.current_my_number(session, person.id))
    at_chiyoda = enrol("131016", "--my-number", my_number)
    assert enrol("131016", "--person-id", str(person.id)) == at_chiyoda
    at_yokohama = enrol("141003", "--person-id", str(person.id))

    registered = invoke(
        "register",
        "--institution",
        "141003",
        "--addressee",
        at_yokohama,
        "--item",
        "TM02000000000001",
        "--content",
        '{"所得割額": 120000}',
        "--publish-from",
        "2026-04-01",
    )
    assert registered.exit_code == 0, registered.output
    assert "第 1 版" in registered.output
    asked = [
        "query",
        "--institution",
        "131016",
        "--addressee",
        at_chiyoda,
        "--provider",
        "141003",
        "--affair",
        "JM01000000000010",
    ]
    answered = invoke(*asked, "--item", "TM02000000000001")
    assert answered.exit_code == 0, answered.output
    assert "提供済み" in answered.output and "120000" in answered.output
    refused = invoke(*asked, "--item", "TM04000000000001")
    assert refused.exit_code == 2
    assert "照会は許可されていません" in refused.output

    flagged = invoke(
        "flag", "--institution", "141003", "--addressee", at_yokohama, "--requested-by", "person"
    )
    assert flagged.exit_code == 0, flagged.output
    assert "記録 1 件・副本 1 件" in flagged.output
    records = invoke("records", "--institution", "131016", "--addressee", at_chiyoda)
    assert records.exit_code == 0 and "不開示" in records.output
    items = invoke("items", "--institution", "141003", "--addressee", at_yokohama)
    assert items.exit_code == 0 and "120000" in items.output
    assert invoke("undisclose-record", "--institution", "131016", "1").exit_code == 0
    assert invoke("undisclose-item", "--institution", "131016", "1").exit_code == 2

    for result in (answered, refused, flagged, records, items):
        assert my_number not in result.output
    with transaction(engine) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"linkage.query", "linkage.query_refused", "addressees.assigned"} <= actions


def test_legal_basis_lists_the_sample_and_checks_a_file(tmp_path: Path) -> None:
    listed = invoke("legal-basis")
    assert listed.exit_code == 0 and "JM01000000000010" in listed.output
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "entry,requester_role,requester_kind,requester_code,affair_code,affair_name,"
        "provider_role,provider_kind,provider_code,item_code,item_name\n"
        "1,市町村長,municipality,,JM1,児童手当,市町村長,municipality,,TM02000000000001,地方税\n",
        encoding="utf-8",
    )
    checked = invoke("legal-basis", "--check", str(bad))
    assert checked.exit_code == 2
    assert "2 行目 affair_code" in checked.output
