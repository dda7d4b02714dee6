"""`fukaiji notices screen FILE --institution CODE [-o OUT]`: the institution's live exclusion
list (or a list given) taken out of a destination file, the rest copied byte for byte."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from fukaiji.cli import _common as cli_common
from fukaiji.cli.notices import notices_app

app = typer.Typer()
app.add_typer(notices_app, name="notices")
runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setattr(cli_common.console, "width", 200)
    monkeypatch.setattr(cli_common.errors, "width", 200)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", "s" * 40)


def test_the_live_exclusion_list_is_taken_out_and_the_rest_kept_byte_for_byte(
    office, tmp_path
) -> None:
    world = office.desk.world
    victim, victim_number = office.resident("花子")
    world.appoint(victim, world.resident("太郎"))
    office.desk.register(victim, proxy=True)
    _, other = office.resident("次郎")
    world.session.commit()
    rows = [
        "団体内統合宛名番号,氏名,住所\r\n",
        f"{other},大阪　次郎,大阪市北区梅田１丁目\r\n",
        f"{victim_number},山田　花子,大阪市中央区\r\n",
        f"{'9' * 15},不明　太郎,堺市\r\n",
    ]
    source = tmp_path / "宛先.csv"
    source.write_bytes("".join(rows).encode("cp932"))
    out = tmp_path / "除外後.csv"

    result = runner.invoke(
        app, ["notices", "screen", str(source), "--institution", "271004", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (rows[0] + rows[1]).encode("cp932")
    assert "除外 1" in result.output and "誤りのある行 1" in result.output
    assert "4 行目" in result.output  # the number the institution never assigned


def test_an_exclusion_file_replaces_the_live_list(office, tmp_path) -> None:
    _, first = office.resident("一郎")
    _, second = office.resident("二郎")
    office.session.commit()
    source = tmp_path / "in.csv"
    source.write_bytes(f"団体内統合宛名番号\n{first}\n{second}\n".encode())
    excluded = tmp_path / "exclusions.csv"
    excluded.write_bytes(f"{second}\n".encode())
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        ["notices", "screen", str(source), "--institution", "271004", "-o", str(out),
         "--exclusions", str(excluded)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == f"団体内統合宛名番号\n{first}\n".encode()


def test_strict_mode_writes_nothing_when_a_row_is_bad(office, tmp_path) -> None:
    _, number = office.resident("一郎")
    office.session.commit()
    files = tmp_path / "files"
    files.mkdir()
    source = files / "in.csv"
    source.write_bytes(f"団体内統合宛名番号\n{number}\n12345\n".encode())
    out = files / "out.csv"
    result = runner.invoke(
        app,
        ["notices", "screen", str(source), "--institution", "271004", "-o", str(out), "--strict"],
    )
    assert result.exit_code == 2
    assert [path.name for path in files.iterdir()] == ["in.csv"]  # no result, no half-written file
