"""What every command area shares: consoles, settings, an engine, the actor for the audit log."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fukaiji.config import ConfigurationError, Settings, load_settings
from fukaiji.db import create_db_engine, transaction

console = Console()
errors = Console(stderr=True)

EXIT_INVALID = 2


def settings() -> Settings:
    try:
        loaded = load_settings()
        loaded.secret  # noqa: B018  fail now, before anything starts, if the secret is unsafe
    except ConfigurationError as error:
        errors.print(f"[red]設定エラー (configuration error):[/red] {error}")
        raise typer.Exit(EXIT_INVALID) from error
    return loaded


@contextmanager
def engine_from_settings(loaded: Settings | None = None) -> Iterator[Engine]:
    engine = create_db_engine((loaded or settings()).resolved_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction on the configured database, for a command that reads or changes data."""
    with engine_from_settings() as engine, transaction(engine) as session:
        yield session


def cli_actor() -> str:
    """Who ran the command, as the audit log records it."""
    return f"cli:{getpass.getuser()}"


def fail(message: str) -> typer.Exit:
    errors.print(f"[red]✗[/red] {message}")
    return typer.Exit(EXIT_INVALID)
