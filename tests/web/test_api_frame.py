"""The API frame: every route refuses strangers; logins, CSRF, roles and institutions are enforced,
and every refusal is audited."""

from __future__ import annotations

import re
import time

import pyotp
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from starlette.routing import Mount, Route
from tests.web.conftest import TEST_SETTINGS, StaffLogin, login

from fukaiji.audit.models import AuditEntry
from fukaiji.config import Settings
from fukaiji.db import transaction
from fukaiji.staff.models import StaffAccount
from fukaiji.staff.roles import StaffRole
from fukaiji.web import create_app

PUBLIC_PATHS = {
    "/",
    "/healthz",
    "/openapi.json",
    "/api/v1/auth/login",
    "/api/v1/portal/login/challenge",
    "/api/v1/portal/login",
}
LOGIN_SCREENS = {"/staff/login", "/portal/login"}
PUBLIC_SCREENS = {"/", *LOGIN_SCREENS}


def _audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_the_public_ones_refuses_an_anonymous_request(
    app_client: TestClient,
) -> None:
    """The API answers 401; a screen sends the browser to its login form and shows nothing."""
    checked = 0
    # iter_route_contexts also walks routers included in routers, however deep.
    for route in iter_route_contexts(app_client.app.routes):
        if isinstance(route.original_route, Mount) or route.path in PUBLIC_PATHS | PUBLIC_SCREENS:
            continue
        assert isinstance(route.original_route, APIRoute | Route), route
        for method in sorted(route.methods - {"HEAD"}):
            path = _concrete(route.path)
            response = app_client.request(method, path, json={}, follow_redirects=False)
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, route.path, response.text)
                assert response.headers["content-type"] == "application/problem+json"
            else:
                assert response.status_code == 303, (method, route.path, response.text)
                assert response.headers["location"].split("?")[0] in LOGIN_SCREENS
            checked += 1
    assert checked >= 10


def test_the_public_routes_answer_strangers(app_client: TestClient) -> None:
    assert app_client.get("/healthz").status_code == 200
    assert app_client.get("/").status_code == 200
    assert app_client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_five_failures_in_a_row_lock_the_account(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    staff: StaffLogin = make_staff("tanaka", StaffRole.ADMINISTRATOR)
    for _ in range(5):
        refused = app_client.post(
            "/api/v1/auth/login",
            json={"username": "tanaka", "password": "wrong password!", "totp": staff.code()},
        )
        assert refused.status_code == 401
    right = app_client.post(
        "/api/v1/auth/login",
        json={"username": "tanaka", "password": staff.password, "totp": staff.code()},
    )
    assert right.status_code == 401
    with transaction(engine) as session:
        assert session.get_one(StaffAccount, staff.staff_id).locked_at is not None
    assert _audit_entries(engine, "staff.locked")


def test_a_login_without_a_valid_totp_is_refused(app_client: TestClient, make_staff) -> None:
    staff: StaffLogin = make_staff("suzuki", StaffRole.ADMINISTRATOR)
    wrong = f"{(int(staff.code()) + 1) % 1_000_000:06d}"
    response = app_client.post(
        "/api/v1/auth/login",
        json={"username": "suzuki", "password": staff.password, "totp": wrong},
    )
    assert response.status_code == 401
    assert response.json()["title"] == "ログインが必要です"
    missing = app_client.post(
        "/api/v1/auth/login", json={"username": "suzuki", "password": staff.password}
    )
    assert missing.status_code == 422
    assert app_client.get("/api/v1/auth/me").status_code == 401


def test_a_login_sets_a_strict_http_only_cookie_and_rotates_it(
    app_client: TestClient, make_staff
) -> None:
    staff: StaffLogin = make_staff("sato", StaffRole.ADMINISTRATOR)
    first = app_client.post(
        "/api/v1/auth/login",
        json={"username": "sato", "password": staff.password, "totp": staff.code()},
    )
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    old_token = app_client.cookies.get("fukaiji_session")
    assert app_client.get("/api/v1/auth/me").status_code == 200
    # A second login in the same 30-second window would be a replayed code: use the next one.
    next_code = pyotp.TOTP(staff.totp_secret).at(time.time() + 30)
    second = app_client.post(
        "/api/v1/auth/login",
        json={"username": "sato", "password": staff.password, "totp": next_code},
    )
    assert second.status_code == 200, second.text
    assert app_client.cookies.get("fukaiji_session") != old_token
    app_client.cookies.set("fukaiji_session", old_token)
    assert app_client.get("/api/v1/auth/me").status_code == 401


def test_an_unsafe_request_without_the_csrf_token_is_refused_and_audited(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    login(app_client, make_staff("ito", StaffRole.ADMINISTRATOR))
    body = {"name": "連携システム", "roles": ["business_desk"]}
    refused = app_client.post("/api/v1/institutions/131016/api-keys", json=body)
    assert refused.status_code == 403
    forged = app_client.post(
        "/api/v1/institutions/131016/api-keys", json=body, headers={"X-CSRF-Token": "forged"}
    )
    assert forged.status_code == 403
    reasons = [entry.details for entry in _audit_entries(engine, "access.refused")]
    assert sum("csrf_token_missing" in reason for reason in reasons) == 2


def test_with_the_csrf_token_the_same_request_succeeds(app_client: TestClient, make_staff) -> None:
    csrf = login(app_client, make_staff("kato", StaffRole.ADMINISTRATOR))
    created = app_client.post(
        "/api/v1/institutions/131016/api-keys",
        json={"name": "連携システム", "roles": ["business_desk"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.text
    assert created.json()["key"].startswith("fkj_")


def test_chiyoda_staff_asking_for_yokohama_data_get_403_and_an_audit_entry(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    staff: StaffLogin = make_staff("yamada", StaffRole.ADMINISTRATOR)
    make_staff("yokohama_admin", StaffRole.ADMINISTRATOR, institution_code="141003")
    login(app_client, staff)
    response = app_client.get("/api/v1/institutions/141003/staff")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "yokohama_admin" not in response.text
    [entry] = _audit_entries(engine, "access.refused")
    assert (entry.actor, entry.institution) == (f"staff:{staff.staff_id}", "131016")
    assert entry.subject == "/api/v1/institutions/141003/staff"
    assert "other_institution" in entry.details


def test_a_missing_role_is_refused_and_audited(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    login(app_client, make_staff("kimura", StaffRole.BUSINESS_DESK))
    assert app_client.get("/api/v1/institutions/131016/staff").status_code == 403
    assert "role_missing" in _audit_entries(engine, "access.refused")[0].details


def test_reading_staff_is_audited(app_client: TestClient, make_staff, engine: Engine) -> None:
    staff: StaffLogin = make_staff("hayashi", StaffRole.ADMINISTRATOR)
    login(app_client, staff)
    listed = app_client.get("/api/v1/institutions/131016/staff")
    assert listed.status_code == 200
    assert [row["username"] for row in listed.json()] == ["hayashi"]
    [entry] = _audit_entries(engine, "staff.listed")
    assert entry.actor == f"staff:{staff.staff_id}"


def _create_key(client: TestClient, csrf: str, roles: list[str]) -> dict:
    response = client.post(
        "/api/v1/institutions/131016/api-keys",
        json={"name": "住民記録システム", "roles": roles},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_revoked_api_key_fails_on_its_next_request(
    app_client: TestClient, make_staff, engine: Engine
) -> None:
    csrf = login(app_client, make_staff("mori", StaffRole.ADMINISTRATOR))
    created = _create_key(app_client, csrf, ["administrator"])
    bearer = {"Authorization": f"Bearer {created['key']}"}
    with TestClient(app_client.app) as system:
        assert system.get("/api/v1/institutions/131016/staff", headers=bearer).status_code == 200
        revoked = app_client.post(
            f"/api/v1/institutions/131016/api-keys/{created['api_key']['id']}/revoke",
            headers={"X-CSRF-Token": csrf},
        )
        assert revoked.status_code == 200
        after = system.get("/api/v1/institutions/131016/staff", headers=bearer)
        assert after.status_code == 401
    assert _audit_entries(engine, "apikey.revoked")


def test_an_api_key_is_scoped_to_its_institution_and_roles(
    app_client: TestClient, make_staff
) -> None:
    csrf = login(app_client, make_staff("ono", StaffRole.ADMINISTRATOR))
    created = _create_key(app_client, csrf, ["business_desk"])
    bearer = {"Authorization": f"Bearer {created['key']}"}
    with TestClient(app_client.app) as system:
        assert system.get("/api/v1/institutions/141003/staff", headers=bearer).status_code == 403
        assert system.get("/api/v1/institutions/131016/staff", headers=bearer).status_code == 403
        assert system.get("/api/v1/institutions/131016", headers=bearer).status_code == 200
        garbage = {"Authorization": "Bearer fkj_abcdefgh_not-a-key"}
        assert system.get("/api/v1/institutions/131016", headers=garbage).status_code == 401


def test_errors_are_problem_details_in_japanese(app_client: TestClient, make_staff) -> None:
    login(app_client, make_staff("ikeda", StaffRole.ADMINISTRATOR))
    missing = app_client.get("/api/v1/institutions/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    body = missing.json()
    assert body["status"] == 404
    assert body["title"] == "見つかりません"
    assert "999999" in body["detail"]
    invalid = app_client.get("/api/v1/institutions", params={"limit": 0})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "query.limit"
    # Found by schemathesis: a refusal audited the whole path, longer than the column holds.
    long = app_client.get(f"/api/v1/institutions/131016/addressees/{'1' * 300}/records")
    assert long.status_code in (403, 422)
    # Found by schemathesis: a NUL in a search term reached PostgreSQL and made a 500.
    nul = app_client.get("/api/v1/institutions", params={"q": "\x00"})
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "query.q"


def test_security_headers_are_on_every_response(app_client: TestClient) -> None:
    for path in ("/", "/healthz", "/api/v1/auth/me", "/api/v1/nowhere"):
        headers = app_client.get(path).headers
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_cookies_are_secure_outside_development(engine: Engine, make_staff) -> None:
    production = Settings(env="production", secret_key=TEST_SETTINGS.secret_key)
    staff: StaffLogin = make_staff("nomura", StaffRole.ADMINISTRATOR)
    with TestClient(create_app(production, engine), base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/auth/login",
            json={"username": "nomura", "password": staff.password, "totp": staff.code()},
        )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]
    assert "strict-transport-security" in response.headers
