"""``fukaiji portal``: マイナポータル from the command line, for scripts and demos.

``sign`` is a card reader: it signs a challenge the portal issued (``POST
/api/v1/portal/login/challenge``) with the card's 利用者証明用 key and prints the JSON the login
route takes. ``show`` logs in with a card through the portal service, optionally enters the
folder of someone the card holder is a proxy for, prints the three views, and logs out; the
views are entered in the folder's 操作履歴 like any other login. A wrong PIN counts towards the
card's lock here as anywhere: refusals are committed before the command fails.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from fukaiji.cli._common import console, fail, settings, unit_of_work
from fukaiji.jpki import service as jpki
from fukaiji.jpki.errors import JpkiError
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.linkage import InstitutionRef
from fukaiji.portal import service as portal
from fukaiji.portal.errors import PortalError
from fukaiji.portal.folder import FolderView

portal_app = typer.Typer(
    help="マイナポータル (カードリーダーによる署名・利用者フォルダの表示)", no_args_is_help=True
)

TOKYO = ZoneInfo("Asia/Tokyo")
CardToken = Annotated[
    str,
    typer.Option(
        "--card-token",
        prompt="カードトークン (card token)",
        hide_input=True,
        help="カードそのもの (the card: its token, as handed over at the window)",
    ),
]
Pin = Annotated[
    str,
    typer.Option(
        "--pin", prompt="利用者証明用暗証番号", hide_input=True, help="利用者証明用暗証番号 (4 桁)"
    ),
]


def _local(at: datetime) -> str:
    return at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


@portal_app.command("sign")
def sign(
    challenge: Annotated[
        str, typer.Option("--challenge", help="ポータルが発行したチャレンジ (base64)")
    ],
    card_token: CardToken,
    pin: Pin,
) -> None:
    """カードリーダー: チャレンジに署名し JSON {certificate_pem, signature} を出力します."""
    try:
        nonce = base64.b64decode(challenge, validate=True)
    except (binascii.Error, ValueError) as error:
        raise fail("チャレンジ: base64 で指定してください (challenge must be base64)") from error
    refusal: JpkiError | None = None
    with unit_of_work() as session:
        try:
            signed = jpki.card_signature(session, card_token=card_token, pin=pin, challenge=nonce)
        except JpkiError as error:
            # Kept, not rolled back: a wrong PIN must count towards the lock.
            refusal = error
    if refusal is not None:
        raise fail(escape(refusal.message))
    typer.echo(
        json.dumps(
            {
                "certificate_pem": signed.certificate_pem.decode("ascii"),
                "signature": base64.b64encode(signed.signature).decode("ascii"),
            }
        )
    )


def _name(institution: InstitutionRef) -> str:
    return f"{institution.name} ({institution.code})"


def _as_json(view: FolderView) -> dict[str, Any]:
    def institution(ref: InstitutionRef) -> dict[str, str]:
        return {"code": ref.code, "name": ref.name}

    return {
        "account_id": view.account_id,
        "as_proxy": view.grant_id is not None,
        "grant_id": view.grant_id,
        "records": [
            {
                "record_id": view.public_id(r),
                "occurred_at": r.occurred_at.isoformat(),
                "requester": institution(r.requester),
                "provider": institution(r.provider),
                "affair": r.affair_name,
                "item": r.item_name,
                "status": r.status.value,
            }
            for r in view.records
        ],
        "self_info": [
            {
                "item_id": view.public_id(i),
                "institution": institution(i.institution),
                "item": i.item_name,
                "version": i.version,
                "content": i.content,
            }
            for i in view.self_info
        ],
        "inbox": [
            {
                "message_id": view.public_id(m),
                "institution": institution(m.institution),
                "category": m.category.value,
                "title": m.title,
                "body": m.body,
                "delivered_at": m.delivered_at.isoformat(),
            }
            for m in view.inbox
        ],
    }


def _print(view: FolderView, holder: str) -> None:
    who = f"代理人 {holder} (代理人設定 {view.grant_id})" if view.grant_id else f"本人 {holder}"
    console.print(f"利用者フォルダ {view.account_id} — 表示者 (viewer): {escape(who)}")
    records = Table("日時", "照会機関", "提供機関", "事務", "特定個人情報", "状態")
    for r in view.records:
        records.add_row(
            _local(r.occurred_at),
            _name(r.requester),
            _name(r.provider),
            r.affair_name,
            r.item_name,
            r.status.label,
        )
    console.print(f"[bold]やりとり履歴[/bold] ({len(view.records)} 件)")
    console.print(records)
    self_info = Table("機関", "特定個人情報", "版", "内容")
    for i in view.self_info:
        content = json.dumps(i.content, ensure_ascii=False)
        self_info.add_row(_name(i.institution), i.item_name, str(i.version), escape(content))
    console.print(f"[bold]自己情報[/bold] ({len(view.self_info)} 件)")
    console.print(self_info)
    inbox = Table("受信日時", "送信機関", "分類", "件名")
    for m in view.inbox:
        inbox.add_row(
            _local(m.delivered_at), _name(m.institution), m.category.label, escape(m.title)
        )
    console.print(f"[bold]お知らせ[/bold] ({len(view.inbox)} 件)")
    console.print(inbox)


@portal_app.command("show")
def show(
    card_token: CardToken,
    pin: Pin,
    as_proxy_for: Annotated[
        int | None,
        typer.Option(
            "--as-proxy-for",
            metavar="ACCOUNT",
            help="代理人として表示する利用者フォルダの番号 (folder to enter as a proxy)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
) -> None:
    """カードでログインし、やりとり履歴・自己情報・お知らせを表示してログアウトします."""
    network_key = settings().derive_key(NETWORK_KEY_PURPOSE)
    refusal: JpkiError | PortalError | None = None
    view: FolderView | None = None
    holder = ""
    with unit_of_work() as session:
        try:
            challenge = portal.issue_challenge(session)
            signed = jpki.card_signature(
                session, card_token=card_token, pin=pin, challenge=challenge.nonce
            )
            login = portal.log_in(
                session,
                challenge=challenge.nonce,
                certificate_pem=signed.certificate_pem,
                signature=signed.signature,
            )
            holder = login.portal_session.person.name
            try:
                if as_proxy_for is not None:
                    portal.switch_folder(session, login.portal_session, account_id=as_proxy_for)
                view = portal.view_folder(session, login.portal_session, network_key=network_key)
            finally:
                portal.log_out(session, login.token)
        except (JpkiError, PortalError) as error:
            # Kept, not rolled back: a wrong PIN counts, and every refusal stays audited.
            refusal = error
    if refusal is not None:
        raise fail(escape(refusal.message))
    assert view is not None  # noqa: S101  no refusal, so the view was built
    if as_json:
        typer.echo(json.dumps(_as_json(view), ensure_ascii=False))
    else:
        _print(view, holder)


__all__ = ["portal_app"]
