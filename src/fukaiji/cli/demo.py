"""``fukaiji demo``: the demonstration world, and the current TOTP code of its staff.

``load`` migrates the configured database, loads the world and prints every credential once:
the card tokens exist nowhere else (only their hashes are stored). ``serve --demo`` calls
``serve_demo_world`` here. Both refuse when ``FUKAIJI_ENV=production``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy import Engine

from fukaiji.cli._common import cli_actor, console, engine_from_settings, fail, settings
from fukaiji.config import Settings
from fukaiji.db import transaction, upgrade
from fukaiji.demo import (
    DemoError,
    DemoStaff,
    DemoWorld,
    current_code,
    demo_totp_code,
    demo_world_loaded,
    existing_demo_staff,
    load_demo_world,
    seconds_left,
)
from fukaiji.demo.errors import refuse_production
from fukaiji.errors import DomainError
from fukaiji.network.institutions import load_local_governments

demo_app = typer.Typer(
    help="デモの世界 (demonstration world: staff, residents and the seed's ケース②)",
    no_args_is_help=True,
)


def _development_settings() -> Settings:
    loaded = settings()
    try:
        refuse_production(loaded)
    except DemoError as error:
        raise fail(escape(error.message)) from error
    return loaded


@demo_app.command("load")
def load() -> None:
    """デモの世界を読み込み、ログイン情報を表示します (load the demo world, print credentials)."""
    loaded = _development_settings()
    with engine_from_settings(loaded) as engine:
        upgrade(engine)
        try:
            with transaction(engine) as session:
                load_local_governments(session, actor=cli_actor())
                world = load_demo_world(session, settings=loaded, actor=cli_actor())
        except DomainError as error:
            raise fail(escape(error.message)) from error
    print_world(world)


@demo_app.command("totp")
def totp(
    username: Annotated[str, typer.Argument(help="デモ職員のユーザー名 (demo username)")],
) -> None:
    """デモ職員の現在の TOTP コードを表示します (print a demo staff member's current code)."""
    loaded = _development_settings()
    try:
        with engine_from_settings(loaded) as engine, transaction(engine) as session:
            code = demo_totp_code(session, username=username, settings=loaded, actor=cli_actor())
    except DomainError as error:
        raise fail(escape(error.message)) from error
    console.print(
        f"{escape(username)}: [bold]{code}[/bold]"
        f"  (あと {seconds_left()} 秒有効・一度だけ使えます / valid {seconds_left()} s, once)"
    )


def serve_demo_world(loaded: Settings, engine: Engine) -> None:
    """For ``serve --demo`` on a migrated database: load the world unless it is there, and print
    what a newcomer needs to log in."""
    try:
        refuse_production(loaded)
        with transaction(engine) as session:
            if demo_world_loaded(session):
                staff = existing_demo_staff(session, settings=loaded, actor=cli_actor())
                world = None
            else:
                world = load_demo_world(session, settings=loaded, actor=cli_actor())
    except DomainError as error:
        raise fail(escape(error.message)) from error
    if world is not None:
        print_world(world)
        return
    console.print(
        "デモの世界は読み込み済みです (the demo world is already loaded)。カードトークンは最初の"
        "読み込み時にだけ表示されます。やり直すには新しいデータベースで起動してください"
        " (card tokens were shown once, at the first load; start on a fresh database to see"
        " them again)."
    )
    console.print(_staff_table(staff), crop=False)


def print_world(world: DemoWorld) -> None:
    console.print("[bold]デモの世界を読み込みました (demo world loaded)[/bold]")
    # Not cropped: on a narrow terminal a line may run over, but no secret is cut off.
    console.print(_staff_table(world.staff), crop=False)
    console.print(_resident_table(world), crop=False)
    for resident in world.residents:
        if resident.note:
            console.print(f"・{resident.name}: {escape(resident.note)}", soft_wrap=True)
    console.print("[bold]ケース② (the story)[/bold]")
    for line in world.story.lines():
        console.print(f"・{escape(line)}", soft_wrap=True)
    console.print(
        "職員は /staff/login でユーザー名・パスワード・コードを、住民は /portal/login で"
        "カードトークンと利用者証明用の暗証番号を入力します (staff log in at /staff/login;"
        " residents put their card on the simulated reader at /portal/login)."
        " 新しいコード (a fresh code):"
        " fukaiji demo totp USERNAME",
        soft_wrap=True,
    )


def _staff_table(staff: tuple[DemoStaff, ...] | list[DemoStaff]) -> Table:
    passwords = sorted({member.password for member in staff})
    table = Table(
        Column("ユーザー名\n(username)", no_wrap=True),
        "機関・部署\n(institution)",
        "役割\n(role)",
        _whole("TOTP 秘密鍵\n(secret)", 32),
        Column("コード\n(code)", no_wrap=True),
        title="職員 (staff)",
        caption=f"パスワード (password): {', '.join(passwords)}",
    )
    for member in staff:
        table.add_row(
            member.username,
            f"{member.institution_name} {member.department}",
            member.role_label,
            member.totp_secret,
            current_code(member.totp_secret),
        )
    return table


def _resident_table(world: DemoWorld) -> Table:
    table = Table(
        "氏名\n(name)",
        "役\n(role)",
        "住所地\n(city)",
        Column("個人番号\n(My Number)", no_wrap=True),
        "暗証番号\n利用者証明用\n/ 署名用\n(PINs)",
        _whole("カードトークン\n(card token)", 43),
        title="住民 (residents)",
    )
    for resident in world.residents:
        table.add_row(
            resident.name,
            resident.role_label,
            resident.municipality_name,
            resident.my_number,
            f"{resident.auth_pin} / {resident.sign_pin}",
            resident.card_token,
        )
    return table


def _whole(header: str, length: int) -> Column:
    """A secret column: on one line where the terminal is wide enough, else folded — never cut
    to "…", since the value is typed or pasted somewhere."""
    return Column(header, min_width=min(length, 16), max_width=length, overflow="fold")


__all__ = ["demo_app", "print_world", "serve_demo_world"]
