"""``fukaiji linkage``: 情報連携 from the command line (for scripts and demos).

Every command acts for one institution (``--institution``), as its staff would through the API.
A 個人番号 given to ``enrol`` is used to find the person in the resident register and goes no
further; nothing printed carries one.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fukaiji import intermediate
from fukaiji.cli._common import cli_actor, console, errors, fail, settings, unit_of_work
from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.intermediate import IntermediateError, NondisclosureRequester
from fukaiji.network import linkage as network_linkage
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.errors import (
    InvalidLegalBasisTable,
    NetworkError,
    ProviderIsRouted,
    QueryNotPermitted,
)
from fukaiji.network.institutions import get_institution
from fukaiji.network.legal_basis import parse_legal_basis, shipped_legal_basis
from fukaiji.registry import service as registry
from fukaiji.registry.errors import RegistryError

linkage_app = typer.Typer(
    help="情報連携 (宛名番号・情報照会・副本・情報提供等記録・不開示フラグ)", no_args_is_help=True
)

Institution = Annotated[
    str, typer.Option("--institution", help="自機関のコード (institution code)")
]
Addressee = Annotated[str, typer.Option("--addressee", help="団体内統合宛名番号 (15 桁)")]
DomainErrors = (NetworkError, IntermediateError, RegistryError)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise fail(f"日付 {text}: YYYY-MM-DD で指定してください (use YYYY-MM-DD)") from error


def _flag(value: bool) -> str:
    return "不開示" if value else ""


@linkage_app.command("legal-basis")
def legal_basis(
    check: Annotated[
        Path | None, typer.Option(help="この CSV を検査します (check a legal basis file)")
    ] = None,
) -> None:
    """法令根拠表 (見本) を表示します。--check FILE で別の表を検査します."""
    if check is not None:
        try:
            table = parse_legal_basis(check.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise fail(f"{check}: 読めません (cannot read: {error})") from error
        except InvalidLegalBasisTable as error:
            raise fail(str(error)) from error
        console.print(f"[green]✓[/green] {check}: {len(table)} 行、誤りなし (valid)")
        return
    grid = Table("項", "照会者", "事務", "提供者", "特定個人情報")
    for row in shipped_legal_basis():
        grid.add_row(
            str(row.entry),
            str(row.requester),
            f"{row.affair_code}\n{row.affair_name}",
            str(row.provider),
            f"{row.item_code} {row.item_name}",
        )
    console.print(grid)
    console.print("見本データです (sample data, not the official 別表第二)")


@linkage_app.command("enrol")
def enrol(
    institution: Institution,
    my_number: Annotated[
        str | None, typer.Option(help="個人番号 (the number handed in at the desk)")
    ] = None,
    person_id: Annotated[uuid.UUID | None, typer.Option(help="住民 ID (person id)")] = None,
) -> None:
    """宛名番号を付番し、符号を取得します。既にあればその番号を表示します (enrol a person)."""
    if (my_number is None) == (person_id is None):
        raise fail("--my-number か --person-id のどちらか一方を指定してください (give exactly one)")
    key = settings().derive_key(NETWORK_KEY_PURPOSE)
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            if my_number is not None:
                person_id = registry.find_by_my_number(session, MyNumber.parse(my_number)).id
            assert person_id is not None  # noqa: S101
            enrolment = intermediate.enrol(
                session, institution=place, person_id=person_id, network_key=key, actor=cli_actor()
            )
        except InvalidIdentifier as error:
            raise fail(f"個人番号: {error.fault_ja} ({error.fault_en})") from error
        except DomainErrors as error:
            raise fail(str(error)) from error
    state = "付番しました (assigned)" if enrolment.created else "付番済みです (already assigned)"
    console.print(f"[green]✓[/green] 団体内統合宛名番号 {enrolment.addressee_number}: {state}")


@linkage_app.command("query")
def query(
    institution: Institution,
    addressee: Addressee,
    affair: Annotated[str, typer.Option(help="事務コード (JM+14 桁)")],
    item: Annotated[str, typer.Option(help="特定個人情報名コード (TM+14 桁)")],
    provider: Annotated[
        str | None,
        typer.Option(
            help="情報提供者の機関コード。住所地の市区町村への照会では指定しません"
            "（情報提供ネットワークシステムが照会先を決めます）"
        ),
    ] = None,
    undisclosed: Annotated[bool, typer.Option(help="照会側不開示にします")] = False,
) -> None:
    """情報照会をします。拒否されれば理由と欠けている許可を表示します (query another body)."""
    refused: QueryNotPermitted | ProviderIsRouted | None = None
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            result = intermediate.query(
                session,
                requester=place,
                addressee_number=addressee,
                provider_code=provider,
                affair_code=affair,
                item_code=item,
                undisclosed=undisclosed,
                actor=cli_actor(),
            )
        except (QueryNotPermitted, ProviderIsRouted) as error:
            refused = error  # the audit entry of the refusal is committed with the session
        except DomainErrors as error:
            raise fail(str(error)) from error
    if refused is not None:
        raise fail(str(refused))
    console.print(
        f"[green]✓[/green] 記録 {result.record_id}: {result.status.label} ({result.status.value})"
    )
    provider_shown = result.provider or "住所地の市区町村（情報提供ネットワークシステムが決定）"
    console.print(f"  提供者: {provider_shown}  特定個人情報: {result.item_name}")
    if result.content is not None:
        console.print(f"  第 {result.version} 版: {json.dumps(result.content, ensure_ascii=False)}")
    if result.requester_undisclosed:
        console.print("  不開示: 照会側")


@linkage_app.command("records")
def records(institution: Institution, addressee: Addressee) -> None:
    """この機関が関わった情報提供等記録を表示します (records this institution took part in)."""
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            found = intermediate.records_of_addressee(
                session, institution=place, addressee_number=addressee, actor=cli_actor()
            )
        except DomainErrors as error:
            raise fail(str(error)) from error
    grid = Table(
        "記録", "日時", "照会者", "提供者", "事務", "特定個人情報", "状態", "自機関の側", "不開示"
    )
    for record in found:
        grid.add_row(
            str(record.record_id),
            record.requested_at.isoformat(timespec="seconds"),
            record.requester_role if record.requester is None else record.requester.code,
            record.provider_role if record.provider is None else record.provider.code,
            record.affair_code,
            record.item_code,
            record.status.label,
            record.side.label,
            _flag(record.undisclosed),
        )
    console.print(grid)


@linkage_app.command("undisclose-record")
def undisclose_record(
    institution: Institution,
    record_id: Annotated[int, typer.Argument(help="情報提供等記録の番号")],
) -> None:
    """情報提供等記録を自機関の側で不開示にします (flag a record by hand)."""
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            network_linkage.undisclose_record(
                session, institution=place, record_id=record_id, actor=cli_actor()
            )
        except DomainErrors as error:
            raise fail(str(error)) from error
    console.print(f"[green]✓[/green] 記録 {record_id} を不開示にしました (record flagged)")


@linkage_app.command("register")
def register(
    institution: Institution,
    addressee: Addressee,
    item: Annotated[str, typer.Option(help="特定個人情報名コード (TM+14 桁)")],
    content: Annotated[str, typer.Option(help="内容 (JSON オブジェクト)")],
    publish_from: Annotated[str, typer.Option(help="公開開始日 YYYY-MM-DD")],
    publish_until: Annotated[str | None, typer.Option(help="公開終了日 YYYY-MM-DD")] = None,
    undisclosed: Annotated[bool, typer.Option(help="自己情報表示不開示にします")] = False,
) -> None:
    """副本を登録します (新しい版になります) (register a new version of a 副本 item)."""
    try:
        parsed: Any = json.loads(content)
    except json.JSONDecodeError as error:
        raise fail(f"内容: JSON として読めません (content is not JSON: {error})") from error
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            registered = intermediate.register_self_info(
                session,
                institution=place,
                addressee_number=addressee,
                item_code=item,
                content=parsed,
                publish_from=_date(publish_from),
                publish_until=_date(publish_until) if publish_until else None,
                undisclosed=undisclosed,
                actor=cli_actor(),
            )
        except DomainErrors as error:
            raise fail(str(error)) from error
        note = " (不開示)" if registered.undisclosed else ""
        console.print(
            f"[green]✓[/green] 副本 {registered.id}: {item} 第 {registered.version} 版{note}"
        )


@linkage_app.command("items")
def items(institution: Institution, addressee: Addressee) -> None:
    """副本の全ての版を表示します (every version of every 副本 item)."""
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            found = intermediate.self_info_history(
                session, institution=place, addressee_number=addressee, actor=cli_actor()
            )
        except DomainErrors as error:
            raise fail(str(error)) from error
        grid = Table("副本", "特定個人情報", "版", "公開開始", "公開終了", "不開示", "内容")
        for entry in found:
            grid.add_row(
                str(entry.id),
                entry.item_code,
                str(entry.version),
                str(entry.publish_from),
                str(entry.publish_until or ""),
                _flag(entry.undisclosed),
                entry.content,
            )
    console.print(grid)


@linkage_app.command("undisclose-item")
def undisclose_item(
    institution: Institution, item_id: Annotated[int, typer.Argument(help="副本の番号")]
) -> None:
    """副本を不開示にします (自己情報表示不開示) (flag a 副本 item by hand)."""
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            intermediate.undisclose_self_info_item(
                session, institution=place, item_id=item_id, actor=cli_actor()
            )
        except DomainErrors as error:
            raise fail(str(error)) from error
    console.print(f"[green]✓[/green] 副本 {item_id} を不開示にしました (item flagged)")


@linkage_app.command("flag")
def flag(
    institution: Institution,
    addressee: Addressee,
    requested_by: Annotated[
        NondisclosureRequester, typer.Option(help="申出者: person (本人) / supporter (支援者)")
    ],
) -> None:
    """不開示フラグを設定し、これまでの記録・副本も不開示にします (set the 不開示フラグ)."""
    with unit_of_work() as session:
        try:
            place = get_institution(session, institution)
            report = intermediate.set_nondisclosure_flag(
                session,
                institution=place,
                addressee_number=addressee,
                requested_by=requested_by,
                actor=cli_actor(),
            )
        except DomainErrors as error:
            raise fail(str(error)) from error
    if not report.newly_set:
        errors.print("不開示フラグは設定済みです (the flag was already set)")
    console.print(
        f"[green]✓[/green] 不開示フラグ: {report.addressee_number} "
        f"(遡って不開示にした記録 {report.records_flagged} 件・副本 {report.items_flagged} 件; "
        f"records flagged {report.records_flagged}, items flagged {report.items_flagged})"
    )
