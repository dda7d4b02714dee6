"""``fukaiji cards``: the card window and the toll-free line (マイナンバー総合フリーダイヤル
0120-95-0178) from the command line. The card token is printed once, at issue and reissue."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from fukaiji.cli._common import cli_actor, console, fail, settings, unit_of_work
from fukaiji.jpki import service
from fukaiji.jpki.errors import JpkiError
from fukaiji.jpki.service import CA_KEY_PURPOSE, IssuedCard
from fukaiji.jpki.states import CardStatus, SuspensionChannel

cards_app = typer.Typer(help="マイナンバーカード (cards)", no_args_is_help=True)

PersonArgument = Annotated[uuid.UUID, typer.Argument(help="住民 ID (person id)")]
AuthPin = Annotated[str, typer.Option(prompt=True, hide_input=True, help="利用者証明用暗証番号")]
SignPin = Annotated[str, typer.Option(prompt=True, hide_input=True, help="署名用暗証番号")]


def _live_card_id(session: Session, person_id: uuid.UUID) -> int:
    card = service.find_card_for_person(session, person_id)
    if card is None:
        raise fail("この住民には有効なカードがありません (no live card for this person)")
    return card.id


def _hand_over(issued: IssuedCard, what: str) -> None:
    console.print(f"[green]✓[/green] カードを{what}しました (card {issued.card_id})")
    console.print(
        f"  カードトークン (card token — this is the card; shown once): {issued.card_token}"
    )


@cards_app.command("issue")
def issue(person_id: PersonArgument, auth_pin: AuthPin, sign_pin: SignPin) -> None:
    """カードを交付します (issue a card at the window)."""
    ca_key = settings().derive_key(CA_KEY_PURPOSE)
    try:
        with unit_of_work() as session:
            issued = service.issue_card(
                session,
                person_id=person_id,
                auth_pin=auth_pin,
                sign_pin=sign_pin,
                ca_key=ca_key,
                actor=cli_actor(),
            )
    except JpkiError as error:
        raise fail(error.message) from error
    _hand_over(issued, "交付")


@cards_app.command("reissue")
def reissue(person_id: PersonArgument, auth_pin: AuthPin, sign_pin: SignPin) -> None:
    """カードを廃止して再交付します。旧カードは二度と使えません (abolish and reissue)."""
    ca_key = settings().derive_key(CA_KEY_PURPOSE)
    try:
        with unit_of_work() as session:
            issued = service.reissue_card(
                session,
                person_id=person_id,
                auth_pin=auth_pin,
                sign_pin=sign_pin,
                ca_key=ca_key,
                actor=cli_actor(),
            )
    except JpkiError as error:
        raise fail(error.message) from error
    _hand_over(issued, "再交付")


@cards_app.command("suspend")
def suspend(
    person_id: PersonArgument,
    channel: Annotated[SuspensionChannel, typer.Option(help="受付経路")] = SuspensionChannel.PHONE,
) -> None:
    """カードを一時停止します。電子証明書は即時に保留されます (suspend at once)."""
    try:
        with unit_of_work() as session:
            service.suspend_card(
                session,
                card_id=_live_card_id(session, person_id),
                channel=channel,
                actor=cli_actor(),
            )
    except JpkiError as error:
        raise fail(error.message) from error
    console.print("[green]✓[/green] 一時停止しました (suspended)")


@cards_app.command("lift")
def lift(person_id: PersonArgument) -> None:
    """一時停止を解除します (lift a suspension)."""
    try:
        with unit_of_work() as session:
            service.lift_suspension(
                session, card_id=_live_card_id(session, person_id), actor=cli_actor()
            )
    except JpkiError as error:
        raise fail(error.message) from error
    console.print("[green]✓[/green] 一時停止を解除しました (suspension lifted)")


@cards_app.command("status")
def status(person_id: PersonArgument) -> None:
    """カードと電子証明書の状態を表示します (show the card and its certificates)."""
    with unit_of_work() as session:
        card = service.find_card_for_person(session, person_id)
        if card is None:
            raise fail("この住民には有効なカードがありません (no live card for this person)")
        console.print(f"カード {card.id}: {CardStatus(card.status).label}")
        for certificate in card.certificates:
            console.print(
                f"  {certificate.function} {certificate.serial} {certificate.status}"
                f" (有効期限 {certificate.not_after:%Y-%m-%d})"
            )
