"""Commands at the top: serve, db, audit, id."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import Engine

from fukaiji import audit
from fukaiji.cli._common import (
    EXIT_INVALID,
    cli_actor,
    console,
    engine_from_settings,
    errors,
    fail,
    settings,
    unit_of_work,
)
from fukaiji.config import Settings
from fukaiji.db import upgrade
from fukaiji.identifiers import IDENTIFIER_KINDS, InvalidIdentifier

app = typer.Typer(
    help="fukaiji: マイナンバー情報連携・マイナポータルと DV・虐待等被害者の不開示措置",
    no_args_is_help=True,
)
db_app = typer.Typer(help="データベース (database)", no_args_is_help=True)
audit_app = typer.Typer(help="監査ログ", no_args_is_help=True)
id_app = typer.Typer(help="識別子の検査 (identifiers)", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(id_app, name="id")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="待ち受けるアドレス (bind address)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="ポート番号 (port)")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="デモの世界を読み込んでから起動します (load demo world)")
    ] = False,
) -> None:
    """マイグレーションを適用してサーバーを起動します (apply migrations, then serve)."""
    import uvicorn

    from fukaiji.db import create_db_engine, transaction
    from fukaiji.network.institutions import load_local_governments
    from fukaiji.web import create_app

    loaded = settings()
    engine = create_db_engine(loaded.resolved_database_url)
    upgrade(engine)
    with transaction(engine) as session:
        load_local_governments(session, actor=cli_actor())
    if demo:
        from fukaiji.cli.demo import serve_demo_world

        serve_demo_world(loaded, engine)
    console.print(f"データベース (database): {engine.url.render_as_string(hide_password=True)}")
    with _background(loaded, engine):
        uvicorn.run(create_app(loaded, engine), host=host, port=port)


@contextmanager
def _background(loaded: Settings, engine: Engine) -> Iterator[None]:
    """What `serve` runs beside the web app: the protection sweep and the notice send worker."""
    from fukaiji.audit.checkpointer import Checkpointer
    from fukaiji.notices import jobs
    from fukaiji.protection.sweeper import Sweeper

    sweeper = None
    if loaded.protection_sweep_seconds:
        sweeper = Sweeper(engine, interval_seconds=loaded.protection_sweep_seconds).start()
    checkpointer = None
    if loaded.audit_checkpoint_seconds:
        checkpointer = Checkpointer(
            engine,
            audit.Ed25519Signer.from_secret(loaded.derive_key),
            interval_seconds=loaded.audit_checkpoint_seconds,
            min_entries=loaded.audit_checkpoint_entries,
        ).start()
    stop = threading.Event()
    sender = threading.Thread(
        target=jobs.work,
        kwargs={
            "engine": engine,
            "stop": stop,
            "batch_size": loaded.send_batch_size,
            "pause": loaded.send_pause_seconds,
            "lease": timedelta(seconds=loaded.send_lease_seconds),
        },
        name="send-worker",
        daemon=True,
    )
    if loaded.send_worker:
        sender.start()
    try:
        yield
    finally:
        stop.set()
        if sweeper is not None:
            sweeper.stop()
        if checkpointer is not None:
            checkpointer.stop()
        if sender.is_alive():
            sender.join(timeout=30)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """マイグレーションを最新まで適用します (apply all migrations)."""
    with engine_from_settings() as engine:
        upgrade(engine)
    console.print("データベースを最新の状態にしました (database is up to date)")


@audit_app.command("verify")
def audit_verify(
    full: Annotated[
        bool,
        typer.Option("--full", help="チェックポイントを使わず、すべての記録を最初から検証します"),
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="同時に検証するプロセスの数です")
    ] = min(4, os.cpu_count() or 1),
) -> None:
    """監査ログのハッシュ連鎖を検証します。完全なら 0、壊れていれば 1 で終了します.

    既定では、機関ごとの連鎖を、署名の正しい最新のチェックポイントより後の記録だけ検証します。
    """
    loaded = settings()
    signer = audit.Ed25519Signer.from_secret(loaded.derive_key)
    with unit_of_work() as session:
        result = audit.verify(session, signer=signer, full=full, workers=workers)
    vouched = result.entries - result.checked
    scope = (
        f"{len(result.chains):,} 本の連鎖、{result.checked:,} 件を検証しました"
        f"（このほか {vouched:,} 件は署名付きチェックポイントで確認済みです）"
    )
    if not result.intact:
        for found in result.breaks:
            errors.print(f"[red]✗ {found.describe()}[/red]")
        errors.print(f"  壊れた箇所より前の {result.entries:,} 件は完全です。{scope}")
        raise typer.Exit(1)
    console.print(f"[green]✓ 監査ログの連鎖はすべて完全です。[/green]{scope}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    min_entries: Annotated[
        int,
        typer.Option(
            "--min-entries",
            min=1,
            help="前回のチェックポイントからこの件数以上増えた連鎖だけ署名します",
        ),
    ] = 1,
) -> None:
    """各連鎖の末尾を検証してから署名し、チェックポイントとして保存します.

    壊れている連鎖には署名せず、その箇所を表示して 1 で終了します。
    """
    loaded = settings()
    signer = audit.Ed25519Signer.from_secret(loaded.derive_key)
    with unit_of_work() as session:
        report = audit.checkpoint(session, signer, min_entries=min_entries)
    for refusal in report.refused:
        errors.print(f"[red]✗ {refusal}[/red] この連鎖には署名しませんでした。")
    console.print(f"チェックポイントを {len(report.signed):,} 本の連鎖に記録しました。")
    if report.refused:
        raise typer.Exit(1)


@id_app.command("check")
def id_check(
    kind: Annotated[str, typer.Argument(help="種類: " + ", ".join(IDENTIFIER_KINDS))],
    value: Annotated[str, typer.Argument(help="検査する値 (value to check)")],
) -> None:
    """識別子を検査します。正しければ 0、誤りがあれば 2 で終了します."""
    if kind not in IDENTIFIER_KINDS:
        raise fail(
            f"種類 {kind}: 未知の種類です (unknown kind);"
            f" 次のいずれか (one of): {', '.join(IDENTIFIER_KINDS)}"
        )
    label, parse = IDENTIFIER_KINDS[kind]
    try:
        parsed = parse(value)
    except InvalidIdentifier as error:
        raise fail(str(error)) from error
    console.print(f"[green]✓[/green] {label} {parsed}: 正しい値です (valid)")


__all__ = ["EXIT_INVALID", "app"]
