"""Commands for 公的個人認証 (the card authority): the CA certificate, the CRL, a card's
certificate. Each writes a file that ``openssl`` reads as is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fukaiji.cli._common import cli_actor, console, fail, settings, unit_of_work
from fukaiji.jpki import service
from fukaiji.jpki.errors import JpkiError
from fukaiji.jpki.service import CA_KEY_PURPOSE

jpki_app = typer.Typer(help="公的個人認証 (card authority)", no_args_is_help=True)


OutputOption = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="書き出すファイル (file to write)",
        dir_okay=False,
        show_default=False,
    ),
]


def _ca_key() -> bytes:
    return settings().derive_key(CA_KEY_PURPOSE)


def _write(path: Path, data: bytes, what: str) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        reason = escape(str(error.strerror))
        raise fail(f"{escape(str(path))}: 書き込めません (cannot write): {reason}") from error
    console.print(f"[green]✓[/green] {what} を書き出しました (written): {escape(str(path))}")


@jpki_app.command("ca-cert")
def ca_cert(output: OutputOption) -> None:
    """認証局の証明書を PEM で書き出します。なければ作成します (write the CA certificate, PEM)."""
    ca_key = _ca_key()
    try:
        with unit_of_work() as session:
            pem = service.export_ca_certificate(session, ca_key=ca_key, actor=cli_actor())
    except JpkiError as error:
        raise fail(escape(error.message)) from error
    _write(output, pem, "認証局の証明書 (CA certificate)")


@jpki_app.command("crl")
def crl(output: OutputOption) -> None:
    """最新の失効リストを DER で書き出します (write a fresh CRL, DER; valid for one day)."""
    ca_key = _ca_key()
    try:
        with unit_of_work() as session:
            der = service.current_crl(session, ca_key=ca_key, actor=cli_actor())
    except JpkiError as error:
        raise fail(escape(error.message)) from error
    _write(output, der, "失効リスト (CRL)")


@jpki_app.command("cert")
def cert(
    serial: Annotated[
        str,
        typer.Argument(
            metavar="SERIAL",
            help="シリアル番号、16 進数 (serial in hexadecimal, as `openssl x509 -serial` prints)",
        ),
    ],
    output: OutputOption,
) -> None:
    """カードの電子証明書を PEM で書き出します (write a card's certificate, PEM)."""
    try:
        number = service.parse_serial(serial)
        with unit_of_work() as session:
            pem = service.export_certificate(session, number, actor=cli_actor())
    except JpkiError as error:
        raise fail(escape(error.message)) from error
    _write(output, pem, "電子証明書 (certificate)")


__all__ = ["jpki_app"]
