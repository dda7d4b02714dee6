"""``fukaiji residents``: the resident register from the command line (for scripts and demos)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import typer

from fukaiji.cli._common import cli_actor, console, fail, settings, unit_of_work
from fukaiji.jpki.service import on_address_change
from fukaiji.registry import service
from fukaiji.registry.errors import RegistryError
from fukaiji.registry.models import MoveKind
from fukaiji.registry.service import MY_NUMBER_KEY_PURPOSE

residents_app = typer.Typer(help="住民基本台帳 (resident register)", no_args_is_help=True)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise fail(f"日付 {text}: YYYY-MM-DD で指定してください (use YYYY-MM-DD)") from error


@residents_app.command("register")
def register(
    municipality: Annotated[str, typer.Option(help="市区町村コード (municipality code)")],
    family_name: Annotated[str, typer.Option(help="氏")],
    given_name: Annotated[str, typer.Option(help="名")],
    family_name_kana: Annotated[str, typer.Option(help="氏（カナ）")],
    given_name_kana: Annotated[str, typer.Option(help="名（カナ）")],
    birth_date: Annotated[str, typer.Option(help="生年月日 YYYY-MM-DD")],
    address: Annotated[str, typer.Option(help="町名・番地 (street address)")],
    moved_in_on: Annotated[str | None, typer.Option(help="住み始めた日 YYYY-MM-DD")] = None,
) -> None:
    """住民を登録し、住民票コードと個人番号を付番します (register a resident)."""
    key = settings().derive_key(MY_NUMBER_KEY_PURPOSE)
    with unit_of_work() as session:
        try:
            person = service.register_resident(
                session,
                municipality_code=municipality,
                family_name=family_name,
                given_name=given_name,
                family_name_kana=family_name_kana,
                given_name_kana=given_name_kana,
                birth_date=_date(birth_date),
                address_line=address,
                moved_in_on=_date(moved_in_on) if moved_in_on else date.today(),
                my_number_key=key,
                actor=cli_actor(),
            )
        except RegistryError as error:
            raise fail(str(error)) from error
        number = service.current_my_number(session, person.id)
        console.print(f"[green]✓[/green] 登録しました (registered): {person.name}")
        console.print(f"  住民 ID (person id): {person.id}")
        console.print(f"  住民票コード: {person.resident_record_code}")
        console.print(f"  個人番号: {number}")


@residents_app.command("move")
def move(
    person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID (person id)")],
    municipality: Annotated[str, typer.Option(help="新しい市区町村コード")],
    address: Annotated[str, typer.Option(help="新しい町名・番地")],
    moved_on: Annotated[str, typer.Option(help="異動日 YYYY-MM-DD")],
) -> None:
    """転入・転居を記録します。署名用電子証明書は失効します (record a move)."""
    with unit_of_work() as session:
        try:
            residence = service.move(
                session,
                person_id=person_id,
                municipality_code=municipality,
                address_line=address,
                moved_on=_date(moved_on),
                actor=cli_actor(),
            )
            on_address_change(session, person_id=person_id, actor=cli_actor())
        except RegistryError as error:
            raise fail(str(error)) from error
        console.print(
            f"[green]✓[/green] {MoveKind(residence.kind).label}を記録しました (move recorded)"
        )


@residents_app.command("change-number")
def change_number(
    person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID (person id)")],
    reason: Annotated[str, typer.Option(help="変更の理由 (番号法第7条第2項)")],
) -> None:
    """個人番号を変更します。旧番号は二度と使われません (change a My Number)."""
    key = settings().derive_key(MY_NUMBER_KEY_PURPOSE)
    with unit_of_work() as session:
        try:
            number = service.change_my_number(
                session, person_id=person_id, reason=reason, my_number_key=key, actor=cli_actor()
            )
        except RegistryError as error:
            raise fail(str(error)) from error
    console.print(f"[green]✓[/green] 新しい個人番号 (new My Number): {number}")


@residents_app.command("show")
def show(person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID (person id)")]) -> None:
    """住民と住所の履歴を表示します (show a resident and their address history)."""
    with unit_of_work() as session:
        try:
            person = service.get_person(session, person_id)
        except RegistryError as error:
            raise fail(str(error)) from error
        console.print(
            f"[bold]{person.name}[/bold] ({person.family_name_kana} {person.given_name_kana})"
        )
        console.print(f"生年月日: {person.birth_date}  住民票コード: {person.resident_record_code}")
        for residence in person.residences:
            until = residence.moved_out_on or "現在"
            console.print(
                f"  {residence.moved_in_on} – {until}  {MoveKind(residence.kind).label}  "
                f"{residence.municipality_code} {residence.address_line}"
            )
