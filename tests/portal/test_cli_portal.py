"""``fukaiji portal``: the card reader for scripts, and the three views from the command line.

The commands are mounted on a Typer app of this test's own, so the tests do not depend on how the
main ``fukaiji`` command registers them.
"""

from __future__ import annotations

import base64
import json

import pytest
import typer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, build_portal_world
from typer.testing import CliRunner

from fukaiji import portal
from fukaiji.audit.models import AuditEntry
from fukaiji.cli import _common as cli_common
from fukaiji.cli.portal import portal_app
from fukaiji.config import Settings
from fukaiji.jpki.models import CardKey
from fukaiji.network.codes import NETWORK_KEY_PURPOSE

SECRET_KEY = "p" * 40

app = typer.Typer()
app.add_typer(portal_app, name="portal")
runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    # Wide enough that Rich does not fold the names the assertions look for.
    monkeypatch.setattr(cli_common.console, "width", 200)
    monkeypatch.setattr(cli_common.errors, "width", 200)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", SECRET_KEY)


@pytest.fixture
def cli_world(engine: Engine):
    """The world, with the network key the CLI derives from its configured secret."""
    with Session(engine, expire_on_commit=False) as session:
        world: PortalWorld = build_portal_world(session)
        world.network_key = Settings().derive_key(NETWORK_KEY_PURPOSE)
        yield world


def test_sign_prints_what_the_login_takes(cli_world) -> None:
    hanako = cli_world.resident()
    challenge = portal.issue_challenge(cli_world.session)
    cli_world.session.commit()
    encoded = base64.b64encode(challenge.nonce).decode()

    result = runner.invoke(
        app,
        ["portal", "sign", "--challenge", encoded, "--card-token", hanako.card_token],
        input=f"{cli_world.auth_pin}\n",
    )
    assert result.exit_code == 0, result.output
    signed = json.loads(result.output.splitlines()[-1])
    login = portal.log_in(
        cli_world.session,
        challenge=challenge.nonce,
        certificate_pem=signed["certificate_pem"],
        signature=base64.b64decode(signed["signature"]),
    )
    assert login.portal_session.person_id == hanako.id
    assert hanako.card_token not in result.output.splitlines()[-1]


def test_a_wrong_pin_at_the_reader_counts_and_fails(cli_world, engine: Engine) -> None:
    hanako = cli_world.resident()
    encoded = base64.b64encode(b"any challenge").decode()
    result = runner.invoke(
        app,
        [
            "portal",
            "sign",
            "--challenge",
            encoded,
            "--card-token",
            hanako.card_token,
            "--pin",
            "0000",
        ],
    )
    assert result.exit_code == 2
    assert "あと 2 回" in result.output
    assert "0000" not in result.output
    with Session(engine) as session:
        counters = session.scalars(select(CardKey.failed_attempts)).all()
    assert sorted(counters) == [0, 1]
    bad = runner.invoke(
        app, ["portal", "sign", "--challenge", "not base64!", "--card-token", "t", "--pin", "1"]
    )
    assert bad.exit_code == 2


def test_show_prints_the_three_views_with_institution_names(cli_world) -> None:
    hanako = cli_world.resident()
    cli_world.fled_to_osaka(hanako)
    cli_world.login(hanako.card_token)
    portal.deliver_to_inbox(
        cli_world.session,
        person_id=hanako.id,
        institution_id=cli_world.chiyoda.id,
        title="住民税のお知らせ",
        body="本文",
        category="tax",
        actor="test:sender",
    )
    cli_world.session.commit()

    result = runner.invoke(
        app, ["portal", "show", "--card-token", hanako.card_token, "--pin", cli_world.auth_pin]
    )
    assert result.exit_code == 0, result.output
    for shown in ("やりとり履歴 (1 件)", "自己情報 (1 件)", "お知らせ (1 件)", "神奈川県横浜市"):
        assert shown in result.output
    assert "住民税のお知らせ" in result.output
    assert "大阪" not in result.output

    as_json = runner.invoke(
        app,
        ["portal", "show", "--json", "--card-token", hanako.card_token, "--pin", "7395"],
    )
    folder = json.loads(as_json.output)
    assert folder["inbox"][0]["institution"]["name"] == "東京都千代田区"
    assert not folder["as_proxy"]


def test_show_as_proxy_enters_only_a_folder_with_a_grant(cli_world) -> None:
    hanako, taro = cli_world.resident(), cli_world.resident("太郎")
    grant = cli_world.appoint(hanako, taro)
    arguments = ["portal", "show", "--json", "--card-token", taro.card_token, "--pin", "7395"]

    entered = runner.invoke(app, [*arguments, "--as-proxy-for", str(grant.account_id)])
    assert entered.exit_code == 0, entered.output
    assert json.loads(entered.output)["grant_id"] == grant.id

    own_account = portal.live_account(cli_world.session, taro.id)
    stranger = cli_world.resident("三郎")
    cli_world.login(stranger.card_token)
    elsewhere = portal.live_account(cli_world.session, stranger.id)
    cli_world.session.commit()  # SQLite: no write lock held while the command runs
    refused = runner.invoke(app, [*arguments, "--as-proxy-for", str(elsewhere.id)])
    assert refused.exit_code == 2
    assert "表示できません" in refused.output
    cli_world.session.expire_all()
    actions = cli_world.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("portal.%"))
    ).all()
    assert "portal.switch_refused" in actions
    # Every CLI login was logged out again.
    assert actions.count("portal.session_ended") >= 2
    assert own_account is not None
