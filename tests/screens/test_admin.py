"""管理者 screens: staff accounts (create with a TOTP secret shown once, disable, unlock, reset
TOTP), API keys (create shown once, revoke), and the audit log with its chain verification; and
the attacks on them (another role, another institution's account or key, a forged form)."""

from __future__ import annotations

import json
import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.audit.test_audit_chain import _tamper
from tests.screens.conftest import log_in_on_screen
from tests.web.conftest import StaffLogin, login
from tests.web.test_protection_api import audit_entries

from fukaiji.db import transaction
from fukaiji.network.institutions import get_institution
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole

ADMIN = "/staff/admin"
PASSWORD = "window staff passphrase 2026"
TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
API_KEY = re.compile(r'id="api-key">(fkj_[^<]+)<')


def _admin(screens: TestClient, make_staff, name: str = "kanri", code: str = "131016") -> str:
    return log_in_on_screen(
        screens, make_staff(name, StaffRole.ADMINISTRATOR, institution_code=code)
    )


def _new_staff(username: str = "madoguchi", **changes: object) -> dict[str, object]:
    return {
        "username": username,
        "display_name": "窓口 花子",
        "department": "市民課",
        "roles": ["card_window", "notice_sender"],
        "password": PASSWORD,
    } | changes


def _create(screens: TestClient, token: str, **changes: object) -> str:
    created = screens.post(f"{ADMIN}/staff", data=_new_staff(**changes) | {"csrf_token": token})
    assert created.status_code == 200, created.text
    return TOTP_SECRET.search(created.text).group(1)


def _logs_in(app, username: str, secret: str) -> bool:
    with TestClient(app, follow_redirects=False) as browser:
        code = pyotp.TOTP(secret).now()
        answer = browser.post(
            "/staff/login", data={"username": username, "password": PASSWORD, "totp": code}
        )
        return answer.status_code == 303


def _created_on_screen(engine: Engine) -> list[str]:
    """Accounts created through the screens (the fixtures' own are created by "test")."""
    return [e.details for e in audit_entries(engine, "staff.created") if e.actor != "test"]


def _staff_id(engine: Engine, username: str) -> int:
    with transaction(engine) as session:
        return staff_service.find_staff_id(session, username)


def test_a_staff_account_is_created_with_its_secret_shown_once_then_reset_and_disabled(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _admin(screens, make_staff)
    form = screens.get(f"{ADMIN}/staff/new").text
    assert 'id="role-card_window"' in form and '<option value="市民課"' in form

    created = screens.post(f"{ADMIN}/staff", data=_new_staff() | {"csrf_token": token})
    assert created.status_code == 200
    secret = TOTP_SECRET.search(created.text).group(1)
    assert "otpauth://totp/" in created.text and "二度と表示できません" in created.text
    assert "お知らせ送信担当・交付窓口" in created.text
    assert _logs_in(screens.app, "madoguchi", secret)
    listed = screens.get(f"{ADMIN}/staff").text
    assert "madoguchi" in listed and secret not in listed and "otpauth" not in listed

    staff_id = _staff_id(engine, "madoguchi")
    reset = screens.post(f"{ADMIN}/staff/{staff_id}/reset-totp", data={"csrf_token": token})
    assert reset.status_code == 200
    new_secret = TOTP_SECRET.search(reset.text).group(1)
    assert new_secret != secret and "確認コードを再設定しました" in reset.text
    assert new_secret not in screens.get(f"{ADMIN}/staff").text
    assert _logs_in(screens.app, "madoguchi", new_secret)

    disabled = screens.post(f"{ADMIN}/staff/{staff_id}/disable", data={"csrf_token": token})
    assert disabled.headers["location"] == f"{ADMIN}/staff?done=disabled"
    page = screens.get(disabled.headers["location"]).text
    assert "無効化しました" in page and "無効" in page
    assert not _logs_in(screens.app, "madoguchi", new_secret)
    logged = " ".join(entry.details for entry in audit_entries(engine, "staff.created"))
    assert secret not in logged and PASSWORD not in logged


def test_a_locked_account_is_unlocked(screens: TestClient, make_staff) -> None:
    token = _admin(screens, make_staff)
    locked: StaffLogin = make_staff("wasureta", StaffRole.BUSINESS_DESK)
    with TestClient(screens.app) as browser:
        for _ in range(5):
            browser.post(
                "/api/v1/auth/login",
                json={"username": "wasureta", "password": "not it at all!", "totp": "000000"},
            )
    page = screens.get(f"{ADMIN}/staff").text
    assert "ロック中" in page
    unlocked = screens.post(f"{ADMIN}/staff/{locked.staff_id}/unlock", data={"csrf_token": token})
    assert unlocked.headers["location"] == f"{ADMIN}/staff?done=unlocked"
    assert "ロック中" not in screens.get(unlocked.headers["location"]).text
    with TestClient(screens.app) as browser:
        login(browser, locked)


def test_an_api_key_is_shown_once_works_and_is_revoked(screens: TestClient, make_staff) -> None:
    token = _admin(screens, make_staff)
    created = screens.post(
        f"{ADMIN}/api-keys",
        data={"name": "送信システム", "roles": ["notice_sender"], "csrf_token": token},
    )
    assert created.status_code == 200, created.text
    key = API_KEY.search(created.text).group(1)
    with TestClient(screens.app) as system:
        bearer = {"Authorization": f"Bearer {key}"}
        assert system.get("/api/v1/notices", headers=bearer).status_code == 200
        listed = screens.get(f"{ADMIN}/api-keys").text
        assert "送信システム" in listed and key not in listed
        key_id = re.search(r"/api-keys/(\d+)/revoke", listed).group(1)
        revoked = screens.post(f"{ADMIN}/api-keys/{key_id}/revoke", data={"csrf_token": token})
        assert revoked.headers["location"] == f"{ADMIN}/api-keys?done=revoked"
        assert "失効（" in screens.get(revoked.headers["location"]).text
        assert system.get("/api/v1/notices", headers=bearer).status_code == 401


def test_refused_input_is_shown_next_to_its_field_and_creates_nothing(
    screens: TestClient, make_staff
) -> None:
    token = _admin(screens, make_staff)
    for changes, field in [
        ({"password": "short"}, "password"),
        ({"roles": []}, "roles"),
        ({"department": "宇宙課"}, "department"),
        ({"username": "kanri"}, "username"),  # taken by the administrator
        ({"display_name": ""}, "display_name"),
    ]:
        refused = screens.post(f"{ADMIN}/staff", data=_new_staff(**changes) | {"csrf_token": token})
        assert refused.status_code == 422, changes
        assert f'id="error-{field}"' in refused.text, (changes, refused.text)
        assert PASSWORD not in refused.text and "short" not in refused.text.split("<main")[1]
        assert TOTP_SECRET.search(refused.text) is None
    kept = screens.post(
        f"{ADMIN}/staff", data=_new_staff(password="short") | {"csrf_token": token}
    ).text
    assert 'value="madoguchi"' in kept and 'id="role-card_window" name="roles"' in kept
    assert 'type="checkbox" value="card_window" checked' in kept
    assert "madoguchi" not in screens.get(f"{ADMIN}/staff").text

    no_name = screens.post(
        f"{ADMIN}/api-keys", data={"name": "", "roles": ["notice_sender"], "csrf_token": token}
    )
    assert no_name.status_code == 422 and 'id="error-name"' in no_name.text
    no_roles = screens.post(f"{ADMIN}/api-keys", data={"name": "連携", "csrf_token": token})
    assert no_roles.status_code == 422 and 'id="error-roles"' in no_roles.text
    assert "API キーはまだありません" in screens.get(f"{ADMIN}/api-keys").text


def test_the_audit_log_shows_the_own_institution_newest_first_and_names_a_break(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _admin(screens, make_staff)
    _create(screens, token)
    with TestClient(screens.app, follow_redirects=False) as yokohama:
        other_token = _admin(yokohama, make_staff, "yokohama_kanri", "141003")
        _create(yokohama, other_token, username="yokohama_madoguchi", department="市民課")

    page = screens.get(f"{ADMIN}/audit").text
    assert '<p class="verdict clear">検証結果: 改ざんなし</p>' in page
    numbers = [int(n) for n in re.findall(r'<th scope="row" class="numeric">(\d+)</th>', page)]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) >= 3
    assert "staff.created" in page and "audit.viewed" in page
    assert "yokohama_madoguchi" not in page  # another institution's entries are not shown

    older = screens.get(f"{ADMIN}/audit", params={"before": numbers[1]}).text
    older_numbers = re.findall(r'<th scope="row" class="numeric">(\d+)</th>', older)
    assert older_numbers and all(int(n) < numbers[1] for n in older_numbers)
    assert 'href="/staff/admin/audit">最新の記録へ' in older

    altered = numbers[-1]
    _tamper(engine, f"UPDATE audit_entries SET details = '{{}}' WHERE seq = {altered}")
    broken = screens.get(f"{ADMIN}/audit").text
    assert '<p class="verdict exposed">検証結果: 不整合があります</p>' in broken
    assert f"（通し番号 {altered}）" in broken
    assert "内容が改ざんされています" in broken


def test_another_role_is_refused_every_administrator_screen(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = log_in_on_screen(
        screens, make_staff("not_admin", *set(StaffRole) - {StaffRole.ADMINISTRATOR})
    )
    for path in ("/staff", "/api-keys", "/audit", "/staff/new"):
        refused = screens.get(f"{ADMIN}{path}")
        assert refused.status_code == 403 and "管理者" in refused.text, path
    created = screens.post(f"{ADMIN}/staff", data=_new_staff() | {"csrf_token": token})
    assert created.status_code == 403 and TOTP_SECRET.search(created.text) is None
    key = screens.post(
        f"{ADMIN}/api-keys", data={"name": "x", "roles": ["notice_sender"], "csrf_token": token}
    )
    assert key.status_code == 403 and API_KEY.search(key.text) is None
    reasons = [json.loads(e.details)["reason"] for e in audit_entries(engine, "access.refused")]
    assert reasons == ["role_missing"] * 6
    assert not _created_on_screen(engine)


def test_another_institution_s_account_and_key_cannot_be_reached(
    screens: TestClient, make_staff, engine: Engine
) -> None:
    token = _admin(screens, make_staff)
    other: StaffLogin = make_staff(
        "yokohama_madoguchi", StaffRole.CARD_WINDOW, institution_code="141003"
    )
    with transaction(engine) as session:
        key, plaintext = staff_service.create_api_key(
            session,
            institution_id=get_institution(session, "141003").id,
            name="横浜の連携",
            roles=[StaffRole.CARD_WINDOW],
            actor="test",
        )
        key_id = key.id
    for action in ("disable", "unlock", "reset-totp"):
        refused = screens.post(
            f"{ADMIN}/staff/{other.staff_id}/{action}", data={"csrf_token": token}
        )
        assert refused.status_code == 404, action
        assert "この機関に登録されていません" in refused.text
        assert TOTP_SECRET.search(refused.text) is None
    revoked = screens.post(f"{ADMIN}/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 404
    assert "yokohama_madoguchi" not in screens.get(f"{ADMIN}/staff").text
    assert "横浜の連携" not in screens.get(f"{ADMIN}/api-keys").text
    with TestClient(screens.app) as browser:
        login(browser, other)  # neither disabled nor given a new secret
        bearer = {"Authorization": f"Bearer {plaintext}"}
        assert browser.get("/api/v1/auth/me", headers=bearer).status_code == 200  # not revoked


@pytest.mark.parametrize("forged", [{"csrf_token": "forged"}, {}], ids=["forged", "missing"])
def test_a_forged_form_is_refused_and_creates_nothing(
    screens: TestClient, make_staff, engine: Engine, forged: dict[str, str]
) -> None:
    _admin(screens, make_staff)
    created = screens.post(f"{ADMIN}/staff", data=_new_staff() | forged)
    assert created.status_code == 403 and TOTP_SECRET.search(created.text) is None
    key = screens.post(f"{ADMIN}/api-keys", data={"name": "x", "roles": ["card_window"]} | forged)
    assert key.status_code == 403 and API_KEY.search(key.text) is None
    assert not _created_on_screen(engine)
    assert "API キーはまだありません" in screens.get(f"{ADMIN}/api-keys").text
