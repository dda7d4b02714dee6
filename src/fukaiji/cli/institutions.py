"""``fukaiji institutions``: the official list of local governments, national bodies, insurers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fukaiji.cli._common import cli_actor, console, fail, unit_of_work
from fukaiji.network import institutions as service
from fukaiji.network.errors import NetworkError
from fukaiji.network.models import InstitutionKind

institutions_app = typer.Typer(
    help="機関と部署 (institutions and departments)", no_args_is_help=True
)


@institutions_app.command("load")
def load() -> None:
    """全国地方公共団体コードの一覧から都道府県・市区町村を登録します (何度実行しても同じ結果)."""
    with unit_of_work() as session:
        report = service.load_local_governments(session, actor=cli_actor())
    console.print(
        f"追加 (added) {report.added:,} / 名称変更 (renamed) {report.renamed:,} / "
        f"変更なし (unchanged) {report.unchanged:,}"
    )


@institutions_app.command("list")
def list_(
    kind: Annotated[InstitutionKind | None, typer.Option(help="種別 (kind)")] = None,
    prefecture: Annotated[str | None, typer.Option(help="都道府県コード (prefecture code)")] = None,
    name: Annotated[str | None, typer.Option(help="名称の一部 (part of the name)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 100,
) -> None:
    """機関を一覧表示します (list institutions)."""
    with unit_of_work() as session:
        page, total = service.list_institutions(
            session, kind=kind, prefecture_code=prefecture, name_contains=name, limit=limit
        )
        table = Table("コード", "名称", "種別", "都道府県", "市区町村", "上位機関")
        for institution in page:
            table.add_row(
                institution.code,
                institution.name,
                InstitutionKind(institution.kind).label,
                institution.prefecture_code or "",
                institution.municipality_code or "",
                institution.body_code or "",
            )
    console.print(table)
    console.print(f"{len(page):,} / {total:,} 件")


@institutions_app.command("show")
def show(code: Annotated[str, typer.Argument(help="機関コード (institution code)")]) -> None:
    """機関と部署を表示します (show an institution and its departments)."""
    with unit_of_work() as session:
        try:
            institution = service.get_institution(session, code)
        except NetworkError as error:
            raise fail(str(error)) from error
        console.print(f"[bold]{institution.name}[/bold] ({institution.code})")
        console.print(f"種別 (kind): {InstitutionKind(institution.kind).label}")
        console.print(
            f"所在 (location): {institution.prefecture_code or '-'} / "
            f"{institution.municipality_code or '-'}"
        )
        if institution.body_code is not None:
            console.print(f"上位機関: {institution.body_code}")
        console.print("部署 (departments): " + "、".join(d.name for d in institution.departments))


@institutions_app.command("add")
def add(
    code: Annotated[str, typer.Option(help="機関コード (英大文字・数字 4〜16 文字)")],
    name: Annotated[str, typer.Option(help="名称 (name)")],
    kind: Annotated[InstitutionKind, typer.Option(help="種別 (kind)")],
    location: Annotated[
        str | None, typer.Option(help="所在地の地方公共団体コード (location code)")
    ] = None,
    department: Annotated[list[str] | None, typer.Option(help="部署 (repeatable)")] = None,
    body: Annotated[
        str | None,
        typer.Option(
            help="出先機関として登録するときの上位機関の機関コード。種別は上位機関と同じにし、"
            "所在地を指定します。"
        ),
    ] = None,
) -> None:
    """国の行政機関・独立行政法人等・医療保険者と、その出先機関を登録します (add a national body,
    an insurer, or an office of one)."""
    with unit_of_work() as session:
        try:
            institution = service.add_institution(
                session,
                code=code,
                name=name,
                kind=kind,
                location_code=location,
                departments=department or [],
                actor=cli_actor(),
                body_code=body,
            )
        except NetworkError as error:
            raise fail(str(error)) from error
        console.print(
            f"[green]✓[/green] 登録しました (added): {institution.name} ({institution.code})"
        )


@institutions_app.command("add-department")
def add_department(
    code: Annotated[str, typer.Argument(help="機関コード (institution code)")],
    name: Annotated[str, typer.Argument(help="部署名 (department name)")],
) -> None:
    """機関に部署を追加します (add a department)."""
    with unit_of_work() as session:
        try:
            service.add_department(session, institution_code=code, name=name, actor=cli_actor())
        except NetworkError as error:
            raise fail(str(error)) from error
    console.print(f"[green]✓[/green] {code} に「{name}」を追加しました (department added)")
