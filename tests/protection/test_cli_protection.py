"""The ``fukaiji protection`` commands, run against a real database on both backends.

The residents, cards and records come from the portal world (through a session of the test's
own, committed before each command); the commands open their own. The world uses the network key
the commands derive from the configured secret, so both see the same 機関別符号. Every output of
every command is kept and checked for the residents' 個人番号 at the end of each test.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.portal.conftest import PortalWorld, Resident, build_portal_world
from tests.portal.test_perpetrator import delete
from typer.testing import CliRunner, Result

from fukaiji import cli as fukaiji_cli
from fukaiji.audit.models import AuditEntry
from fukaiji.cli import _common as cli_common
from fukaiji.cli.protection import protection_app
from fukaiji.config import load_settings
from fukaiji.intermediate.models import Addressee
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.protection.models import Consent, LedgerEntry, NondisclosureRequest, Protection

SECRET_KEY = "p" * 40
OSAKA = ("--institution", "271004")
DESK = (*OSAKA, "--department", "DV相談窓口")
TAX = (*OSAKA, "--department", "税務課")
CHIYODA_DESK = ("--institution", "131016", "--department", "DV相談窓口")
app = typer.Typer()
app.add_typer(protection_app, name="protection")
runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    # Wide enough that no table cell wraps inside the words the tests look for.
    monkeypatch.setattr(cli_common.console, "width", 1000)
    monkeypatch.setattr(cli_common.errors, "width", 1000)
    monkeypatch.setenv("FUKAIJI_DATABASE_URL", database_url)
    monkeypatch.setenv("FUKAIJI_SECRET_KEY", SECRET_KEY)


@pytest.fixture
def world(session: Session, environment: None) -> PortalWorld:
    built = build_portal_world(session)
    built.network_key = load_settings().derive_key(NETWORK_KEY_PURPOSE)
    return built


class Cli:
    """Runs ``fukaiji protection …`` and keeps every output. The test's session is committed
    first: what the test built is then there for the command, and on SQLite an open read would
    lock the command's writes out."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.outputs: list[str] = []

    def run(self, *arguments: str) -> Result:
        self.session.commit()
        result = runner.invoke(app, ["protection", *arguments])
        self.outputs.append(result.output)
        return result

    def ok(self, *arguments: str) -> Result:
        result = self.run(*arguments)
        assert result.exit_code == 0, result.output
        return result

    def refused(self, *arguments: str) -> str:
        result = self.run(*arguments)
        assert result.exit_code == 2, result.output
        return result.output

    def never_showed(self, world: PortalWorld, *residents: Resident) -> None:
        for resident in residents:
            number = world.my_number(resident)
            assert all(number not in output for output in self.outputs)


@pytest.fixture
def cli(world: PortalWorld) -> Cli:
    return Cli(world.session)


def register(cli: Cli, *how: str) -> tuple[str, str]:
    """Register at Osaka's DV相談窓口; the protection id and the addressee number."""
    output = cli.ok("register", *DESK, "--region", "271004", *how).output
    found = re.search(r"保護対象者 ([0-9a-f-]{36}) を登録しました", output)
    number = re.search(r"団体内統合宛名番号: ([0-9]{15})", output)
    assert found is not None and number is not None, output
    return found.group(1), number.group(1)


def count(session: Session, model: type, *where: object) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_the_command_is_part_of_fukaiji() -> None:
    result = runner.invoke(fukaiji_cli.app, ["protection", "--help"])
    assert result.exit_code == 0 and "request-nondisclosure" in result.output


def test_register_show_to_the_desk_another_department_and_another_institution(
    world: PortalWorld, cli: Cli
) -> None:
    victim = world.resident()
    world.enrol(victim, world.osaka)  # 大阪市 deals with her at the shelter (住登外者)
    protection_id, number = register(
        cli, "--my-number", world.my_number(victim), "--card-left-behind"
    )

    full = cli.ok("show", protection_id, *DESK).output
    assert f"団体内統合宛名番号: {number}" in full and "山田 花子" in full
    assert "大阪府大阪市 (271004)" in full
    assert "カードを置いたまま避難 あり" in full and "加害者が代理人 なし" in full
    assert "利用停止手続: 未完了" in full and "宛先除外: 除外中" in full
    assert "□ 置いてきたカードの一時停止を連絡する" in full and "0120-95-0178" in full
    assert "(必要に応じて)" in full  # the optional steps are marked as such

    watch_only = cli.ok("show", protection_id, *TAX).output
    assert "留意すべき対象者です" in watch_only
    assert not [word for word in ("271004", "大阪", "山田", number) if word in watch_only]
    for elsewhere in (protection_id, str(uuid.uuid4())):
        assert "見つかりません" in cli.refused("show", elsewhere, *CHIYODA_DESK)
    refused_reads = (
        AuditEntry.action == "protection.read_refused",
        AuditEntry.institution == "131016",
    )
    assert count(world.session, AuditEntry, *refused_reads) == 2  # committed despite the refusal

    listed = cli.ok("list", *DESK).output
    assert protection_id in listed and number in listed and "山田 花子" in listed
    assert protection_id not in cli.ok("list", *TAX).output
    assert "留意すべき対象者です" in cli.ok("watch", *OSAKA, "--addressee", number).output
    cli.never_showed(world, victim)


def test_only_the_desk_updates_and_a_refused_attempt_is_audited(
    world: PortalWorld, cli: Cli
) -> None:
    victim = world.resident()
    protection_id, _ = register(cli, "--addressee", world.enrol(victim, world.osaka))

    assert "登録した窓口の職員だけ" in cli.refused(
        "update", protection_id, *TAX, "--card-left-behind"
    )
    refusals = select(AuditEntry.actor).where(AuditEntry.action == "protection.read_refused")
    world.session.expire_all()
    assert [actor.startswith("cli:") for actor in world.session.scalars(refusals)] == [True]

    cli.ok(
        "update",
        protection_id,
        *DESK,
        "--region",
        "270008",
        "--card-left-behind",
        "--fled-on",
        "2025-01-10",
    )
    shown = cli.ok("show", protection_id, *DESK).output
    assert "大阪府 (270008)" in shown and "271004" not in shown
    assert "カードを置いたまま避難 あり" in shown and "避難した日: 2025-01-10" in shown
    assert "nothing to change" in cli.refused("update", protection_id, *DESK)
    unknown = cli.refused("update", protection_id, *DESK, "--perpetrator-my-number", "123456789018")
    assert "perpetrator (--perpetrator-my-number)" in unknown and "123456789018" not in unknown


def test_exposure_lists_what_is_held_back_until_the_card_is_suspended_then_the_sweep_lifts(
    world: PortalWorld, cli: Cli
) -> None:
    victim = world.resident()
    world.login(victim.card_token)  # the folder she opened at home
    world.fled_to_osaka(victim, flagged=False)
    at_osaka = world.enrol(victim, world.osaka)
    world.session.commit()
    protection_id, _ = register(cli, "--addressee", at_osaka, "--card-left-behind")

    # Masked from the moment of registration: held back, not shown, and the path still open.
    held = cli.ok("exposure", protection_id, *DESK, "--fail-if-exposed").output
    assert "開いている経路 (open paths): 1 件" in held and "露出なし" in held
    assert "隠している項目 2 件" in held
    assert "置いてきたカード" in held and "保護地域内の機関" in held
    assert "やりとり履歴" in held and "自己情報" in held
    assert "大阪市で不開示措置を申し出て" in held  # the measure names where to ask
    assert "見つかりません" in cli.refused("exposure", protection_id, *CHIYODA_DESK)
    cli.refused("exposure", protection_id, *TAX)  # another department sees no region

    world.suspend(victim)
    suspended = cli.ok("exposure", protection_id, *DESK, "--fail-if-exposed").output
    assert "露出なし" in suspended and "隠している項目" not in suspended
    assert "利用停止手続: 未完了" in cli.ok("show", protection_id, *DESK).output

    world.reissue(victim)
    delete(world, world.login(victim.card_token), victim.card_token)
    assert "露出なし" in cli.ok("exposure", protection_id, *DESK).output
    assert "保護対象者 1 件" in cli.ok("sweep", *OSAKA).output
    assert "保護対象者 0 件" in cli.ok("sweep").output  # announced once
    messages = cli.ok("messages", *DESK).output
    assert "除外の解除" in messages and "新着" in messages and at_osaka in messages
    assert "0 件" in cli.ok("messages", *DESK, "--unread").output
    shown = cli.ok("show", protection_id, *DESK).output
    assert "利用停止手続: 完了" in shown and "宛先除外: 解除" in shown
    assert at_osaka not in cli.ok("exclusions", *OSAKA).output
    cli.never_showed(world, victim)


def test_a_nondisclosure_request_flags_the_earlier_records_and_names_a_supporter(
    world: PortalWorld, cli: Cli
) -> None:
    victim = world.resident()
    world.fled_to_osaka(victim, flagged=False)
    first = cli.ok("request-nondisclosure", *OSAKA, "--my-number", world.my_number(victim))
    assert "遡って不開示にしたもの 2 件 (記録 1 件・副本 1 件)" in first.output
    number = re.search(r"団体内統合宛名番号 ([0-9]{15})", first.output)
    assert number is not None

    supporter = ("--supporter-body", "大阪市配偶者暴力相談支援センター")
    again = cli.ok(
        "request-nondisclosure",
        *OSAKA,
        "--addressee",
        number.group(1),
        *supporter,
        "--supporter-reason",
        "入院中のため",
    )
    assert "設定済み" in again.output and "遡って不開示にしたもの 0 件" in again.output
    refused = cli.refused(
        "request-nondisclosure", *OSAKA, "--addressee", number.group(1), *supporter
    )
    assert "supporter_reason (--supporter-reason)" in refused and "2(1)注" in refused
    assert count(world.session, NondisclosureRequest) == 2
    listed = cli.ok("exclusions", *OSAKA).output
    assert number.group(1) in listed and "不開示フラグ" in listed
    cli.never_showed(world, victim)


def test_the_paper_ledger_is_imported_all_or_nothing_in_utf8_or_cp932(
    world: PortalWorld, cli: Cli, tmp_path: Path
) -> None:
    hanako, jiro, saburo = world.resident(), world.resident("次郎"), world.resident("三郎")
    numbers = [world.enrol(person, world.osaka) for person in (hanako, jiro, saburo)]
    world.session.commit()
    good = tmp_path / "good.csv"
    good.write_text(f"団体内統合宛名番号,氏名\r\n{numbers[0]},山田 花子\r\n", encoding="utf-8")
    assert "追加 1 件" in cli.ok("ledger", "import", str(good), *OSAKA).output

    bad = tmp_path / "bad.csv"
    rows = [numbers[1], "12345", world.my_number(jiro), "999999999999999", numbers[1]]
    bad.write_text("団体内統合宛名番号\n" + "\n".join(rows) + "\n", encoding="utf-8")
    refused = cli.refused("ledger", "import", str(bad), *OSAKA)
    for line in (3, 4, 5, 6):
        assert f"{line} 行目" in refused
    assert (
        "\n  2 行目" not in refused and "4 行に誤り" in refused and "何も取り込みません" in refused
    )
    assert "表示しません" in refused  # the 個人番号 put in the wrong file is not echoed
    assert count(world.session, LedgerEntry) == 1

    cp932 = tmp_path / "sjis.csv"
    cp932.write_bytes(f"氏名,団体内統合宛名番号\r\n髙橋 次郎,{numbers[1]}\r\n".encode("cp932"))
    imported = cli.ok("ledger", "import", str(cp932), *OSAKA, "--encoding", "cp932").output
    assert "CP932" in imported and "追加 1 件" in imported
    listed = cli.ok("ledger", "list", *OSAKA).output
    assert numbers[0] in listed and numbers[1] in listed and numbers[2] not in listed

    cli.ok("ledger", "withdraw", *OSAKA, "--addressee", numbers[0])
    assert numbers[0] not in cli.ok("ledger", "list", *OSAKA).output
    assert "紙台帳にありません" in cli.refused(
        "ledger", "withdraw", *OSAKA, "--addressee", numbers[0]
    )
    cli.never_showed(world, hanako, jiro, saburo)


def test_the_exclusion_list_as_csv_and_who_is_to_be_watched(
    world: PortalWorld, cli: Cli, tmp_path: Path
) -> None:
    victim, listed_on_paper, other = (
        world.resident(),
        world.resident("次郎"),
        world.resident("三郎"),
    )
    world.enrol(victim, world.osaka)  # 大阪市 deals with her at the shelter (住登外者)
    _, protected = register(cli, "--my-number", world.my_number(victim), "--card-left-behind")
    on_paper = world.enrol(listed_on_paper, world.osaka)
    not_watched = world.enrol(other, world.osaka)
    world.session.commit()
    ledger_file = tmp_path / "ledger.csv"
    ledger_file.write_text(f"団体内統合宛名番号\n{on_paper}\n", encoding="utf-8")
    cli.ok("ledger", "import", str(ledger_file), *OSAKA)

    table = cli.ok("exclusions", *OSAKA).output
    assert "相談窓口の登録" in table and "紙台帳" in table and "2 件" in table
    csv = cli.ok("exclusions", *OSAKA, "--csv").stdout_bytes.decode()  # CRLF, as Excel writes
    assert csv == "".join(
        f"{line}\r\n" for line in ["団体内統合宛名番号", *sorted([protected, on_paper])]
    )
    nobody = cli.ok("exclusions", "--institution", "131016", "--csv").stdout_bytes.decode()
    assert nobody == "団体内統合宛名番号\r\n"

    assert "留意すべき対象者です" in cli.ok("watch", *OSAKA, "--addressee", on_paper).output
    assert "ではありません" in cli.ok("watch", *OSAKA, "--addressee", not_watched).output
    assert (
        "ではありません"
        in cli.ok("watch", "--institution", "131016", "--addressee", protected).output
    )
    cli.never_showed(world, victim, listed_on_paper, other)


def test_consent_is_added_listed_and_withdrawn(world: PortalWorld, cli: Cli) -> None:
    victim = world.resident()
    number = world.enrol(victim, world.osaka)
    world.session.commit()
    person = ("--institution", "271004", "--addressee", number)
    added = cli.ok(
        "consent", "add", *person, "--category", "tax", "--given-on", "2025-04-01",
        "--channel", "phone", "--note", "本人が電話で",
    ).output  # fmt: skip
    consent_id = re.search(r"同意 ([0-9]+) を記録しました", added)
    assert consent_id is not None
    listed = cli.ok("consent", "list", *person).output
    assert "種別 税" in listed and "電話" in listed and "2025-04-01" in listed

    assert "見つかりません" in cli.refused(
        "consent", "withdraw", consent_id.group(1), "--institution", "131016"
    )
    cli.ok("consent", "withdraw", consent_id.group(1), *OSAKA)
    assert count(world.session, Consent, Consent.withdrawn_at.is_not(None)) == 1

    dated = ("--given-on", "2025-04-01")
    assert "channel (--channel)" in cli.refused(
        "consent", "add", *person, "--category", "tax", *dated, "--channel", "fax"
    )
    both = ("--category", "tax", "--notice-id", str(uuid.uuid4()))
    assert "notice_id (--notice-id)" in cli.refused(
        "consent", "add", *person, *both, *dated, "--channel", "window"
    )
    assert "--given-on" in cli.refused(
        "consent",
        "add",
        *person,
        "--category",
        "tax",
        "--given-on",
        "1 April",
        "--channel",
        "window",
    )
    assert count(world.session, Consent) == 1


@pytest.mark.parametrize(
    ("how", "named"),
    [
        (("--region", "999999"), "保護地域 (--region)"),
        (
            ("--region", "271004", "--supporter-body", "支援センター"),
            "supporter_reason (--supporter-reason)",
        ),
        (
            ("--region", "271004", "--supporter-reason", "入院中"),
            "supporter_body (--supporter-body)",
        ),
        (("--region", "271004", "--addressee", "123456789012345"), "--my-number か --addressee"),
        (("--region", "271004", "--fled-on", "2999-01-01"), "fled_on (--fled-on)"),
        ((), "保護地域 (--region)"),
    ],
)
def test_bad_input_exits_2_naming_the_field_and_changes_nothing(
    world: PortalWorld, cli: Cli, how: tuple[str, ...], named: str
) -> None:
    victim = world.resident()
    refused = cli.refused("register", *DESK, "--my-number", world.my_number(victim), *how)
    assert named in refused
    assert count(world.session, Protection) == 0
    assert count(world.session, Addressee) == 0  # not even enrolled at Osaka
    cli.never_showed(world, victim)


def test_a_bad_my_number_is_refused_without_being_echoed(world: PortalWorld, cli: Cli) -> None:
    refused = cli.refused("register", *DESK, "--region", "271004", "--my-number", "123456789012")
    assert "個人番号 (--my-number)" in refused and "123456789012" not in refused
    assert "--my-number か --addressee" in cli.refused("register", *DESK, "--region", "271004")
    unknown = cli.refused(
        "show", str(uuid.uuid4()), "--institution", "271004", "--department", "無い課"
    )
    assert "部署 (--department)" in unknown
