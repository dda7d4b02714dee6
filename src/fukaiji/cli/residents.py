"""``fukaiji residents``: the resident register from the command line (for scripts and demos)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from fukaiji.cli._common import cli_actor, console, fail, settings, unit_of_work
from fukaiji.identifiers import InvalidIdentifier, MyNumber, lookup_local_government
from fukaiji.jpki.service import on_address_change
from fukaiji.registry import moves, service
from fukaiji.registry.errors import RegistryError
from fukaiji.registry.models import MoveKind, MoveOut, Person
from fukaiji.registry.rules import japanese_date, residences_visible_to
from fukaiji.registry.service import MY_NUMBER_KEY_PURPOSE

T = TypeVar("T")

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


Municipality = Annotated[
    str, typer.Option("--municipality", help="手続をする市区町村のコード（住所地の市区町村）")
]


def _run(work: Callable[[Session], T]) -> T:
    """``work`` in one transaction. A refusal exits 2 naming the field; one that keeps its trace
    (an audited attempt) is committed first, everything else is rolled back."""
    kept: RegistryError | None = None
    with unit_of_work() as session:
        try:
            return work(session)
        except RegistryError as error:
            if not error.keep_changes:
                raise fail(escape(f"{error.field}: {error.message}")) from error
            kept = error
    raise fail(escape(f"{kept.field}: {kept.message}"))


def _my_number(text: str) -> MyNumber:
    try:
        return MyNumber.parse(text)
    except InvalidIdentifier as error:
        raise fail(f"個人番号: {error.fault_ja}") from error


@residents_app.command("move-out")
def move_out(
    person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID")],
    municipality: Municipality,
    destination: Annotated[str, typer.Option(help="転出先の市区町村コード")],
    planned_on: Annotated[str, typer.Option(help="転出予定日 YYYY-MM-DD")],
) -> None:
    """転出届を受け付けます。転入は転出先の市区町村だけが記録できます。"""
    planned = _date(planned_on)
    recorded = _run(
        lambda session: moves.record_move_out(
            session,
            person_id=person_id,
            destination_code=destination,
            planned_on=planned,
            actor=cli_actor(),
            municipality_code=municipality,
        )
    )
    name = lookup_local_government(recorded.destination_code).name
    console.print(
        f"[green]✓[/green] 転出届を受け付けました（転出先: {name}、"
        f"転出予定日: {japanese_date(recorded.planned_on)}）。"
    )


@residents_app.command("cancel-move-out")
def cancel_move_out(
    person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID")],
    municipality: Municipality,
) -> None:
    """受け付けている転出届を取り消します。"""
    _run(
        lambda session: moves.cancel_move_out(
            session, person_id=person_id, actor=cli_actor(), municipality_code=municipality
        )
    )
    console.print("[green]✓[/green] 転出届を取り消しました。")


@residents_app.command("move-in")
def move_in(
    municipality: Annotated[
        str, typer.Option("--municipality", help="転入先（転出届の転出先）の市区町村コード")
    ],
    my_number: Annotated[str, typer.Option(help="転入する方の個人番号")],
    address: Annotated[str, typer.Option(help="新しい町名・番地")],
    moved_on: Annotated[str, typer.Option(help="住み始めた日 YYYY-MM-DD")],
) -> None:
    """転入を記録し、転出届を完了します。署名用電子証明書は失効します。"""
    number, moved = _my_number(my_number), _date(moved_on)

    def work(session: Session) -> uuid.UUID:
        person = moves.complete_move_in(
            session,
            municipality_code=municipality,
            my_number=number,
            address_line=address,
            moved_on=moved,
            actor=cli_actor(),
        )
        on_address_change(session, person_id=person.id, actor=cli_actor())
        return person.id

    person_id = _run(work)
    console.print(f"[green]✓[/green] 転入を記録しました（住民 ID: {person_id}）。")


@residents_app.command("relocate")
def relocate(
    person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID")],
    municipality: Municipality,
    address: Annotated[str, typer.Option(help="新しい町名・番地")],
    moved_on: Annotated[str, typer.Option(help="異動日 YYYY-MM-DD")],
) -> None:
    """市区町村の中での転居を記録します。署名用電子証明書は失効します。"""
    moved = _date(moved_on)

    def work(session: Session) -> None:
        moves.relocate(
            session,
            municipality_code=municipality,
            person_id=person_id,
            address_line=address,
            moved_on=moved,
            actor=cli_actor(),
        )
        on_address_change(session, person_id=person_id, actor=cli_actor())

    _run(work)
    console.print("[green]✓[/green] 転居を記録しました。")


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
def show(
    person_id: Annotated[uuid.UUID, typer.Argument(help="住民 ID")],
    municipality: Municipality,
) -> None:
    """住民と、この市区町村での住所・前住所を表示します（照会は監査ログに残ります）。"""

    def work(session: Session) -> None:
        person = service.read_resident(
            session, municipality_code=municipality, person_id=person_id, actor=cli_actor()
        )
        _print_resident(person, municipality, moves.open_move_out(session, person.id))

    _run(work)


def _print_resident(person: Person, municipality: str, move_out: MoveOut | None) -> None:
    console.print(
        f"[bold]{escape(person.name)}[/bold] "
        f"（{escape(person.family_name_kana)} {escape(person.given_name_kana)}）"
    )
    console.print(
        f"生年月日: {japanese_date(person.birth_date)}  住民票コード: {person.resident_record_code}"
    )
    for residence in residences_visible_to(person, municipality):
        until = japanese_date(residence.moved_out_on) if residence.moved_out_on else "現在"
        place = lookup_local_government(residence.municipality_code).name
        console.print(
            f"  {japanese_date(residence.moved_in_on)} – {until}  "
            f"{MoveKind(residence.kind).label}  {place}{escape(residence.address_line)}"
        )
    if move_out is not None:
        destination = lookup_local_government(move_out.destination_code).name
        console.print(
            f"転出届: 転出先 {destination}、転出予定日 {japanese_date(move_out.planned_on)}"
        )
