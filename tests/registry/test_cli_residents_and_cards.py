"""The resident register and the card window from the command line."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

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


def _refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    return result.output


def _my_number(person: str) -> str:
    output = _invoke("residents", "change-number", person, "--reason", "漏えいのおそれ")
    match = re.search(r"new My Number\): (\d{12})", output)
    assert match, output
    return match.group(1)


def test_register_move_out_move_in_relocate_and_change_number() -> None:
    person = _register()
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    number = _my_number(person)
    refused = _refused(
        "residents", "move-in", "--municipality", "141003", "--my-number", number,
        "--address", "中区1番", "--moved-on", today,
    )  # fmt: skip
    assert "転出届がない" in refused
    recorded = _invoke(
        "residents", "move-out", person, "--municipality", "131016",
        "--destination", "141003", "--planned-on", today,
    )  # fmt: skip
    assert "神奈川県横浜市" in recorded and "転出届を受け付けました" in recorded
    assert "転出届: 転出先 神奈川県横浜市" in _invoke(
        "residents", "show", person, "--municipality", "131016"
    )
    moved = _invoke(
        "residents", "move-in", "--municipality", "141003", "--my-number", number,
        "--address", "中区1番", "--moved-on", today,
    )  # fmt: skip
    assert "転入を記録しました" in moved
    _invoke(
        "residents", "relocate", person, "--municipality", "141003",
        "--address", "中区2番", "--moved-on", today,
    )  # fmt: skip
    shown = _invoke("residents", "show", person, "--municipality", "141003")
    assert "東京都千代田区千代田一丁目1番1号" in shown  # the 前住所
    assert "転居" in shown and "神奈川県横浜市中区2番" in shown
    assert "住民" in _refused("residents", "show", person, "--municipality", "131016")


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
