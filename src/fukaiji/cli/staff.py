"""Commands for 職員 (staff) accounts and API keys: create, disable, unlock, reset TOTP, list."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from fukaiji.cli._common import cli_actor, console, errors, fail, settings, unit_of_work
from fukaiji.network.errors import NetworkError
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.staff import service
from fukaiji.staff.errors import StaffError
from fukaiji.staff.models import ApiKey, StaffAccount
from fukaiji.staff.roles import StaffRole, sorted_roles
from fukaiji.staff.totp import TOTP_KEY_PURPOSE, provisioning_uri

staff_app = typer.Typer(help="職員アカウント (staff accounts)", no_args_is_help=True)
apikey_app = typer.Typer(help="API キー (API keys)", no_args_is_help=True)

_TOKYO = ZoneInfo("Asia/Tokyo")

InstitutionOption = Annotated[
    str, typer.Option("--institution", help="機関コード (institution code)", show_default=False)
]
RolesOption = Annotated[
    list[StaffRole],
    typer.Option("--role", help="役割、複数指定可 (role; repeat for more)", show_default=False),
]
UsernameArgument = Annotated[str, typer.Argument(help="ユーザー名 (username)")]


def _totp_key() -> bytes:
    # HMAC-SHA-256 gives exactly 32 bytes: the whole digest is the AES-256 key.
    return settings().derive_key(TOTP_KEY_PURPOSE)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt(
        "パスワード (password)",
        hide_input=True,
        confirmation_prompt="パスワード再入力 (repeat password)",
    )


def _local(moment: datetime | None) -> str:
    return moment.astimezone(_TOKYO).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _role_labels(roles: frozenset[StaffRole]) -> str:
    return "、".join(role.label for role in sorted_roles(roles))


def _staff_state(staff: StaffAccount) -> str:
    if staff.disabled_at is not None:
        return "[red]無効 (disabled)[/red]"
    if staff.locked_at is not None:
        return "[yellow]ロック中 (locked)[/yellow]"
    return "有効 (active)"


@staff_app.command("create")
def staff_create(
    institution: InstitutionOption,
    department: Annotated[str, typer.Option(help="部署名 (department name)", show_default=False)],
    username: Annotated[str, typer.Option(help="ユーザー名 (username)", show_default=False)],
    display_name: Annotated[str, typer.Option(help="氏名 (display name)", show_default=False)],
    role: RolesOption,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="パスワードを標準入力の 1 行から読む (read the password from stdin, for scripts)",
        ),
    ] = False,
) -> None:
    """職員アカウントを作成し、TOTP の秘密鍵を一度だけ表示します (create a staff account)."""
    password = _read_password(password_stdin)
    totp_key = _totp_key()
    try:
        with unit_of_work() as session:
            found = get_institution(session, institution)
            dept = get_department(session, institution_code=found.code, name=department)
            staff, secret = service.create_staff(
                session,
                institution_id=found.id,
                department_id=dept.id,
                username=username,
                display_name=display_name,
                password=password,
                roles=role,
                totp_key=totp_key,
                actor=cli_actor(),
            )
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(
        f"[green]✓[/green] 職員 {staff.username} を作成しました (staff created): id {staff.id}"
    )
    _show_totp_secret(staff.username, secret)


def _show_totp_secret(username: str, secret: str) -> None:
    console.print(
        "[bold yellow]TOTP の秘密鍵は二度と表示されません。今すぐ認証アプリに登録してください"
        " (the TOTP secret is not shown again: enrol it in an authenticator app now)[/bold yellow]"
    )
    console.print(f"TOTP 秘密鍵 (secret): {secret}", soft_wrap=True)
    console.print(f"otpauth URI: {provisioning_uri(secret, username)}", soft_wrap=True)


@staff_app.command("disable")
def staff_disable(username: UsernameArgument) -> None:
    """職員アカウントを無効にし、すべてのセッションを終了します (disable; end all sessions)."""
    try:
        with unit_of_work() as session:
            staff_id = service.find_staff_id(session, username)
            service.disable_staff(session, staff_id, actor=cli_actor())
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(f"[green]✓[/green] 職員 {username} を無効にしました (staff disabled)")


@staff_app.command("unlock")
def staff_unlock(username: UsernameArgument) -> None:
    """ロックを解除し、失敗回数を 0 に戻します (unlock; reset the failure count)."""
    try:
        with unit_of_work() as session:
            staff_id = service.find_staff_id(session, username)
            service.unlock_staff(session, staff_id, actor=cli_actor())
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(f"[green]✓[/green] 職員 {username} のロックを解除しました (staff unlocked)")


@staff_app.command("reset-totp")
def staff_reset_totp(username: UsernameArgument) -> None:
    """TOTP の秘密鍵を作り直します。すべてのセッションが終了します (new TOTP secret)."""
    totp_key = _totp_key()
    try:
        with unit_of_work() as session:
            staff_id = service.find_staff_id(session, username)
            secret = service.reset_totp(session, staff_id, totp_key=totp_key, actor=cli_actor())
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(f"[green]✓[/green] 職員 {username} の TOTP を再設定しました (TOTP reset)")
    _show_totp_secret(username, secret)


@staff_app.command("set-roles")
def staff_set_roles(username: UsernameArgument, role: RolesOption) -> None:
    """職員の役割を指定したものに置き換えます (replace the staff member's roles)."""
    try:
        with unit_of_work() as session:
            staff_id = service.find_staff_id(session, username)
            staff = service.set_roles(session, staff_id, role, actor=cli_actor())
            labels = _role_labels(staff.roles)
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(f"[green]✓[/green] 職員 {username} の役割 (roles): {labels}")


@staff_app.command("list")
def staff_list(institution: InstitutionOption) -> None:
    """機関の職員を一覧表示します (list the staff of an institution)."""
    table = _table(("id", "ユーザー名"), ("氏名", "部署", "役割", "状態"))
    try:
        with unit_of_work() as session:
            found = get_institution(session, institution)
            for staff in service.list_staff(session, found.id, actor=cli_actor()):
                table.add_row(
                    str(staff.id),
                    staff.username,
                    escape(staff.display_name),
                    escape(staff.department.name),
                    _role_labels(staff.roles),
                    _staff_state(staff),
                )
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(table)


@apikey_app.command("create")
def apikey_create(
    institution: InstitutionOption,
    name: Annotated[str, typer.Option(help="用途を示す名前 (name)", show_default=False)],
    role: RolesOption,
) -> None:
    """API キーを発行し、一度だけ表示します (issue an API key; shown once)."""
    try:
        with unit_of_work() as session:
            found = get_institution(session, institution)
            key, plaintext = service.create_api_key(
                session, institution_id=found.id, name=name, roles=role, actor=cli_actor()
            )
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(f"[green]✓[/green] API キー {key.id} を発行しました (API key issued)")
    errors.print(
        "[bold yellow]このキーは二度と表示されません。安全な場所に保管してください"
        " (this key is not shown again: store it safely now)[/bold yellow]"
    )
    # Plain print, no markup or wrapping: the key must survive copy and paste intact.
    print(plaintext)


@apikey_app.command("revoke")
def apikey_revoke(
    api_key_id: Annotated[int, typer.Argument(metavar="ID", help="API キーの id (API key id)")],
    institution: InstitutionOption,
) -> None:
    """API キーを直ちに失効させます (revoke an API key at once)."""
    try:
        with unit_of_work() as session:
            found = get_institution(session, institution)
            service.revoke_api_key(session, api_key_id, institution_id=found.id, actor=cli_actor())
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(f"[green]✓[/green] API キー {api_key_id} を失効させました (API key revoked)")


@apikey_app.command("list")
def apikey_list(institution: InstitutionOption) -> None:
    """機関の API キーを一覧表示します (list the API keys of an institution)."""
    table = _table(("id", "接頭辞"), ("名前", "役割", "発行者", "発行日時", "最終利用", "状態"))
    try:
        with unit_of_work() as session:
            found = get_institution(session, institution)
            for key in service.list_api_keys(session, found.id, actor=cli_actor()):
                table.add_row(*_api_key_row(key))
    except (StaffError, NetworkError) as error:
        raise fail(escape(error.message)) from error
    console.print(table)


def _table(keys: tuple[str, ...], others: tuple[str, ...]) -> Table:
    # Keys an operator copies into the next command are never cut short; long text folds.
    table = Table()
    for header in keys:
        table.add_column(header, no_wrap=True)
    for header in others:
        table.add_column(header, overflow="fold")
    return table


def _api_key_row(key: ApiKey) -> list[str]:
    state = "[red]失効 (revoked)[/red]" if key.revoked_at else "有効 (active)"
    return [
        str(key.id),
        key.prefix,
        escape(key.name),
        _role_labels(key.roles),
        escape(key.created_by),
        _local(key.created_at),
        _local(key.last_used_at),
        state,
    ]


__all__ = ["apikey_app", "staff_app"]
