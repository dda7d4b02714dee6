"""The ``fukaiji staff`` and ``fukaiji apikey`` commands, run against a real database.

The commands are mounted on a Typer app of this test's own, so the tests do not depend on how the
main ``fukaiji`` command registers them.
"""

from __future__ import annotations

import json
import re

import pyotp
import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from fukaiji.audit.models import AuditEntry
from fukaiji.cli import _common as cli_common
from fukaiji.cli.staff import apikey_app, staff_app
from fukaiji.config import Settings
from fukaiji.db import transaction
from fukaiji.network.models import Department, Institution, InstitutionKind
from fukaiji.staff import ApiKey, StaffAccount, authenticate, resolve_api_key

SECRET_KEY = "s" * 40
PASSWORD = "hibiya-koen-no-sakura-2026"

app = typer.Typer()
app.add_typer(staff_app, name="staff")
app.add_typer(apikey_app, name="apikey")
runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str, engine: Engine) -> None:
    # Wide enough that Rich does not fold table cells the assertions look for.
    monkeypatch.setattr(cli_common.console, "width", 200)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", SECRET_KEY)
    with transaction(engine) as session:
        institution = session.scalars(
            select(Institution).where(Institution.code == "131016")
        ).first()
        if institution is None:
            institution = Institution(
                code="131016", name="千代田区", kind=InstitutionKind.MUNICIPALITY
            )
            session.add(institution)
            session.flush()
        if not any(department.name == "市民課" for department in institution.departments):
            session.add(Department(institution_id=institution.id, name="市民課"))


def create(*extra: str, password: str = PASSWORD, username: str = "tanaka") -> Result:
    return runner.invoke(
        app,
        [
            "staff",
            "create",
            "--institution",
            "131016",
            "--department",
            "市民課",
            "--username",
            username,
            "--display-name",
            "田中 花子",
            "--role",
            "consultation_desk",
            "--role",
            "administrator",
            "--password-stdin",
            *extra,
        ],
        input=password + "\n",
    )


def test_create_reads_the_password_from_stdin_and_shows_the_totp_secret_once(
    engine: Engine,
) -> None:
    result = create()
    assert result.exit_code == 0, result.output
    secret = re.search(r"TOTP 秘密鍵 \(secret\): ([A-Z2-7]{32})", result.output).group(1)
    assert f"otpauth://totp/fukaiji:tanaka?secret={secret}" in result.output
    assert "二度と表示されません" in result.output
    totp_key = Settings().derive_key("staff-totp")
    with transaction(engine) as session:
        staff = session.scalars(select(StaffAccount)).one()
        assert {str(role) for role in staff.roles} == {"consultation_desk", "administrator"}
        login = authenticate(
            session,
            username="tanaka",
            password=PASSWORD,
            totp_code=pyotp.TOTP(secret).now(),
            totp_key=totp_key,
        )
        assert login.succeeded
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "staff.created")
        ).one()
        assert entry.actor.startswith("cli:")


def test_create_refuses_a_weak_password_with_the_bilingual_rule_and_exit_2(
    engine: Engine,
) -> None:
    result = create(password="short")
    assert result.exit_code == 2
    assert "パスワード: 12 文字以上が必要です (password must be at least 12 characters)" in (
        result.output
    )
    with transaction(engine) as session:
        assert session.scalars(select(StaffAccount)).all() == []


def test_create_refuses_an_unknown_department_and_an_unknown_role() -> None:
    result = runner.invoke(
        app,
        [
            "staff", "create", "--institution", "131016", "--department", "存在しない課",
            "--username", "tanaka", "--display-name", "田中", "--role", "administrator",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "「存在しない課」という部署はありません" in result.output
    result = create("--role", "superuser")
    assert result.exit_code == 2


def test_list_disable_unlock_and_reset_totp() -> None:
    assert create().exit_code == 0
    listed = runner.invoke(app, ["staff", "list", "--institution", "131016"])
    assert listed.exit_code == 0, listed.output
    assert "tanaka" in listed.output and "田中 花子" in listed.output
    assert "相談窓口" in listed.output and "有効" in listed.output
    assert runner.invoke(app, ["staff", "unlock", "tanaka"]).exit_code == 0
    reset = runner.invoke(app, ["staff", "reset-totp", "tanaka"])
    assert reset.exit_code == 0 and "otpauth://" in reset.output
    assert runner.invoke(app, ["staff", "disable", "tanaka"]).exit_code == 0
    listed = runner.invoke(app, ["staff", "list", "--institution", "131016"])
    assert "無効" in listed.output
    missing = runner.invoke(app, ["staff", "disable", "nobody"])
    assert missing.exit_code == 2 and "職員 nobody" in missing.output


def test_apikey_create_shows_the_key_once_then_list_and_revoke(engine: Engine) -> None:
    created = runner.invoke(
        app,
        [
            "apikey", "create", "--institution", "131016", "--name", "宛名システム連携",
            "--role", "notice_sender",
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    plaintext = re.search(r"fkj_[a-z0-9]{8}_\S+", created.output).group(0)
    assert "二度と表示されません" in created.output
    with transaction(engine) as session:
        key = session.scalars(select(ApiKey)).one()
        assert resolve_api_key(session, plaintext) is key
    listed = runner.invoke(app, ["apikey", "list", "--institution", "131016"])
    assert listed.exit_code == 0
    assert key.prefix in listed.output and "宛名システム連携" in listed.output
    assert plaintext.split("_", 2)[2] not in listed.output
    revoked = runner.invoke(app, ["apikey", "revoke", str(key.id), "--institution", "131016"])
    assert revoked.exit_code == 0, revoked.output
    with transaction(engine) as session:
        assert resolve_api_key(session, plaintext) is None
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "apikey.revoked")
        ).one()
        assert json.loads(entry.details) == {"already_revoked": False}
    assert "失効" in runner.invoke(app, ["apikey", "list", "--institution", "131016"]).output


def test_apikey_revoke_refuses_a_key_of_another_institution() -> None:
    result = runner.invoke(app, ["apikey", "revoke", "12345", "--institution", "131016"])
    assert result.exit_code == 2
    assert "API キー 12345: この機関に登録されていません" in result.output
