"""The resident register and the card window from the command line."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from fukaiji.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _configured(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "c" * 40)


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _register() -> str:
    output = _invoke(
        "residents", "register", "--municipality", "131016", "--family-name", "山田",
        "--given-name", "花子", "--family-name-kana", "ヤマダ", "--given-name-kana", "ハナコ",
        "--birth-date", "1990-04-01", "--address", "千代田一丁目1番1号",
    )  # fmt: skip
    match = re.search(r"person id\): ([0-9a-f-]{36})", output)
    assert match, output
    assert re.search(r"個人番号: \d{12}", output)
    return match.group(1)


def test_register_move_and_change_number() -> None:
    person = _register()
    moved = _invoke(
        "residents", "move", person, "--municipality", "141003", "--address", "中区1番",
        "--moved-on", (date.today() + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert "転入" in moved
    assert "141003" in _invoke("residents", "show", person)
    assert re.search(r"new My Number\): \d{12}", _invoke(
        "residents", "change-number", person, "--reason", "漏えいのおそれ"
    ))  # fmt: skip


def test_a_bad_resident_is_refused_with_exit_2() -> None:
    result = runner.invoke(
        app,
        ["residents", "register", "--municipality", "130001", "--family-name", "山田",
         "--given-name", "花子", "--family-name-kana", "ヤマダ", "--given-name-kana", "ハナコ",
         "--birth-date", "1990-04-01", "--address", "x"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "都道府県" in result.output


def test_issue_suspend_lift_and_reissue_a_card() -> None:
    person = _register()
    pins = ["--auth-pin", "1234", "--sign-pin", "ABC123"]
    issued = _invoke("cards", "issue", person, *pins)
    assert "shown once" in issued
    assert "有効" in _invoke("cards", "status", person)
    _invoke("cards", "suspend", person, "--channel", "phone")
    assert "一時停止" in _invoke("cards", "status", person)
    _invoke("cards", "lift", person)
    reissued = _invoke("cards", "reissue", person, *pins)
    assert reissued.split("shown once): ")[1] != issued.split("shown once): ")[1]
    refused = runner.invoke(app, ["cards", "issue", person, *pins])
    assert refused.exit_code == 2
