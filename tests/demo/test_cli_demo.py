"""``fukaiji demo load``, ``fukaiji demo totp`` and ``fukaiji serve --demo``, against a real
database on both backends. What the commands print must be enough to log in: a card token is read
back from the printed table and signs a portal login."""

from __future__ import annotations

import re

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fukaiji import cli as fukaiji_cli
from fukaiji import portal
from fukaiji.cli import _common as cli_common
from fukaiji.config import load_settings
from fukaiji.db import transaction
from fukaiji.demo import DEMO_PASSWORD, demo_world_loaded
from fukaiji.jpki import service as jpki
from fukaiji.staff import service as staff_service
from fukaiji.staff.totp import TOTP_KEY_PURPOSE

SECRET_KEY = "q" * 40
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    # Wide enough that no table folds a token or a name.
    monkeypatch.setattr(cli_common.console, "width", 1000)
    monkeypatch.setattr(cli_common.errors, "width", 1000)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", SECRET_KEY)
    # `serve` must not start the sweep or the send worker beside the (stubbed) web server.
    monkeypatch.setenv("FUKAIJI_PROTECTION_SWEEP_SECONDS", "0")
    monkeypatch.setenv("FUKAIJI_SEND_WORKER", "false")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What uvicorn was asked to run, instead of running it."""
    apps: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: apps.append(app))
    return apps


def test_load_prints_credentials_that_log_in_and_refuses_a_second_time(engine: Engine) -> None:
    result = runner.invoke(fukaiji_cli.app, ["demo", "load"])
    assert result.exit_code == 0, result.output
    for expected in ("demo-osaka-desk", "demo-chiyoda-admin", DEMO_PASSWORD, "山田 花子", "271004"):
        assert expected in result.output
    hanako = next(line for line in result.output.splitlines() if "山田 花子" in line)
    token = TOKEN.search(hanako)
    assert token is not None, hanako

    with Session(engine) as session:
        challenge = portal.issue_challenge(session)
        signed = jpki.card_signature(
            session, card_token=token.group(), pin="7395", challenge=challenge.nonce
        )
        login = portal.log_in(
            session,
            challenge=challenge.nonce,
            certificate_pem=signed.certificate_pem,
            signature=signed.signature,
        )
        assert login.portal_session.person.name == "山田 花子"
        session.commit()

    again = runner.invoke(fukaiji_cli.app, ["demo", "load"])
    assert again.exit_code == 2
    assert "既に読み込まれています" in again.output


def test_totp_prints_the_code_the_login_takes(engine: Engine) -> None:
    assert runner.invoke(fukaiji_cli.app, ["demo", "load"]).exit_code == 0
    result = runner.invoke(fukaiji_cli.app, ["demo", "totp", "demo-osaka-desk"])
    assert result.exit_code == 0, result.output
    code = re.search(r"\b\d{6}\b", result.output)
    assert code is not None, result.output
    with transaction(engine) as session:
        login = staff_service.authenticate(
            session,
            username="demo-osaka-desk",
            password=DEMO_PASSWORD,
            totp_code=code.group(),
            totp_key=load_settings().derive_key(TOTP_KEY_PURPOSE),
        )
        assert login.succeeded, login.failure


@pytest.mark.usefixtures("engine")
def test_totp_answers_only_for_demo_accounts() -> None:
    result = runner.invoke(fukaiji_cli.app, ["demo", "totp", "osaka-admin"])
    assert result.exit_code == 2
    assert "デモの職員ではありません" in result.output


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("command", [["demo", "load"], ["demo", "totp", "demo-osaka-desk"]])
def test_production_refuses_the_demo_commands(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("FUKAIJI_ENV", "production")
    result = runner.invoke(fukaiji_cli.app, command)
    assert result.exit_code == 2
    assert "本番環境" in result.output


def test_serve_demo_loads_once_then_reprints_the_staff(
    engine: Engine, served: list[object]
) -> None:
    first = runner.invoke(fukaiji_cli.app, ["serve", "--demo"])
    assert first.exit_code == 0, first.output
    assert "山田 花子" in first.output and len(served) == 1

    second = runner.invoke(fukaiji_cli.app, ["serve", "--demo"])
    assert second.exit_code == 0, second.output
    assert "読み込み済み" in second.output and "demo-osaka-desk" in second.output
    assert "山田 花子" not in second.output  # nothing new was loaded
    assert len(served) == 2
    with Session(engine) as session:
        assert demo_world_loaded(session)


@pytest.mark.usefixtures("engine")
def test_serve_demo_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, served: list[object]
) -> None:
    monkeypatch.setenv("FUKAIJI_ENV", "production")
    result = runner.invoke(fukaiji_cli.app, ["serve", "--demo"])
    assert result.exit_code == 2
    assert "本番環境" in result.output
    assert served == []
