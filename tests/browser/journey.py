"""Steps a person takes in the browser, shared by the browser tests."""

from __future__ import annotations

import time

from fukaiji.demo.totp import current_code, seconds_left
from fukaiji.demo.world import DemoResident, DemoStaff

_codes_used: dict[str, str] = {}


def log_in_staff(page, staff: DemoStaff) -> None:
    """Log in at the staff login form, with the code an authenticator app would show."""
    page.goto("/staff/login")
    page.get_by_label("ユーザー名").fill(staff.username)
    page.get_by_label("パスワード").fill(staff.password)
    page.get_by_label("確認コード（6 桁）").fill(_fresh_code(staff))
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/staff")


def log_in_resident(page, resident: DemoResident, *, card_token: str | None = None) -> None:
    """Put the card on the simulated reader and enter the PIN."""
    page.goto("/portal/login")
    page.locator("input[name=card_token]").fill(card_token or resident.card_token)
    page.locator("input[name=pin]").fill(resident.auth_pin)
    page.locator("form[action='/portal/login'] button[type=submit]").click()
    page.wait_for_url("**/portal")


def _fresh_code(staff: DemoStaff) -> str:
    """A code not used before: the login refuses a replayed code, as it must."""
    code = current_code(staff.totp_secret)
    if _codes_used.get(staff.username) == code:
        time.sleep(seconds_left() + 1)
        code = current_code(staff.totp_secret)
    _codes_used[staff.username] = code
    return code
