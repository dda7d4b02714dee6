"""``fukaiji notices``: writing a notice, attaching its destination file, screening, sending, and
the worker that runs send jobs. Each command acts for one department of one institution, as its
staff would through the API; nothing printed names why an addressee was removed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from fukaiji.cli._common import (
    cli_actor,
    console,
    engine_from_settings,
    errors,
    fail,
    unit_of_work,
)
from fukaiji.errors import DomainError
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.notices import jobs, service, stream
from fukaiji.protection.exclusion import excluded_addressees
from fukaiji.protection.service import Viewer

notices_app = typer.Typer(
    help="お知らせ (宛先ファイル・宛先除外・送信ジョブ)", no_args_is_help=True
)

InstitutionCode = Annotated[str, typer.Option("--institution", help="自機関のコード")]
DepartmentName = Annotated[str, typer.Option("--department", help="送信する部署の名称")]
NoticeId = Annotated[uuid.UUID, typer.Argument(help="お知らせの ID")]


def _sender(session: Session, institution: str, department: str) -> Viewer:
    found = get_department(session, institution_code=institution, name=department)
    return Viewer(found.institution_id, institution, found.id, cli_actor())


@notices_app.command("create")
def create(
    institution: InstitutionCode,
    department: DepartmentName,
    title: Annotated[str, typer.Option(help="件名")],
    body: Annotated[str, typer.Option(help="本文")],
    category: Annotated[str, typer.Option(help="種別 (general/procedure/benefit/tax/health)")],
) -> None:
    """お知らせを作成します（まだ送信しません）."""
    try:
        with unit_of_work() as session:
            sender = _sender(session, institution, department)
            notice = service.create_notice(
                session, sender=sender, title=title, body=body, category=category
            )
            console.print(f"お知らせを作成しました (notice created): {notice.id}")
    except DomainError as error:
        raise fail(error.message) from error


@notices_app.command("attach")
def attach(
    notice_id: NoticeId,
    file: Annotated[Path, typer.Argument(help="宛先ファイル (CSV)")],
    institution: InstitutionCode,
    department: DepartmentName,
    encoding: Annotated[str | None, typer.Option(help="utf-8 / utf-8-sig / cp932")] = None,
    strict: Annotated[bool, typer.Option(help="誤りが 1 行でもあればファイル全体を拒否")] = False,
) -> None:
    """宛先ファイルを添付します。誤りのある行はすべて行番号付きで表示します."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise fail(f"{file}: 読めません (cannot read: {error})") from error
    try:
        with unit_of_work() as session:
            sender = _sender(session, institution, department)
            notice = service.get_notice(session, notice_id=notice_id, viewer=sender)
            report = service.attach_destination(
                session, notice=notice, sender=sender, data=data, filename=file.name,
                encoding=encoding, strict=strict,
            )  # fmt: skip
            faults = service.destination_faults(session, notice=notice)
    except DomainError as error:
        raise fail(error.message) from error
    console.print(
        f"宛先 {report.rows:,} 件 ({report.encoding.label})、誤りのある行 {report.faults:,} 件"
    )
    for fault in faults:
        errors.print(f"  {fault.row_number} 行目 {fault.value!r}: {fault.reason}")


@notices_app.command("screening")
def screening(
    notice_id: NoticeId, institution: InstitutionCode, department: DepartmentName
) -> None:
    """宛先除外を行い、結果を表示します（除外した行番号は送信部署にのみ表示）."""
    try:
        with unit_of_work() as session:
            sender = _sender(session, institution, department)
            notice = service.get_notice(session, notice_id=notice_id, viewer=sender)
            report = service.screen(session, notice=notice, sender=sender)
    except DomainError as error:
        raise fail(error.message) from error
    console.print(
        f"宛先 {report.rows:,} 件: 送信 {report.kept:,} 件、除外 {report.removed:,} 件"
        f"、誤りのある行 {report.bad_rows:,} 件"
    )
    for row in report.removed_rows or ():
        console.print(f"  {row} 行目: {report.reason}")


@notices_app.command("send")
def send(notice_id: NoticeId, institution: InstitutionCode, department: DepartmentName) -> None:
    """送信ジョブを登録します。送信はワーカー (fukaiji notices work) が行います."""
    try:
        with unit_of_work() as session:
            sender = _sender(session, institution, department)
            notice = service.get_notice(session, notice_id=notice_id, viewer=sender)
            job = jobs.start_sending(session, notice=notice, sender=sender)
            console.print(f"送信ジョブ {job.id} を登録しました ({job.total:,} 件)")
    except DomainError as error:
        raise fail(error.message) from error


@notices_app.command("status")
def status(notice_id: NoticeId, institution: InstitutionCode, department: DepartmentName) -> None:
    """送信の進み具合と送達結果を表示します."""
    try:
        with unit_of_work() as session:
            sender = _sender(session, institution, department)
            notice = service.get_notice(session, notice_id=notice_id, viewer=sender)
            report = jobs.delivery_report(session, notice=notice)
    except DomainError as error:
        raise fail(error.message) from error
    if report is None:
        console.print("まだ送信していません (not sent yet)")
        return
    grid = Table("状態", "進捗", "送信", "送信停止", "アカウントなし", "宛先除外", "誤りのある行")
    grid.add_row(
        report.state, f"{report.done:,}/{report.total:,}", f"{report.sent:,}",
        f"{report.blocked:,}", f"{report.no_account:,}", f"{report.removed_by_screening:,}",
        f"{report.bad_rows:,}",
    )  # fmt: skip
    console.print(grid)


@notices_app.command("work")
def work(
    once: Annotated[bool, typer.Option(help="待っているジョブがなくなったら終了")] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="1 トランザクションの件数")
    ] = 500,
    lease_seconds: Annotated[float, typer.Option(min=1, help="ジョブを保持する秒数")] = 60.0,
    pause: Annotated[
        float, typer.Option(min=0, help="バッチ間の待ち秒数（業務時間中の負荷を抑える）")
    ] = 0.0,
) -> None:
    """送信ジョブを実行するワーカー。停止・再起動しても途中から再開し、二重には送りません."""
    lease = timedelta(seconds=lease_seconds)
    with engine_from_settings() as engine:
        done = jobs.work(engine, batch_size=batch_size, lease=lease, once=once, pause=pause)
    console.print(f"{done} 件のジョブを実行しました (jobs run)")


@notices_app.command("screen")
def screen_file_command(
    file: Annotated[Path, typer.Argument(help="宛先ファイル (CSV、何行でも)")],
    institution: InstitutionCode,
    output: Annotated[Path, typer.Option("-o", "--output", help="宛先除外後のファイル")],
    exclusions: Annotated[
        Path | None,
        typer.Option(help="除外する宛名番号の一覧 (省略時はこの機関の現在の除外リスト)"),
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="utf-8 / utf-8-sig / cp932")] = None,
    strict: Annotated[bool, typer.Option(help="誤りが 1 行でもあれば何も書き出さない")] = False,
) -> None:
    """大きな宛先ファイルを流し読みで宛先除外します (メモリは一定、行はバイト単位でそのまま)."""
    try:
        excluded, known = _screen_lists(institution, exclusions)
        with _progress(file) as advance:
            report = stream.screen_file(
                file, output, excluded, encoding=encoding, strict=strict, known=known,
                progress=advance,
            )  # fmt: skip
    except (DomainError, OSError) as error:
        raise fail(getattr(error, "message", None) or str(error)) from error
    console.print(
        f"{report.rows:,} 行: 出力 {report.kept:,}、除外 {report.removed:,}、"
        f"誤りのある行 {report.fault_count:,} ({report.encoding.label}, {report.seconds:.1f} 秒)"
    )
    for fault in report.faults:
        errors.print(f"  {fault.row_number} 行目 {fault.shown_value!r}: {fault.reason}")
    if report.fault_count > len(report.faults):
        errors.print(f"  ほか {report.fault_count - len(report.faults):,} 行")


def _screen_lists(
    institution: str, exclusions: Path | None
) -> tuple[np.ndarray, stream.KnownNumberStream]:
    """The numbers to remove (the file given, or the institution's live exclusion list) and the
    numbers the institution has assigned (so that an unknown one is reported), the latter
    streamed from the database when the screen asks for them, never held whole."""
    with unit_of_work() as session:
        found = get_institution(session, institution)
        institution_id = found.id
        if exclusions is None:
            live = excluded_addressees(session, institution=found)
            excluded = np.array(sorted(int(n) for n in live), dtype=np.int64)
    if exclusions is not None:
        excluded = stream.load_exclusions(exclusions)

    def known_blocks() -> Iterator[np.ndarray]:
        with unit_of_work() as session:
            yield from service.known_number_blocks(session, institution_id=institution_id)

    return excluded, stream.KnownNumberStream(known_blocks)


@contextmanager
def _progress(file: Path) -> Iterator[Callable[[int], None]]:
    columns = (
        TextColumn("宛先除外"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=errors) as bar:
        task = bar.add_task("screen", total=file.stat().st_size)
        yield lambda done: bar.update(task, completed=done)
